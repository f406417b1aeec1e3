"""The option helper: every default the user can change is a dataclass field declared with
`option`, which carries its default, its help text and its allowed values; the CLI builds its
Click options from these fields (`cli/params.py`), so nothing writes a default down twice.

    hidden_size: int = option(512, "Hidden units per layer (H).", low=1, high=16384)

`low`/`high` bound a number (`open_low`/`open_high` exclude the bound itself); `choices` lists
the allowed words; `type` is the value's type when the default (None) does not show it.

The dataclasses that use it live beside the code that reads them: model.ModelConfig,
sampling.SampleSettings, training/options.TrainOptions, reports/inspect.InspectSettings,
reports/exposure.ExposureSettings. No heavy imports here: `charrnn --help` stays fast.
"""

from __future__ import annotations

import re
from dataclasses import Field, field, fields


def option(default, help: str, *, choices=None, low=None, high=None, open_low=False,
           open_high=False, type=None) -> Field:
    meta = {"help": help, "choices": choices, "low": low, "high": high, "open_low": open_low,
            "open_high": open_high, "type": type}
    return field(default=default, metadata={"option": meta})


def option_fields(cls) -> list[tuple[Field, dict]]:
    """(field, its option metadata) for every user-facing field of a dataclass, in order."""
    return [(f, f.metadata["option"]) for f in fields(cls) if "option" in f.metadata]


def flag(name: str) -> str:
    """A field's name as the user types it: hidden_size -> --hidden-size."""
    return "--" + name.replace("_", "-")


DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")


def seconds_of(value) -> float:
    """A duration as seconds: 90s, 10m, 1h, 1h30m, or plain seconds (a number or its text).
    ValueError (one line) for anything else, or a duration that is not positive."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = DURATION_PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"{value!r} is not a duration; write it like 90s, 10m, 1h or 1h30m") from None
            seconds = sum(float(n) * {"s": 1, "m": 60, "h": 3600}[u] for n, u in parts)
    if not seconds > 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return seconds
