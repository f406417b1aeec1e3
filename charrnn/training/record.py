"""What a checkpoint's metadata must hold, checked field by field when it is loaded, so that
`--resume`, `sample`, `eval`, `info` and `inspect-gradients` never meet a missing key or a
value of the wrong type: a bad field is one line naming it ("train.options.lr: ...").

    corpus   {name, path, encoding, normalize, sha256, train_chars, val_chars}, all optional
             (a checkpoint may come without its corpus); no other field
    train    {} for weights only, or the whole training state: a `TrainRecord`, every field
             (the recipe may be absent: runs from before recipes), nothing else

`TrainRecord` is the one declaration of the training state: the trainer writes it, this module
validates it, planning a resumed run reads it and `info` shows it, each from its fields.
`options` may lack fields added to `TrainOptions` after the checkpoint was written: they take
their defaults. Each option is checked against its own declaration (type, choices, range).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

import numpy as np

from charrnn.corpus.text import NORMALIZATIONS
from charrnn.ground.fields import option_fields
from charrnn.ground.optim import OPTIMIZERS
from charrnn.training.budget import Budget
from charrnn.training.options import RECIPE_MODEL_FIELDS, RECIPE_TRAIN_FIELDS, TrainOptions
from charrnn.training.recipe import Recipe


class FieldError(ValueError):
    """A field of the metadata that is missing, unknown or of the wrong type or value."""


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


def check(ok: bool, name: str, what: str) -> None:
    if not ok:
        raise FieldError(f"{name}: {what}")


def count(v, name: str, low: int = 0) -> None:
    check(is_int(v) and v >= low, name, f"must be an integer >= {low}, got {v!r}")


def number_or_none(v, name: str) -> None:
    check(v is None or is_number(v), name, f"must be a number or null, got {v!r}")


def quoted(key: str) -> str:
    """A field name as it can stand in a one-line message: as is, or quoted with escapes."""
    return key if key.isidentifier() else repr(key)


def known_keys(d, allowed, name: str) -> None:
    check(isinstance(d, dict), name, f"must be an object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(allowed))
    check(not unknown, f"{name}.{quoted(unknown[0]) if unknown else ''}", "unknown field")


# ------------------------------------------------------------------------------- corpus
CORPUS = {
    "name": lambda v, n: check(isinstance(v, str), n, "must be a string"),
    "path": lambda v, n: check(v is None or isinstance(v, str), n, "must be a string or null"),
    "encoding": lambda v, n: check(isinstance(v, str), n, "must be a string"),
    "normalize": lambda v, n: check(v in NORMALIZATIONS, n, f"must be one of {', '.join(NORMALIZATIONS)}"),
    "sha256": lambda v, n: check(isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v),
                                 n, "must be 64 hexadecimal digits"),
    "train_chars": lambda v, n: count(v, n),
    "val_chars": lambda v, n: count(v, n),
    "items": lambda v, n: check_items(v, n),  # a list's counts (corpus/items.ItemCorpus.summary)
}
ITEM_COUNTS = ("items", "train_items", "val_items", "distinct_train", "distinct_val", "blank_lines")


def check_items(v, name: str) -> None:
    known_keys(v, ITEM_COUNTS, name)
    for key in ITEM_COUNTS:
        count(v.get(key), f"{name}.{key}")


def check_corpus(corpus) -> None:
    known_keys(corpus, CORPUS, "corpus")
    for key, value in corpus.items():
        CORPUS[key](value, f"corpus.{key}")


# -------------------------------------------------------------------------------- train
def check_option(value, f, meta, name: str) -> None:
    kind = meta["type"] or type(f.default)
    if kind is float:
        check(is_number(value), name, f"must be a number, got {value!r}")
    elif kind is int:
        check(is_int(value), name, f"must be an integer, got {value!r}")
    else:
        check(isinstance(value, kind), name, f"must be a {kind.__name__}, got {value!r}")
    if meta["choices"]:
        check(value in meta["choices"], name, f"must be one of {', '.join(meta['choices'])}, got {value!r}")
    low, high = meta["low"], meta["high"]
    if low is not None:
        check(value > low if meta["open_low"] else value >= low, name, f"must be {'>' if meta['open_low'] else '>='} {low}")
    if high is not None:
        check(value < high if meta["open_high"] else value <= high, name, f"must be {'<' if meta['open_high'] else '<='} {high}")


def check_options(options) -> None:
    declared = {f.name: (f, meta) for f, meta in option_fields(TrainOptions)}
    internal = {f.name: f for f in fields(TrainOptions) if f.name not in declared}
    known_keys(options, [f.name for f in fields(TrainOptions)], "train.options")
    for key, value in options.items():
        name = f"train.options.{key}"
        if key in declared:
            check_option(value, *declared[key], name)
        else:  # settings not offered as options: a positive number of the default's type
            default = internal[key].default
            check((is_int(value) if isinstance(default, int) else is_number(value)) and value > 0, name,
                  f"must be a positive {type(default).__name__}, got {value!r}")


def check_budget(budget) -> None:
    known_keys(budget, [f.name for f in fields(Budget)], "train.budget")
    for f in fields(Budget):
        name = f"train.budget.{f.name}"
        value = budget.get(f.name, f.default if f.default is not MISSING else None)
        if f.name.startswith("end_"):
            number_or_none(value, name)
        elif f.name == "patience":
            check(value is None or (is_int(value) and value >= 1), name, f"must be an integer >= 1 or null, got {value!r}")
        else:
            check(is_number(value) and value >= 0, name, f"must be a number >= 0, got {value!r}")


def check_rng_state(state) -> None:
    try:
        np.random.default_rng().bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError):
        raise FieldError("train.rng_state: not the state of a NumPy PCG64 random generator") from None


def check_history(history) -> None:
    check(isinstance(history, list), "train.history", "must be a list")
    for i, entry in enumerate(history):
        name = f"train.history[{i}]"
        known_keys(entry, ("step", "elapsed", "train_loss", "val_loss"), name)
        count(entry.get("step"), f"{name}.step")
        for key in ("elapsed", "train_loss", "val_loss"):
            value = entry.get(key)
            check(value is None or (is_int(value) or isinstance(value, float)), f"{name}.{key}",
                  f"must be a number or null, got {value!r}")


def check_recipe(recipe) -> None:
    """None (a run from before recipes), or the recipe's values, its chosen fields and reason."""
    if recipe is None:
        return
    known_keys(recipe, ("values", "chosen", "reason", "measured", "passes", "kept"), "train.recipe")
    values, chosen = recipe.get("values"), recipe.get("chosen")
    fields_ = RECIPE_MODEL_FIELDS + RECIPE_TRAIN_FIELDS
    known_keys(values, fields_, "train.recipe.values")
    for key in fields_:
        name, value = f"train.recipe.values.{key}", values.get(key)
        if key in ("weight_decay", "average") and key not in values:  # a recipe from before them
            continue
        if key in ("cell", "lr_schedule"):
            check(isinstance(value, str), name, f"must be a string, got {value!r}")
        elif key in ("dropout", "lr", "weight_decay", "average"):
            check(is_number(value) and value >= 0, name, f"must be a number >= 0, got {value!r}")
        else:
            count(value, name)
    check(isinstance(chosen, list) and all(c in fields_ for c in chosen), "train.recipe.chosen",
          "must be a list of recipe fields")
    kept = recipe.get("kept", [])
    check(isinstance(kept, list) and all(c in fields_ for c in kept), "train.recipe.kept",
          "must be a list of recipe fields")
    check(isinstance(recipe.get("reason"), str), "train.recipe.reason", "must be a string")
    measured = recipe.get("measured", {})
    check(isinstance(measured, dict) and all(isinstance(k, str) and is_number(v) and v > 0
                                             for k, v in measured.items()),
          "train.recipe.measured", "must map model names to positive speeds (chars/s)")
    passes = recipe.get("passes")
    check(passes is None or (is_number(passes) and passes > 0), "train.recipe.passes",
          f"must be a positive number or null, got {passes!r}")


PARENT = {  # what a fine-tuned run records of the model it started from (training/plan.py)
    "checkpoint": lambda v, n: check(isinstance(v, str), n, "must be a string"),
    "label": lambda v, n: check(isinstance(v, str), n, "must be a string"),
    "corpus": lambda v, n: check(v is None or isinstance(v, str), n, "must be a string or null"),
    "corpus_sha256": lambda v, n: check(v is None or isinstance(v, str), n, "must be a string or null"),
    "recipe": lambda v, n: check(v is None or isinstance(v, str), n, "must be a string or null"),
    "step": lambda v, n: check(v is None or is_int(v), n, "must be an integer or null"),
    "added_chars": lambda v, n: count(v, n),
    "parent": lambda v, n: check_parent(v, n),  # its own parent, if it was fine-tuned too
}


def check_parent(parent, name: str) -> None:
    """None, or the record of the checkpoint a run was fine-tuned from (PARENT)."""
    if parent is None:
        return
    known_keys(parent, PARENT, name)
    for key, value in parent.items():
        PARENT[key](value, f"{name}.{key}")


def kept(check, load=lambda v: v, dump=lambda v: v, optional=False, in_info=False):
    """A TrainRecord field: its checker (value, name), how the checked JSON value becomes the
    field's value and back, whether a checkpoint may lack it, whether `info` shows it."""
    return field(metadata={"check": check, "load": load, "dump": dump, "optional": optional, "in_info": in_info})


@dataclass
class TrainRecord:
    """The training state a checkpoint keeps beside its tensors (weights, optimiser slots, the
    carried state): with them, everything that decides the next update."""

    options: TrainOptions = kept(lambda v, n: check_options(v), lambda v: TrainOptions(**v), asdict, in_info=True)
    budget: Budget = kept(lambda v, n: check_budget(v), lambda v: Budget(**v), asdict)
    batch_size: int = kept(lambda v, n: count(v, n, 1), in_info=True)
    step: int = kept(count, in_info=True)
    epoch: int = kept(count, in_info=True)
    window: int = kept(count)  # the next window of the epoch
    elapsed: float = kept(lambda v, n: check(is_number(v) and v >= 0, n, f"must be a number >= 0, got {v!r}"),
                          in_info=True)  # seconds trained, over all sessions of the run
    optimizer_steps: int = kept(count)
    rng_state: dict = kept(lambda v, n: check_rng_state(v))
    history: list = kept(lambda v, n: check_history(v))  # one entry per evaluation
    best_val_loss: float | None = kept(number_or_none, in_info=True)
    val_unigram: float | None = kept(number_or_none)
    recipe: Recipe | None = kept(lambda v, n: check_recipe(v), lambda v: None if v is None else Recipe.from_dict(v),
                                 lambda r: None if r is None else r.to_dict(), optional=True)
    sample_prob: float = kept(lambda v, n: check(v is None or (is_number(v) and 0 <= v <= 1), n,
                                                 f"must be a number in [0, 1], got {v!r}"),
                              lambda v: 0.0 if v is None else v, optional=True)  # the scheduled-sampling chance reached
    parent: dict | None = kept(lambda v, n: check_parent(v, n), optional=True, in_info=True)  # --init-from

    def to_dict(self) -> dict:
        """The JSON-able form a checkpoint stores."""
        return {f.name: f.metadata["dump"](getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d) -> "TrainRecord":
        """Every field checked (FieldError naming the first bad one), then typed."""
        known_keys(d, [f.name for f in fields(cls)], "train")
        missing = [f.name for f in fields(cls) if f.name not in d and not f.metadata["optional"]]
        check(not missing, f"train.{missing[0] if missing else ''}", "missing (the training state is incomplete)")
        for f in fields(cls):
            f.metadata["check"](d.get(f.name), f"train.{f.name}")
        return cls(**{f.name: f.metadata["load"](d.get(f.name)) for f in fields(cls)})

    def for_info(self) -> dict:
        """What `charrnn info` reports of the run."""
        return {f.name: f.metadata["dump"](getattr(self, f.name)) for f in fields(self) if f.metadata["in_info"]}


def check_train(train, params: dict, optim_state: dict, carried_batch: int | None) -> TrainRecord | None:
    """The training state: {} (weights only: None), or complete and consistent with the tensors."""
    check(isinstance(train, dict), "train", f"must be an object, got {type(train).__name__}")
    if not train:
        return None
    record = TrainRecord.from_dict(train)
    check(carried_batch is not None, "train/state", "the carried hidden state is missing")
    check(carried_batch == record.batch_size, "train/state",
          f"holds {carried_batch} streams, train.batch_size says {record.batch_size}")
    if record.optimizer_steps:  # before its first step an optimiser has no state (a budget that ended first)
        for name in params:
            for slot in OPTIMIZERS[record.options.optimizer].slots:
                check(f"{name}/{slot}" in optim_state, f"optim/{name}/{slot}", "missing optimiser state")
    else:
        check(not optim_state, f"optim/{next(iter(optim_state), '')}", "optimiser state before the first step")
    return record
