"""Exposure bias, measured: the model's two architectures side by side on the same real text.

From N real prefixes of the text (evenly spaced, each read teacher forced for P characters),
for each offset k = 1 .. K after the prefix:

    teacher forced   the input before offset k is the real text:      loss and top-1 accuracy
                     of the real character at k (what `charrnn eval` measures)
    free running     the input before offset k is the model's own sample: the loss and
                     accuracy of the same real character, given the model's own history

At k = 1 both have read exactly the prefix, so they agree; the gap that opens with k is what
feeding its own output back costs the model (exposure bias: at training time it never reads its
own mistakes). Per offset bucket the free-running continuations are also compared with the real
ones as text: character n-gram statistics (Jensen-Shannon divergence, n = 1..4, against the
divergence between two halves of the real continuations -- the noise floor of samples that
small), the share of 8-grams absent from the training text (novelty; the real continuations'
own share is the reference), and repetition (the share of repeated 20-character windows).

Teacher forcing uses the training unroll (`teacher_forcing.forward`); free running uses the
sampler's one-step function (`sampling.step`) -- the same cell code, the two ways of unrolling it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict

import numpy as np

from charrnn import sampling, teacher_forcing
from charrnn.data import CorpusError
from charrnn.layers import log_softmax
from charrnn.model import ModelConfig, zero_state
from charrnn.options import ExposureSettings
from charrnn.vocab import Vocab

BUCKETS = ((1, 10), (11, 30), (31, 100), (101, 1000))  # offsets, cut at the horizon K
NGRAMS = (1, 2, 3, 4)
NOVELTY_N = 8  # an 8-gram seen nowhere in the training text is new text, not a copy
REPEAT_N = 20  # a 20-character window seen twice in one continuation is a loop


def prefix_starts(n_chars: int, settings: ExposureSettings) -> np.ndarray:
    span = settings.warmup + settings.horizon
    if n_chars < span:
        raise CorpusError(f"the text has {n_chars} characters the model knows; a prefix of {settings.warmup} "
                          f"and {settings.horizon} offsets need {span}: use a longer text or smaller "
                          f"--warmup / --horizon")
    n = min(settings.prefixes, n_chars - span + 1)
    return np.unique(np.linspace(0, n_chars - span, n).round().astype(int))


def unroll_both(params: dict, config: ModelConfig, windows: np.ndarray, settings: ExposureSettings):
    """windows (P+K, N) of real ids. Returns per offset (K, N): teacher-forced log-probabilities
    of the real character and top-1 hits; the same under free running; and the generated ids."""
    P, K, N = settings.warmup, settings.horizon, windows.shape[1]
    dtype = params["decoder.weight"].dtype
    real = windows[P:]  # (K, N): the real characters at offsets 1..K
    # teacher forced: the training unroll over prefix + real continuation
    _, _, tape = teacher_forcing.forward(params, config, windows, zero_state(config, N, dtype))
    lp = tape.log_probs.reshape(P + K - 1, N, -1)[P - 1 :]  # (K, N, V): row k-1 predicts offset k
    tf_logp = np.take_along_axis(lp, real[:, :, None], axis=2)[:, :, 0]
    tf_hit = lp.argmax(axis=2) == real
    # free running: read the same prefix, then feed back the model's own samples
    _, state0, _ = teacher_forcing.forward(params, config, windows[:P], zero_state(config, N, dtype))
    state, rngs = state0, sampling.sample_seeds(settings.seed, N)
    choice = sampling.SampleSettings(length=K, temperature=settings.temperature)
    fr_logp, fr_hit, generated = (np.empty((K, N)) for _ in range(3))
    x = windows[P - 1].astype(np.intp)
    for k in range(K):
        logits, state = sampling.step(params, config, x, state)  # (N, V)
        logp = log_softmax(logits.astype(np.float64))
        fr_logp[k] = logp[np.arange(N), real[k]]
        fr_hit[k] = logits.argmax(axis=1) == real[k]
        x = sampling.choose(logits, choice, rngs).astype(np.intp)
        generated[k] = x
    return tf_logp, tf_hit, fr_logp, fr_hit.astype(bool), generated.astype(np.intp)


def ngram_counts(rows: np.ndarray, n: int) -> Counter:
    """n-grams of ids inside each row (rows: (N, L)), pooled."""
    c = Counter()
    for row in rows:
        c.update(tuple(row[i : i + n]) for i in range(len(row) - n + 1))
    return c


def js_divergence(a: Counter, b: Counter) -> float | None:
    """Jensen-Shannon divergence between two count tables, in bits (0 = same, 1 = disjoint)."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return None
    total = 0.0
    for key in a.keys() | b.keys():
        p, q = a.get(key, 0) / na, b.get(key, 0) / nb
        m = (p + q) / 2
        total += (p * math.log2(p / m) if p else 0.0) + (q * math.log2(q / m) if q else 0.0)
    return total / 2


def half_split_js(gen: np.ndarray, real: np.ndarray, n: int) -> tuple[float | None, float | None]:
    """(generated against real, real against real): each between the even- and odd-numbered
    prefixes, so both compare samples of the same size and the second is the noise floor."""
    even, odd = slice(0, None, 2), slice(1, None, 2)
    g = [js_divergence(ngram_counts(gen[a], n), ngram_counts(real[b], n)) for a, b in ((even, odd), (odd, even))]
    r = js_divergence(ngram_counts(real[even], n), ngram_counts(real[odd], n))
    return (None if None in g else sum(g) / 2), r


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit hash of every n-gram of a 1-D id array (polynomial, wrapping): a set of n-grams
    of a large text held as 8 bytes each."""
    ids = np.asarray(ids, dtype=np.uint64)
    if len(ids) < n:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = h * np.uint64(0x100000001B3) + ids[j : len(ids) - n + 1 + j] + np.uint64(1)
    return h


def novelty(rows: np.ndarray, known: np.ndarray | None, lo: int, hi: int) -> float | None:
    """Share of the 8-grams starting at offsets lo..hi (and ending inside the row) that the
    training text never contains. `known` is the sorted unique hashes of the training text."""
    if known is None:
        return None
    grams = [ngram_hashes(row, NOVELTY_N)[lo - 1 : hi] for row in rows]
    grams = np.concatenate(grams) if grams else np.empty(0, dtype=np.uint64)
    if not grams.size:
        return None
    found = np.searchsorted(known, grams)
    found = np.minimum(found, len(known) - 1)
    return float(np.mean(known[found] != grams))


def repetition(rows: np.ndarray) -> float | None:
    """Mean over rows of the share of 20-character windows that occur more than once in the row."""
    shares = []
    for row in rows:
        windows = [tuple(row[i : i + REPEAT_N]) for i in range(len(row) - REPEAT_N + 1)]
        if windows:
            counts = Counter(windows)
            shares.append(sum(c for c in counts.values() if c > 1) / len(windows))
    return float(np.mean(shares)) if shares else None


def measure(params: dict, config: ModelConfig, vocab: Vocab, text: str, train_text: str | None,
            settings: ExposureSettings) -> dict:
    """The whole `charrnn exposure-bias` report as JSON-able data."""
    ids = vocab.encode(text, unknown="drop")
    starts = prefix_starts(len(ids), settings)
    P, K = settings.warmup, settings.horizon
    windows = np.stack([ids[s : s + P + K] for s in starts], axis=1).astype(np.intp)  # (P+K, N)
    tf_logp, tf_hit, fr_logp, fr_hit, gen = unroll_both(params, config, windows, settings)
    real = windows[P:]  # (K, N)
    known = None
    if train_text is not None:
        known = np.unique(ngram_hashes(vocab.encode(train_text, unknown="drop"), NOVELTY_N))
    buckets = []
    for lo, hi in BUCKETS:
        if lo > K:
            break
        hi = min(hi, K)
        rows = slice(lo - 1, hi)
        js = {str(n): half_split_js(gen[rows].T, real[rows].T, n) for n in NGRAMS}
        buckets.append({
            "offsets": [lo, hi],
            "teacher_forced": {"loss": float(-tf_logp[rows].mean()), "accuracy": float(tf_hit[rows].mean())},
            "free_running": {"loss": float(-fr_logp[rows].mean()), "accuracy": float(fr_hit[rows].mean()),
                             "ngram_js": {n: g for n, (g, _) in js.items()},
                             "novelty": novelty(gen.T, known, lo, hi)},
            "real": {"ngram_js": {n: r for n, (_, r) in js.items()}, "novelty": novelty(real.T, known, lo, hi)},
        })
    shown = np.unique(np.linspace(0, len(starts) - 1, min(settings.show, len(starts))).round().astype(int))
    return {
        "settings": asdict(settings),
        "prefixes": len(starts),
        "characters": len(ids),
        "buckets": buckets,
        "repetition": {"free_running": repetition(gen.T), "real": repetition(real.T)},
        "per_offset": {"teacher_forced_loss": [float(x) for x in -tf_logp.mean(axis=1)],
                       "free_running_loss": [float(x) for x in -fr_logp.mean(axis=1)]},
        "examples": [{"start": int(starts[i]), "prefix": vocab.decode(windows[:P, i]),
                      "real": vocab.decode(real[:, i]),
                      "real_probability": [round(float(x), 4) for x in np.exp(tf_logp[:, i])],
                      "generated": vocab.decode(gen[:, i])} for i in shown],
    }
