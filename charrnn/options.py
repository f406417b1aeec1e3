"""One home for every default the user can change: a dataclass field declared with `option`
carries its default, its help text and its allowed values, and the CLI builds its Click
options from these fields (`cli_options.options_from`). Nothing else writes a default down again.

    TrainOptions (train), Budget (--steps / --epochs / --time), InspectSettings
    (inspect-gradients), ExposureSettings (exposure-bias); the model's are in model.ModelConfig
    and sampling's in sampling.SampleSettings. No heavy imports here: `charrnn --help` stays fast.

    hidden_size: int = option(512, "Hidden units per layer (H).", low=1, high=16384)

`low`/`high` bound a number (`open_low`/`open_high` exclude the bound itself); `choices` lists
the allowed words; `type` is the value's type when the default (None) does not show it.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields

from charrnn.text import NORMALIZATIONS


def option(default, help: str, *, choices=None, low=None, high=None, open_low=False,
           open_high=False, type=None) -> Field:
    meta = {"help": help, "choices": choices, "low": low, "high": high, "open_low": open_low,
            "open_high": open_high, "type": type}
    return field(default=default, metadata={"option": meta})


def option_fields(cls) -> list[tuple[Field, dict]]:
    """(field, its option metadata) for every user-facing field of a dataclass, in order."""
    return [(f, f.metadata["option"]) for f in fields(cls) if "option" in f.metadata]


@dataclass
class TrainOptions:
    """How a model is trained (the model itself is `model.ModelConfig`)."""

    optimizer: str = option("adam", "Optimiser.", choices=("adam", "adagrad", "rmsprop", "sgd"))
    lr: float = option(4e-3, "Learning rate.", low=0.0, open_low=True)
    lr_schedule: str = option("auto", "auto: cosine decay to 10% of --lr over --time when a time is "
                                      "given, else constant.", choices=("auto", "constant", "cosine"))
    min_lr_frac: float = 0.1  # cosine decays lr to lr * min_lr_frac
    clip: float = option(5.0, "Clip the global gradient norm to this; 0 = off.", low=0.0)
    seq_len: int = option(100, "BPTT window T (characters per window).", low=1)
    batch_size: int = option(32, "B parallel streams.", low=1)
    dtype: str = option("float32", "Training precision.", choices=("float32", "float64"))
    val_frac: float = option(0.1, "The last fraction of the text validates.", low=0.0, high=1.0, open_high=True)
    seed: int = option(0, "Random seed (weights, dropout, state resets).")
    eval_every: int = option(500, "Evaluate and checkpoint every N steps; 0 = at the end only.", low=0)
    sample_every: int = option(0, "Print a preview sample every N steps; 0 = never.", low=0)
    sample_length: int = 200  # characters in a preview sample
    state_reset: float = option(0.01, "Chance per window and stream of starting from a zero state, so "
                                      "the model also learns to start fresh.", low=0.0, high=1.0)
    scheduled_sampling: float = option(0.0, "Scheduled sampling: feed the model its own sample instead of the "
                                            "observed character with a chance that ramps from 0 to this over "
                                            "the budget (0 = teacher forcing only).", low=0.0, high=1.0)
    log_every: int = 10  # steps between lines of metrics.jsonl
    normalize: str = option("none", "Unicode normalization of the text: nfkc folds full-width and half-width "
                                    "forms (Ａ→A, ｶ→カ); also applied to --prime and to eval texts.",
                            choices=NORMALIZATIONS)

    # what may not change when a run is resumed, because the saved state depends on it
    FIXED_ON_RESUME = ("optimizer", "seq_len", "batch_size", "val_frac", "normalize")


# the fields a fresh run's recipe chooses when they are left out (charrnn/recipe.py)
RECIPE_MODEL_FIELDS = ("cell", "num_layers", "hidden_size", "dropout")
RECIPE_TRAIN_FIELDS = ("batch_size", "seq_len", "lr", "lr_schedule", "eval_every")

# how validation is monitored during training (`charrnn eval` reads the whole text as one stream):
# the validation split's first MONITOR_CHARS characters, as up to MONITOR_STREAMS pieces side by
# side of at least MONITOR_PIECE characters each (so the pieces' cold starts cost little), so that
# an evaluation costs seconds whatever the corpus size; a split under 2 pieces is one stream
MONITOR_CHARS = 1 << 17
MONITOR_STREAMS = 32
MONITOR_PIECE = 4096


def monitor_streams(val_chars: int) -> int:
    return max(1, min(MONITOR_STREAMS, min(val_chars, MONITOR_CHARS) // MONITOR_PIECE))


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


@dataclass
class InspectSettings:
    seq_len: int = option(100, "Window length T.", low=2, high=10000)
    batch_size: int = option(4, "Streams B in the window.", low=1, high=1024)
    hidden_size: int = option(64, "Fresh models only: hidden size.", low=1, high=4096)
    num_layers: int = option(1, "Fresh models only: layers.", low=1, high=8)
    train_steps: int = option(0, "Fresh models only: train each this many steps first, to see trained gates "
                                 "rather than initial ones.", low=0)
    recurrent_scale: float = option(1.0, "Fresh models only: multiply every weight_hh by this (e.g. 4 to see "
                                         "gradients explode).", low=0.0, open_low=True)
    clip: float = option(5.0, "Clipping threshold to compare the global norm with.", low=0.0)
    check_steps: int = option(20, "Steps of the window used by the gradient check.", low=1)
    check_elements: int = option(12, "Elements checked per large tensor.", low=2)
    seed: int = option(0, "Chooses the window, the fresh weights and the checked elements.")


@dataclass
class ExposureSettings:
    prefixes: int = option(64, "Real prefixes N, evenly spaced over the text.", low=1)
    warmup: int = option(100, "Characters P of each prefix, read teacher forced first.", low=1)
    horizon: int = option(100, "Offsets k = 1..K measured after each prefix.", low=1, high=1000)
    temperature: float = option(1.0, "Temperature of the free-running samples.", low=0.0, open_low=True)
    prefix_temperature: float | None = option(None, "Temperature of the model's own prefixes (default: --temperature); "
                                                    "a high one makes prefixes unlike the training text.",
                                              type=float, low=0.0, open_low=True)
    seed: int = option(0, "Seeds the free-running samples (prefix i draws from its own generator).")
    show: int = option(3, "Prefixes shown side by side.", low=0)
