"""A network declared outside the package, to show what adding one takes: this module and one
line, `networks.register(NETWORK)` (test_adding_a_network.py). The minimal gated unit (Zhou, Wu,
Zhang and Zhou, "Minimal gated unit for recurrent neural networks", 2016): a GRU with one gate.

    [ax_f, ax_n] = x_t W_ih^T + b_ih                                   (B, 2H)
    f   = s(ax_f + h_{t-1} W_hf^T + b_hf)                                s = gate activation
    n   = tanh(ax_n + (f * h_{t-1}) W_hn^T + b_hn)
    h_t = (1 - f) * h_{t-1} + f * n

Backward, given dh_t:
    da_n = dh_t * f * (1 - n^2)                 dL/d(f * h_{t-1}) = da_n W_hn
    da_f = (dh_t * (n - h_{t-1}) + dL/d(f * h_{t-1}) * h_{t-1}) * s'(f)
    dh_{t-1} = dh_t * (1 - f) + dL/d(f * h_{t-1}) * f + da_f W_hf
"""

from __future__ import annotations

import numpy as np

from charrnn.ground import activations
from charrnn.ground.ops import times
from charrnn.networks.policy import Policy
from charrnn.networks.stacked import Product, StackedCells, block


class MGUCell:
    name = "mgu"
    gates = 2
    state_parts = ("h",)
    activation_choices = ("tanh",)
    products = (Product("weight_hf", "bias_hf", rows=1, adds_to_ax=True),  # the gate reads h_{t-1}
                Product("weight_hn", "bias_hn", rows=1, reads="fh"))  # the candidate reads f * h_{t-1}

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.gate, self.dgate = activations.get(gate_activation, activations.GATE_ACTIVATIONS, "gate activation")

    @classmethod
    def blocks(cls, config):
        H, (hf, hn) = config.hidden_size, cls.products
        return [block(0, H, "f", "forget gate", config.gate_activation, hf, part=0, gate=True),
                block(1, H, "n", "candidate state", "tanh", hn, part=0)]

    def step_forward(self, ax_t, state_prev, W, h_out=None):
        (h_prev,) = state_prev  # (B, H)
        H = h_prev.shape[1]
        f = self.gate(ax_t[:, :H] + times(h_prev, W["weight_hf"].T) + W["bias_hf"])
        fh = f * h_prev
        n = np.tanh(ax_t[:, H:] + times(fh, W["weight_hn"].T) + W["bias_hn"])
        h = np.add(h_prev, f * (n - h_prev), out=h_out)
        return (h,), (f, n, fh, h_prev)

    def step_backward(self, dstate, cache, W, dax_out, dout):
        (dh,) = dstate
        f, n, fh, h_prev = cache
        H = dh.shape[1]
        da_n = np.multiply(dh * f, 1.0 - n * n, out=dax_out[:, H:])
        dout[1][...] = da_n  # what the candidate's product receives
        dfh = da_n @ W["weight_hn"]
        da_f = np.multiply(dh * (n - h_prev) + dfh * h_prev, self.dgate(f), out=dax_out[:, :H])
        return (dh * (1.0 - f) + dfh * f + da_f @ W["weight_hf"],)

    @staticmethod
    def read(cache, name: str):
        return cache[2]  # f * h_{t-1}, what weight_hn reads

    @staticmethod
    def values(cache) -> dict:
        return {"f": cache[0], "n": cache[1]}


NETWORK = StackedCells(
    name="mgu", cell=MGUCell, prefix="mgu",
    policy=Policy(summary="minimal gated unit (Zhou et al. 2016)", takes=frozenset({"gate_activation"}),
                  refusals={"activation": "its candidate is tanh"},
                  gradient_path="h_(t-1) reaches h_t as (1 - f) * h_(t-1): multiplied only by one minus the gate"),
)
