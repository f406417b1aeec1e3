"""Optimisers and gradient clipping. Optimiser state is a dict keyed by parameter name, so it
can be saved into a checkpoint beside the weights and restored exactly.

Updates are in place on the parameter arrays, in the parameters' own dtype.

    SGD (momentum mu):  v = mu v + g                  p -= lr v
    Adagrad:            G += g^2                      p -= lr g / (sqrt(G) + eps)
    RMSprop:            S = a S + (1 - a) g^2         p -= lr g / (sqrt(S) + eps)
    Adam:               m = b1 m + (1 - b1) g         v = b2 v + (1 - b2) g^2
                        p -= lr (m / (1 - b1^n)) / (sqrt(v / (1 - b2^n)) + eps)
"""

from __future__ import annotations

import math

import numpy as np


def global_norm(grads: dict) -> float:
    """sqrt(sum of squares of every gradient element), accumulated in float64."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_by_global_norm(grads: dict, max_norm: float | None) -> tuple[float, bool]:
    """Scale all gradients by max_norm / norm when norm > max_norm (in place).

    Returns (the norm before clipping, whether clipping fired). `max_norm` None or <= 0: off.
    """
    norm = global_norm(grads)
    if max_norm is None or max_norm <= 0 or not norm > max_norm:
        return norm, False
    scale = max_norm / (norm + 1e-6)
    for g in grads.values():
        g *= scale
    return norm, True


class Optimizer:
    name = ""
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float, **hyper):
        self.lr = lr
        self.hyper = hyper
        self.t = 0  # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: dict, grads: dict, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        self.t += 1
        for name, p in params.items():
            slots = self.state.get(name)
            if slots is None:
                slots = self.state[name] = {s: np.zeros_like(p) for s in self.slots}
            self._update(p, grads[name], slots, lr)

    def _update(self, p, g, slots, lr):
        raise NotImplementedError

    # --- saving and restoring: flat {"<param>/<slot>": array} plus scalars ---
    def state_arrays(self) -> dict[str, np.ndarray]:
        return {f"{name}/{s}": a for name, slots in self.state.items() for s, a in slots.items()}

    def load_state_arrays(self, arrays: dict[str, np.ndarray], t: int) -> None:
        self.state = {}
        for key, a in arrays.items():
            name, s = key.rsplit("/", 1)
            self.state.setdefault(name, {})[s] = np.array(a)
        self.t = t


class SGD(Optimizer):
    name = "sgd"
    slots = ("momentum",)

    def __init__(self, lr: float, momentum: float = 0.9):
        super().__init__(lr, momentum=momentum)

    def _update(self, p, g, slots, lr):
        v = slots["momentum"]
        v *= self.hyper["momentum"]
        v += g
        p -= lr * v


class Adagrad(Optimizer):
    name = "adagrad"
    slots = ("sum_sq",)

    def __init__(self, lr: float, eps: float = 1e-8):
        super().__init__(lr, eps=eps)

    def _update(self, p, g, slots, lr):
        G = slots["sum_sq"]
        G += g * g
        p -= lr * g / (np.sqrt(G) + self.hyper["eps"])


class RMSprop(Optimizer):
    name = "rmsprop"
    slots = ("sq_avg",)

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(lr, alpha=alpha, eps=eps)

    def _update(self, p, g, slots, lr):
        a = self.hyper["alpha"]
        S = slots["sq_avg"]
        S *= a
        S += (1.0 - a) * (g * g)
        p -= lr * g / (np.sqrt(S) + self.hyper["eps"])


class Adam(Optimizer):
    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr, beta1=beta1, beta2=beta2, eps=eps)

    def step(self, params, grads, lr=None):
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        # bias corrections for step t+1, folded into one step size and one eps (as PyTorch does)
        n = self.t + 1
        self._c1 = 1.0 - b1**n
        self._c2 = math.sqrt(1.0 - b2**n)
        super().step(params, grads, lr)

    def _update(self, p, g, slots, lr):
        b1, b2, eps = self.hyper["beta1"], self.hyper["beta2"], self.hyper["eps"]
        m, v = slots["exp_avg"], slots["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = np.sqrt(v)
        denom *= 1.0 / self._c2
        denom += eps
        p -= (lr / self._c1) * m / denom


OPTIMIZERS = {cls.name: cls for cls in (Adam, Adagrad, RMSprop, SGD)}


def make_optimizer(name: str, lr: float) -> Optimizer:
    try:
        return OPTIMIZERS[name](lr)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
