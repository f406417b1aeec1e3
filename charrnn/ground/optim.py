"""Optimisers and gradient clipping. Optimiser state is a dict keyed by parameter name, so it
can be saved into a checkpoint beside the weights and restored exactly.

Updates are in place on the parameter arrays, in the parameters' own dtype.

    SGD (momentum mu):  v = mu v + g                  p -= lr v
    Adagrad:            G += g^2                      p -= lr g / (sqrt(G) + eps)
    RMSprop:            S = a S + (1 - a) g^2         p -= lr g / (sqrt(S) + eps)
    Adam:               m = b1 m + (1 - b1) g         v = b2 v + (1 - b2) g^2
                        p -= lr (m / (1 - b1^n)) / (sqrt(v / (1 - b2^n)) + eps)
    weight decay wd (decoupled, AdamW's; any of them):  p *= 1 - lr wd   before the update, on
                        the weight matrices only

Weight averaging (average_into), beside any of them: an exponential moving average of the weights
after each update, which evaluation and the best checkpoint use in place of the weights themselves.
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


def decays(name: str) -> bool:
    """Whether decoupled weight decay shrinks this tensor: the weight matrices, not the biases
    (a bias pulled towards 0 is a prior on nothing; Loshchilov and Hutter's AdamW, as commonly used)."""
    return "weight" in name.rsplit(".", 1)[-1]


class Optimizer:
    name = ""
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float, weight_decay: float = 0.0, **hyper):
        self.lr = lr
        self.weight_decay = weight_decay
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
            if self.weight_decay and decays(name):
                p *= p.dtype.type(1.0 - lr * self.weight_decay)
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

    def __init__(self, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay, momentum=momentum)

    def _update(self, p, g, slots, lr):
        v = slots["momentum"]
        v *= self.hyper["momentum"]
        v += g
        p -= lr * v


class Adagrad(Optimizer):
    name = "adagrad"
    slots = ("sum_sq",)

    def __init__(self, lr: float, eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay, eps=eps)

    def _update(self, p, g, slots, lr):
        G = slots["sum_sq"]
        G += g * g
        p -= lr * g / (np.sqrt(G) + self.hyper["eps"])


class RMSprop(Optimizer):
    name = "rmsprop"
    slots = ("sq_avg",)

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay, alpha=alpha, eps=eps)

    def _update(self, p, g, slots, lr):
        a = self.hyper["alpha"]
        S = slots["sq_avg"]
        S *= a
        S += (1.0 - a) * (g * g)
        p -= lr * g / (np.sqrt(S) + self.hyper["eps"])


class Adam(Optimizer):
    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay, beta1=beta1, beta2=beta2, eps=eps)

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


def average_into(average: dict, params: dict, decay: float, step: int) -> None:
    """Weight averaging after update number `step` (1, 2, ...), in place on `average`:

        avg <- b avg + (1 - b) p,     b = min(decay, (1 + step) / (10 + step))

    Up to step ~9 / (1 - decay) the second term is the smaller: the average spans about the
    last ninth of the steps so far, so it never drags the random initial weights along
    (TensorFlow's ExponentialMovingAverage with num_updates); from there on, about the last
    1 / (1 - decay) steps (decay 0.998: from step ~4,500 on, the last ~500). The updates' noise averages out, as averaged SGD's does (Polyak and
    Juditsky 1992; AWD-LSTM evaluates with averaged weights)."""
    b = min(decay, (1.0 + step) / (10.0 + step))
    for name, p in params.items():
        a = average[name]
        a *= a.dtype.type(b)
        a += a.dtype.type(1.0 - b) * p


OPTIMIZERS = {cls.name: cls for cls in (Adam, Adagrad, RMSprop, SGD)}


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0) -> Optimizer:
    """The optimiser `name`; with weight_decay, each step first shrinks every weight matrix by
    lr * weight_decay, decoupled from the gradient (p <- p (1 - lr wd), then the update: AdamW's
    order, as PyTorch's AdamW does it)."""
    try:
        return OPTIMIZERS[name](lr, weight_decay=weight_decay)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
