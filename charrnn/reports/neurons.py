"""What the units learned, as data (`charrnn neurons`): every unit's value along a real text,
set against simple properties of the text, and how often each gate unit saturates -- the
pictures of Karpathy, Johnson and Fei-Fei, "Visualizing and Understanding Recurrent Networks"
(2015).

The text is read teacher forced, as `eval` reads it: the state carried from character to
character, no dropout. A unit is (layer, kind, index): kind is any value the network declares
per step -- its state (h, and c for an lstm or mlstm) and its gates and candidates. Its value at
position i is the one computed on reading character i, so it is set against the properties of
the text up to and including character i:

    quotes       inside "...", «...», “...” or 「...」/『...』                        0 / 1
    brackets     depth of ( [ { nesting                                            0, 1, 2, ...
    column       characters since the last newline                                 0, 1, 2, ...
    word start   a letter or digit that follows neither                            0 / 1
    code         inside a # comment or a '...' / "..." string literal (code)        0 / 1
    kanji, hiragana, katakana   the script of the character (Japanese text)       0 / 1

A property is measured only where the text has it (a script where it makes up at least 1% of
the characters; quotes, brackets and code where they occur at all). For each unit and property,
Pearson's r over all positions, and a 95% interval from the spread of r over BLOCKS contiguous
blocks of the text (neighbouring characters are not independent, so an interval that counted
every character as a sample would be far too narrow): r is read into only where the interval
keeps away from 0.

What goes into the page is bounded: the first `max_chars` characters of the text, and at most
`max_units` units -- the best-tracking ones first, then the others in order -- with their values
rounded to 1/127. Ranking and saturation are computed over the whole text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charrnn.corpus import corpora
from charrnn.corpus.items import as_read, read_items
from charrnn.corpus.streams import side_by_side
from charrnn.ground.errors import SettingsError
from charrnn.model import ModelConfig, dtype_of, zero_state
from charrnn.teacher_forcing import forward, item_breaks
from charrnn.training.checkpoint import Checkpoint

BLOCKS = 20  # contiguous blocks for the interval of r
TOP_PER_PROPERTY = 8  # units per property put into the page first
PIECE_CHARS = 2048  # the text is read as pieces side by side, each at least this long
MAX_PIECES = 32
T_975 = {19: 2.093}  # Student's t, 97.5% quantile, BLOCKS - 1 degrees of freedom

OPEN_QUOTES = {"「": "」", "『": "』", "“": "”", "«": "»"}


# ----------------------------------------------------------------------------- properties
def quotes(text: str) -> np.ndarray:
    """1 inside a quotation (the marks themselves count as inside), else 0."""
    out = np.zeros(len(text), dtype=np.float32)
    stack, straight = [], False
    for i, ch in enumerate(text):
        if ch in OPEN_QUOTES:
            stack.append(OPEN_QUOTES[ch])
        elif ch == '"' and not stack:
            straight = not straight
            out[i] = 1.0
            continue
        out[i] = 1.0 if stack or straight else 0.0
        if stack and ch == stack[-1]:
            stack.pop()
    return out


def brackets(text: str) -> np.ndarray:
    """Depth of ( [ { nesting after reading the character (never below 0)."""
    out = np.zeros(len(text), dtype=np.float32)
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        out[i] = depth
    return out


def column(text: str) -> np.ndarray:
    """Characters since the last newline (a newline itself: 0)."""
    out = np.zeros(len(text), dtype=np.float32)
    col = 0
    for i, ch in enumerate(text):
        col = 0 if ch == "\n" else col + 1
        out[i] = col
    return out


def word_start(text: str) -> np.ndarray:
    out = np.zeros(len(text), dtype=np.float32)
    for i, ch in enumerate(text):
        out[i] = 1.0 if ch.isalnum() and (i == 0 or not text[i - 1].isalnum()) else 0.0
    return out


def code(text: str) -> np.ndarray:
    """1 inside a # comment (to the end of the line) or a '...' / "..." string literal, as Python
    reads them (triple quotes and backslash escapes included), else 0."""
    out = np.zeros(len(text), dtype=np.float32)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = 1.0
            i = j
        elif ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and len(quote) == 1:
                    break  # an unclosed one-line string ends with its line
                j += 1
            j = min(j + len(quote), n)
            out[i:j] = 1.0
            i = j
        else:
            i += 1
    return out


def script(low: int, high: int):
    def of(text: str) -> np.ndarray:
        return np.fromiter((low <= ord(ch) <= high for ch in text), dtype=np.float32, count=len(text))
    return of


@dataclass(frozen=True)
class Property:
    name: str
    label: str
    values: object  # text -> (n,) float32
    min_share: float = 0.0  # measured only if its nonzero share reaches this


PROPERTIES = (
    Property("quotes", "inside quotes", quotes),
    Property("brackets", "bracket depth", brackets),
    Property("column", "position in the line", column),
    Property("word_start", "start of a word", word_start),
    Property("code", "inside a comment or string (code)", code),
    Property("kanji", "kanji", script(0x4E00, 0x9FFF), 0.01),
    Property("hiragana", "hiragana", script(0x3041, 0x309F), 0.01),
    Property("katakana", "katakana", script(0x30A0, 0x30FF), 0.01),
)


def properties_of(text: str) -> list[tuple[Property, np.ndarray]]:
    """The properties this text has (see the module docstring), with their values."""
    out = []
    for p in PROPERTIES:
        v = p.values(text)
        share = float(np.mean(v > 0)) if len(v) else 0.0
        if share > 0 and share >= p.min_share and np.ptp(v) > 0:
            out.append((p, v))
    return out


# ------------------------------------------------------------------------------- reading
def read(params: dict, config: ModelConfig, ids: np.ndarray, max_chars: int, seq_len: int = 256):
    """Read ids as pieces side by side (the first at least max_chars long). Yields, per window,
    (positions (n,), values {(layer, kind): (n, H)}, log-probabilities (n, V)) for the n positions
    0 .. len(ids) - 2 read in it (position i: character i read, character i + 1 predicted)."""
    n = len(ids) - 1
    grid, position = side_by_side(ids, max(1, min(MAX_PIECES, n // max(PIECE_CHARS, max_chars))),
                                  item_breaks(config, ids))  # (N+1, B), (N, B)
    B = grid.shape[1]
    state = zero_state(config, B, dtype_of(params))
    for start in range(0, len(position), seq_len):
        window = grid[start : start + seq_len + 1]
        _, state, tape = forward(params, config, window, state)
        T = window.shape[0] - 1
        pos = position[start : start + T].reshape(-1)  # (T*B,) in the order of the tape's rows
        keep = pos < n
        values = {(k, kind): v.reshape(T * B, -1)[keep]
                  for k, layer in enumerate(config.network.activations(tape.net)) for kind, v in layer.items()}
        yield pos[keep], values, tape.log_probs[keep]


# ---------------------------------------------------------------------------- statistics
class Sums:
    """Running sums per block for Pearson's r of every unit against every property. Each window's
    rows are sorted by block once, so that every sum is over contiguous rows; the values are taken
    as deviations from the first window's means (r does not change, and float32 keeps its digits)."""

    def __init__(self, units: int, props: int):
        self.n = np.zeros(BLOCKS)
        self.x = np.zeros((BLOCKS, units))
        self.xx = np.zeros((BLOCKS, units))
        self.y = np.zeros((BLOCKS, props))
        self.yy = np.zeros((BLOCKS, props))
        self.xy = np.zeros((BLOCKS, units, props))
        self.cx = self.cy = None

    def add(self, block: np.ndarray, X: np.ndarray, Y: np.ndarray) -> None:
        if self.cx is None:
            self.cx, self.cy = X.mean(axis=0).astype(np.float32), Y.mean(axis=0).astype(np.float32)
        order = np.argsort(block, kind="stable")
        b = block[order]
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        ends = np.r_[starts[1:], len(b)]
        which = b[starts]
        x = X.take(order, axis=0).astype(np.float32, copy=False)  # (N, U)
        x -= self.cx
        y = (Y[order] - self.cy).astype(np.float32)  # (N, P)

        def block_sums(a):  # (blocks here, columns); a sum over contiguous rows, not np.add.reduceat (30x slower)
            return np.stack([a[lo:hi].sum(axis=0) for lo, hi in zip(starts, ends)])

        self.n[which] += ends - starts
        self.x[which] += block_sums(x)
        self.y[which] += block_sums(y)
        self.yy[which] += block_sums(y * y)
        for k, lo, hi in zip(which, starts, ends):
            self.xy[k] += x[lo:hi].T @ y[lo:hi]  # (U, P)
        x *= x
        self.xx[which] += block_sums(x)

    @staticmethod
    def pearson(n, x, xx, y, yy, xy):
        """r (units, props) from sums; 0 where a side does not vary."""
        cov = xy - np.outer(x, y) / n
        vx = np.maximum(xx - x * x / n, 0.0)
        vy = np.maximum(yy - y * y / n, 0.0)
        denom = np.sqrt(np.outer(vx, vy))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), 0.0)

    def correlations(self):
        """(r over the whole text, low and high ends of the 95% interval), each (units, props)."""
        whole = self.pearson(self.n.sum(), self.x.sum(0), self.xx.sum(0), self.y.sum(0), self.yy.sum(0),
                             self.xy.sum(0))
        per = np.stack([self.pearson(self.n[b], self.x[b], self.xx[b], self.y[b], self.yy[b], self.xy[b])
                        for b in range(BLOCKS) if self.n[b] > 1])  # (blocks, units, props)
        k = len(per)
        half = T_975.get(k - 1, 1.96) * per.std(axis=0, ddof=1) / math.sqrt(k) if k > 1 else np.full_like(whole, np.inf)
        return whole, whole - half, whole + half


def parse_unit(spec: str) -> tuple[int, str | None, int]:
    """'L:N' (the layer's h) or 'L:KIND:N' -> (layer, kind or None, index); ValueError otherwise."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0].isdigit() or not parts[-1].isdigit():
        raise ValueError(f"--unit {spec!r}: write it as LAYER:INDEX (the layer's h) or LAYER:KIND:INDEX, e.g. 0:c:17")
    return int(parts[0]), (parts[1] if len(parts) == 3 else None), int(parts[-1])


class Reading:
    """What `analyse` gathers while the model reads the text, piece by piece: the running sums for
    the correlations, gate saturation counts, and for the first `shown` positions every unit's
    value and the model's top five predictions."""

    def __init__(self, gates: set, H: int, properties: int, shown: int, n: int):
        self.gates, self.H, self.properties, self.shown, self.n = gates, H, properties, shown, n
        self.kinds = None  # (layer, kind, is a gate) for every value the network keeps per step
        self.top_ids = np.zeros((shown, 5), dtype=np.int64)
        self.top_p = np.zeros((shown, 5))
        self.loss = np.zeros(shown)

    def start(self, values: dict) -> None:
        self.kinds = [(k, kind, kind in self.gates) for k, kind in values]
        self.sums = Sums(len(self.kinds) * self.H, self.properties)
        self.page_values = np.zeros((self.shown, len(self.kinds) * self.H), dtype=np.float32)
        self.saturation = {(k, kind): np.zeros((2, self.H)) for k, kind, gate in self.kinds if gate}

    def add(self, pos: np.ndarray, values: dict, log_probs: np.ndarray, Y: np.ndarray, ids: np.ndarray) -> None:
        if self.kinds is None:
            self.start(values)
        X = np.concatenate([values[(k, kind)] for k, kind, _ in self.kinds], axis=1)  # (N, U)
        self.sums.add(pos * BLOCKS // self.n, X, Y[pos])
        for key, counts in self.saturation.items():
            counts[0] += (values[key] < 0.1).sum(0)
            counts[1] += (values[key] > 0.9).sum(0)
        here = pos < self.shown
        if here.any():
            p = pos[here]
            self.page_values[p] = X[here]
            lp = log_probs[here].astype(np.float64)
            order = np.argsort(-lp, axis=1, kind="stable")[:, :5]
            self.top_ids[p] = order
            # rounded down, so that five shown probabilities never add up to more than 1
            self.top_p[p] = np.floor(np.exp(np.take_along_axis(lp, order, axis=1)) * 1e4) / 1e4
            self.loss[p] = -lp[np.arange(len(p)), ids[p + 1]]

    def unit_name(self, u: int) -> dict:
        k, kind, _ = self.kinds[u // self.H]
        return {"layer": k, "kind": kind, "index": int(u % self.H)}

    def unit_index(self, wanted: tuple, layers: int) -> int:
        """The flat index of a unit (layer, kind or None for h, index); ValueError naming what exists."""
        layer, kind, index = wanted
        kind = kind or "h"
        where = [i for i, (k, kd, _) in enumerate(self.kinds) if (k, kd) == (layer, kind)]
        if not where or not 0 <= index < self.H:
            have = ", ".join(sorted({kd for _, kd, _ in self.kinds}))
            raise ValueError(f"no unit {layer}:{kind}:{index}: this model has layers 0..{layers - 1}, "
                             f"kinds {have}, indices 0..{self.H - 1}")
        return where[0] * self.H + index

    def page_unit(self, u: int) -> dict:
        """A unit's values on the page's characters, as integers -127..127 of its range: a gate's
        0..1, a state's -1..1 (an unbounded one shown through tanh)."""
        k, kind, gate = self.kinds[u // self.H]
        v = self.page_values[:, u]
        squash = not gate and float(np.abs(v).max(initial=0.0)) > 1.0
        shown_v = np.tanh(v) if squash else v
        return {**self.unit_name(u), "gate": gate, "shown_as": f"tanh({kind})" if squash else kind,
                "range": [0.0, 1.0] if gate else [-1.0, 1.0],
                "values": np.rint(np.clip(shown_v, -1.0, 1.0) * 127).astype(int).tolist()}


def analyse(params: dict, config: ModelConfig, vocab, text: str, max_chars: int = 5000,
            max_units: int = 200, wanted: tuple | None = None) -> dict:
    """The whole `charrnn neurons` report as JSON-able data (schema in docs/neurons.md). `wanted`
    (layer, kind or None for h, index) is a unit that must be in the page (--unit)."""
    ids = vocab.encode(text, unknown="drop")
    if len(ids) < 3:
        raise ValueError("the text has fewer than three characters the model knows")
    shown_text = vocab.decode(ids)
    n = len(ids) - 1  # positions: each character but the last, read and followed by a prediction
    props = properties_of(shown_text[:n])
    Y = np.stack([v for _, v in props], axis=1) if props else np.zeros((n, 0), dtype=np.float32)
    shown = min(max_chars, n)
    reading = Reading({b.symbol for _, b in config.network.blocks(config) if b.gate}, config.hidden_size,
                      Y.shape[1], shown, n)
    for pos, values, log_probs in read(params, config, ids, max_chars):
        reading.add(pos, values, log_probs, Y, ids)
    r, lo, hi = reading.sums.correlations()
    best = [np.argsort(-np.abs(r[:, j]), kind="stable")[:TOP_PER_PROPERTY] for j in range(len(props))]
    ranking = [{"property": prop.name, "label": prop.label, "units": [
        {**reading.unit_name(u), "r": float(r[u, j]), "low": float(lo[u, j]), "high": float(hi[u, j]),
         "clear": bool(lo[u, j] > 0 or hi[u, j] < 0)} for u in best[j]]} for j, (prop, _) in enumerate(props)]
    first = [] if wanted is None else [reading.unit_index(wanted, config.num_layers)]
    U = len(reading.kinds) * config.hidden_size
    chosen = list(dict.fromkeys(first + [int(u) for units in best for u in units]))
    chosen += [u for u in range(U) if u not in set(chosen)][: max(0, max_units - len(chosen))]
    return {
        "model": {**config.to_dict(), "label": config.label()},
        "characters": n + 1,
        "shown_characters": shown,
        "text": shown_text[: shown + 1],
        "vocab": list(vocab.chars),
        "units_total": U,
        "properties": [{"name": p.name, "label": p.label} for p, _ in props],
        "ranking": ranking,
        "units": [reading.page_unit(u) for u in chosen[: max(max_units, len(first))]],
        "predictions": {"top_ids": reading.top_ids.tolist(), "top_p": reading.top_p.tolist(),
                        "loss": np.round(reading.loss, 4).tolist()},
        "saturation": [{"layer": k, "gate": kind, "below_0.1": (c[0] / n).round(4).tolist(),
                        "above_0.9": (c[1] / n).round(4).tolist()} for (k, kind), c in reading.saturation.items()],
        "blocks": BLOCKS,
    }


def neurons_report(ck: Checkpoint, text: str | None, encoding: str, max_chars: int, max_units: int,
                   notes: list, unit: str | None = None) -> dict:
    """`charrnn neurons`: on TEXT, or by default on the run's own validation split; `unit`
    ('L:N' or 'L:KIND:N') is put into the report whatever its rank."""
    try:
        wanted = parse_unit(unit) if unit else None
    except ValueError as e:
        raise SettingsError(str(e)) from None
    if text is None:
        _, val_text, name = corpora.validation_text(ck)
    else:
        src = corpora.load(text, encoding, normalize=ck.normalization)
        notes.extend(src.notes)
        if ck.config.item_start is not None:  # a list model reads items
            src.text = as_read(read_items(src.text)[0])
        val_text, name = src.text, src.name
    try:
        report = analyse(ck.params, ck.config, ck.vocab, val_text, max_chars, max_units, wanted)
    except ValueError as e:
        raise SettingsError(f"{name}: {e}") from None
    return {"checkpoint": ck.path, "text_name": name, **report}
