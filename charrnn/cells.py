"""The recurrent cells: one time step forward, one time step backward. Written once, used by
both the training unroll (`teacher_forcing.py`) and free-running generation (`sampling.py`).

Dimension letters, used in every shape comment of the package:
    B  batch (independent streams)     T  time steps in a window
    V  vocabulary size                 D  input size of a layer (V for layer 0, H above)
    H  hidden size                     G  gates per cell (RNN 1, GRU 3, LSTM 4)

Every cell follows PyTorch's `nn.RNN` / `nn.GRU` / `nn.LSTM` equations and gate order, with
the parameters of one layer

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

The *same* four tensors are used at every time step: that is parameter sharing, and it is why
their gradients are sums over time steps.

The input projection `ax = x_t @ weight_ih.T + bias_ih` does not depend on the previous state,
so the caller computes it for all T steps at once; a step receives its row `ax_t` (B, G*H).
Only `h_{t-1} @ weight_hh.T` and the gate arithmetic happen here, inside the time loop.

Interface (every cell):
    step_forward(ax_t, state_prev, W_hh, b_hh, h_out=None)  -> (state_t, cache_t)
    step_backward(dstate_t, cache_t, W_hh, dax_out=None)     -> (dstate_prev, dax_t, dah_t)
A state is a tuple: (h,) for RNN and GRU, (h, c) for LSTM. `dax_t` is dL/d(ax_t), the gradient
of the input projection; `dah_t` is dL/d(h_{t-1} @ W_hh.T + b_hh), the gradient of the hidden
projection. They are equal for RNN and LSTM and differ for GRU, where the candidate gate sees
the hidden projection only through the reset gate. `h_out` / `dax_out`, when given, are
preallocated (B, H) / (B, G*H) buffers that receive h_t / dax_t (the training unroll passes rows
of its per-window arrays, saving a copy per step).
"""

from __future__ import annotations

import numpy as np

from charrnn import activations


class RNNCell:
    """Vanilla (Elman) RNN, PyTorch `nn.RNN`:

        h_t = act(ax_t + h_{t-1} W_hh^T + b_hh),   act in {tanh, relu, sigmoid}

    Backward, with y = h_t:
        da_t      = dh_t * act'(y)           (B, H)
        dh_{t-1}  = da_t W_hh                (B, H)
    """

    name = "rnn"
    hidden_grad_differs = False  # does step_backward's dah differ from its dax?
    gates = 1
    state_size = 1

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.act, self.dact = activations.get(activation, activations.STATE_ACTIVATIONS, "rnn activation")

    def step_forward(self, ax_t, state_prev, W_hh, b_hh, h_out=None):
        (h_prev,) = state_prev  # (B, H)
        a = h_prev @ W_hh.T  # (B, H)
        a += ax_t
        a += b_hh
        h = self.act(a, out=a if h_out is None else h_out)
        return (h,), (h,)

    def gate_values(self, cache) -> dict:
        return {}  # no gates

    def step_backward(self, dstate, cache, W_hh, dax_out=None):
        (dh,) = dstate  # (B, H)
        (h,) = cache
        da = np.multiply(dh, self.dact(h), out=dax_out)  # (B, H)
        dh_prev = da @ W_hh  # (B, H)
        return (dh_prev,), da, da


class GatedCell:
    """What GRU and LSTM share: a choosable gate nonlinearity s and its slope s'. The candidate
    (GRU n, LSTM g) and the LSTM's cell output always go through tanh, as in PyTorch."""

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        activations.get(activation, ("tanh",), f"{self.name} candidate activation (--activation is for the rnn cell)")
        self.gate, self.dgate = activations.get(gate_activation, activations.GATE_ACTIVATIONS, "gate activation")


class LSTMCell(GatedCell):
    """Long short-term memory, PyTorch `nn.LSTM` (gate order i, f, g, o):

        [a_i, a_f, a_g, a_o] = ax_t + h_{t-1} W_hh^T + b_hh          (B, 4H)
        i = s(a_i)   f = s(a_f)   g = tanh(a_g)   o = s(a_o)          s = gate activation
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Backward, given dh_t and the carried dc_t:
        do = dh_t * tanh(c_t)
        dc = dc_t + dh_t * o * (1 - tanh(c_t)^2)
        di = dc * g     df = dc * c_{t-1}     dg = dc * i     dc_{t-1} = dc * f
        da = [di s'(i), df s'(f), dg (1 - g^2), do s'(o)]
        dh_{t-1} = da W_hh

    The cell path c_{t-1} -> c_t is multiplied only by f: when the forget gate is near 1 the
    gradient passes back through many steps undiminished. That is what lets an LSTM keep a
    gradient longer -- once training has opened f; at initialisation f is near sigmoid(0) = 0.5
    and an LSTM's gradient vanishes about as fast as a tanh RNN's (`charrnn inspect-gradients`).
    """

    name = "lstm"
    hidden_grad_differs = False  # does step_backward's dah differ from its dax?
    gates = 4
    state_size = 2

    def step_forward(self, ax_t, state_prev, W_hh, b_hh, h_out=None):
        h_prev, c_prev = state_prev  # (B, H) each
        H = h_prev.shape[1]
        a = h_prev @ W_hh.T  # (B, 4H)
        a += ax_t
        a += b_hh
        # all four blocks through the gate nonlinearity in one pass, then g through tanh instead:
        # fewer, larger array operations than four separate ones
        ifgo = self.gate(a)  # (B, 4H) = [i, f, g, o]
        np.tanh(a[:, 2 * H : 3 * H], out=ifgo[:, 2 * H : 3 * H])
        i, f, g, o = ifgo[:, :H], ifgo[:, H : 2 * H], ifgo[:, 2 * H : 3 * H], ifgo[:, 3 * H :]
        c = f * c_prev
        c += i * g
        tanh_c = np.tanh(c)
        h = np.multiply(o, tanh_c, out=h_out)
        return (h, c), (ifgo, c_prev, tanh_c)

    def gate_values(self, cache) -> dict:
        """The gates' values at one step, each (B, H) in (0, 1): how open each one is."""
        ifgo = cache[0]
        H = ifgo.shape[1] // 4
        return {"i": ifgo[:, :H], "f": ifgo[:, H : 2 * H], "o": ifgo[:, 3 * H :]}

    def step_backward(self, dstate, cache, W_hh, dax_out=None):
        dh, dc_next = dstate  # (B, H) each
        ifgo, c_prev, tanh_c = cache
        H = dh.shape[1]
        i, f, g, o = ifgo[:, :H], ifgo[:, H : 2 * H], ifgo[:, 2 * H : 3 * H], ifgo[:, 3 * H :]
        dc = dh * o
        dc *= 1.0 - tanh_c * tanh_c
        dc += dc_next
        # the slope of each block's nonlinearity: s'(i), s'(f), 1 - g^2, s'(o)
        slope = self.dgate(ifgo)  # (B, 4H)
        np.multiply(g, g, out=slope[:, 2 * H : 3 * H])
        np.subtract(1.0, slope[:, 2 * H : 3 * H], out=slope[:, 2 * H : 3 * H])
        da = np.empty_like(ifgo) if dax_out is None else dax_out  # (B, 4H)
        np.multiply(dc, g, out=da[:, :H])  # di
        np.multiply(dc, c_prev, out=da[:, H : 2 * H])  # df
        np.multiply(dc, i, out=da[:, 2 * H : 3 * H])  # dg
        np.multiply(dh, tanh_c, out=da[:, 3 * H :])  # do
        da *= slope
        dc_prev = dc * f
        dh_prev = da @ W_hh  # (B, H)
        return (dh_prev, dc_prev), da, da


class GRUCell(GatedCell):
    """Gated recurrent unit, PyTorch `nn.GRU` (gate order r, z, n):

        [ax_r, ax_z, ax_n] = ax_t                     [ah_r, ah_z, ah_n] = h_{t-1} W_hh^T + b_hh
        r = s(ax_r + ah_r)    z = s(ax_z + ah_z)      s = gate activation
        n = tanh(ax_n + r * ah_n)
        h_t = (1 - z) * n + z * h_{t-1}

    Backward, given dh_t:
        dz = dh_t * (h_{t-1} - n)      dn = dh_t * (1 - z)
        da_n = dn * (1 - n^2)          dr = da_n * ah_n
        dax = [dr s'(r), dz s'(z), da_n]
        dah = [dr s'(r), dz s'(z), da_n * r]
        dh_{t-1} = dh_t * z + dah W_hh
    """

    name = "gru"
    hidden_grad_differs = True  # does step_backward's dah differ from its dax?
    gates = 3
    state_size = 1

    def step_forward(self, ax_t, state_prev, W_hh, b_hh, h_out=None):
        (h_prev,) = state_prev  # (B, H)
        H = h_prev.shape[1]
        ah = h_prev @ W_hh.T  # (B, 3H)
        ah += b_hh
        rz = ax_t[:, : 2 * H] + ah[:, : 2 * H]  # (B, 2H)
        self.gate(rz, out=rz)
        r, z = rz[:, :H], rz[:, H:]
        ah_n = ah[:, 2 * H :]
        n = r * ah_n
        n += ax_t[:, 2 * H :]
        np.tanh(n, out=n)
        h = np.subtract(h_prev, n, out=h_out)
        h *= z
        h += n
        return (h,), (rz, n, ah_n, h_prev)

    def gate_values(self, cache) -> dict:
        """The gates' values at one step, each (B, H) in (0, 1): how open each one is."""
        rz = cache[0]
        H = rz.shape[1] // 2
        return {"r": rz[:, :H], "z": rz[:, H:]}

    def step_backward(self, dstate, cache, W_hh, dax_out=None):
        (dh,) = dstate  # (B, H)
        rz, n, ah_n, h_prev = cache
        H = dh.shape[1]
        r, z = rz[:, :H], rz[:, H:]
        dax = np.empty((dh.shape[0], 3 * H), dtype=dh.dtype) if dax_out is None else dax_out  # (B, 3H)
        da_n = dax[:, 2 * H :]
        np.multiply(dh, 1.0 - z, out=da_n)
        da_n *= 1.0 - n * n
        np.multiply(da_n, ah_n, out=dax[:, :H])  # dr
        np.multiply(dh, h_prev - n, out=dax[:, H : 2 * H])  # dz
        dax[:, : 2 * H] *= self.dgate(rz)
        dah = dax.copy()
        dah[:, 2 * H :] *= r
        dh_prev = dah @ W_hh
        dh_prev += dh * z
        return (dh_prev,), dax, dah


class OutputRecurrentCell:
    """`jordan`: hidden units that read the last k *outputs*, with no hidden-to-hidden weight
    (Goodfellow et al. section 10.2.1). Under teacher forcing no step depends on another, so it has
    no step to unroll: its math is in jordan.py, one feed-forward batch at train time and one
    step at a time only when sampling. Here: its activation, and what the others declare."""

    name = "jordan"
    hidden_grad_differs = False
    gates = 1
    state_size = 1  # the carried state is the history of the last k characters

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.act, self.dact = activations.get(activation, activations.STATE_ACTIVATIONS, "jordan activation")

    def gate_values(self, cache) -> dict:
        return {}  # no gates


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell, "jordan": OutputRecurrentCell}


def make_cell(cell: str, activation: str = "tanh", gate_activation: str = "sigmoid"):
    try:
        cls = CELLS[cell]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}") from None
    return cls(activation=activation, gate_activation=gate_activation)
