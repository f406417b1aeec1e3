"""The vocabulary: the sorted set of the corpus's Unicode code points.

Sorting (rather than set order, which changes from process to process) makes the id of every
character a function of the text alone, so a run is reproducible and a checkpoint's vocabulary
means the same thing everywhere.
"""

from __future__ import annotations

import numpy as np

ENCODE_CHUNK = 1 << 22  # characters


class UnknownCharacters(ValueError):
    """Text holds characters outside the vocabulary; `.chars` lists them (sorted, unique)."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        shown = ", ".join(repr(c) for c in chars[:10]) + (" ..." if len(chars) > 10 else "")
        super().__init__(f"{len(chars)} character(s) the model never saw: {shown}")


class Vocab:
    def __init__(self, chars):
        self.chars = list(chars)  # id -> character
        if len(set(self.chars)) != len(self.chars) or self.chars != sorted(self.chars):
            raise ValueError("a vocabulary is a sorted list of distinct characters")
        self.index = {c: i for i, c in enumerate(self.chars)}  # character -> id
        # the smallest unsigned integer type that holds every id: a 100 MB corpus stays 100 MB
        self.dtype = np.uint8 if len(self.chars) <= 256 else (np.uint16 if len(self.chars) <= 65536 else np.uint32)

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars

    def unknown(self, text: str) -> list[str]:
        return sorted(set(text) - self.index.keys())

    def encode(self, text: str, unknown: str = "error") -> np.ndarray:
        """Text -> ids. `unknown`: "error" raises UnknownCharacters, "drop" leaves them out."""
        missing = self.unknown(text)
        if missing:
            if unknown == "error":
                raise UnknownCharacters(missing)
            text = "".join(c for c in text if c in self.index)
        # encode in pieces so that a 100 MB text needs only its ids (and one piece) beside it
        ids = np.empty(len(text), dtype=self.dtype)
        for start in range(0, len(text), ENCODE_CHUNK):
            piece = text[start : start + ENCODE_CHUNK]
            ids[start : start + len(piece)] = self._encode_piece(piece)
        return ids

    def _encode_piece(self, text: str) -> np.ndarray:
        if len(self.chars) <= 256 and all(ord(c) < 256 for c in self.chars):
            # byte-range vocabularies: translate through a 256-entry table
            table = np.zeros(256, dtype=self.dtype)
            table[[ord(c) for c in self.chars]] = np.arange(len(self.chars), dtype=self.dtype)
            return table[np.frombuffer(text.encode("latin-1"), dtype=np.uint8)]
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        points = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        return np.searchsorted(points, codes).astype(self.dtype)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)
