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
from charrnn.model import ModelConfig, cast_params, layer_names

CHECK_EPS = 1e-5
CHECK_TOLERANCE = 1e-6


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))


def numerical_gradient(f, x: np.ndarray, eps: float = CHECK_EPS) -> np.ndarray:
    """Centred differences of the scalar function f() with respect to every element of x,
    perturbing x in place (and restoring it)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
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
) -> list[CheckResult]:
    """Compare BPTT's gradient with centred differences for every parameter and the initial
    state, in float64. `backward` can replace `teacher_forcing.backward` (tests plant bugs)."""
    backward = backward or teacher_forcing.backward
    p64 = cast_params(params, np.float64)
    s64 = np.array(state0, dtype=np.float64)

    def rng():
        return None if dropout_seed is None else np.random.default_rng(dropout_seed)

    def loss():
        return teacher_forcing.forward(p64, config, ids, s64, rng())[0]

    _, _, tape = teacher_forcing.forward(p64, config, ids, s64, rng())
    grads, dstate0 = backward(p64, config, tape)
    results = []
    targets = [(n, p64[n], grads[n]) for n in (names or list(p64))]
    targets.append(("initial_state", s64, dstate0))
    for name, x, analytic in targets:
        numeric = numerical_gradient(loss, x)
        results.append(
            CheckResult(
                name=name,
                shape=tuple(x.shape),
                rel_error=relative_error(analytic, numeric),
                max_abs_error=float(np.max(np.abs(analytic - numeric))) if x.size else 0.0,
            )
        )
    return results


def step_contributions(
    params: dict, config: ModelConfig, ids: np.ndarray, state0: np.ndarray
) -> tuple[dict, dict]:
    """Each time step's contribution to each shared recurrent tensor's gradient.

    Returns (contributions, grads): contributions[name] is (T, *shape) with
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
    top = tape.layers[-1].h[1:]
    contrib["decoder.weight"] = np.einsum("tbv,tbh->tvh", dlog, top)
    contrib["decoder.bias"] = dlog.sum(axis=1)
    return contrib, grads


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
