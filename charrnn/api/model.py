"""A trained model in Python: `load(path)` -> `Model`, whose methods are what `charrnn sample`,
`eval` and `info` do, returned as values rather than printed.

    m = charrnn.load("runs/RUN/best.safetensors")
    m.sample(200, prime="ROMEO:", temperature=0.8)   # the new text, without the prime
    m.loss("some text")                               # nats per character, as `charrnn eval`
    m.info                                            # what `charrnn info --json` gives
    m.items(10, new_only=True)                        # a list model: whole items, marked
"""

from __future__ import annotations

import os

from charrnn import sampling
from charrnn.corpus.corpora import Source
from charrnn.corpus.text import normalize_text
from charrnn.reports.evaluation import description, evaluation
from charrnn.reports.samples import list_samples
from charrnn.training.checkpoint import Checkpoint
from charrnn.training.checkpoint import load as load_checkpoint


def load(path: str | os.PathLike) -> "Model":
    """The model a checkpoint holds, checked as every command checks it (CheckpointError, one
    line, for a damaged or foreign file)."""
    return Model(load_checkpoint(path))


class Model:
    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint

    def __repr__(self) -> str:
        return f"<charrnn.Model {self.checkpoint.config.label()} from {self.checkpoint.path}>"

    @property
    def info(self) -> dict:
        """What `charrnn info --json` says: config, tensors, vocabulary, corpus, training, recipe."""
        return description(self.checkpoint)

    @property
    def is_list(self) -> bool:
        """Whether it models a list (one item a line) rather than a running text."""
        return self.checkpoint.config.item_start is not None

    def sample(self, length: int = 500, prime: str = "", *, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, greedy: bool = False, stop: str | None = None, seed: int | None = None,
               drop_unknown: bool = False) -> str:
        """New text after `prime` (not included), as `charrnn sample` writes it; the same seed,
        the same text. A list model's: one whole item (prime included: it is the item's start),
        at most `length` characters after the prime."""
        if self.is_list:
            return self.items(1, prime, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                              greedy=greedy, seed=seed)[0]["item"]
        ck = self.checkpoint
        settings = sampling.SampleSettings(length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                                           greedy=greedy, stop=stop)
        prime = sampling.known_prime(ck.vocab, normalize_text(prime, ck.normalization), drop_unknown)
        rngs = sampling.sample_seeds(sampling.random_seed() if seed is None else seed, 1)
        return "".join(chars[0] for chars in sampling.generate(ck.params, ck.config, ck.vocab, settings, rngs, prime))

    def items(self, n: int = 10, prime: str = "", *, new_only: bool = False, unique: bool = False, length: int = 500,
              temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, greedy: bool = False,
              seed: int | None = None) -> list[dict]:
        """A list model's whole items, as `charrnn sample --json` gives them: each {"item", "mark"
        ("new", "train" or "val"), "log_prob", "ended"}."""
        ck = self.checkpoint
        settings = sampling.SampleSettings(length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                                           greedy=greedy)
        prime = sampling.known_prime(ck.vocab, normalize_text(prime, ck.normalization))
        seed = sampling.random_seed() if seed is None else seed
        return list_samples(ck, settings, seed, n, prime, new_only, unique)["items"]

    def loss(self, text: str) -> float:
        """Nats per character on `text`, as `charrnn eval` computes it (a list model's: item by
        item, each item's end counted); characters it never saw are left out."""
        return self.evaluate(text)["loss"]

    def evaluate(self, text: str) -> dict:
        """Everything `charrnn eval --json` reports on `text`."""
        source = Source(normalize_text(text, self.checkpoint.normalization), "text", None, "utf-8",
                        self.checkpoint.normalization)
        return evaluation(self.checkpoint, source)
