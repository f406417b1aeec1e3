"""The data of a model's page (`charrnn page`): the weights, stored in float16 where that keeps
the next-character probabilities within TOLERANCE of the float32 model's (measured here, on the
model's own greedy text), else in float32; the vocabulary, the config and a description. The
page (views/model_page.py) runs the network's JavaScript step (networks/*: page_step) on them."""

from __future__ import annotations

import base64

import numpy as np

from charrnn import sampling
from charrnn.ground.errors import SettingsError
from charrnn.model import cast_params, num_params, zero_state
from charrnn.training.checkpoint import Checkpoint

TOLERANCE = 1e-3  # the largest difference of a next-character probability float16 may cost
PROBE_STEPS = 200  # steps of the model's greedy text the difference is measured on
LIMIT_BYTES = 64 * 2**20  # weights a page may hold (before base64's third more): a browser's comfort


def page_data(ck: Checkpoint) -> dict:
    """Everything the page needs, or SettingsError (one line) for a network without a page or
    a model too large for one."""
    config = ck.config
    if config.network.page_step(config) is None:
        raise SettingsError(f"the {config.cell} network has no page: it declares no JavaScript step")
    full = cast_params(ck.params, np.float64)
    with np.errstate(over="ignore"):  # a weight beyond float16's range becomes inf: float32 then
        half = {name: p.astype(np.float16) for name, p in ck.params.items()}
    finite = all(np.isfinite(h).all() for h in half.values())  # float16 stops at 65,504
    diff = probe(full, {n: h.astype(np.float64) for n, h in half.items()}, ck) if finite else np.inf
    precision = "float16" if diff <= TOLERANCE else "float32"
    stored = half if precision == "float16" else {n: p.astype(np.float32) for n, p in ck.params.items()}
    size = sum(p.nbytes for p in stored.values())
    if size > LIMIT_BYTES:
        raise SettingsError(f"{ck.path}: {size / 2**20:.0f} MiB of weights in {precision}; a page holds at most "
                            f"{LIMIT_BYTES // 2**20} MiB (a smaller model, or fewer characters)")
    return {
        "config": {**config.to_dict(), "item_start": config.item_start,
                   "state_parts": len(getattr(config.network, "state_parts", ()))},
        "vocab": ck.vocab.chars,
        "weights": {n: {"shape": list(p.shape), "b64": base64.b64encode(np.ascontiguousarray(p).astype(
            p.dtype.newbyteorder("<")).tobytes()).decode("ascii")} for n, p in stored.items()},
        "precision": precision, "probe": {"steps": PROBE_STEPS, "max_diff": None if not finite else float(diff)},
        "model": {"label": config.label(), "parameters": num_params(config), "corpus": ck.corpus.get("name"),
                  "val_loss": ck.train.best_val_loss if ck.train else None, "is_list": config.item_start is not None,
                  "checkpoint": ck.path, "bytes": size},
    }


def probe(full: dict, other: dict, ck: Checkpoint) -> float:
    """The largest difference of a next-character probability between two sets of weights of
    one model, along PROBE_STEPS of the first set's greedy text (from a line break, or the first
    character)."""
    config, vocab = ck.config, ck.vocab
    x = np.array([vocab.index.get("\n", 0)])
    states = [zero_state(config, 1, np.float64), zero_state(config, 1, np.float64)]
    worst = 0.0
    for _ in range(PROBE_STEPS):
        probs = []
        for i, params in enumerate((full, other)):
            logits, states[i] = sampling.step(params, config, x, states[i])
            probs.append(sampling.sampling_distribution(logits))
        worst = max(worst, float(np.abs(probs[0] - probs[1]).max()))
        x = probs[0].argmax(axis=1)
    return worst


def dequantised(data: dict) -> dict:
    """The weights as the page holds them, back as float64 arrays: what its JavaScript computes with."""
    dtype = np.dtype(np.float16 if data["precision"] == "float16" else np.float32).newbyteorder("<")
    return {n: np.frombuffer(base64.b64decode(w["b64"]), dtype=dtype).reshape(w["shape"]).astype(np.float64)
            for n, w in data["weights"].items()}
