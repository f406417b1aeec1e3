"""What `charrnn eval` and `charrnn info` report, as plain JSON-able data (views/evaluation.py
draws it): the loss of a text read as one stream, and by position; what a checkpoint holds."""

from __future__ import annotations

import math

import numpy as np

from charrnn.corpus.corpora import Source
from charrnn.corpus.items import encode_items, read_items
from charrnn.corpus.streams import CorpusError, unigram_entropy
from charrnn.ground.errors import SettingsError
from charrnn.ground.ops import bits
from charrnn.model import num_params, pytorch_equivalent
from charrnn.reports.bootstrap import interval
from charrnn.teacher_forcing import evaluate_stream, loss_by_position
from charrnn.training.checkpoint import Checkpoint


def by_position(ck: Checkpoint, ids, multiples: int = 10) -> dict:
    """The loss by position in a stream read from a zero state, in buckets of the training window
    T, out to multiples * T: whether the model generalises past the length it was trained on.
    Each bucket's 95% interval resamples the streams."""
    T = ck.train.options.seq_len if ck.train else 100
    nll = loss_by_position(ck.params, ck.config, ids, multiples * T)  # (span, S)
    rng = np.random.default_rng(0)
    buckets = []
    for j in range(multiples):
        iv = interval(nll[j * T : (j + 1) * T].mean(axis=0), rng)  # over the streams' means (S,)
        buckets.append({"positions": [j * T + 1, (j + 1) * T], "loss": iv["mean"], "low": iv["low"],
                        "high": iv["high"]})
    return {"window": T, "streams": int(nll.shape[1]), "buckets": buckets}


LIST_STREAMS = 64  # a list's items are read this many side by side: each starts afresh, so the loss is the same


def evaluation(ck: Checkpoint, src: Source, positions: bool = False) -> dict:
    """The checkpoint's loss on a text read as one stream (teacher forced, state carried from
    the first character to the last), beside the text's unigram baseline. Characters the model
    never saw are left out and counted. A list model reads the text as items (list_evaluation)."""
    if ck.config.item_start is not None:
        if positions:
            raise SettingsError("--by-position is for a model of a running text: a list model starts every item "
                                "afresh")
        return list_evaluation(ck, src)
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


def list_evaluation(ck: Checkpoint, src: Source) -> dict:
    """A list model's loss on a list, item by item as it was trained (corpus/items.py): each
    from the initial state, each item's end counted as a character to predict. Items with a
    character the model never saw are left out and counted."""
    texts, blank = read_items(src.text)
    known = [t for t in texts if not ck.vocab.unknown(t)]
    if not known:
        raise CorpusError(f"{src.name} has no item made only of characters the model knows; nothing to evaluate")
    ids = encode_items(ck.vocab, known)
    loss, predicted = evaluate_stream(ck.params, ck.config, ids, streams=LIST_STREAMS)
    return {
        "checkpoint": ck.path, "text": src.name, "loss": loss, "bits": bits(loss), "perplexity": math.exp(loss),
        "unigram": unigram_entropy(ids[1:], ck.config.vocab_size), "predicted": predicted,
        "items": len(known), "per_item": loss * predicted / len(known), "blank_lines": blank,
        "unknown_items": len(texts) - len(known), "unknown_chars": ck.vocab.unknown("".join(texts)),
        "unknown_count": 0,
    }


def lineage(parent: dict | None) -> list[str]:
    """What a fine-tuned model was fine-tuned from, and that from what, ...: one line each."""
    out = []
    while parent:
        out.append(f"{parent['label']} from {parent['checkpoint']} (step {parent['step']}, trained on "
                   f"{parent['corpus'] or 'an unnamed text'}; {parent['added_chars']} characters added)")
        parent = parent.get("parent")
    return out


def reads(ck: Checkpoint) -> str:
    """How the model reads text: a running text, or a list of items (and how many it saw)."""
    if ck.config.item_start is None:
        return "a running text, its state carried from one character to the next"
    s = ck.corpus.get("items")
    counts = (f": {s['train_items']:,} training items ({s['distinct_train']:,} distinct), {s['val_items']:,} "
              f"validation items ({s['distinct_val']:,} distinct)" if s else "")
    return f"a list, one item a line, each item from the initial state, its end predicted{counts}"


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
        "training": t.for_info() if t else {},
        "history": t.history if t else [],
        "recipe": {"line": recipe.line(), **recipe.to_dict()} if recipe else None,
        "reads": reads(ck),
        "lineage": lineage(t.parent if t else None),
    }


