"""What the training loop tells its caller as it runs (it prints nothing itself): a `Callbacks`
object receives a `StepInfo` after every step and an `EvalInfo` after every evaluation, and the
loop returns a `TrainResult` (views/progress.py draws them)."""

from __future__ import annotations

from dataclasses import dataclass

from charrnn.training.budget import Stop


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
