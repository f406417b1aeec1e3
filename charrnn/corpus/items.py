"""A list: one item a line -- names, titles, colours. Read as independent items rather than one
running text:

    text      "emma\nolivia\n\nava\r\n"          CRLF and CR become LF; blank lines are skipped
    items     ["emma", "olivia", "ava"]          each line stripped of surrounding spaces
    as ids    \n e m m a \n o l i v i a \n ...   the line break starts every item and ends it

The model reads the line break first and from the zero state, predicts the item's characters,
then the line break again: its end, which it must predict (makemore's convention: the loss per
character counts each item's end). At train time the items are shuffled every epoch and packed
into B streams that start at item boundaries; the state starts afresh at every line break
(teacher_forcing.item_starts), so the order of the list teaches nothing.

Validation items are a seeded random sample of the *distinct* items: an item that occurs several
times in the file is on one side only, so the validation loss is a loss on items the model never
saw. Each side keeps its items' multiplicity. A 64-bit hash of every distinct item of each side
goes into the checkpoint, so that a sample can be marked new or seen without the original file.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

from charrnn.corpus.streams import CorpusError, Streams, sha256_text
from charrnn.ground.vocab import Vocab

SEP = "\n"  # starts and ends every item
SPLIT_SEED = 20_240_605  # the validation items' sample: the same for every run of a file
JUDGED = 1 << 20  # characters of a text the judgment reads
PUNCTUATION = set(".,;:!?。、，．！？…")  # what sentences and verses end with, and lists' items rarely do
SENTENCE = re.compile(r"[.!?] [A-Z]|[。！？]")  # a sentence's end inside a line


def lines_of(text: str) -> list[str]:
    """The text's lines, CRLF and CR taken as line breaks; no empty last line for a final break."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_items(text: str) -> tuple[list[str], int]:
    """(the items: every non-blank line, stripped, in file order; how many blank lines were skipped)."""
    lines = lines_of(text)
    items = [line.strip() for line in lines if line.strip()]
    return items, len(lines) - len(items)


@dataclass(frozen=True)
class Verdict:
    is_list: bool
    why: str  # the rule that decided, for the recipe line


def judge(text: str) -> Verdict:
    """Whether a text is a list: many short lines, one item each. It is not one where the lines
    are too few, where blank lines separate paragraphs or speeches (tinyshakespeare, poems,
    prose), where lines are long (prose), end like sentences or verses (or hold a sentence's end),
    repeat (the same few lines over and over), are indented (code, verse) or hold separators
    (CSV, tables). Judged on the first JUDGED characters (a large text is
    judged by its start, in little memory)."""
    lines = lines_of(text[:JUDGED])[: -1 if len(text) > JUDGED else None]  # whole lines only
    items = [line for line in lines if line.strip()]
    n = len(items)
    if n < 20:
        return Verdict(False, f"{n} lines: too few for a list")
    if (len(lines) - n) / len(lines) > 0.02:
        return Verdict(False, f"{len(lines) - n} blank lines separate paragraphs")
    lengths = np.array([len(line) for line in items])
    if np.median(lengths) > 40 or np.percentile(lengths, 95) > 100:
        return Verdict(False, f"lines of {np.median(lengths):.0f} characters (median): running text")
    ending = np.mean([line.rstrip()[-1] in PUNCTUATION or SENTENCE.search(line) is not None for line in items])
    if ending > 0.1:
        return Verdict(False, f"{ending:.0%} of the lines end like sentences or hold one's end")
    if len(set(items)) < 0.2 * n:
        return Verdict(False, f"{len(set(items))} distinct lines among {n}: a text that repeats")
    indented = np.mean([line[0] in " \t" for line in items])
    if indented > 0.05:
        return Verdict(False, f"{indented:.0%} of the lines are indented")
    separated = np.mean([any(c in line for c in ",;\t|") for line in items])
    if separated > 0.5:
        return Verdict(False, f"{separated:.0%} of the lines hold separators (a table)")
    return Verdict(True, f"{n:,} short lines")


def hashes_of(items) -> np.ndarray:
    """A 64-bit hash (BLAKE2b of the UTF-8) of each item, in order: (n,) uint64."""
    return np.array([int.from_bytes(hashlib.blake2b(i.encode("utf-8"), digest_size=8).digest(), "little")
                     for i in items], dtype=np.uint64)


def item_hashes(items) -> np.ndarray:
    """The sorted, distinct hashes of a side's items: what a checkpoint keeps to mark samples."""
    return np.unique(hashes_of(set(items)))


def among(hashes: np.ndarray, items: list[str]) -> np.ndarray:
    """(len(items),) bool: which items are among those whose sorted, distinct `hashes` are given."""
    h = hashes_of(items)
    if not len(hashes):
        return np.zeros(len(items), dtype=bool)
    at = np.searchsorted(hashes, h).clip(0, len(hashes) - 1)
    return hashes[at] == h


MARKS = ("new", "train", "val")  # an item no side had, or one of the training or validation items


def marks(texts: list[str], hashes: dict) -> list[str]:
    """Each text's mark, by a checkpoint's item hashes ({"train": ..., "val": ...})."""
    train, val = (among(hashes.get(side, np.zeros(0, dtype=np.uint64)), texts) for side in ("train", "val"))
    return ["train" if t else "val" if v else "new" for t, v in zip(train, val)]


def split_items(items: list[str], val_frac: float) -> tuple[list[str], list[str]]:
    """(training items, validation items), each in file order with its multiplicity: the
    validation side is a seeded random val_frac of the distinct items."""
    distinct = sorted(set(items))
    n_val = int(round(len(distinct) * val_frac))
    if val_frac > 0 and n_val < 1:
        raise CorpusError(f"the list has {len(distinct)} distinct items; --val-frac {val_frac} leaves none to "
                          f"validate on: give a longer list or --val-frac 0")
    held = set(np.array(distinct, dtype=object)[np.random.default_rng(SPLIT_SEED).permutation(len(distinct))[:n_val]])
    return [i for i in items if i not in held], [i for i in items if i in held]


def as_read(items: list[str]) -> str:
    """SEP item SEP item ... SEP: the items as a list model reads them, each between two line breaks."""
    return SEP + "".join(i + SEP for i in items)


def encode_items(vocab: Vocab, items: list[str]) -> np.ndarray:
    return vocab.encode(as_read(items))


@dataclass
class ItemCorpus:
    """A list, split by distinct item; `train` and `val` are the sides as ids (encode_items)."""

    text_sha256: str
    vocab: Vocab
    train_items: list
    val_items: list
    blank_lines: int
    train: np.ndarray = field(repr=False)
    val: np.ndarray = field(repr=False)

    @classmethod
    def from_text(cls, text: str, val_frac: float = 0.1, vocab: Vocab | None = None) -> "ItemCorpus":
        if not 0.0 <= val_frac < 1.0:
            raise CorpusError(f"--val-frac must be in [0, 1), got {val_frac}")
        items, blank = read_items(text)
        if len(set(items)) < 2:
            raise CorpusError(f"the list has {len(set(items))} distinct item(s); a list model needs at least two "
                              f"(or train on it as a running text with --stream)")
        train_items, val_items = split_items(items, val_frac)
        vocab = vocab or Vocab.from_text(SEP + "".join(items))
        return cls(sha256_text(text), vocab, train_items, val_items, blank,
                   encode_items(vocab, train_items), encode_items(vocab, val_items))

    @functools.cached_property
    def hashes(self) -> dict:
        """What a checkpoint keeps to mark samples: each side's sorted, distinct item hashes."""
        return {"train": item_hashes(self.train_items), "val": item_hashes(self.val_items)}

    def summary(self) -> dict:
        """What a checkpoint keeps of the list (beside its items' hashes)."""
        return {"items": len(self.train_items) + len(self.val_items), "train_items": len(self.train_items),
                "val_items": len(self.val_items), "distinct_train": len(set(self.train_items)),
                "distinct_val": len(set(self.val_items)), "blank_lines": self.blank_lines}

    def streams(self, epoch: int, batch_size: int, seq_len: int, seed: int) -> Streams:
        """This epoch's items, shuffled (from the run's seed and the epoch: a resumed run shuffles
        alike) and packed into B streams that each start at an item's line break."""
        order = np.random.default_rng([seed, epoch]).permutation(len(self.train_items))
        ends = np.flatnonzero(self.train == self.train[0])  # the line break before each item, and the last
        pieces = [self.train[ends[i] + 1 : ends[i + 1] + 1] for i in order]  # item + its closing break
        flat = np.concatenate([self.train[:1], *pieces])
        return Streams.of_rows(pack(flat, flat[0], batch_size), seq_len)


def pack(flat: np.ndarray, sep: int, B: int) -> np.ndarray:
    """(B, N): flat (SEP item SEP item ... SEP) cut into B rows at the line breaks nearest to
    equal shares, each row from a break to a break, all cut to the shortest (its last item, if
    cut, loses its tail: no item is split across rows)."""
    breaks = np.flatnonzero(flat == sep)
    cuts = breaks[np.searchsorted(breaks, np.arange(1, B) * len(flat) / B).clip(0, len(breaks) - 1)]
    bounds = np.concatenate([[0], cuts, [len(flat) - 1]])
    N = int(np.min(np.diff(bounds))) + 1
    if N < 2:
        raise CorpusError(f"the list is too short for {B} streams; give a smaller --batch-size")
    return np.stack([flat[a : a + N] for a in bounds[:-1]])
