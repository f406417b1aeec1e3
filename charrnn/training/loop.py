"""The training loop: windows of the corpus -> `train_step` -> next window, until the budget
(steps / epochs / time, or a plateau of the validation loss) or a signal stops it, with
evaluation on the validation split, checkpoints and preview samples along the way.

    while not stopped:
        new epoch?          -> the streams start again from a zero state
        lr, p = schedules   (schedule.py: pure functions of the budget's progress)
        train_step          (step.py: forward, BPTT, clip, optimiser) on the next window
        --average           -> the weights folded into their moving average (state.py)
        every eval_every    -> validation loss, `last` and `best` saved; stop on a plateau
        every sample_every  -> a preview sample
    save, and return what happened

It prints nothing: it reports to a `Callbacks` object (events.py; the CLI draws the progress).
Everything that decides the next update lives in `TrainState` (state.py), which every
checkpoint holds, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from charrnn import sampling
from charrnn.teacher_forcing import evaluate_stream, item_breaks
from charrnn.training import checkpoint
from charrnn.training.budget import Stop
from charrnn.training.events import Callbacks, EvalInfo, StepInfo, TrainResult
from charrnn.training.options import MONITOR_CHARS, monitor_streams
from charrnn.training.plan import RunPlan
from charrnn.training.runs import BEST, LAST, MetricsLog, RunDirError, remove_temporary_files, run_lock
from charrnn.training.schedule import lr_at, sample_prob_at
from charrnn.training.state import TrainState
from charrnn.training.step import StepOutcome, TrainingDiverged, train_step

DIVERGE_STEPS = 20  # consecutive steps with a loss above 3 ln V that count as divergence
RECENT = 100  # training losses averaged for the summary


class Trainer:
    """`clock` is the run's time source (seconds, monotonic): a test can give it a fake one."""

    def __init__(self, plan: RunPlan, callbacks: Callbacks | None = None, clock=time.monotonic):
        self.plan, self.config, self.opts = plan, plan.config, plan.options
        self.callbacks = callbacks or Callbacks()
        self.clock = clock
        self.state = TrainState.of(plan)
        self.streams = self.epoch_streams()
        self.stop_requested: Stop | None = None
        self.eval_seconds = 0.0  # the last evaluation's duration, reserved at the end of a --time budget
        self.evaluated_at: int | None = None  # the step of this session's last evaluation
        self.has_val = len(plan.corpus.val) > 1
        self.recent: list[float] = []  # the last RECENT training losses
        self.chars, self.step_seconds = 0, 0.0  # trained this session, for chars/s
        self.started = 0.0  # the clock's reading at elapsed = 0

    def request_stop(self, signum: int) -> None:
        """Called from a signal handler: finish the current step, save, and stop."""
        self.stop_requested = Stop.from_signal(signum)
        self.callbacks.on_stop_requested(self.stop_requested)

    def run(self) -> TrainResult:
        out = self.plan.out_dir
        try:
            os.makedirs(out, exist_ok=True)
            with run_lock(out):
                remove_temporary_files(out, checkpoint.TMP_PREFIX)
                with MetricsLog(out) as metrics:
                    return self.loop(metrics)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"{e}; the last good checkpoint is kept in {out}") from None
        except OSError as e:
            raise RunDirError(f"cannot write to {out}: {e.strerror or e}") from None

    def loop(self, metrics: MetricsLog) -> TrainResult:
        """The loop, read top to bottom (the module docstring)."""
        s, o = self.state, self.opts
        self.callbacks.on_start(s.step)
        self.started = self.clock() - s.elapsed - self.plan.spent  # a fresh --time run: planning counts
        while (stop := self.stop_reason()) is None:
            if s.window >= self.streams.windows_per_epoch:
                s.new_epoch(self.plan)
                self.streams = self.epoch_streams()
                continue
            progress = self.progress()
            lr = lr_at(progress, o, self.plan.budget)
            s.sample_prob = sample_prob_at(progress, o, self.plan.budget)
            outcome = self.train_window(lr)
            self.record_step(outcome, lr, metrics)
            if o.eval_every and s.step % o.eval_every == 0:
                self.evaluate(metrics)
                if self.plan.budget.plateau(s.history):
                    stop = Stop.PLATEAU
                    break
            if o.sample_every and s.step % o.sample_every == 0:
                self.callbacks.on_sample(s.step, self.preview())
        self.finish(stop, metrics)
        return self.result(stop)

    # ------------------------------------------------------------------ the loop's steps
    def stop_reason(self) -> Stop | None:
        """A signal's stop, or the budget's: the time limit counts the final evaluation too."""
        s = self.state
        self.tick()
        return self.stop_requested or self.plan.budget.reached(s.step, s.epoch, s.elapsed + self.eval_seconds)

    def train_window(self, lr: float) -> StepOutcome:
        """One update on the epoch's next window; the state carried to the next."""
        s, o = self.state, self.opts
        t0 = self.clock()
        try:
            r = train_step(s.params, self.config, s.optimizer, self.streams.window(s.window), s.carried, lr=lr,
                           clip=o.clip, rng=s.rng, state_reset=o.state_reset, sample_prob=s.sample_prob)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"{e} at step {s.step + 1}; lower --lr (now {o.lr:g}) or --clip") from None
        s.carried, s.window, s.step = r.final_state, s.window + 1, s.step + 1
        s.averaged(o.average)
        self.chars += o.seq_len * self.plan.batch_size
        self.step_seconds += self.clock() - t0
        return r

    def record_step(self, r: StepOutcome, lr: float, metrics: MetricsLog) -> None:
        """The step's loss kept (and checked for divergence), logged, and reported."""
        s, o = self.state, self.opts
        self.tick()
        self.recent = (self.recent + [r.loss])[-RECENT:]
        self.check_divergence()
        if s.step % o.log_every == 0:
            metrics.write({"step": s.step, "elapsed": round(s.elapsed, 3), "train_loss": r.loss, "lr": lr,
                           "grad_norm": r.grad_norm, "clipped": r.clipped,
                           **({"sample_prob": s.sample_prob} if o.scheduled_sampling else {})})
        self.callbacks.on_step(StepInfo(step=s.step, epoch=s.epoch, loss=r.loss, grad_norm=r.grad_norm,
                                        clipped=r.clipped, lr=lr, elapsed=s.elapsed, chars_per_sec=self.speed(),
                                        progress=self.progress()))

    def check_divergence(self) -> None:
        """TrainingDiverged when the last DIVERGE_STEPS losses all lie above 3 ln V."""
        above = 3.0 * math.log(self.config.vocab_size)
        if len(self.recent) >= DIVERGE_STEPS and min(self.recent[-DIVERGE_STEPS:]) > above:
            raise TrainingDiverged(
                f"the loss diverged: above {above:.2f} nats/char (3 ln V, far worse than guessing uniformly) "
                f"for {DIVERGE_STEPS} steps up to step {self.state.step}; lower --lr (now {self.opts.lr:g})")

    def evaluate(self, metrics: MetricsLog) -> None:
        """Validation loss, one entry in the history and the log, `last` (and `best`) saved."""
        s = self.state
        t0 = self.clock()
        val = self.validation_loss()
        self.eval_seconds = self.clock() - t0
        self.evaluated_at = s.step
        self.tick()
        has_val = self.has_val
        improved = has_val and val < s.best_val
        if improved:
            s.best_val = val
        s.history.append({"step": s.step, "elapsed": round(s.elapsed, 3),
                          "train_loss": float(np.mean(self.recent)) if self.recent else None,
                          "val_loss": val if has_val else None})
        metrics.write({"step": s.step, "elapsed": round(s.elapsed, 3), "val_loss": val if has_val else None})
        self.save(LAST)
        if improved or not has_val:
            self.save(BEST)
        self.callbacks.on_eval(EvalInfo(s.step, val, s.best_val, improved, self.eval_seconds))

    def validation_loss(self) -> float:
        """The loss on the validation split's first MONITOR_CHARS characters, read as pieces side
        by side (training/options.py); NaN without a validation split."""
        if not self.has_val:
            return float("nan")
        val_ids = self.plan.corpus.val[:MONITOR_CHARS]
        breaks = item_breaks(self.config, val_ids)
        if breaks is not None:  # a list's: whole items only
            val_ids = val_ids[: breaks[-1] + 1]
        return evaluate_stream(self.state.weights(), self.config, val_ids, streams=monitor_streams(len(val_ids)))[0]

    def preview(self) -> str:
        settings = sampling.SampleSettings(length=self.opts.sample_length)
        rngs = [np.random.default_rng([self.opts.seed, self.state.step])]
        return "".join(chars[0] for chars in
                       sampling.generate(self.state.weights(), self.config, self.plan.corpus.vocab, settings, rngs))

    def finish(self, stop: Stop, metrics: MetricsLog) -> None:
        """Asked to stop between two steps: save where it stands, no evaluation. Otherwise the
        final evaluation, unless the last step was just evaluated."""
        if stop.requested:
            self.save(LAST)
            if not os.path.exists(os.path.join(self.plan.out_dir, BEST)):
                self.save(BEST)
        elif self.evaluated_at != self.state.step:
            self.evaluate(metrics)
        self.tick()

    def result(self, stop: Stop) -> TrainResult:
        s, out = self.state, self.plan.out_dir
        return TrainResult(
            out_dir=out, steps=s.step, epochs=s.epoch, elapsed=s.elapsed, chars_per_sec=self.speed(),
            train_loss=float(np.mean(self.recent)) if self.recent else float("nan"),
            best_val_loss=None if math.isinf(s.best_val) else s.best_val, val_unigram=self.plan.val_unigram,
            best_path=os.path.join(out, BEST), last_path=os.path.join(out, LAST), stopped_by=stop,
            batch_size=self.plan.batch_size)

    # --------------------------------------------------------------------------- helpers
    def epoch_streams(self):
        """The epoch's streams: a running text's, or a list's items shuffled for this epoch."""
        return self.plan.corpus.streams(self.state.epoch, self.plan.batch_size, self.opts.seq_len, self.opts.seed)

    def tick(self) -> None:
        """Bring the state's elapsed time up to now (it includes evaluations and saves)."""
        self.state.elapsed = self.clock() - self.started

    def progress(self) -> float:
        """The fraction of the budget used so far (0..1)."""
        s = self.state
        return self.plan.budget.progress(s.step, s.epoch + s.window / self.streams.windows_per_epoch, s.elapsed)

    def speed(self) -> float:
        """Training characters per second of step time this session (evaluations excluded)."""
        return self.chars / max(self.step_seconds, 1e-9)

    def save(self, name: str) -> str:
        self.tick()
        path = os.path.join(self.plan.out_dir, name)
        checkpoint.save(self.state.to_checkpoint(self.plan, best=name == BEST), path)
        self.callbacks.on_save(path)
        return path
