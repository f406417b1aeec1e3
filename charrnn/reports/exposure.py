"""Exposure bias, measured with a control: the model's two architectures on the same real text.

Exposure bias is the cost of training on the real text only (teacher forcing) and then, at test
time, reading one's own output: the model has never seen a history of its own making. It is
measured as He et al. ("Exposure bias versus self-recovery", 2021) measure it. From N real
prefixes of the text (evenly spaced, P characters each) the model writes a continuation of K
characters twice:

    from the data prefix    after reading the real P characters
    from a model prefix     after reading W real characters (the prefix's first tenth) and then
                            P - W characters it wrote itself: a history of its own making

A judge that is not the model scores both continuations and the real one, offset by offset: by
default an interpolated Kneser-Ney character n-gram model fitted on the training text, its order
chosen on the text measured (judge.py); `--judge CKPT` a stronger charrnn model. Their ratio,

    EB-M = judge's loss of continuations from model prefixes / from data prefixes

is 1 when the model recovers from its own history as well as from the real one. Every figure
gets a 95% bootstrap interval, resampling the prefixes; where EB-M's interval holds 1 there is no
measurable exposure bias. The model's own entropy along each text shows whether it hedges.

Also measured, under names that say what they measure:

    divergence   the loss of the real character at offset k after the real history (teacher
                 forced: what `eval` measures), after the model's own continuation (free
                 running), and after another real continuation -- the floor: two independent
                 continuations part even for a perfect model, so the free-running figure is a
                 divergence of two texts, not a cost;
    ngrams       character n-gram statistics of the free-running text against the real
                 continuations (Jensen-Shannon divergence, n = 1..4, beside the divergence
                 between two halves of the real continuations -- the floor for samples that
                 small), the share of 8-grams absent from the training text, and repetition.

Teacher forcing uses the training unroll (`teacher_forcing.forward`); free running uses the
sampler's one-step function (`sampling.step`) -- the same cell code, the two ways of unrolling it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from charrnn import sampling, teacher_forcing
from charrnn.corpus import corpora
from charrnn.corpus.streams import CorpusError
from charrnn.ground.errors import SettingsError
from charrnn.ground.fields import option
from charrnn.ground.ops import log_softmax
from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, dtype_of, zero_state
from charrnn.reports.bootstrap import interval
from charrnn.reports.judge import fit as fit_judge
from charrnn.training.checkpoint import Checkpoint

BUCKETS = ((1, 10), (11, 30), (31, 100), (101, 1000))  # offsets, cut at the horizon K
NGRAMS = (1, 2, 3, 4)
NOVELTY_N = 8  # an 8-gram seen nowhere in the training text is new text, not a copy
JUDGE_HELD_OUT = 100_000  # characters of the text the judge's order is chosen on
REPEAT_N = 20  # a 20-character window seen twice in one continuation is a loop


@dataclass
class ExposureSettings:
    prefixes: int = option(64, "Real prefixes N, evenly spaced over the text.", low=1)
    warmup: int = option(100, "Characters P of each prefix, read teacher forced first.", low=1)
    horizon: int = option(100, "Offsets k = 1..K measured after each prefix.", low=1, high=1000)
    temperature: float = option(1.0, "Temperature of the free-running samples.", low=0.0, open_low=True)
    prefix_temperature: float | None = option(None, "Temperature of the model's own prefixes (default: --temperature); "
                                                    "a high one makes prefixes unlike the training text.",
                                              type=float, low=0.0, open_low=True)
    seed: int = option(0, "Seeds the free-running samples (prefix i draws from its own generator).")
    show: int = option(3, "Prefixes shown side by side.", low=0)


def prefix_starts(n_chars: int, settings: ExposureSettings) -> np.ndarray:
    span = settings.warmup + settings.horizon
    if n_chars < span:
        raise CorpusError(f"the text has {n_chars} characters the model knows; a prefix of {settings.warmup} "
                          f"and {settings.horizon} offsets need {span}: use a longer text or smaller "
                          f"--warmup / --horizon")
    n = min(settings.prefixes, n_chars - span + 1)
    return np.unique(np.linspace(0, n_chars - span, n).round().astype(int))


def free_run(params: dict, config: ModelConfig, state, x: np.ndarray, steps: int, temperature: float, rngs,
             real: np.ndarray | None = None):
    """TEST TIME for `steps` steps from `state`, first input x (N,): the model's own samples fed
    back. Returns (generated (steps, N), the model's entropy at each step (steps, N), and where
    `real` (steps, N) is given the log-probability and top-1 hit of each real character)."""
    N = len(x)
    choice = sampling.SampleSettings(length=steps, temperature=temperature)
    generated, entropy, logp_real, hit = (np.empty((steps, N)) for _ in range(4))
    for k in range(steps):
        logits, state = sampling.step(params, config, x, state)  # (N, V)
        logp = log_softmax(logits.astype(np.float64))
        entropy[k] = -(np.exp(logp) * logp).sum(axis=1)
        if real is not None:
            logp_real[k] = logp[np.arange(N), real[k]]
            hit[k] = logits.argmax(axis=1) == real[k]
        x = sampling.choose(logits, choice, rngs).astype(np.intp)
        generated[k] = x
    return generated.astype(np.intp), entropy, logp_real, hit.astype(bool)


def read_prefix(params: dict, config: ModelConfig, prefix: np.ndarray):
    """The state after reading prefix[:-1] teacher forced (its last character is the next input)."""
    state = zero_state(config, prefix.shape[1], dtype_of(params))
    if len(prefix) > 1:
        _, state, _ = teacher_forcing.forward(params, config, prefix, state)
    return state


def real_readings(params: dict, config: ModelConfig, history: np.ndarray, real: np.ndarray, P: int):
    """Teacher forced over history (P+K, N): the log-probability and top-1 hit of real (K, N) at
    each offset, and the model's entropy there."""
    N = history.shape[1]
    _, _, tape = teacher_forcing.forward(params, config, history, zero_state(config, N, dtype_of(params)))
    lp = tape.log_probs.reshape(len(history) - 1, N, -1)[P - 1 :].astype(np.float64)  # (K, N, V): row k-1 predicts offset k
    logp = np.take_along_axis(lp, real[:, :, None], axis=2)[:, :, 0]
    return logp, lp.argmax(axis=2) == real, -(np.exp(lp) * lp).sum(axis=2)


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


class NGramJudge:
    """The default judge: a Kneser-Ney character n-gram model of the training text (judge.py)."""

    def __init__(self, train_ids: np.ndarray, held_out: np.ndarray, vocab_size: int):
        self.kn, self.losses = fit_judge(train_ids, held_out[:JUDGE_HELD_OUT], vocab_size)

    def nll(self, seqs: np.ndarray, start: int) -> np.ndarray:
        """-ln P(seqs[t] | seqs[:t]) for t = start .., each column its own text: (L - start, N)."""
        return np.stack([-self.kn.log_probs(seqs[:, i], start) for i in range(seqs.shape[1])], axis=1)

    def describe(self) -> dict:
        return {"kind": "kneser-ney", "order": self.kn.order, "fitted_on": "the checkpoint's training text",
                "held_out_loss_by_order": {str(k): round(v, 4) for k, v in self.losses.items()}}


class CheckpointJudge:
    """`--judge CKPT`: another charrnn model scores the texts (teacher forced from a zero state)."""

    def __init__(self, ck, vocab: Vocab):
        missing = [c for c in vocab.chars if c not in ck.vocab.index]
        if missing:
            raise CorpusError(f"the judge {ck.path} never saw {len(missing)} of the model's characters "
                              f"({', '.join(map(repr, missing[:5]))}); judge with a model of the same corpus")
        self.ck = ck
        self.to_judge = np.array([ck.vocab.index[c] for c in vocab.chars], dtype=np.intp)

    def nll(self, seqs: np.ndarray, start: int) -> np.ndarray:
        ids = self.to_judge[seqs]
        _, _, tape = teacher_forcing.forward(self.ck.params, self.ck.config, ids,
                                             zero_state(self.ck.config, ids.shape[1], dtype_of(self.ck.params)))
        return tape.nll[start - 1 :].astype(np.float64)

    def describe(self) -> dict:
        return {"kind": "checkpoint", "path": self.ck.path, "model": self.ck.config.label()}


def measure(params: dict, config: ModelConfig, vocab: Vocab, text: str, train_text: str | None,
            settings: ExposureSettings, judge=None) -> dict:
    """The whole `charrnn exposure-bias` report as JSON-able data (the module docstring; schema in
    docs/exposure-bias.md). `judge` scores the continuations (default: NGramJudge of the
    training text)."""
    ids = vocab.encode(text, unknown="drop")
    starts = prefix_starts(len(ids), settings)
    P, K, N = settings.warmup, settings.horizon, len(starts)
    if N < 2:
        raise CorpusError("exposure-bias needs at least 2 prefixes (its intervals resample them); use a longer "
                          "text or a smaller --warmup / --horizon")
    windows = np.stack([ids[s : s + P + K] for s in starts], axis=1).astype(np.intp)  # (P+K, N)
    real = windows[P:]  # (K, N): the real characters at offsets 1..K
    if judge is None:
        if train_text is None:
            raise CorpusError("the judge (an n-gram model of the training text) needs the corpus the checkpoint "
                              "was trained on; give it, or a judge model with --judge CKPT")
        judge = NGramJudge(vocab.encode(train_text, unknown="drop"), ids, len(vocab))
    runs = Runs.of(params, config, windows, settings)
    judged = {"real": judge.nll(windows, P),
              "data_prefix": judge.nll(np.concatenate([windows[:P], runs.gen], axis=0), P),
              "model_prefix": judge.nll(np.concatenate([runs.model_prefix, runs.mgen], axis=0), P)}  # each (K, N)
    known = None if train_text is None else np.unique(ngram_hashes(vocab.encode(train_text, unknown="drop"), NOVELTY_N))
    control, divergence, texts = by_offsets(runs, judged, real, known, np.random.default_rng([settings.seed, 99]))
    overall = control[-1]["eb_m"]
    shown = np.unique(np.linspace(0, N - 1, min(settings.show, N)).round().astype(int))
    return {
        "settings": asdict(settings),
        "prefixes": N,
        "characters": len(ids),
        "warmup_real": runs.W,
        "judge": judge.describe(),
        "control": control,
        "verdict": f"{verdict(overall)} (EB-M {overall['mean']:.3f}, 95% interval {overall['low']:.3f} .. "
                   f"{overall['high']:.3f})",
        "divergence": divergence,
        "ngrams": texts,
        "repetition": {"free_running": repetition(runs.gen.T), "real": repetition(real.T)},
        "per_offset": {"teacher_forced_loss": [float(x) for x in -runs.tf_logp.mean(axis=1)],
                       "free_running_loss": [float(x) for x in -runs.fr_logp.mean(axis=1)],
                       "real_history_loss": [float(x) for x in -runs.rr_logp.mean(axis=1)],
                       "judge": {k: [float(x) for x in v.mean(axis=1)] for k, v in judged.items()}},
        "examples": [{"start": int(starts[i]), "prefix": vocab.decode(windows[:P, i]),
                      "real": vocab.decode(real[:, i]),
                      "real_probability": [round(float(x), 4) for x in np.exp(runs.tf_logp[:, i])],
                      "generated": vocab.decode(runs.gen[:, i]),
                      "model_prefix": vocab.decode(runs.model_prefix[:, i]),
                      "from_model_prefix": vocab.decode(runs.mgen[:, i])} for i in shown],
    }


@dataclass
class Runs:
    """The model's readings and continuations of the N prefixes (each (K, N) unless said):

        tf_*   the real continuation read teacher forced (the real history)
        fr_*   the model's own continuation of the real prefix, free running (gen)
        rr_*   the real character after another real continuation (the floor: two real texts part too)
        model_prefix (P, N)  W real characters, then the model's own; mgen its continuation
    """

    tf_logp: np.ndarray
    tf_hit: np.ndarray
    fr_logp: np.ndarray
    fr_hit: np.ndarray
    rr_logp: np.ndarray
    rr_hit: np.ndarray
    gen: np.ndarray
    model_prefix: np.ndarray
    mgen: np.ndarray
    entropy: dict  # "real", "data_prefix", "model_prefix" -> (K, N) the model's entropy along each
    W: int  # the real warm-up of the model's own prefix: the prefix's first tenth

    @classmethod
    def of(cls, params: dict, config: ModelConfig, windows: np.ndarray, settings: ExposureSettings) -> "Runs":
        P, K, N = settings.warmup, settings.horizon, windows.shape[1]
        real = windows[P:]
        tf_logp, tf_hit, tf_entropy = real_readings(params, config, windows, real, P)
        gen, fr_entropy, fr_logp, fr_hit = free_run(params, config, read_prefix(params, config, windows[:P]),
                                                    windows[P - 1], K, settings.temperature,
                                                    sampling.sample_seeds(settings.seed, N), real)
        other = np.concatenate([windows[:P], np.roll(real, 1, axis=1)], axis=0)  # prefix i, prefix i-1's continuation
        rr_logp, rr_hit, _ = real_readings(params, config, other, real, P)
        # the control: continuations from the model's own prefix, against those from the real one
        W = max(1, -(-P // 10))
        prefix_rngs = [np.random.default_rng([settings.seed, i, 1]) for i in range(N)]
        own, _, _, _ = free_run(params, config, read_prefix(params, config, windows[:W]), windows[W - 1], P - W,
                                settings.prefix_temperature or settings.temperature, prefix_rngs)
        model_prefix = np.concatenate([windows[:W], own], axis=0)  # (P, N)
        cont_rngs = [np.random.default_rng([settings.seed, i, 2]) for i in range(N)]
        mgen, m_entropy, _, _ = free_run(params, config, read_prefix(params, config, model_prefix), model_prefix[-1],
                                         K, settings.temperature, cont_rngs)
        return cls(tf_logp, tf_hit, fr_logp, fr_hit, rr_logp, rr_hit, gen, model_prefix, mgen,
                   {"real": tf_entropy, "data_prefix": fr_entropy, "model_prefix": m_entropy}, W)


def by_offsets(runs: Runs, judged: dict, real: np.ndarray, known, rng: np.random.Generator) -> tuple:
    """(control, divergence, n-gram texts): each bucket of offsets (and, for the first two, all
    K of them last), every figure with its bootstrap interval over the prefixes."""
    K = real.shape[0]
    control, divergence, texts = [], [], []
    for lo, hi in [*BUCKETS, (1, K)]:
        if lo > K:
            continue
        hi = min(hi, K)
        rows = slice(lo - 1, hi)
        per = {k: v[rows].mean(axis=0) for k, v in judged.items()}  # (N,) each: a prefix's mean over the offsets
        control.append({
            "offsets": [lo, hi],
            "judge": {k: interval(v, rng) for k, v in per.items()},
            "eb_m": interval(per["model_prefix"], rng, per["data_prefix"]),
            "entropy": {k: interval(v[rows].mean(axis=0), rng) for k, v in runs.entropy.items()},
        })
        divergence.append({"offsets": [lo, hi], **{
            name: {**interval(-logp[rows].mean(axis=0), rng), "accuracy": float(hit[rows].mean())}
            for name, logp, hit in (("teacher_forced", runs.tf_logp, runs.tf_hit),
                                    ("free_running", runs.fr_logp, runs.fr_hit),
                                    ("real_history", runs.rr_logp, runs.rr_hit))}})
        if (lo, hi) != (1, K):
            js = {str(n): half_split_js(runs.gen[rows].T, real[rows].T, n) for n in NGRAMS}
            texts.append({"offsets": [lo, hi],
                          "free_running": {"ngram_js": {n: g for n, (g, _) in js.items()},
                                           "novelty": novelty(runs.gen.T, known, lo, hi)},
                          "real": {"ngram_js": {n: r for n, (_, r) in js.items()},
                                   "novelty": novelty(real.T, known, lo, hi)}})
    return control, divergence, texts


def verdict(overall: dict) -> str:
    """What EB-M's interval over all K offsets says."""
    if overall["low"] <= 1.0 <= overall["high"]:
        return "no measurable exposure bias"
    return "exposure bias measured: " + ("continuations from the model's own prefixes are worse by the judge"
                                         if overall["low"] > 1.0 else
                                         "continuations from the model's own prefixes are better by the judge")


def exposure_bias(ck: Checkpoint, text: str | None, encoding: str, settings: ExposureSettings,
                  notes: list, judge: Checkpoint | None = None) -> dict:
    """`charrnn exposure-bias`: on TEXT, or by default on the run's own validation split (the
    corpus found again as `eval` / `--resume` find it). Novelty needs the training text: without
    it (TEXT given and the run's corpus not at hand) it is left out, with a note."""
    if ck.config.item_start is not None:
        raise SettingsError("exposure-bias measures continuations of a running text; a list model writes whole "
                            "items from the initial state: `charrnn sample` marks which are new")
    train_text = None
    try:
        train_text, val_text, name = corpora.validation_text(ck)
    except CorpusError:
        if text is None:
            raise
        notes.append(f"note: the corpus {ck.path} was trained on is not at hand, so novelty (8-grams absent "
                     f"from the training text) is left out" + ("" if judge else ", and the judge must be a model (--judge)"))
    if text is not None:
        src = corpora.load(text, encoding, normalize=ck.normalization)
        notes.extend(src.notes)
        val_text, name = src.text, src.name
    judged_by = CheckpointJudge(judge, ck.vocab) if judge is not None else None
    report = measure(ck.params, ck.config, ck.vocab, val_text, train_text, settings, judged_by)
    return {"checkpoint": ck.path, "text": name, **report}
