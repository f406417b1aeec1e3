"""The budget of a run: where it ends (steps, epochs, elapsed seconds, or a plateau of the
validation loss), how far along it is, and why a run stopped."""

from __future__ import annotations

import enum
import signal
from dataclasses import dataclass


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


@dataclass
class Budget:
    """Absolute end points (None = no limit): step count, epoch count, elapsed seconds."""

    end_step: int | None = None
    end_epoch: int | None = None
    end_time: float | None = None
    start_step: int = 0  # where the current budget (and its lr schedule) began
    start_epoch: float = 0.0
    start_time: float = 0.0
    start_sample_prob: float = 0.0  # the scheduled-sampling chance the budget's ramp starts from
    patience: int | None = None  # stop after this many evaluations without a new best (no budget given)

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

    def plateau(self, history: list) -> bool:
        """With a patience: the last `patience` evaluations found no better validation loss."""
        vals = [h["val_loss"] for h in history if h.get("val_loss") is not None]
        if self.patience is None or not vals:
            return False
        best = min(range(len(vals)), key=vals.__getitem__)
        return len(vals) - 1 - best >= self.patience

    def reached(self, step: int, epoch: int, elapsed: float) -> Stop | None:
        """The limit that is reached, or None."""
        if self.end_step is not None and step >= self.end_step:
            return Stop.STEPS
        if self.end_epoch is not None and epoch >= self.end_epoch:
            return Stop.EPOCHS
        if self.end_time is not None and elapsed >= self.end_time:
            return Stop.TIME
        return None
