"""Terminal primitives every view shares: ASCII mode, the stdout console, tables, one-line
charts, characters made visible, and JSON output. No knowledge of any report."""

from __future__ import annotations

import math
import os
import sys

ASCII_ENV = "CHARRNN_ASCII"
DRAWN = "\u2501\u2503\u2502\u2500\u2581\u2588\u2026"  # box lines, chart blocks, the ellipsis
ascii_only = False  # set once per command by use_ascii()


def use_ascii(asked: bool = False) -> bool:
    """Plain ASCII for every table and chart when asked (--ascii, or $CHARRNN_ASCII), or when
    stdout cannot encode the box and chart characters. Box-drawing characters are
    East-Asian-ambiguous: terminals set up for Japanese often draw them two cells wide, which
    breaks every table; ASCII is one cell everywhere."""
    global ascii_only
    env = os.environ.get(ASCII_ENV, "").strip().lower() not in ("", "0", "no", "false")
    ascii_only = asked or env or not can_encode(sys.stdout, DRAWN)
    return ascii_only


def can_encode(stream, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def stdout_console():
    """A rich console for results: stdout, no syntax colouring of numbers, long lines kept whole.
    A character stdout cannot encode is written as an escape (\\u732b) rather than failing:
    these are reports about the text, not the text itself."""
    from rich.console import Console

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False)  # ":o:" is a unit, not an emoji


def new_table(**kw):
    """A rich Table, drawn in plain ASCII when use_ascii() said so."""
    from rich import box
    from rich.table import Table

    return Table(box=box.ASCII2 if ascii_only else box.HEAVY_HEAD, **kw)


def show(console, table) -> None:
    if ascii_only:  # no "..." ellipsis character: long cells wrap instead
        for column in table.columns:
            column.overflow = "fold"
    console.print(table)




SPARK = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # eighth blocks
SPARK_ASCII = " .:-=+*#"


def sparkline(values, lo: float, hi: float, width: int = 50) -> str:
    """One character per value (resampled to at most `width`), height linear in [lo, hi]."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if v.size > width:
        v = v[np.linspace(0, v.size - 1, width).round().astype(int)]
    frac = np.clip((v - lo) / max(hi - lo, 1e-12), 0, 1)
    levels = SPARK_ASCII if ascii_only else SPARK
    return "".join(levels[int(round(f * (len(levels) - 1)))] for f in frac)


def visible(ch: str) -> str:
    """A character as it can be shown on one line: newline and tab as escapes."""
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, ch)


def finite_or_none(x):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite_or_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_or_none(v) for v in x]
    return x


def json_out(result: dict) -> None:
    """A result as JSON on stdout; NaN and infinity (which JSON lacks) as null."""
    import json

    print(json.dumps(finite_or_none(result), indent=1))


def write_page(path: str, text: str, about: str = "") -> None:
    """Write a page (HTML) a command was asked for; one line on stderr says where (and `about`
    it). A path that cannot be written is one clear line (UserError), not a traceback."""
    from charrnn.ground.errors import UserError

    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror or e})") from None
    print(f"wrote {path}{about}", file=sys.stderr)
