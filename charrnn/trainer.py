"""The training loop: windows of the corpus -> teacher-forced step -> clip -> optimiser, with a
budget (steps / epochs / time, whichever ends first), periodic evaluation on the validation
split, checkpoints, and preview samples. It prints nothing: it reports to a `Callbacks` object
(the CLI's renderer draws the progress bar and the summary).

Everything that decides the next update lives in the checkpoint (weights, optimiser state,
carried hidden state, data position, random generator state, step counters, the budget), so a
run stopped after N steps and resumed gives bit-for-bit the weights of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from charrnn import checkpoint as ckpt_mod
from charrnn import sampling
from charrnn.data import Corpus, Streams, fit_batch_size, unigram_entropy
from charrnn.model import ModelConfig, cast_params, init_params, zero_state
from charrnn.optim import clip_by_global_norm, make_optimizer
from charrnn.teacher_forcing import evaluate_stream, loss_and_grads

BEST, LAST, METRICS = "best.safetensors", "last.safetensors", "metrics.jsonl"
DIVERGE_STEPS = 20  # consecutive steps with a loss above 3 ln V that count as divergence
DTYPES = {"float32": np.float32, "float64": np.float64}


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite."""


class RunLocked(RuntimeError):
    """Another live process is training into the same run directory."""


@contextmanager
def run_lock(out_dir: str):
    """Hold an exclusive lock on out_dir/.lock for the duration of a run.

    flock locks belong to the open file, so the kernel drops them when the process dies, even
    by SIGKILL: a crashed run never leaves the directory locked."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unlocked
        yield
        return
    path = os.path.join(out_dir, ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RunLocked(f"{out_dir} is being written by another charrnn train (pid {holder}); "
                        f"wait for it to finish or choose another --out") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.unlink(path)
        os.close(fd)


@dataclass
class TrainOptions:
    optimizer: str = "adam"
    lr: float = 4e-3
    lr_schedule: str = "auto"  # auto: cosine over --time when given, else constant | constant | cosine
    min_lr_frac: float = 0.1  # cosine decays lr to lr * min_lr_frac
    clip: float = 5.0  # global gradient norm; 0 = off
    seq_len: int = 100  # T
    batch_size: int = 32  # B
    dtype: str = "float32"
    val_frac: float = 0.1
    seed: int = 0
    eval_every: int = 500  # steps; 0 = only at the end
    sample_every: int = 0  # steps; 0 = never
    sample_length: int = 200
    state_reset: float = 0.01  # per window and stream: chance of starting from a zero state
    log_every: int = 10  # steps between lines of metrics.jsonl

    # what may not change when a run is resumed, because the saved state depends on it
    FIXED_ON_RESUME = ("optimizer", "seq_len", "batch_size", "val_frac")


@dataclass
class Budget:
    """Absolute end points (None = no limit): step count, epoch count, elapsed seconds."""

    end_step: int | None = None
    end_epoch: int | None = None
    end_time: float | None = None
    start_step: int = 0  # where the current budget (and its lr schedule) began
    start_epoch: float = 0.0
    start_time: float = 0.0

    def progress(self, step: int, epoch_float: float, elapsed: float) -> float:
        """Fraction of the budget used, by whichever limit is closest to running out."""
        fracs = []
        if self.end_step is not None:
            fracs.append((step - self.start_step) / max(self.end_step - self.start_step, 1))
        if self.end_epoch is not None:
            fracs.append((epoch_float - self.start_epoch) / max(self.end_epoch - self.start_epoch, 1e-9))
        if self.end_time is not None:
            fracs.append((elapsed - self.start_time) / max(self.end_time - self.start_time, 1e-9))
        return min(max(fracs), 1.0) if fracs else 0.0


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
    stopped_by: str  # "steps" | "epochs" | "time" | or the reason given to stop_requested
    batch_size: int


class Callbacks:
    """Override what you need; the trainer calls these and prints nothing itself."""

    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_sample(self, step: int, text: str) -> None: ...
    def on_save(self, path: str) -> None: ...


class Trainer:
    def __init__(
        self,
        corpus: Corpus,
        config: ModelConfig,
        options: TrainOptions,
        out_dir: str,
        budget: Budget,
        resume: ckpt_mod.Checkpoint | None = None,
        corpus_info: dict | None = None,
        callbacks: Callbacks | None = None,
    ):
        self.corpus, self.config, self.opts, self.out_dir = corpus, config, options, out_dir
        self.callbacks = callbacks or Callbacks()
        self.corpus_info = dict(corpus_info or {})
        self.dtype = DTYPES[options.dtype]
        self.batch_size = fit_batch_size(len(corpus.train), options.batch_size, options.seq_len)
        self.streams = Streams(corpus.train, self.batch_size, options.seq_len)
        self.optimizer = make_optimizer(options.optimizer, options.lr)
        self.stop_requested: str | None = None
        if resume is None:
            self.rng = np.random.default_rng(options.seed)
            self.params = init_params(config, self.rng, self.dtype)
            self.state = zero_state(config, self.batch_size, self.dtype)
            self.step = self.epoch = self.window = 0
            self.elapsed_before = 0.0
            self.history: list = []
            self.best_val = math.inf
        else:
            t = resume.train
            self.params = cast_params(resume.params, self.dtype)
            self.optimizer.load_state_arrays(
                {k: v.astype(self.dtype) for k, v in resume.optim_state.items()}, t["optimizer_steps"]
            )
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = t["rng_state"]
            self.state = resume.carried_state.astype(self.dtype)
            self.step, self.epoch, self.window = t["step"], t["epoch"], t["window"]
            self.elapsed_before = t["elapsed"]
            self.history = list(t.get("history", []))
            self.best_val = t["best_val_loss"] if t.get("best_val_loss") is not None else math.inf
        self.budget = budget
        self.val_unigram = unigram_entropy(corpus.val, config.vocab_size) if len(corpus.val) > 1 else None

    # --- learning rate -------------------------------------------------------------------
    def learning_rate(self, elapsed: float) -> float:
        o = self.opts
        schedule = o.lr_schedule
        if schedule == "auto":
            schedule = "cosine" if self.budget.end_time is not None else "constant"
        if schedule == "constant":
            return o.lr
        p = self.budget.progress(self.step, self.epoch_float(), elapsed)
        return o.lr * (o.min_lr_frac + (1.0 - o.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * p)))

    def epoch_float(self) -> float:
        return self.epoch + self.window / self.streams.windows_per_epoch

    # --- checkpoints ---------------------------------------------------------------------
    def make_checkpoint(self, elapsed: float) -> ckpt_mod.Checkpoint:
        return ckpt_mod.Checkpoint(
            config=self.config,
            vocab=self.corpus.vocab,
            params=self.params,
            corpus={
                **self.corpus_info,
                "sha256": self.corpus.text_sha256,
                "train_chars": int(len(self.corpus.train)),
                "val_chars": int(len(self.corpus.val)),
            },
            train={
                "options": asdict(self.opts),
                "budget": asdict(self.budget),
                "batch_size": self.batch_size,
                "step": self.step,
                "epoch": self.epoch,
                "window": self.window,
                "elapsed": elapsed,
                "optimizer_steps": self.optimizer.t,
                "rng_state": self.rng.bit_generator.state,
                "history": self.history,
                "best_val_loss": None if math.isinf(self.best_val) else self.best_val,
                "val_unigram": self.val_unigram,
            },
            optim_state=self.optimizer.state_arrays(),
            carried_state=self.state,
        )

    def save(self, name: str, elapsed: float) -> str:
        path = os.path.join(self.out_dir, name)
        ckpt_mod.save(self.make_checkpoint(elapsed), path)
        self.callbacks.on_save(path)
        return path

    # --- evaluation and previews ---------------------------------------------------------
    def evaluate(self) -> float:
        loss, _ = evaluate_stream(self.params, self.config, self.corpus.val)
        return loss

    def preview(self) -> str:
        settings = sampling.SampleSettings(length=self.opts.sample_length)
        rngs = [np.random.default_rng([self.opts.seed, self.step])]
        return "".join(
            chars[0]
            for chars in sampling.generate(self.params, self.config, self.corpus.vocab, settings, rngs)
        )

    # --- the loop ------------------------------------------------------------------------
    def budget_reached(self, elapsed: float, eval_reserve: float) -> str | None:
        b = self.budget
        if b.end_step is not None and self.step >= b.end_step:
            return "steps"
        if b.end_epoch is not None and self.epoch >= b.end_epoch:
            return "epochs"
        if b.end_time is not None and elapsed + eval_reserve >= b.end_time:
            return "time"
        return None

    def run(self) -> TrainResult:
        os.makedirs(self.out_dir, exist_ok=True)
        with run_lock(self.out_dir):
            return self._run()

    def _run(self) -> TrainResult:
        for name in os.listdir(self.out_dir):  # left by a process killed while saving
            if name.startswith(ckpt_mod.TMP_PREFIX):
                os.unlink(os.path.join(self.out_dir, name))
        metrics = open(os.path.join(self.out_dir, METRICS), "a", encoding="utf-8")
        self.callbacks.on_start(self)
        start = time.monotonic()
        T, B = self.opts.seq_len, self.batch_size
        has_val = len(self.corpus.val) > 1
        eval_seconds = 0.0  # the last evaluation's duration, reserved at the end of a --time budget
        recent: list[float] = []
        chars_done = 0
        step_time = 0.0

        diverged_above = 3.0 * math.log(self.config.vocab_size)

        def elapsed() -> float:
            return self.elapsed_before + time.monotonic() - start

        def do_eval():
            nonlocal eval_seconds
            t0 = time.monotonic()
            val = self.evaluate() if has_val else float("nan")
            eval_seconds = time.monotonic() - t0
            improved = has_val and val < self.best_val
            if improved:
                self.best_val = val
            train_loss = float(np.mean(recent)) if recent else None
            self.history.append({"step": self.step, "elapsed": round(elapsed(), 3),
                                 "train_loss": train_loss, "val_loss": val if has_val else None})
            metrics.write(json.dumps({"step": self.step, "elapsed": round(elapsed(), 3),
                                      "val_loss": val if has_val else None}) + "\n")
            metrics.flush()
            self.save(LAST, elapsed())
            if improved or not has_val:
                self.save(BEST, elapsed())
            self.callbacks.on_eval(EvalInfo(self.step, val, self.best_val, improved, eval_seconds))

        stopped_by = None
        last_eval_step = None
        try:
            while True:
                stopped_by = self.stop_requested or self.budget_reached(elapsed(), eval_seconds)
                if stopped_by:
                    break
                if self.window >= self.streams.windows_per_epoch:  # a new epoch: fresh state
                    self.epoch += 1
                    self.window = 0
                    self.state = zero_state(self.config, B, self.dtype)
                    continue
                t0 = time.monotonic()
                ids = self.streams.window(self.window)  # (T+1, B)
                if self.opts.state_reset > 0:
                    reset = self.rng.random(B) < self.opts.state_reset
                    self.state[:, :, reset] = 0.0
                dropout_rng = self.rng if self.config.dropout > 0 else None
                r = loss_and_grads(self.params, self.config, ids, self.state, dropout_rng)
                norm, clipped = clip_by_global_norm(r.grads, self.opts.clip)
                if not (math.isfinite(r.loss) and math.isfinite(norm)):
                    raise TrainingDiverged(
                        f"the loss became {r.loss} at step {self.step + 1} (gradient norm {norm:.3g}); "
                        f"lower --lr (now {self.opts.lr:g}) or --clip"
                    )
                lr = self.learning_rate(elapsed())
                self.optimizer.step(self.params, r.grads, lr)
                self.state = r.final_state
                self.window += 1
                self.step += 1
                chars_done += T * B
                step_time += time.monotonic() - t0
                recent = (recent + [r.loss])[-100:]
                if len(recent) >= DIVERGE_STEPS and min(recent[-DIVERGE_STEPS:]) > diverged_above:
                    raise TrainingDiverged(
                        f"the loss diverged: above {diverged_above:.2f} nats/char (3 ln V, far worse than "
                        f"guessing uniformly) for {DIVERGE_STEPS} steps up to step {self.step}; lower --lr "
                        f"(now {self.opts.lr:g})"
                    )
                if self.step % self.opts.log_every == 0:
                    metrics.write(json.dumps({
                        "step": self.step, "elapsed": round(elapsed(), 3), "train_loss": r.loss,
                        "lr": lr, "grad_norm": norm, "clipped": clipped}) + "\n")
                    metrics.flush()  # so that `tail -f metrics.jsonl` follows the run
                self.callbacks.on_step(StepInfo(
                    step=self.step, epoch=self.epoch, loss=r.loss, grad_norm=norm, clipped=clipped,
                    lr=lr, elapsed=elapsed(), chars_per_sec=chars_done / max(step_time, 1e-9),
                    progress=self.budget.progress(self.step, self.epoch_float(), elapsed()),
                ))
                if self.opts.eval_every and self.step % self.opts.eval_every == 0:
                    do_eval()
                    last_eval_step = self.step
                if self.opts.sample_every and self.step % self.opts.sample_every == 0:
                    self.callbacks.on_sample(self.step, self.preview())
        finally:
            metrics.flush()
        if self.stop_requested:
            # asked to stop (Ctrl-C / SIGTERM, between two steps): save where we are, no evaluation
            self.save(LAST, elapsed())
            if not os.path.exists(os.path.join(self.out_dir, BEST)):
                self.save(BEST, elapsed())
        elif last_eval_step != self.step:
            do_eval()
        metrics.close()
        return TrainResult(
            out_dir=self.out_dir, steps=self.step, epochs=self.epoch, elapsed=elapsed(),
            chars_per_sec=chars_done / max(step_time, 1e-9),
            train_loss=float(np.mean(recent)) if recent else float("nan"),
            best_val_loss=None if math.isinf(self.best_val) else self.best_val,
            val_unigram=self.val_unigram,
            best_path=os.path.join(self.out_dir, BEST), last_path=os.path.join(self.out_dir, LAST),
            stopped_by=stopped_by, batch_size=B,
        )
