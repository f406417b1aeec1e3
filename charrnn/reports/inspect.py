"""The report of `charrnn inspect-gradients`: for one model (a checkpoint's) or several fresh
ones side by side, on one window of real text, everything `gradients.py` can show -- the
gradient check, gradient flow back through time, each step's contribution to the shared
weights, per-gate gradients, clipping -- as plain JSON-able data that `views/gradients.py` draws.

Only per-step *norms* are kept, never per-step tensors, so memory stays that of a few gradients
whatever the window length and vocabulary size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn import networks
from charrnn.corpus import corpora
from charrnn.corpus.items import as_read, read_items
from charrnn.corpus.streams import Streams, fit_batch_size
from charrnn.ground.fields import option
from charrnn.ground.optim import global_norm, make_optimizer
from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, cast_params, dtype_of, init_params, num_params, zero_state
from charrnn.reports.gradients import (
    CHECK_TOLERANCE,
    bptt_phases,
    check_gradients,
    gate_openness,
    gradient_flow,
    step_contributions,
)
from charrnn.training.checkpoint import load as load_checkpoint
from charrnn.training.step import train_step

VANISH, EXPLODE = 1e-3, 1e3


@dataclass
class InspectSettings:
    seq_len: int = option(100, "Window length T.", low=2, high=10000)
    batch_size: int = option(4, "Streams B in the window.", low=1, high=1024)
    hidden_size: int = option(64, "Fresh models only: hidden size.", low=1, high=4096)
    num_layers: int = option(1, "Fresh models only: layers.", low=1, high=8)
    train_steps: int = option(0, "Fresh models only: train each this many steps first, to see trained gates "
                                 "rather than initial ones.", low=0)
    recurrent_scale: float = option(1.0, "Fresh models only: multiply every weight_hh by this (e.g. 4 to see "
                                         "gradients explode).", low=0.0, open_low=True)
    clip: float = option(5.0, "Clipping threshold to compare the global norm with.", low=0.0)
    check_steps: int = option(20, "Steps of the window used by the gradient check.", low=1)
    check_elements: int = option(12, "Elements checked per large tensor.", low=2)
    seed: int = option(0, "Chooses the window, the fresh weights and the checked elements.")



def flow_summary(norms_back: np.ndarray) -> dict:
    """norms_back[k] = ||dL_T/dh_{T-k}||. Steps back until the norm falls below VANISH times
    (or rises above EXPLODE times) its value at T; None when that does not happen in the window."""
    ref = norms_back[0]
    vanish = np.nonzero(norms_back < VANISH * ref)[0]
    explode = np.nonzero(norms_back > EXPLODE * ref)[0]
    return {
        "norms": [float(x) for x in norms_back],
        "vanish_steps": int(vanish[0]) if vanish.size else None,
        "explode_steps": int(explode[0]) if explode.size else None,
    }


def inspect(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    clip: float = 5.0,
    check_steps: int = 20,
    check_elements: int = 12,
    seed: int = 0,
) -> dict:
    """Everything `charrnn inspect-gradients` shows about one model on one window ids (T+1, B),
    as plain JSON-able data, one entry per section. All computed in float64."""
    p64 = cast_params(params, np.float64)
    T, B = ids.shape[0] - 1, ids.shape[1]
    state0 = zero_state(config, B, np.float64)
    flow, state_flows = gradient_flow(p64, config, ids, state0)  # (T,) for t = 0..T-1
    contributions, grads, loss = step_contributions(p64, config, ids, state0)
    norm = global_norm(grads)
    return {
        "model": {**config.to_dict(), "parameters": num_params(config), "label": config.label()},
        "loss": loss,
        "gradient_check": gradient_check(p64, config, ids[: min(T, check_steps) + 1], state0, check_elements, seed),
        "gradient_flow": flow_summary(flow[::-1]),
        "bptt": bptt_phases(p64, config, ids, state0),  # the full dL/dh_t, from the output and from t+1
        "gradient_path": config.network.policy.gradient_path,  # what one step back multiplies the gradient by
        # the path of the state's part besides h (an LSTM's cell path c), on the same scale (relative
        # to ||dL_T/dh_T||); null where the state is h alone
        "cell_path_flow": next(([float(x) for x in f[::-1]] for f in state_flows.values()), None),
        "gates_open": gate_openness(p64, config, ids, state0),
        "parameters": {"shared": num_params(config), "window_steps": T,
                       "unrolled_with_separate_weights": T * num_params(config)},
        "parameter_sharing": parameter_sharing(contributions, grads),
        "gates": gate_gradients(config, grads),
        "clipping": {"global_norm": norm, "clip": clip, "would_clip": bool(clip and norm > clip)},
    }


def gradient_check(p64: dict, config: ModelConfig, ids: np.ndarray, state0, check_elements: int, seed: int) -> dict:
    """Section 1: BPTT's gradient of every tensor against centred differences, on the window's
    first steps ids (T'+1, B)."""
    checks = check_gradients(p64, config, ids, state0, max_elements=check_elements, rng=np.random.default_rng(seed))
    return {
        "steps": ids.shape[0] - 1,
        "tolerance": CHECK_TOLERANCE,
        "tensors": [{"name": r.name, "shape": list(r.shape), "elements": r.elements, "rel_error": r.rel_error,
                     "max_abs_error": r.max_abs_error, "passed": r.passed} for r in checks],
        "passed": all(r.passed for r in checks),
    }


def parameter_sharing(contributions, grads: dict) -> list:
    """Section 3: per tensor, the norm of each step's contribution to its gradient, and whether
    the contributions add up to the full gradient."""
    step_norms = {name: [] for name in grads}  # per tensor: ||contribution at t|| for t = 1 .. T
    summed = {name: np.zeros_like(g) for name, g in grads.items()}
    for part in contributions:
        for name, c in part.items():
            step_norms[name].append(float(np.linalg.norm(c)))
            summed[name] += c
    rows = []
    for name, full in grads.items():
        diff = float(np.max(np.abs(summed[name] - full)))
        scale = float(np.max(np.abs(full))) or 1.0
        rows.append({"name": name, "shape": list(full.shape), "step_norms": step_norms[name],
                     "full_norm": float(np.linalg.norm(full)), "max_abs_diff": diff,
                     "sum_matches_full": diff <= 1e-9 * scale})
    return rows


def gate_gradients(config: ModelConfig, grads: dict) -> list:
    """Section 4: each block's own rows of each tensor (its weights and its two biases) and their
    gradient norms; the decoder last."""
    def entry(name: str, side: str, g: np.ndarray) -> dict:
        return {"name": name, "side": side, "shape": list(g.shape), "grad_norm": float(np.linalg.norm(g))}

    gates = [{"layer": k, "gate": block.symbol, "role": block.role, "nonlinearity": block.nonlinearity,
              "tensors": [entry(f"{r.name}[{r.lo}:{r.hi}]", side, grads[r.name][r.lo : r.hi])
                          for side, r in block.tensors()]}
             for k, block in config.network.blocks(config)]
    gates.append({"layer": None, "gate": "o_t", "role": "decoder (softmax over the vocabulary)",
                  "nonlinearity": "softmax",
                  "tensors": [entry(n, side, grads[n]) for n, side in (("decoder.weight", "input weight"),
                                                                      ("decoder.bias", "input bias"))]})
    return gates


def fresh_models(vocab_size: int, settings: InspectSettings) -> list:
    """The side-by-side comparison `charrnn inspect-gradients` builds when given no checkpoint:
    every network of the registry in each of its variants, fresh weights from one seed, every
    recurrent weight multiplied by --recurrent-scale."""
    o = settings
    models = []
    for net in networks.NETWORKS.values():
        for variant in net.policy.fresh_variants:
            layers = min(o.num_layers, net.policy.max_layers or o.num_layers)
            config = ModelConfig(vocab_size=vocab_size, hidden_size=o.hidden_size, num_layers=layers, cell=net.name,
                                 **variant)
            params = init_params(config, np.random.default_rng(o.seed))
            for name in net.recurrent_weights(config):  # larger recurrent weights: watch gradients explode
                params[name] *= o.recurrent_scale
            models.append((config, params))
    return models


def warm_up(params: dict, config: ModelConfig, streams, steps: int, lr: float = 5e-3, clip: float = 5.0,
            seed: int = 0) -> None:
    """A short training run in place (the trainer's own `train_step`: teacher forcing, dropout,
    clipping, Adam), so that a fresh model's gradients show what training makes of each
    architecture and not only its initialisation."""
    opt = make_optimizer("adam", lr)
    rng = np.random.default_rng(seed)
    state = zero_state(config, streams.B, dtype_of(params))
    for i in range(steps):
        state = train_step(params, config, opt, streams.window(i % streams.windows_per_epoch), state,
                           lr=lr, clip=clip, rng=rng).final_state


def build_report(checkpoint: str | None, corpus: str | None, encoding: str = "utf-8",
                 settings: InspectSettings | None = None, progress=None) -> dict:
    """The whole `charrnn inspect-gradients` report, as JSON-able data: a checkpoint's model,
    or (without one) every kind of fresh model (fresh_models), on one window of the text."""
    o = settings or InspectSettings()
    seq_len, batch_size, seed, train_steps = o.seq_len, o.batch_size, o.seed, o.train_steps
    rng = np.random.default_rng(seed)
    if checkpoint:
        ck = load_checkpoint(checkpoint)
        normalize = ck.normalization
        src = corpora.load(corpus, encoding, normalize=normalize) if corpus is not None else corpora.of_checkpoint(ck)
        source, vocab, models = src.name, ck.vocab, [(ck.config, ck.params)]
    else:
        src = corpora.load(corpus, encoding, progress=progress)
        source = src.name if corpus else "Python's bundled documentation (pydoc_data)"
        vocab = Vocab.from_text(src.text)
        models = fresh_models(len(vocab), o)
    text = src.text if not checkpoint or ck.config.item_start is None else as_read(read_items(src.text)[0])
    ids = vocab.encode(text, unknown="drop")  # a list model's window: its items, as it reads them
    B = fit_batch_size(len(ids), batch_size, seq_len)
    streams = Streams(ids, B, seq_len)
    window = streams.window(int(rng.integers(streams.windows_per_epoch)))  # (T+1, B)
    reports = []
    for config, params in models:
        if not checkpoint and train_steps:
            warm_up(params, config, streams, train_steps, seed=seed)
        reports.append(inspect(params, config, window, clip=o.clip, check_steps=o.check_steps,
                               check_elements=o.check_elements, seed=seed))
    return {
        "window": {"seq_len": seq_len, "batch_size": B, "source": source, "checkpoint": checkpoint,
                   "train_steps": 0 if checkpoint else train_steps,
                   "recurrent_scale": 1.0 if checkpoint else o.recurrent_scale},
        "tolerance": CHECK_TOLERANCE,
        "models": reports,
        "all_checks_passed": all(r["gradient_check"]["passed"] for r in reports),
    }
