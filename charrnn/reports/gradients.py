"""Looking at BPTT's gradients: the numerical gradient check, gradient flow back through time,
and each time step's contribution to a shared weight's gradient.

Gradient check. For a tensor with analytic gradient a (from `teacher_forcing.backward`) and
numerical gradient n (centred differences in float64, clipping off, dropout mask fixed),

    n_i = (L(theta_i + eps) - L(theta_i - eps)) / (2 eps)           eps = 1e-5
    relative error = ||a - n||_2 / max(||a||_2 + ||n||_2, 1e-12)       per tensor

A correct float64 implementation gives ~1e-9 or less; a wrong formula gives ~1e-2 or more.
Where a tensor misses the tolerance, its numerical gradient is refined before the verdict, by
the better of Richardson extrapolation, n = (4 n(eps/2) - n(eps)) / 3 (error O(eps^4) rather than
O(eps^2): under exploding gradients, inspect-gradients --recurrent-scale 4, the plain difference
is too coarse), and a difference with eps / 100 (one 2 eps wide can straddle a kink of relu or
hard_sigmoid, where it is not the derivative).
The norm-wise form is used (rather than the worst single element) because many elements have
true gradient exactly 0 (characters absent from the window), where any ratio of two round-off
errors is meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn import teacher_forcing
from charrnn.model import ModelConfig, cast_params
from charrnn.networks.base import BackwardTrace

CHECK_EPS = 1e-5
CHECK_TOLERANCE = 1e-6
OPENNESS_BINS = 10


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
    inputs: np.ndarray | None = None,
) -> list[CheckResult]:
    """Compare BPTT's gradient with centred differences for every parameter and the initial
    state (where it has a gradient: a state that is text, as the jordan network's history, has
    none), in float64. `backward` can replace `teacher_forcing.backward` (tests plant bugs).
    `inputs` holds fixed first-layer inputs other than the observed text (scheduled sampling).

    With `max_elements`, a large tensor is checked on that many of its elements: half those
    with the largest analytic gradient, half drawn at random (from `rng`)."""
    backward = backward or teacher_forcing.backward
    p64 = cast_params(params, np.float64)
    s64 = config.network.cast_state(state0, np.float64)

    def dropout_rng():  # the same mask in every forward pass
        return None if dropout_seed is None else np.random.default_rng(dropout_seed)

    def loss():
        return teacher_forcing.forward(p64, config, ids, s64, dropout_rng(), inputs)[0]

    _, _, tape = teacher_forcing.forward(p64, config, ids, s64, dropout_rng(), inputs)
    grads, dstate0 = backward(p64, config, tape)
    targets = [(n, p64[n], grads[n]) for n in (names or list(p64))]
    if dstate0 is not None:
        targets.append(("initial_state", s64, dstate0))
    rng = rng or np.random.default_rng(0)
    return [check_one(name, x, analytic, loss, checked_elements(analytic, max_elements, rng))
            for name, x, analytic in targets]


def check_one(name: str, x: np.ndarray, analytic: np.ndarray, loss, idx) -> CheckResult:
    """One tensor x: its analytic gradient against centred differences of loss() on the flat
    elements idx (None: all)."""
    a = analytic.reshape(-1) if idx is None else analytic.reshape(-1)[idx]

    def numerical(eps=CHECK_EPS):
        g = numerical_gradient(loss, x, eps=eps, indices=idx).reshape(-1)
        return g if idx is None else g[idx]

    n = numerical()
    if relative_error(a, n) >= CHECK_TOLERANCE:
        # two ways a correct gradient can miss: where gradients explode the loss is so curved that
        # the centred difference is off (Richardson extrapolation from eps and eps/2 cancels its
        # eps^2 error term), and a difference 2 eps wide that straddles a kink of relu or
        # hard_sigmoid is not the derivative at all (a difference 100 times narrower rarely
        # straddles it). Only the numerical side is refined: a wrong backward still fails.
        refined = ((4.0 * numerical(CHECK_EPS / 2) - n) / 3.0, numerical(CHECK_EPS / 100))
        n = min(refined, key=lambda r: relative_error(a, r))
    return CheckResult(name=name, shape=tuple(x.shape), rel_error=relative_error(a, n),
                       max_abs_error=float(np.max(np.abs(a - n))) if a.size else 0.0, elements=int(a.size))


def checked_elements(analytic: np.ndarray, max_elements: int | None, rng: np.random.Generator):
    """The flat indices a large tensor is checked on: half with the largest analytic gradient,
    half drawn at random; None (all of them) for a tensor of at most max_elements."""
    if max_elements is None or analytic.size <= max_elements:
        return None
    largest = np.argsort(-np.abs(analytic.reshape(-1)), kind="stable")[: max_elements // 2]
    rest = np.setdiff1d(np.arange(analytic.size), largest)
    return np.concatenate([largest, rng.choice(rest, max_elements - len(largest), replace=False)])


def step_contributions(params: dict, config: ModelConfig, ids: np.ndarray, state0):
    """Each time step's contribution to each shared tensor's gradient, one step at a time.

    Returns (contributions, grads, loss): `contributions` is an iterator yielding, for
    t = 0 .. T-1, a dict name -> that step's part of the gradient (the tensor's shape), with
        dW_hh[t] = dAh_t^T h_{t-1}     db_hh[t] = sum_b dAh_t     (and likewise for ih)
        dW_dec[t] = dlogits_t^T h_t    db_dec[t] = sum_b dlogits_t
    so that summed over t they give `grads`, the full gradients from `backward`. One step's
    dict is alive at a time: memory is that of one gradient, whatever T and V."""
    loss, _, tape = teacher_forcing.forward(params, config, ids, state0)
    trace = BackwardTrace()
    dlogits = teacher_forcing.output_gradient(tape)
    grads, _ = teacher_forcing.backward(params, config, tape, dlogits=dlogits, trace=trace)
    T, B = ids.shape[0] - 1, ids.shape[1]
    dlog = dlogits.reshape(T, B, -1)  # (T, B, V)
    top = tape.top.reshape(T, B, -1)  # (T, B, H)

    def steps():
        for t in range(T):
            part = config.network.step_contributions(params, config, tape.net, trace, t)
            part["decoder.weight"] = dlog[t].T @ top[t]
            part["decoder.bias"] = dlog[t].sum(axis=0)
            yield part

    return steps(), grads, loss


def bptt_phases(params: dict, config: ModelConfig, ids: np.ndarray, state0) -> dict:
    """BPTT's first two phases on one window (teacher_forcing.py's docstring), as norms over the
    batch, t = 0 .. T-1 (the third, each step's contribution to a shared weight, is
    step_contributions below):

        output     ||dL/do_t||, every step's at once: (softmax - onehot(y_t)) / (T*B)
        from_out   ||dL/do_t W_dec||, what reaches the top layer's h_t from its own output
        from_next  what reaches h_t from step t+1 (through h_{t+1}; zero at t = T-1)
        full       ||dL/dh_t||, the two together: computed from t = T-1 down to 0
    """
    _, _, tape = teacher_forcing.forward(params, config, ids, state0)
    trace = BackwardTrace()
    dlogits = teacher_forcing.output_gradient(tape)
    teacher_forcing.backward(params, config, tape, dlogits=dlogits, trace=trace)
    T, B = ids.shape[0] - 1, ids.shape[1]
    from_out = (dlogits @ params["decoder.weight"]).reshape(T, B, -1)  # (T, B, H)
    full = trace.dh[-1]  # (T, B, H) the top layer's

    def norms(d):
        return [float(x) for x in np.sqrt((d.astype(np.float64) ** 2).sum(axis=(1, 2)))]

    return {"output": norms(dlogits.reshape(T, B, -1)), "from_out": norms(from_out),
            "from_next": norms(full - from_out), "full": norms(full)}


def gradient_flow(params: dict, config: ModelConfig, ids: np.ndarray, state0) -> tuple[np.ndarray, dict]:
    """||dL_T / dh_t|| for t = 0 .. T-1 (top layer, summed over the batch as one vector):
    how much of the last step's loss reaches each earlier hidden state. Returns (T,), and for
    each part of the state besides h (an LSTM's cell state c) the (T,) norms of what arrives at
    it along its own path from t+1 (an empty dict where the state is h alone)."""
    _, _, tape = teacher_forcing.forward(params, config, ids, state0)
    T, B = ids.shape[0] - 1, ids.shape[1]
    dlogits = teacher_forcing.output_gradient(tape) * T  # mean over the last step's B rows
    dlogits[: (T - 1) * B] = 0.0  # only the last step's loss
    trace = BackwardTrace()
    teacher_forcing.backward(params, config, tape, dlogits=dlogits, trace=trace)

    def norms(d):
        return np.sqrt((d.astype(np.float64) ** 2).sum(axis=(1, 2)))

    return norms(trace.dh[-1]), {part: norms(d) for part, d in trace.dstate[-1].items()}


def gate_openness(params: dict, config: ModelConfig, ids: np.ndarray, state0) -> list[dict]:
    """How open each gate is over the window, per layer: the mean of its values, the shares
    below 0.1 (nearly shut) and above 0.9 (nearly open), and the share of its values in each of
    OPENNESS_BINS equal bins of 0..1. Empty for a network without gates."""
    _, _, tape = teacher_forcing.forward(params, config, ids, state0)
    gates = [block.symbol for k, block in config.network.blocks(config) if k == 0 and block.gate]
    rows = []
    for k, values in enumerate(config.network.activations(tape.net)):
        for symbol in gates:
            a = values[symbol]  # (T, B, H)
            counts, _ = np.histogram(a, bins=OPENNESS_BINS, range=(0.0, 1.0))
            rows.append({"layer": k, "gate": symbol, "mean": float(a.mean()),
                         "below_0.1": float((a < 0.1).mean()), "above_0.9": float((a > 0.9).mean()),
                         "histogram": (counts / max(a.size, 1)).round(5).tolist()})
    return rows
