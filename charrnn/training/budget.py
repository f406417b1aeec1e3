"""The budget of a run: where it ends (steps, epochs, elapsed seconds, or a plateau of the
validation loss), how far along it is, and why a run stopped."""

from __future__ import annotations

from dataclasses import dataclass

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

    def reached(self, step: int, epoch: int, elapsed: float) -> str | None:
        """Which limit is reached ("steps", "epochs", "time"), or None."""
        if self.end_step is not None and step >= self.end_step:
            return "steps"
        if self.end_epoch is not None and epoch >= self.end_epoch:
            return "epochs"
        if self.end_time is not None and elapsed >= self.end_time:
            return "time"
        return None


