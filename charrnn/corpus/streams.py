"""Corpus -> character ids -> train/validation split -> B contiguous streams -> windows.

A window is ids (T+1, B): column b is T+1 consecutive characters of stream b; the model reads
rows 0..T-1 and predicts rows 1..T (x and y = x shifted by one). Window w+1 of a stream starts
where window w ended, so the hidden state at the end of one window is the right initial state
for the next (truncated BPTT). Only compact ids are held (uint8 for up to 256 characters);
no one-hot matrix of the corpus is ever built.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from charrnn.ground.errors import UserError
from charrnn.ground.vocab import Vocab


class CorpusError(UserError, ValueError):
    """A corpus the tool cannot use; the message is one line for the user."""


def sha256_text(text: str) -> str:
    """SHA-256 of the text encoded as UTF-8 (in pieces: no second copy of a large corpus)."""
    h = hashlib.sha256()
    for start in range(0, len(text), 1 << 22):
        h.update(text[start : start + (1 << 22)].encode("utf-8"))
    return h.hexdigest()


def split_sizes(n: int, val_frac: float) -> tuple[int, int]:
    """The first int(n * (1 - val_frac)) characters train, the rest validate (as nanoGPT)."""
    n_train = int(n * (1.0 - val_frac))
    return n_train, n - n_train


@dataclass
class Corpus:
    text_sha256: str
    vocab: Vocab
    train: np.ndarray  # (N_train,) ids
    val: np.ndarray  # (N_val,) ids

    @classmethod
    def from_text(cls, text: str, val_frac: float = 0.1, vocab: Vocab | None = None) -> "Corpus":
        if not 0.0 <= val_frac < 1.0:
            raise CorpusError(f"--val-frac must be in [0, 1), got {val_frac}")
        vocab = vocab or Vocab.from_text(text)
        if len(vocab) < 2:
            raise CorpusError(
                f"the corpus has only {len(vocab)} distinct character; there is nothing to "
                f"predict -- give a text with at least two different characters"
            )
        ids = vocab.encode(text)
        n_train, n_val = split_sizes(len(ids), val_frac)
        if val_frac > 0 and n_val < 2:
            raise CorpusError(
                f"the validation split ({n_val} characters) is too short to measure; "
                f"use a longer corpus or --val-frac 0"
            )
        return cls(sha256_text(text), vocab, ids[:n_train], ids[n_train:])

    hashes = None  # a running text has no items to mark samples by (corpus/items.py)

    def streams(self, epoch: int, batch_size: int, seq_len: int, seed: int) -> "Streams":
        """The streams of an epoch: a running text's are the same every epoch."""
        return Streams(self.train, batch_size, seq_len)


def fit_batch_size(n: int, batch_size: int, seq_len: int) -> int:
    """The largest batch size <= batch_size for which each stream holds one window (T+1 chars).

    Raises CorpusError when even a single stream is too short."""
    fitting = n // (seq_len + 1)
    if fitting < 1:
        raise CorpusError(
            f"the training split has {n} characters; one window of --seq-len {seq_len} needs "
            f"{seq_len + 1}: use a longer corpus or a smaller --seq-len (at most {max(n - 1, 1)})"
        )
    return min(batch_size, fitting)


def side_by_side(ids: np.ndarray, B: int, breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The text cut into B contiguous pieces, read side by side as a batch: (grid (N+1, B),
    position (N, B)). Piece b reads ids[s_b .. e_b - 1] and predicts ids[s_b + 1 .. e_b], where
    e_b is the next piece's start (the last piece's: the end of the text); position[t, b] is
    s_b + t, the index of the character it reads at step t, or len(ids) - 1 where the piece has
    ended (padding, read as id 0, whose predictions are not of the text). The pieces are of
    equal length, or with `breaks` (sorted indices where a piece may start: a list's line breaks)
    each runs from a break to a break, the shares as equal as they allow."""
    n = len(ids) - 1  # predictions
    if breaks is None:
        starts = np.arange(B) * -(-n // B)
    else:
        starts = np.unique(breaks[np.searchsorted(breaks, np.arange(B) * n / B).clip(0, len(breaks) - 1)])
    lengths = np.maximum(np.minimum(np.append(starts[1:], n), n) - starts, 0)  # predictions per piece
    grid = np.zeros((int(lengths.max()) + 1, len(starts)), dtype=np.intp)
    position = np.full((grid.shape[0] - 1, len(starts)), n)
    for b, (s, m) in enumerate(zip(starts, lengths)):
        grid[: m + 1, b] = ids[s : s + m + 1] if m else 0
        position[:m, b] = np.arange(s, s + m)
    return grid, position


class Streams:
    """B contiguous streams over the training ids, cut into windows of T steps."""

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int):
        N = len(ids) // batch_size  # characters per stream
        self.init(ids[: N * batch_size].reshape(batch_size, N), seq_len)  # (B, N), a view

    @classmethod
    def of_rows(cls, rows: np.ndarray, seq_len: int) -> "Streams":
        """Streams given as rows (B, N) (a list's items, packed: corpus/items.py)."""
        streams = cls.__new__(cls)
        streams.init(rows, seq_len)
        return streams

    def init(self, rows: np.ndarray, seq_len: int) -> None:
        (self.B, N), self.T = rows.shape, seq_len
        self.streams = rows
        self.windows_per_epoch = (N - 1) // seq_len
        if self.windows_per_epoch < 1:
            raise CorpusError(f"{rows.size} characters are too few for {self.B} streams of {seq_len + 1}")

    def window(self, w: int) -> np.ndarray:
        """Window w of every stream: (T+1, B) ids as intp (ready for indexing)."""
        start = w * self.T
        return self.streams[:, start : start + self.T + 1].T.astype(np.intp)


def unigram_entropy(ids: np.ndarray, V: int) -> float:
    """Entropy (nats/char) of the split's own character frequencies: the loss of the best
    model that ignores context, and so the baseline a char-RNN must beat."""
    counts = np.zeros(V, dtype=np.float64)
    for start in range(0, len(ids), 1 << 22):  # bincount widens to int64: count in pieces
        counts += np.bincount(ids[start : start + (1 << 22)], minlength=V)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())

