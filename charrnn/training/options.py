"""How a model is trained: `TrainOptions` (the model itself is `model.ModelConfig`), the fields
a fresh run's recipe chooses, and how validation is monitored during training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.corpus.text import NORMALIZATIONS
from charrnn.ground.fields import option

DTYPES = {"float32": np.float32, "float64": np.float64}  # --dtype


@dataclass
class TrainOptions:
    """How a model is trained (the model itself is `model.ModelConfig`)."""

    optimizer: str = option("adam", "Optimiser.", choices=("adam", "adagrad", "rmsprop", "sgd"))
    lr: float = option(4e-3, "Learning rate.", low=0.0, open_low=True)
    lr_schedule: str = option("auto", "auto: cosine decay to 10% of --lr over --time when a time is "
                                      "given, else constant.", choices=("auto", "constant", "cosine"))
    min_lr_frac: float = 0.1  # cosine decays lr to lr * min_lr_frac
    clip: float = option(5.0, "Clip the global gradient norm to this; 0 = off.", low=0.0)
    weight_decay: float = option(0.0, "Decoupled weight decay (AdamW): every step each weight matrix "
                                      "shrinks by lr x this, apart from its gradient (biases do not); 0 = off.",
                                 low=0.0)
    average: float = option(0.0, "Weight averaging: evaluate and keep as best.safetensors an exponential moving "
                                 "average of the weights, this decay a step (0.999 spans about the last 1000 "
                                 "steps); last.safetensors keeps the weights themselves too; 0 = off.",
                            low=0.0, high=1.0, open_high=True)
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


# the fields a fresh run's recipe chooses when they are left out (charrnn/training/recipe.py)
RECIPE_MODEL_FIELDS = ("cell", "num_layers", "hidden_size", "dropout")
RECIPE_TRAIN_FIELDS = ("batch_size", "seq_len", "lr", "lr_schedule", "eval_every", "weight_decay", "average")

# how validation is monitored during training (`charrnn eval` reads the whole text as one stream):
# the validation split's first MONITOR_CHARS characters, as up to MONITOR_STREAMS pieces side by
# side of at least MONITOR_PIECE characters each (so the pieces' cold starts cost little), so that
# an evaluation costs seconds whatever the corpus size; a split under 2 pieces is one stream
MONITOR_CHARS = 1 << 17
MONITOR_STREAMS = 32
MONITOR_PIECE = 4096


def monitor_streams(val_chars: int) -> int:
    return max(1, min(MONITOR_STREAMS, min(val_chars, MONITOR_CHARS) // MONITOR_PIECE))
