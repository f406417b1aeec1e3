"""Elementwise nonlinearities, each with its derivative written in terms of its *output*.

Writing the derivative as a function of y = f(a) (not of a) is what lets the backward pass
keep only the activations it already computed:

    tanh          y = tanh(a)                      dy/da = 1 - y^2
    sigmoid       y = 1 / (1 + e^-a)                dy/da = y (1 - y)
    hard_sigmoid  y = clip(a / 6 + 1/2, 0, 1)       dy/da = 1/6 where 0 < y < 1, else 0
    relu          y = max(a, 0)                     dy/da = 1 where y > 0, else 0
    elu           y = a where a > 0, e^a - 1 else   dy/da = 1 where y > 0, else y + 1

`hard_sigmoid` is PyTorch's `nn.Hardsigmoid` (relu6(a + 3) / 6).

Why tanh for the state and sigmoid for the gates: a gate multiplies something, so it must lie
in (0, 1) -- "how much to let through" -- which is sigmoid's range. The state is added to and
fed back, so it wants a range centred on zero (tanh: (-1, 1)) whose slope is 1 at the origin;
sigmoid's slope is at most 1/4, so one step back through a sigmoid state multiplies the
gradient by diag(s'(a)) W_hh, of size at most ||W_hh|| / 4: it shrinks unless W_hh is large.

All functions work in place when given `out=` and never change the dtype of their input.
"""

from __future__ import annotations

import numpy as np


def tanh(a, out=None):
    return np.tanh(a, out=out)


def dtanh(y):
    return 1.0 - y * y


def sigmoid(a, out=None):
    # 1/(1+e^-a) overflows e^-a for a << 0; 0.5*(1+tanh(a/2)) is the same function, never overflows.
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def dsigmoid(y):
    return y * (1.0 - y)


def hard_sigmoid(a, out=None):
    out = np.multiply(a, 1.0 / 6.0, out=out)
    out += 0.5
    np.clip(out, 0.0, 1.0, out=out)
    return out


def dhard_sigmoid(y):
    return ((y > 0.0) & (y < 1.0)).astype(y.dtype) * (1.0 / 6.0)


def elu(a, out=None):
    # e^a - 1 only where a <= 0 (expm1 of a large positive a would overflow, and is not used)
    y = np.where(a > 0, a, np.expm1(np.minimum(a, 0.0)))
    if out is None:
        return y
    out[...] = y
    return out


def delu(y):
    return np.where(y > 0, 1.0, y + 1.0).astype(y.dtype)


def relu(a, out=None):
    return np.maximum(a, 0.0, out=out)


def drelu(y):
    return (y > 0.0).astype(y.dtype)


# name -> (f, df/da as a function of f's output)
ACTIVATIONS = {
    "tanh": (tanh, dtanh),
    "sigmoid": (sigmoid, dsigmoid),
    "hard_sigmoid": (hard_sigmoid, dhard_sigmoid),
    "relu": (relu, drelu),
    "elu": (elu, delu),
}

STATE_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu")  # choices for a state (the rnn's h, a gated cell's candidate)
CANDIDATE_ACTIVATIONS = ("tanh", "relu", "elu")  # a gated cell's candidate and cell output: centred on 0
GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")  # choices for GRU / LSTM gates


def get(name: str, among=tuple(ACTIVATIONS), what: str = "activation"):
    """Return (f, df) for an activation name allowed in `among`; otherwise ValueError naming
    `what` and the choices. The one place activation names are checked."""
    if name not in among:
        raise ValueError(f"the {what} must be one of {', '.join(among)}, got {name!r}")
    return ACTIVATIONS[name]


# the same functions in JavaScript, for the model's page (views/model_page.py): each network's
# test-time step there calls them by these names
JS = """
const ACT = {
  tanh: (a) => Math.tanh(a),
  sigmoid: (a) => 0.5 * (1 + Math.tanh(0.5 * a)),
  hard_sigmoid: (a) => Math.min(1, Math.max(0, a / 6 + 0.5)),
  relu: (a) => Math.max(a, 0),
  elu: (a) => (a > 0 ? a : Math.expm1(a)),
};
"""
