"""What `charrnn eval`, `info`, `exposure-bias` and `neurons` report, as plain JSON-able data (views.py and
pages.py draw it)."""

from __future__ import annotations

import math

import numpy as np

from charrnn.corpus import corpora
from charrnn.reports import exposure, neurons
from charrnn.training.checkpoint import Checkpoint
from charrnn.corpus.corpora import Source
from charrnn.corpus.streams import CorpusError, split_sizes, unigram_entropy
from charrnn.ground.ops import bits
from charrnn.ground.errors import SettingsError
from charrnn.model import num_params, pytorch_equivalent
from charrnn.reports.exposure import ExposureSettings
from charrnn.teacher_forcing import evaluate_stream, loss_by_position

def by_position(ck: Checkpoint, ids, multiples: int = 10) -> dict:
    """The loss by position in a stream read from a zero state, in buckets of the training window
    T, out to multiples * T: whether the model generalises past the length it was trained on.
    Each bucket's 95% interval resamples the streams."""
    T = ck.train.options.seq_len if ck.train else 100
    nll = loss_by_position(ck.params, ck.config, ids, multiples * T)  # (span, S)
    rng = np.random.default_rng(0)
    buckets = []
    for j in range(multiples):
        per_stream = nll[j * T : (j + 1) * T].mean(axis=0)  # (S,)
        boot = per_stream[rng.integers(0, len(per_stream), size=(1000, len(per_stream)))].mean(axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        buckets.append({"positions": [j * T + 1, (j + 1) * T], "loss": float(per_stream.mean()),
                        "low": float(lo), "high": float(hi)})
    return {"window": T, "streams": int(nll.shape[1]), "buckets": buckets}


def evaluation(ck: Checkpoint, src: Source, positions: bool = False) -> dict:
    """The checkpoint's loss on a text read as one stream (teacher forced, state carried from
    the first character to the last), beside the text's unigram baseline. Characters the model
    never saw are left out and counted."""
    ids = ck.vocab.encode(src.text, unknown="drop")
    if len(ids) < 2:
        raise CorpusError(f"{src.name} has fewer than two characters the model knows; nothing to evaluate")
    loss, predicted = evaluate_stream(ck.params, ck.config, ids)
    extra = {}
    if positions:
        try:
            extra["by_position"] = by_position(ck, ids)
        except ValueError as e:
            raise CorpusError(f"{src.name}: {e}") from None
    return {
        "checkpoint": ck.path, "text": src.name, "loss": loss, "bits": bits(loss),
        "perplexity": math.exp(loss), "unigram": unigram_entropy(ids, ck.config.vocab_size),
        "predicted": predicted, "unknown_count": len(src.text) - len(ids),
        "unknown_chars": ck.vocab.unknown(src.text), **extra,
    }


def description(ck: Checkpoint) -> dict:
    """What a checkpoint holds: config, tensors, vocabulary, corpus, progress, loss history."""
    t = ck.train
    recipe = t.recipe if t else None
    return {
        "checkpoint": ck.path,
        "config": ck.config.to_dict(),
        "parameters": num_params(ck.config),
        "pytorch": dict(zip(("loads", "module"), pytorch_equivalent(ck.config))),
        "tensors": [{"name": n, "shape": list(p.shape), "count": int(p.size)} for n, p in ck.params.items()],
        "vocab": ck.vocab.chars,
        "corpus": ck.corpus,
        "training": t.shown() if t else {},
        "history": t.history if t else [],
        "recipe": {"line": recipe.line(), **recipe.to_dict()} if recipe else None,
    }


def validation_text(ck: Checkpoint) -> tuple[str, str, str]:
    """(training text, validation text, name) of the run's own corpus, found again as `eval` and
    `--resume` find it (CorpusError when it is not at hand)."""
    own = corpora.of_checkpoint(ck)
    val_frac = ck.train.options.val_frac if ck.train else 0.1
    n_train, _ = split_sizes(len(own.text), val_frac)
    return own.text[:n_train], own.text[n_train:], f"{own.name} (validation split)"


def neurons_report(ck: Checkpoint, text: str | None, encoding: str, max_chars: int, max_units: int,
                   notes: list, unit: str | None = None) -> dict:
    """`charrnn neurons`: on TEXT, or by default on the run's own validation split; `unit`
    ('L:N' or 'L:KIND:N') is put into the report whatever its rank."""
    try:
        wanted = neurons.parse_unit(unit) if unit else None
    except ValueError as e:
        raise SettingsError(str(e)) from None
    if text is None:
        _, val_text, name = validation_text(ck)
    else:
        src = corpora.load(text, encoding, normalize=ck.corpus.get("normalize", "none"))
        notes.extend(src.notes)
        val_text, name = src.text, src.name
    try:
        report = neurons.analyse(ck.params, ck.config, ck.vocab, val_text, max_chars, max_units, wanted)
    except ValueError as e:
        raise SettingsError(f"{name}: {e}") from None
    return {"checkpoint": ck.path, "text_name": name, **report}


def exposure_bias(ck: Checkpoint, text: str | None, encoding: str, settings: ExposureSettings,
                  notes: list, judge: Checkpoint | None = None) -> dict:
    """`charrnn exposure-bias`: on TEXT, or by default on the run's own validation split (the
    corpus found again as `eval` / `--resume` find it). Novelty needs the training text: without
    it (TEXT given and the run's corpus not at hand) it is left out, with a note."""
    train_text = None
    try:
        train_text, val_text, name = validation_text(ck)
    except CorpusError:
        if text is None:
            raise
        notes.append(f"note: the corpus {ck.path} was trained on is not at hand, so novelty (8-grams absent "
                     f"from the training text) is left out" + ("" if judge else ", and the judge must be a model (--judge)"))
    if text is not None:
        src = corpora.load(text, encoding, normalize=ck.corpus.get("normalize", "none"))
        notes.extend(src.notes)
        val_text, name = src.text, src.name
    judged_by = exposure.CheckpointJudge(judge, ck.vocab) if judge is not None else None
    report = exposure.measure(ck.params, ck.config, ck.vocab, val_text, train_text, settings, judged_by)
    return {"checkpoint": ck.path, "text": name, **report}
