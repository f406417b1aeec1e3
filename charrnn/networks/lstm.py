"""`--cell lstm`: long short-term memory, PyTorch `nn.LSTM` (gate order i, f, g, o):

    [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh     (B, 4H)
    i = s(a_i)   f = s(a_f)   g = u(a_g)   o = s(a_o)                     s = gate activation
    c_t = f * c_{t-1} + i * g
    h_t = o * u(c_t)                                                      u = activation (tanh)

Backward, given dh_t and the carried dc_t:
    do = dh_t * u(c_t)
    dc = dc_t + dh_t * o * u'(c_t)
    di = dc * g     df = dc * c_{t-1}     dg = dc * i     dc_{t-1} = dc * f
    da = [di s'(i), df s'(f), dg u'(a_g), do s'(o)]
    dh_{t-1} = da W_hh

u is tanh, as in PyTorch; `--activation relu` or `elu` puts that function in both of its places
(the candidate and the cell output), the forms the literature calls common inside gated cells;
torch.nn.LSTM then no longer loads the weights.

The cell path c_{t-1} -> c_t is multiplied only by f: when the forget gate is near 1 the
gradient passes back through many steps undiminished. That is what lets an LSTM keep a
gradient longer -- once training has opened f; at initialisation f is near sigmoid(0) = 0.5
and an LSTM's gradient vanishes about as fast as a tanh RNN's (`charrnn inspect-gradients`).
"""

from __future__ import annotations

import numpy as np

from charrnn.ground import activations
from charrnn.ground.ops import times
from charrnn.networks.policy import Policy
from charrnn.networks.stacked import Product, StackedCells, block, gated_label


class LSTMGates:
    """The LSTM's gate arithmetic from the pre-activations a = [a_i, a_f, a_g, a_o] (B, 4H) on:
    shared with the multiplicative LSTM (mlstm.py), whose gates differ only in what they read."""

    state_parts = ("h", "c")
    activation_choices = activations.CANDIDATE_ACTIVATIONS

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.act, self.dact = activations.get(activation, activations.CANDIDATE_ACTIVATIONS,
                                              f"{self.name} candidate activation")
        self.gate, self.dgate = activations.get(gate_activation, activations.GATE_ACTIVATIONS, "gate activation")

    def gates_forward(self, a, c_prev, h_out=None):
        """a (B, 4H) -> (h_t, c_t, ifgo (B, 4H), u(c_t))."""
        H = c_prev.shape[1]
        # all four blocks through the gate nonlinearity in one pass, then g through u instead:
        # fewer, larger array operations than four separate ones
        ifgo = self.gate(a)  # (B, 4H) = [i, f, g, o]
        self.act(a[:, 2 * H : 3 * H], out=ifgo[:, 2 * H : 3 * H])
        i, f, g, o = ifgo[:, :H], ifgo[:, H : 2 * H], ifgo[:, 2 * H : 3 * H], ifgo[:, 3 * H :]
        c = f * c_prev
        c += i * g
        u_c = self.act(c)
        h = np.multiply(o, u_c, out=h_out)
        return h, c, ifgo, u_c

    def gates_backward(self, dh, dc_next, ifgo, c_prev, u_c, da):
        """Writes dL/da into da (B, 4H); returns dc_{t-1}."""
        H = dh.shape[1]
        i, f, g, o = ifgo[:, :H], ifgo[:, H : 2 * H], ifgo[:, 2 * H : 3 * H], ifgo[:, 3 * H :]
        dc = dh * o
        dc *= self.dact(u_c)
        dc += dc_next
        # the slope of each block's nonlinearity: s'(i), s'(f), u'(a_g), s'(o)
        slope = self.dgate(ifgo)  # (B, 4H)
        slope[:, 2 * H : 3 * H] = self.dact(g)
        np.multiply(dc, g, out=da[:, :H])  # di
        np.multiply(dc, c_prev, out=da[:, H : 2 * H])  # df
        np.multiply(dc, i, out=da[:, 2 * H : 3 * H])  # dg
        np.multiply(dh, u_c, out=da[:, 3 * H :])  # do
        da *= slope
        return dc * f

    # gates_forward in JavaScript (the page), shared with the multiplicative LSTM as in NumPy
    GATES_JS = """
function lstmGates(a, cPrev, cfg) {
  const H = cfg.hidden_size, s = ACT[cfg.gate_activation], u = ACT[cfg.activation];
  const h = new Float64Array(H), c = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const i = s(a[j]), f = s(a[H + j]), g = u(a[2 * H + j]), o = s(a[3 * H + j]);
    c[j] = f * cPrev[j] + i * g;
    h[j] = o * u(c[j]);
  }
  return [h, c];
}
"""

    @staticmethod
    def gate_values(ifgo, c) -> dict:
        H = ifgo.shape[1] // 4
        return {"i": ifgo[:, :H], "f": ifgo[:, H : 2 * H], "g": ifgo[:, 2 * H : 3 * H], "o": ifgo[:, 3 * H :], "c": c}

    @staticmethod
    def gate_blocks(config, reads: Product):
        """The four blocks i, f, g, o: rows 0 .. 4H of the input projection and of `reads`, the
        product their pre-activations add."""
        H, g = config.hidden_size, config.gate_activation
        return [block(0, H, "i", "input gate", g, reads, part=0, gate=True),
                block(1, H, "f", "forget gate", g, reads, part=1, gate=True),
                block(2, H, "g", "candidate cell", config.activation, reads, part=2),
                block(3, H, "o", "output gate", g, reads, part=3, gate=True)]


class LSTMCell(LSTMGates):
    name = "lstm"
    gates = 4
    products = (Product("weight_hh", "bias_hh", rows=4, adds_to_ax=True),)

    @classmethod
    def blocks(cls, config):
        return cls.gate_blocks(config, cls.products[0])

    def step_forward(self, ax_t, state_prev, W, h_out=None):
        h_prev, c_prev = state_prev  # (B, H) each
        a = times(h_prev, W["weight_hh"].T) + ax_t  # (B, 4H)
        a += W["bias_hh"]
        h, c, ifgo, u_c = self.gates_forward(a, c_prev, h_out)
        return (h, c), (ifgo, c_prev, c, u_c)

    def step_backward(self, dstate, cache, W, dax_out, dout):
        dh, dc_next = dstate  # (B, H) each
        ifgo, c_prev, _, u_c = cache
        dc_prev = self.gates_backward(dh, dc_next, ifgo, c_prev, u_c, dax_out)  # dax = da (B, 4H)
        return dax_out @ W["weight_hh"], dc_prev

    @classmethod
    def values(cls, cache) -> dict:
        return cls.gate_values(cache[0], cache[2])

    # step_forward in JavaScript (the model's page: networks/stacked.py STACK_JS calls it)
    PAGE_JS = LSTMGates.GATES_JS + """
function cellStep(ax, prev, k, W, cfg) {
  const a = matvec(W[`rnn.weight_hh_l${k}`], prev[0]);
  addTo(a, ax); addTo(a, W[`rnn.bias_hh_l${k}`].data);
  return lstmGates(a, prev[1], cfg);
}
"""


def torch_module(config):
    if config.gate_activation != "sigmoid":
        return None, f"no PyTorch counterpart: torch.nn.LSTM's gates are sigmoid, not {config.gate_activation}"
    if config.activation != "tanh":
        return None, f"no PyTorch counterpart: torch.nn.LSTM's candidate and cell output are tanh, not {config.activation}"
    return "LSTM", {}


NETWORK = StackedCells(
    name="lstm", cell=LSTMCell, prefix="rnn", torch=torch_module, label=gated_label("lstm"),
    policy=Policy(
        summary="long short-term memory", takes=frozenset({"activation", "gate_activation", "weight_drop", "input_dropout"}),
        fresh_variants=({}, {"gate_activation": "hard_sigmoid"}),
        gradient_path="the cell path c_(t-1) -> c_t is multiplied only by the forget gate, which training can hold "
                      "near 1 (row 'its cell path')"),
)
