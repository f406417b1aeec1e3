"""`--cell gru`: the gated recurrent unit, PyTorch `nn.GRU` (gate order r, z, n):

    [ax_r, ax_z, ax_n] = x_t W_ih^T + b_ih        [ah_r, ah_z, ah_n] = h_{t-1} W_hh^T + b_hh
    r = s(ax_r + ah_r)    z = s(ax_z + ah_z)      s = gate activation
    n = u(ax_n + r * ah_n)                        u = activation (tanh, as in PyTorch; or relu, elu)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, given dh_t:
    dz = dh_t * (h_{t-1} - n)      dn = dh_t * (1 - z)
    da_n = dn * u'(n)              dr = da_n * ah_n
    dax = [dr s'(r), dz s'(z), da_n]
    dah = [dr s'(r), dz s'(z), da_n * r]          (the candidate sees ah_n only through r)
    dh_{t-1} = dh_t * z + dah W_hh
"""

from __future__ import annotations

import numpy as np

from charrnn.ground import activations
from charrnn.ground.ops import times
from charrnn.networks.policy import Policy
from charrnn.networks.stacked import Product, StackedCells, block, gated_label


class GRUCell:
    name = "gru"
    gates = 3
    state_parts = ("h",)
    activation_choices = activations.CANDIDATE_ACTIVATIONS
    products = (Product("weight_hh", "bias_hh", rows=3),)  # its gradient dah differs from dax

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.act, self.dact = activations.get(activation, activations.CANDIDATE_ACTIVATIONS, "gru candidate activation")
        self.gate, self.dgate = activations.get(gate_activation, activations.GATE_ACTIVATIONS, "gate activation")

    @classmethod
    def blocks(cls, config):
        H, g, hh = config.hidden_size, config.gate_activation, cls.products[0]
        return [block(0, H, "r", "reset gate", g, hh, part=0, gate=True),
                block(1, H, "z", "update gate", g, hh, part=1, gate=True),
                block(2, H, "n", "candidate state", config.activation, hh, part=2)]

    def step_forward(self, ax_t, state_prev, W, h_out=None):
        (h_prev,) = state_prev  # (B, H)
        H = h_prev.shape[1]
        ah = times(h_prev, W["weight_hh"].T) + W["bias_hh"]  # (B, 3H)
        rz = ax_t[:, : 2 * H] + ah[:, : 2 * H]  # (B, 2H)
        self.gate(rz, out=rz)
        r, z = rz[:, :H], rz[:, H:]
        ah_n = ah[:, 2 * H :]
        n = r * ah_n
        n += ax_t[:, 2 * H :]
        self.act(n, out=n)
        h = np.subtract(h_prev, n, out=h_out)
        h *= z
        h += n
        return (h,), (rz, n, ah_n, h_prev)

    def step_backward(self, dstate, cache, W, dax_out, dout):
        (dh,) = dstate  # (B, H)
        rz, n, ah_n, h_prev = cache
        H = dh.shape[1]
        r, z = rz[:, :H], rz[:, H:]
        dax = dax_out  # (B, 3H)
        da_n = dax[:, 2 * H :]
        np.multiply(dh, 1.0 - z, out=da_n)
        da_n *= self.dact(n)
        np.multiply(da_n, ah_n, out=dax[:, :H])  # dr
        np.multiply(dh, h_prev - n, out=dax[:, H : 2 * H])  # dz
        dax[:, : 2 * H] *= self.dgate(rz)
        (dah,) = dout  # (B, 3H)
        dah[...] = dax
        dah[:, 2 * H :] *= r
        dh_prev = dah @ W["weight_hh"]
        dh_prev += dh * z
        return (dh_prev,)

    # step_forward in JavaScript (the model's page: networks/stacked.py STACK_JS calls it)
    PAGE_JS = """
function cellStep(ax, prev, k, W, cfg) {
  const H = cfg.hidden_size, h = prev[0], s = ACT[cfg.gate_activation], u = ACT[cfg.activation];
  const ah = matvec(W[`rnn.weight_hh_l${k}`], h);
  addTo(ah, W[`rnn.bias_hh_l${k}`].data);
  const out = new Float64Array(H);
  for (let i = 0; i < H; i++) {
    const r = s(ax[i] + ah[i]), z = s(ax[H + i] + ah[H + i]);
    const n = u(ax[2 * H + i] + r * ah[2 * H + i]);
    out[i] = (h[i] - n) * z + n;
  }
  return [out];
}
"""

    @staticmethod
    def values(cache) -> dict:
        rz, n = cache[0], cache[1]
        H = rz.shape[1] // 2
        return {"r": rz[:, :H], "z": rz[:, H:], "n": n}


def torch_module(config):
    if config.gate_activation != "sigmoid":
        return None, f"no PyTorch counterpart: torch.nn.GRU's gates are sigmoid, not {config.gate_activation}"
    if config.activation != "tanh":
        return None, f"no PyTorch counterpart: torch.nn.GRU's candidate is tanh, not {config.activation}"
    return "GRU", {}


NETWORK = StackedCells(
    name="gru", cell=GRUCell, prefix="rnn", torch=torch_module, label=gated_label("gru"),
    policy=Policy(
        summary="gated recurrent unit", takes=frozenset({"activation", "gate_activation", "weight_drop", "input_dropout"}),
        recipe_shapes=((1, 128), (1, 192), (1, 256), (1, 384), (1, 512), (2, 512)),
        gradient_path="besides the path through W_hh, h_(t-1) reaches h_t as z * h_(t-1): multiplied only by the "
                      "update gate, which training can hold near 1"),
)
