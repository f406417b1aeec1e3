"""TEST TIME: free-running generation. There is no observed text to read: the input at step t
is the character the model itself sampled at step t-1.

    x_0   = last character of the prime (or a newline)
    h_t   = cell(x_t, h_{t-1}; W, b)            the same cell code as training (charrnn/networks)
    o_t   = softmax((W_dec h_t + b_dec) / temperature), optionally cut to top-k / top-p
    y_t  ~ o_t                                   and y_t becomes x_{t+1}

The prime text, if given, is run through the model first with the observed characters as
inputs (teacher forced, as in training) only to warm up the state.

Each sample owns its random generator, so sample i of a batch is the same text whether it is
drawn alone or together with others: a batch is only a faster way to draw independent samples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from charrnn.corpus.items import SEP
from charrnn.ground.errors import SettingsError, UserError
from charrnn.ground.fields import option
from charrnn.ground.ops import decode, log_softmax
from charrnn.ground.vocab import UnknownCharacters, Vocab
from charrnn.model import ModelConfig, dtype_of, zero_state


def step(params: dict, config: ModelConfig, x: np.ndarray, state) -> tuple[np.ndarray, object]:
    """One time step of the network for B streams: ids x (B,) -> logits (B, V), new state.
    The state is the training unroll's own (model.zero_state's form): the network's `step` is
    the same cell code as its train-time window, run one character at a time."""
    if config.item_start is not None and (x == config.item_start).any():  # an item starts afresh
        state = config.network.cast_state(state, dtype_of(params))  # a copy: the caller's state stays
        config.network.reset_streams(state, x == config.item_start)
    h, state = config.network.step(params, config, x, state)  # (B, H)
    return decode(params, h), state


def read_prime(params: dict, config: ModelConfig, ids: np.ndarray, batch_size: int):
    """The state after reading the characters `ids` from a zero state, teacher forced (the
    observed characters are the inputs, the outputs are not used), for B identical streams."""
    state = zero_state(config, batch_size, dtype_of(params))
    for c in ids:
        _, state = step(params, config, np.full(batch_size, c, dtype=np.intp), state)
    return state


def sampling_distribution(logits, temperature=1.0, top_k=None, top_p=None) -> np.ndarray:
    """Probabilities (B, V) in float64 from logits (B, V): divide by the temperature, keep the
    k most likely characters and/or the smallest set whose probability reaches top_p."""
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(log_softmax(z))
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p  # probability mass ranked above each
        keep_sorted = before < top_p  # always keeps the most likely character
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    return p


def choose(logits: np.ndarray, settings: "SampleSettings", rngs: list) -> np.ndarray:
    """The next character of each stream (B,): the most likely one (greedy), or one drawn from
    the sampling distribution with one uniform number from each stream's own generator."""
    if settings.greedy:
        return logits.argmax(axis=1)
    p = sampling_distribution(logits, settings.temperature, settings.top_k, settings.top_p)
    cdf = np.cumsum(p, axis=1)
    u = np.array([r.random() for r in rngs]) * cdf[:, -1]
    y = np.minimum((cdf <= u[:, None]).sum(axis=1), p.shape[1] - 1)
    return np.where(p[np.arange(len(y)), y] > 0, y, p.argmax(axis=1))  # guard against round-off


@dataclass
class SampleSettings:
    length: int = option(500, "New characters per sample (after the prime).", low=0)
    temperature: float = option(1.0, "Divides the logits; lower is more conservative.", low=0.0, open_low=True)
    top_k: int | None = option(None, "Sample only from the K most likely characters.", type=int, low=1)
    top_p: float | None = option(None, "Sample only from the smallest set of characters holding probability P.",
                                 type=float, low=0.0, high=1.0, open_low=True)
    greedy: bool = option(False, "Always take the most likely character (argmax).")
    stop: str | None = option(None, "End a sample once it produces this string.", type=str)

    def __post_init__(self):
        if self.length < 0:
            raise SettingsError(f"length must be >= 0, got {self.length}")
        if not self.temperature > 0:
            raise SettingsError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise SettingsError(f"top-k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise SettingsError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.stop == "":
            raise SettingsError("the stop string must not be empty")


@dataclass
class SampleStats:
    generated: list = field(default_factory=list)  # characters generated, per sample
    log_prob: list = field(default_factory=list)  # sum of log o_t[y_t] (temperature 1), per sample

    def add(self, logits: np.ndarray, y: np.ndarray, counted: list) -> None:
        """One step: y (B,) drawn from logits (B, V), counted for the samples still running."""
        lp = log_softmax(logits.astype(np.float64))[np.arange(len(y)), y]
        for b, yes in enumerate(counted):
            if yes:
                self.generated[b] += 1
                self.log_prob[b] += float(lp[b])


def known_prime(vocab: Vocab, prime: str, drop_unknown: bool = False) -> str:
    """The prime, checked against the vocabulary: characters the model never saw are refused
    (UserError), or left out when `drop_unknown`."""
    try:
        vocab.encode(prime)
    except UnknownCharacters as e:
        if not drop_unknown:
            raise UserError(f"the prime has {e}; remove them or pass --drop-unknown") from None
        return "".join(c for c in prime if c in vocab.index)
    return prime


def random_seed() -> int:
    return int(np.random.SeedSequence().entropy % (2**63))


def sample_seeds(seed: int, num_samples: int) -> list:
    """Sample i of a run with --seed s draws from its own generator seeded (s, i)."""
    return [np.random.default_rng([seed, i]) for i in range(num_samples)]


def generate(
    params: dict,
    config: ModelConfig,
    vocab: Vocab,
    settings: SampleSettings,
    rngs: list,
    prime: str = "",
    stats: SampleStats | None = None,
) -> Iterator[list[str]]:
    """Yield, at every step, the list of new characters, one per sample ("" once a sample has
    stopped). One sample per generator in `rngs`; all samples advance together as a batch.
    Memory is constant in `settings.length`. The prime is not yielded (the caller has it).

        state, x = the prime read teacher forced (warm_start)
        repeat:  logits = step(x, state);  y ~ logits;  x = y        free running
    """
    B = len(rngs)
    params = gather_ready(params, config)
    state, x = warm_start(params, config, vocab, prime, rngs[0], B)
    if stats is not None:
        stats.generated, stats.log_prob = [0] * B, [0.0] * B
    ended = Ending(settings.stop, B)
    for _ in range(settings.length):
        logits, state = step(params, config, x, state)  # (B, V)
        y = choose(logits, settings, rngs)
        out = ended.emit([vocab.chars[i] for i in y])
        if stats is not None:
            stats.add(logits, y, [ch != "" for ch in out])
        yield out
        if ended.all():
            return
        x = y.astype(np.intp)


def gather_ready(params: dict, config: ModelConfig) -> dict:
    """The weights, with those that read the one-hot input (N, V) stored column-major: every
    step's gather then reads contiguous rows of W^T (ops.gather_columns); the step's products
    read the rest as stored."""
    return {n: np.asfortranarray(p) if p.ndim == 2 and p.shape[1] == config.vocab_size and n != "decoder.weight"
            else p for n, p in params.items()}


def warm_start(params: dict, config: ModelConfig, vocab: Vocab, prime: str, rng, batch_size: int):
    """(the state after all but the last character of the prime, the last character as the first
    input (B,)); without a prime, a newline -- as at the start of a line -- or a random character."""
    if prime:
        warm = vocab.encode(prime)
    elif "\n" in vocab.index:
        warm = vocab.encode("\n")
    else:
        warm = np.array([rng.integers(len(vocab))])
    return read_prime(params, config, warm[:-1], batch_size), np.full(batch_size, warm[-1], dtype=np.intp)


class Ending:
    """Which samples have produced the stop string (settings.stop) and so have ended."""

    def __init__(self, stop: str | None, batch_size: int):
        self.stop = stop
        self.done = [False] * batch_size
        self.tails = [""] * batch_size  # the last len(stop) characters of each sample

    def emit(self, chars: list[str]) -> list[str]:
        """The step's new characters, "" for a sample that had already ended."""
        if self.stop is None:  # nothing ends a sample before its length
            return chars
        out = ["" if done else ch for done, ch in zip(self.done, chars)]
        for b, ch in enumerate(out):
            if ch:
                self.tails[b] = (self.tails[b] + ch)[-len(self.stop) :]
                self.done[b] = self.tails[b] == self.stop
        return out

    def all(self) -> bool:
        return all(self.done)


# ------------------------------------------------------------------------ a list model's items
@dataclass
class Item:
    text: str  # the item: the prime, then what was generated, without the line break that ends it
    log_prob: float  # log-probability of the generated characters and the end (temperature 1)
    ended: bool  # False where it was cut at the length cap before it ended


def items(params: dict, config: ModelConfig, vocab: Vocab, settings: SampleSettings, seed: int, count: int,
          prime: str = "", keep=None, max_tries: int | None = None) -> tuple[list[Item], int]:
    """Whole items of a list model, each read from the zero state: the line break that starts an
    item, then the prime (its first characters), then free running until the model writes the
    line break that ends it, or settings.length characters after the prime (the cap).

    Item i is drawn from its own generator (seed, i), so the items are the same whatever the
    batch. Draws items 0, 1, 2, ... until `count` of them pass `keep(item)` (default: all), or
    `max_tries` have been drawn. Returns (the items kept, how many were looked at to keep them)."""
    keep = keep or (lambda item: True)
    max_tries = max_tries or count
    settings = dataclasses.replace(settings, stop=SEP)
    kept, tried = [], 0
    while len(kept) < count and tried < max_tries:
        n = min(max(count - len(kept), 16), max_tries - tried, 1024)  # a batch of draws, at least a few
        stats = SampleStats()
        texts = ["".join(chars) for chars in zip(*generate(params, config, vocab, settings,
                                                            [np.random.default_rng([seed, tried + i]) for i in range(n)],
                                                            SEP + prime, stats))] if settings.length else [""] * n
        for text, lp in zip(texts, stats.log_prob or [0.0] * n):
            if len(kept) == count:
                break
            tried += 1
            item = Item(prime + text.removesuffix(SEP), lp, text.endswith(SEP))
            if keep(item):
                kept.append(item)
    return kept, tried
