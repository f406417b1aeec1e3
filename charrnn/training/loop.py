"""The training loop: windows of the corpus -> `train_step` -> next window, with a budget
(steps / epochs / time, whichever ends first), periodic evaluation on the validation split,
checkpoints, and preview samples. It prints nothing: it reports to a `Callbacks` object (the
CLI's renderer draws the progress bar and the summary).

    TrainState      everything that decides the next update; to_checkpoint / from_checkpoint
    Trainer         the loop around `update.train_step`

Everything that decides the next update lives in the checkpoint (weights, optimiser state,
carried hidden state, data position, random generator state, step counters, the budget), so a
run stopped after N steps and resumed gives bit-for-bit the weights of an uninterrupted run.
"""

from __future__ import annotations

import enum
import math
import os
import signal
import time
from dataclasses import dataclass, field

import numpy as np

from charrnn.training import checkpoint as ckpt_mod
from charrnn import sampling
from charrnn.corpus.streams import Streams
from charrnn.training.record import TrainRecord
from charrnn.model import cast_params, init_params, zero_state
from charrnn.ground.optim import Optimizer, make_optimizer
from charrnn.training.options import MONITOR_CHARS, monitor_streams
from charrnn.training.plan import RunPlan
from charrnn.training.runs import BEST, LAST, MetricsLog, RunDirError, remove_temporary_files, run_lock
from charrnn.teacher_forcing import evaluate_stream
from charrnn.training.step import TrainingDiverged, train_step

DIVERGE_STEPS = 20  # consecutive steps with a loss above 3 ln V that count as divergence
DTYPES = {"float32": np.float32, "float64": np.float64}


class Stop(enum.Enum):
    """Why a run ended: the word the summary shows, and the command's exit code."""

    STEPS = ("steps", 0)
    EPOCHS = ("epochs", 0)
    TIME = ("time", 0)
    PLATEAU = ("no better validation loss", 0)  # no budget given: the validation loss stopped improving
    INTERRUPTED = ("interrupted", 130)  # Ctrl-C: 128 + SIGINT, as a shell reports it
    TERMINATED = ("terminated", 143)  # SIGTERM: 128 + 15

    def __init__(self, word: str, exit_code: int):
        self.word, self.exit_code = word, exit_code

    @property
    def requested(self) -> bool:
        """Asked for from outside (a signal), rather than the budget running out."""
        return self.exit_code != 0

    @classmethod
    def from_signal(cls, signum: int) -> "Stop":
        return cls.INTERRUPTED if signum == signal.SIGINT else cls.TERMINATED


# ------------------------------------------------------------------------ saved training state
@dataclass
class TrainState:
    """What changes as a run trains; saved in every checkpoint and restored by --resume."""

    params: dict
    optimizer: Optimizer
    rng: np.random.Generator  # dropout masks and state resets
    carried: object  # the state carried from window to window (model.zero_state's form)
    step: int = 0
    epoch: int = 0
    window: int = 0  # the next window of the epoch
    elapsed: float = 0.0  # seconds trained, over all sessions of the run
    best_val: float = math.inf
    history: list = field(default_factory=list)  # one entry per evaluation
    sample_prob: float = 0.0  # the scheduled-sampling chance of the last step

    @classmethod
    def fresh(cls, plan: RunPlan) -> "TrainState":
        o, dtype = plan.options, DTYPES[plan.options.dtype]
        rng = np.random.default_rng(o.seed)
        return cls(params=init_params(plan.config, rng, dtype), optimizer=make_optimizer(o.optimizer, o.lr),
                   rng=rng, carried=zero_state(plan.config, plan.batch_size, dtype))

    def to_checkpoint(self, plan: RunPlan) -> ckpt_mod.Checkpoint:
        return ckpt_mod.Checkpoint(
            config=plan.config, vocab=plan.corpus.vocab, params=self.params,
            corpus={**plan.corpus_info, "sha256": plan.corpus.text_sha256,
                    "train_chars": int(len(plan.corpus.train)), "val_chars": int(len(plan.corpus.val))},
            train=TrainRecord(
                options=plan.options, budget=plan.budget, batch_size=plan.batch_size, step=self.step,
                epoch=self.epoch, window=self.window, elapsed=self.elapsed, optimizer_steps=self.optimizer.t,
                rng_state=self.rng.bit_generator.state, history=list(self.history),
                best_val_loss=None if math.isinf(self.best_val) else self.best_val, val_unigram=plan.val_unigram,
                recipe=plan.recipe, sample_prob=self.sample_prob),
            optim_state=self.optimizer.state_arrays(),
            carried_state=self.carried,
        )

    @classmethod
    def from_checkpoint(cls, ck: ckpt_mod.Checkpoint, plan: RunPlan) -> "TrainState":
        t, o, dtype = ck.train, plan.options, DTYPES[plan.options.dtype]
        optimizer = make_optimizer(o.optimizer, o.lr)
        optimizer.load_state_arrays({k: v.astype(dtype) for k, v in ck.optim_state.items()}, t.optimizer_steps)
        rng = np.random.default_rng()
        rng.bit_generator.state = t.rng_state
        return cls(params=cast_params(ck.params, dtype), optimizer=optimizer, rng=rng,
                   carried=ck.config.network.cast_state(ck.carried_state, dtype), step=t.step, epoch=t.epoch,
                   window=t.window, elapsed=t.elapsed, history=list(t.history),
                   best_val=math.inf if t.best_val_loss is None else t.best_val_loss, sample_prob=t.sample_prob)


# ------------------------------------------------------------------------- what the loop reports
@dataclass
class StepInfo:
    step: int
    epoch: int
    loss: float
    grad_norm: float
    clipped: bool
    lr: float
    elapsed: float
    chars_per_sec: float
    progress: float  # 0..1 of the budget, for the progress bar (0 when unknown)


@dataclass
class EvalInfo:
    step: int
    val_loss: float
    best_val_loss: float
    improved: bool
    seconds: float


@dataclass
class TrainResult:
    out_dir: str
    steps: int
    epochs: int
    elapsed: float
    chars_per_sec: float
    train_loss: float
    best_val_loss: float | None
    val_unigram: float | None
    best_path: str
    last_path: str
    stopped_by: Stop
    batch_size: int


class Callbacks:
    """Override what you need; the trainer calls these and prints nothing itself."""

    def on_start(self, step: int) -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_sample(self, step: int, text: str) -> None: ...
    def on_save(self, path: str) -> None: ...
    def on_stop_requested(self, stop: Stop) -> None: ...


# ------------------------------------------------------------------------------- the loop
class Trainer:
    def __init__(self, plan: RunPlan, callbacks: Callbacks | None = None):
        self.plan, self.config, self.opts = plan, plan.config, plan.options
        self.callbacks = callbacks or Callbacks()
        self.streams = Streams(plan.corpus.train, plan.batch_size, self.opts.seq_len)
        self.state = TrainState.from_checkpoint(plan.prior, plan) if plan.prior else TrainState.fresh(plan)
        self.stop_requested: Stop | None = None
        self.eval_seconds = 0.0  # the last evaluation's duration, reserved at the end of a --time budget
        self.recent: list[float] = []  # the last 100 training losses
        self.has_val = len(plan.corpus.val) > 1
        self.clock = 0.0  # set when the run starts: state.elapsed = time.monotonic() - clock

    def request_stop(self, signum: int) -> None:
        """Called from a signal handler: finish the current step, save, and stop."""
        self.stop_requested = Stop.from_signal(signum)
        self.callbacks.on_stop_requested(self.stop_requested)

    def progress(self) -> float:
        """The fraction of the budget used so far (0..1)."""
        return self.plan.budget.progress(self.state.step, self.epoch_float(), self.state.elapsed)

    def learning_rate(self, p: float) -> float:
        """The rate for a step taken at budget progress p."""
        o = self.opts
        schedule = o.lr_schedule
        if schedule == "auto":
            schedule = "cosine" if self.plan.budget.end_time is not None else "constant"
        if schedule == "constant":
            return o.lr
        return o.lr * (o.min_lr_frac + (1.0 - o.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * p)))

    def epoch_float(self) -> float:
        return self.state.epoch + self.state.window / self.streams.windows_per_epoch

    def tick(self) -> None:
        """Bring the state's elapsed time up to now (it includes evaluations and saves)."""
        self.state.elapsed = time.monotonic() - self.clock

    def save(self, name: str) -> str:
        self.tick()
        path = os.path.join(self.plan.out_dir, name)
        ckpt_mod.save(self.state.to_checkpoint(self.plan), path)
        self.callbacks.on_save(path)
        return path

    def evaluate(self, metrics: MetricsLog) -> None:
        """Validation loss, one entry in the history and the log, `last` (and `best`) saved."""
        s = self.state
        t0 = time.monotonic()
        val_ids = self.plan.corpus.val[:MONITOR_CHARS]
        val = (evaluate_stream(s.params, self.config, val_ids, streams=monitor_streams(len(val_ids)))[0]
               if self.has_val else float("nan"))
        self.eval_seconds = time.monotonic() - t0
        self.tick()
        improved = self.has_val and val < s.best_val
        if improved:
            s.best_val = val
        s.history.append({"step": s.step, "elapsed": round(s.elapsed, 3),
                          "train_loss": float(np.mean(self.recent)) if self.recent else None,
                          "val_loss": val if self.has_val else None})
        metrics.write({"step": s.step, "elapsed": round(s.elapsed, 3), "val_loss": val if self.has_val else None})
        self.save(LAST)
        if improved or not self.has_val:
            self.save(BEST)
        self.callbacks.on_eval(EvalInfo(s.step, val, s.best_val, improved, self.eval_seconds))

    def preview(self) -> str:
        settings = sampling.SampleSettings(length=self.opts.sample_length)
        rngs = [np.random.default_rng([self.opts.seed, self.state.step])]
        return "".join(chars[0] for chars in
                       sampling.generate(self.state.params, self.config, self.plan.corpus.vocab, settings, rngs))

    def run(self) -> TrainResult:
        out = self.plan.out_dir
        try:
            os.makedirs(out, exist_ok=True)
            with run_lock(out):
                remove_temporary_files(out, ckpt_mod.TMP_PREFIX)
                with MetricsLog(out) as metrics:
                    return self._run(metrics)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"{e}; the last good checkpoint is kept in {out}") from None
        except OSError as e:
            raise RunDirError(f"cannot write to {out}: {e.strerror or e}") from None

    def _run(self, metrics: MetricsLog) -> TrainResult:
        s, o, B = self.state, self.opts, self.plan.batch_size
        self.callbacks.on_start(s.step)
        diverged_above = 3.0 * math.log(self.config.vocab_size)
        chars_done, step_time, last_eval_step = 0, 0.0, None
        self.clock = time.monotonic() - s.elapsed - self.plan.spent  # a fresh --time run: planning counts
        while True:
            self.tick()
            reached = self.plan.budget.reached(s.step, s.epoch, s.elapsed + self.eval_seconds)
            stop = self.stop_requested or (Stop[reached.upper()] if reached else None)
            if stop:
                break
            if s.window >= self.streams.windows_per_epoch:  # a new epoch: fresh state
                s.epoch, s.window = s.epoch + 1, 0
                s.carried = zero_state(self.config, B, DTYPES[o.dtype])
                continue
            t0 = time.monotonic()
            progress = self.progress()
            lr = self.learning_rate(progress)
            # scheduled sampling: the chance of feeding the model its own output ramps over the budget,
            # from where the run's ramp stood when this budget began (0 for a fresh run) to the option's value
            p0 = self.plan.budget.start_sample_prob
            sample_prob = p0 + (o.scheduled_sampling - p0) * progress
            s.sample_prob = sample_prob
            try:
                r = train_step(s.params, self.config, s.optimizer, self.streams.window(s.window), s.carried,
                               lr=lr, clip=o.clip, rng=s.rng, state_reset=o.state_reset, sample_prob=sample_prob)
            except TrainingDiverged as e:
                raise TrainingDiverged(f"{e} at step {s.step + 1}; lower --lr (now {o.lr:g}) or --clip") from None
            s.carried, s.window, s.step = r.final_state, s.window + 1, s.step + 1
            chars_done += o.seq_len * B
            step_time += time.monotonic() - t0
            self.tick()
            self.recent = (self.recent + [r.loss])[-100:]
            if len(self.recent) >= DIVERGE_STEPS and min(self.recent[-DIVERGE_STEPS:]) > diverged_above:
                raise TrainingDiverged(
                    f"the loss diverged: above {diverged_above:.2f} nats/char (3 ln V, far worse than guessing "
                    f"uniformly) for {DIVERGE_STEPS} steps up to step {s.step}; lower --lr (now {o.lr:g})")
            if s.step % o.log_every == 0:
                metrics.write({"step": s.step, "elapsed": round(s.elapsed, 3), "train_loss": r.loss,
                               "lr": lr, "grad_norm": r.grad_norm, "clipped": r.clipped,
                               **({"sample_prob": sample_prob} if o.scheduled_sampling else {})})
            self.callbacks.on_step(StepInfo(
                step=s.step, epoch=s.epoch, loss=r.loss, grad_norm=r.grad_norm, clipped=r.clipped, lr=lr,
                elapsed=s.elapsed, chars_per_sec=chars_done / max(step_time, 1e-9),
                progress=self.progress()))
            if o.eval_every and s.step % o.eval_every == 0:
                self.evaluate(metrics)
                last_eval_step = s.step
                if self.plan.budget.plateau(s.history):
                    stop = Stop.PLATEAU
                    break
            if o.sample_every and s.step % o.sample_every == 0:
                self.callbacks.on_sample(s.step, self.preview())
        if stop.requested:  # asked to stop between two steps: save where we are, no evaluation
            self.save(LAST)
            if not os.path.exists(os.path.join(self.plan.out_dir, BEST)):
                self.save(BEST)
        elif last_eval_step != s.step:
            self.evaluate(metrics)
        self.tick()
        return TrainResult(
            out_dir=self.plan.out_dir, steps=s.step, epochs=s.epoch, elapsed=s.elapsed,
            chars_per_sec=chars_done / max(step_time, 1e-9),
            train_loss=float(np.mean(self.recent)) if self.recent else float("nan"),
            best_val_loss=None if math.isinf(s.best_val) else s.best_val, val_unigram=self.plan.val_unigram,
            best_path=os.path.join(self.plan.out_dir, BEST), last_path=os.path.join(self.plan.out_dir, LAST),
            stopped_by=stop, batch_size=B)
