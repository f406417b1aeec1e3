"""Looking at BPTT's gradients: the numerical gradient check, gradient flow back through time,
and each time step's contribution to a shared weight's gradient.

Gradient check. For a tensor with analytic gradient a (from `teacher_forcing.backward`) and
numerical gradient n (centred differences in float64, clipping off, dropout mask fixed),

    n_i = (L(theta_i + eps) - L(theta_i - eps)) / (2 eps)           eps = 1e-5
    relative error = ||a - n||_2 / max(||a||_2 + ||n||_2, 1e-12)       per tensor

A correct float64 implementation gives ~1e-9 or less; a wrong formula gives ~1e-2 or more.
The norm-wise form is used (rather than the worst single element) because many elements have
true gradient exactly 0 (characters absent from the window), where any ratio of two round-off
errors is meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn import teacher_forcing
from charrnn.model import ModelConfig, cast_params, layer_names, num_params, zero_state
from charrnn.optim import clip_by_global_norm, global_norm, make_optimizer

CHECK_EPS = 1e-5
CHECK_TOLERANCE = 1e-6


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))


def numerical_gradient(f, x: np.ndarray, eps: float = CHECK_EPS, indices=None) -> np.ndarray:
    """Centred differences of the scalar function f() with respect to the elements of x (all,
    or the flat `indices`), perturbing x in place and restoring it. Returns x's shape; elements
    not in `indices` are 0."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


@dataclass
class CheckResult:
    name: str  # parameter name, or "initial_state"
    shape: tuple
    rel_error: float
    max_abs_error: float
    elements: int  # how many elements were compared

    @property
    def passed(self) -> bool:
        return self.rel_error < CHECK_TOLERANCE


def check_gradients(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    state0: np.ndarray,
    dropout_seed: int | None = None,
    names: list[str] | None = None,
    backward=None,
    max_elements: int | None = None,
    rng: np.random.Generator | None = None,
) -> list[CheckResult]:
    """Compare BPTT's gradient with centred differences for every parameter and the initial
    state, in float64. `backward` can replace `teacher_forcing.backward` (tests plant bugs).

    With `max_elements`, a large tensor is checked on that many of its elements: half those
    with the largest analytic gradient, half drawn at random (from `rng`)."""
    backward = backward or teacher_forcing.backward
    p64 = cast_params(params, np.float64)
    s64 = np.array(state0, dtype=np.float64)

    def dropout_rng():  # the same mask in every forward pass
        return None if dropout_seed is None else np.random.default_rng(dropout_seed)

    def loss():
        return teacher_forcing.forward(p64, config, ids, s64, dropout_rng())[0]

    _, _, tape = teacher_forcing.forward(p64, config, ids, s64, dropout_rng())
    grads, dstate0 = backward(p64, config, tape)
    results = []
    targets = [(n, p64[n], grads[n]) for n in (names or list(p64))]
    targets.append(("initial_state", s64, dstate0))
    rng = rng or np.random.default_rng(0)
    for name, x, analytic in targets:
        idx = None
        if max_elements is not None and x.size > max_elements:
            largest = np.argsort(-np.abs(analytic.reshape(-1)), kind="stable")[: max_elements // 2]
            rest = np.setdiff1d(np.arange(x.size), largest)
            idx = np.concatenate([largest, rng.choice(rest, max_elements - len(largest), replace=False)])
        numeric = numerical_gradient(loss, x, indices=idx)
        a = analytic.reshape(-1) if idx is None else analytic.reshape(-1)[idx]
        n = numeric.reshape(-1) if idx is None else numeric.reshape(-1)[idx]
        results.append(
            CheckResult(
                name=name,
                shape=tuple(x.shape),
                rel_error=relative_error(a, n),
                max_abs_error=float(np.max(np.abs(a - n))) if a.size else 0.0,
                elements=int(a.size),
            )
        )
    return results


def step_contributions(
    params: dict, config: ModelConfig, ids: np.ndarray, state0: np.ndarray
) -> tuple[dict, dict, float]:
    """Each time step's contribution to each shared recurrent tensor's gradient.

    Returns (contributions, grads, loss): contributions[name] is (T, *shape) with
        dW_hh[t] = dAh_t^T h_{t-1}     db_hh[t] = sum_b dAh_t     (and likewise for ih)
    and grads the full gradients from `backward`; contributions[name].sum(0) == grads[name]
    up to rounding. Also the decoder: dW_dec[t] = dlogits_t^T h_t.
    """
    loss, _, tape = teacher_forcing.forward(params, config, ids, state0)
    trace = teacher_forcing.BackwardTrace()
    dlogits = teacher_forcing.output_gradient(tape)
    grads, _ = teacher_forcing.backward(params, config, tape, dlogits=dlogits, trace=trace)
    T, B = ids.shape[0] - 1, ids.shape[1]
    contrib = {}
    for k in range(config.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer_names(k)
        lt = tape.layers[k]
        dAx, dAh = trace.dAx[k], trace.dAh[k]  # (T, B, G*H)
        contrib[w_hh] = np.einsum("tbg,tbh->tgh", dAh, lt.h[:-1])
        contrib[b_hh] = dAh.sum(axis=1)
        contrib[b_ih] = dAx.sum(axis=1)
        if k == 0:
            contrib[w_ih] = np.stack(
                [
                    teacher_forcing.onehot_weight_gradient(dAx[t], lt.x[t], config.vocab_size)
                    for t in range(T)
                ]
            )
        else:
            contrib[w_ih] = np.einsum("tbg,tbd->tgd", dAx, lt.x)
    dlog = dlogits.reshape(T, B, -1)
    top = tape.top.reshape(T, B, -1)
    contrib["decoder.weight"] = np.einsum("tbv,tbh->tvh", dlog, top)
    contrib["decoder.bias"] = dlog.sum(axis=1)
    return contrib, grads, loss


def gradient_flow(
    params: dict, config: ModelConfig, ids: np.ndarray, state0: np.ndarray
) -> np.ndarray:
    """||dL_T / dh_t|| for t = 0 .. T-1 (top layer, summed over the batch as one vector):
    how much of the last step's loss reaches each earlier hidden state. Returns (T,)."""
    _, _, tape = teacher_forcing.forward(params, config, ids, state0)
    T, B = ids.shape[0] - 1, ids.shape[1]
    dlogits = teacher_forcing.output_gradient(tape) * T  # mean over the last step's B rows
    dlogits[: (T - 1) * B] = 0.0  # only the last step's loss
    trace = teacher_forcing.BackwardTrace()
    teacher_forcing.backward(params, config, tape, dlogits=dlogits, trace=trace)
    dh = trace.dh[-1]  # (T, B, H)
    return np.sqrt((dh.astype(np.float64) ** 2).sum(axis=(1, 2)))


# ---------------------------------------------------------------------- the inspection report
VANISH, EXPLODE = 1e-3, 1e3


def gate_layout(config: ModelConfig) -> list[tuple[str, str, str]]:
    """(symbol, role, nonlinearity it feeds) for each block of G*H rows, in PyTorch order."""
    g = config.gate_activation
    if config.cell == "rnn":
        return [("h", "new hidden state", config.activation)]
    if config.cell == "gru":
        return [("r", "reset gate", g), ("z", "update gate", g), ("n", "candidate state", "tanh")]
    return [("i", "input gate", g), ("f", "forget gate", g), ("g", "candidate cell", "tanh"),
            ("o", "output gate", g)]


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
    as plain JSON-able data. All computed in float64."""
    p64 = cast_params(params, np.float64)
    T, B = ids.shape[0] - 1, ids.shape[1]
    H = config.hidden_size
    state0 = zero_state(config, B, np.float64)

    Tc = min(T, check_steps)
    checks = check_gradients(p64, config, ids[: Tc + 1], state0, max_elements=check_elements,
                             rng=np.random.default_rng(seed))
    flow = gradient_flow(p64, config, ids, state0)  # (T,) for t = 0..T-1
    contrib, grads, loss = step_contributions(p64, config, ids, state0)

    sharing = []
    for name, c in contrib.items():
        full = grads[name]
        diff = float(np.max(np.abs(c.sum(axis=0) - full)))
        scale = float(np.max(np.abs(full))) or 1.0
        sharing.append({
            "name": name,
            "shape": list(full.shape),
            "step_norms": [float(x) for x in np.sqrt((c.reshape(T, -1) ** 2).sum(axis=1))],
            "full_norm": float(np.linalg.norm(full)),
            "max_abs_diff": diff,
            "sum_matches_full": diff <= 1e-9 * scale,
        })

    gates = []
    for k in range(config.num_layers):
        for j, (sym, role, nonlin) in enumerate(gate_layout(config)):
            rows = slice(j * H, (j + 1) * H)
            tensors = []
            for name in layer_names(k):
                g = grads[name][rows]
                tensors.append({"name": f"{name}[{j * H}:{(j + 1) * H}]", "shape": list(g.shape),
                                "grad_norm": float(np.linalg.norm(g))})
            gates.append({"layer": k, "gate": sym, "role": role, "nonlinearity": nonlin, "tensors": tensors})
    gates.append({"layer": None, "gate": "o_t", "role": "decoder (softmax over the vocabulary)",
                  "nonlinearity": "softmax", "tensors": [
                      {"name": n, "shape": list(grads[n].shape), "grad_norm": float(np.linalg.norm(grads[n]))}
                      for n in ("decoder.weight", "decoder.bias")]})

    norm = global_norm(grads)
    return {
        "model": {**config.to_dict(), "parameters": num_params(config)},
        "loss": loss,
        "gradient_check": {
            "steps": Tc,
            "tolerance": CHECK_TOLERANCE,
            "tensors": [{"name": r.name, "shape": list(r.shape), "elements": r.elements,
                         "rel_error": r.rel_error, "max_abs_error": r.max_abs_error, "passed": r.passed}
                        for r in checks],
            "passed": all(r.passed for r in checks),
        },
        "gradient_flow": flow_summary(flow[::-1]),
        "parameter_sharing": sharing,
        "gates": gates,
        "clipping": {"global_norm": norm, "clip": clip, "would_clip": bool(clip and norm > clip)},
    }


# the side-by-side comparison `charrnn inspect-gradients` builds when given no checkpoint
FRESH_MODELS = [
    ("rnn", "tanh", "sigmoid"),
    ("rnn", "sigmoid", "sigmoid"),
    ("rnn", "relu", "sigmoid"),
    ("gru", "tanh", "sigmoid"),
    ("lstm", "tanh", "sigmoid"),
    ("lstm", "tanh", "hard_sigmoid"),
]


def warm_up(params: dict, config: ModelConfig, streams, steps: int, lr: float = 5e-3, clip: float = 5.0) -> None:
    """A short training run (teacher forcing, Adam, clipping) in place, so that a fresh model's
    gradients show what training makes of each architecture and not only its initialisation."""
    opt = make_optimizer("adam", lr)
    state = zero_state(config, streams.B, params["decoder.weight"].dtype)
    for i in range(steps):
        r = teacher_forcing.loss_and_grads(params, config, streams.window(i % streams.windows_per_epoch), state)
        clip_by_global_norm(r.grads, clip)
        opt.step(params, r.grads)
        state = r.final_state
