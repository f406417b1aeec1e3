"""What `charrnn eval`, `info` and `exposure-bias` report, as plain JSON-able data (views.py draws it)."""

from __future__ import annotations

import math

from charrnn import corpora, exposure
from charrnn.checkpoint import Checkpoint
from charrnn.corpora import Source
from charrnn.data import CorpusError, bits, split_sizes, unigram_entropy
from charrnn.model import num_params, pytorch_equivalent
from charrnn.options import ExposureSettings
from charrnn.teacher_forcing import evaluate_stream

def evaluation(ck: Checkpoint, src: Source) -> dict:
    """The checkpoint's loss on a text read as one stream (teacher forced, state carried from
    the first character to the last), beside the text's unigram baseline. Characters the model
    never saw are left out and counted."""
    ids = ck.vocab.encode(src.text, unknown="drop")
    if len(ids) < 2:
        raise CorpusError(f"{src.name} has fewer than two characters the model knows; nothing to evaluate")
    loss, predicted = evaluate_stream(ck.params, ck.config, ids)
    return {
        "checkpoint": ck.path, "text": src.name, "loss": loss, "bits": bits(loss),
        "perplexity": math.exp(loss), "unigram": unigram_entropy(ids, ck.config.vocab_size),
        "predicted": predicted, "unknown_count": len(src.text) - len(ids),
        "unknown_chars": ck.vocab.unknown(src.text),
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


def exposure_bias(ck: Checkpoint, text: str | None, encoding: str, settings: ExposureSettings,
                  notes: list) -> dict:
    """`charrnn exposure-bias`: on TEXT, or by default on the run's own validation split (the
    corpus found again as `eval` / `--resume` find it). Novelty needs the training text: without
    it (TEXT given and the run's corpus not at hand) it is left out, with a note."""
    train_text = None
    try:
        own = corpora.of_checkpoint(ck)
        val_frac = ck.train.options.val_frac if ck.train else 0.1
        n_train, _ = split_sizes(len(own.text), val_frac)
        train_text, val_text, name = own.text[:n_train], own.text[n_train:], f"{own.name} (validation split)"
    except CorpusError:
        if text is None:
            raise
        notes.append(f"note: the corpus {ck.path} was trained on is not at hand, so novelty (8-grams absent "
                     f"from the training text) is left out")
    if text is not None:
        src = corpora.load(text, encoding, normalize=ck.corpus.get("normalize", "none"))
        notes.extend(src.notes)
        val_text, name = src.text, src.name
    report = exposure.measure(ck.params, ck.config, ck.vocab, val_text, train_text, settings)
    return {"checkpoint": ck.path, "text": name, **report}
