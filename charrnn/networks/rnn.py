"""`--cell rnn`: the vanilla (Elman) RNN, PyTorch `nn.RNN`:

    h_t = act(ax_t + h_{t-1} W_hh^T + b_hh),   ax_t = x_t W_ih^T + b_ih,   act in {tanh, relu, sigmoid}

Backward, with y = h_t:
    da_t      = dh_t * act'(y)           (B, H)     = dL/d(ax_t) = dL/d(h_{t-1} W_hh^T + b_hh)
    dh_{t-1}  = da_t W_hh                (B, H)

The same four tensors weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,) are used
at every time step: that is parameter sharing, and it is why their gradients are sums over steps.
"""

from __future__ import annotations

import numpy as np

from charrnn.ground import activations
from charrnn.ground.ops import times
from charrnn.networks.policy import Policy
from charrnn.networks.stacked import Product, StackedCells, block


class RNNCell:
    gates = 1
    activation_choices = activations.STATE_ACTIVATIONS
    state_parts = ("h",)
    products = (Product("weight_hh", "bias_hh", rows=1, adds_to_ax=True),)

    def __init__(self, activation: str = "tanh", gate_activation: str = "sigmoid"):
        self.act, self.dact = activations.get(activation, activations.STATE_ACTIVATIONS, "rnn activation")

    @classmethod
    def blocks(cls, config):
        return [block(0, config.hidden_size, "h", "new hidden state", config.activation, cls.products[0], part=0)]

    def step_forward(self, ax_t, state_prev, W, h_out=None):
        (h_prev,) = state_prev  # (B, H)
        a = times(h_prev, W["weight_hh"].T) + ax_t  # (B, H)
        a += W["bias_hh"]
        h = self.act(a, out=a if h_out is None else h_out)
        return (h,), (h,)

    def step_backward(self, dstate, cache, W, dax_out, dout):
        (dh,) = dstate  # (B, H)
        (h,) = cache
        da = np.multiply(dh, self.dact(h), out=dax_out)  # (B, H)
        return (da @ W["weight_hh"],)  # dh_{t-1}

    @staticmethod
    def values(cache) -> dict:
        return {}  # no gates: its h is its only value

    # step_forward in JavaScript (the model's page: networks/stacked.py STACK_JS calls it)
    PAGE_JS = """
function cellStep(ax, prev, k, W, cfg) {
  const a = matvec(W[`rnn.weight_hh_l${k}`], prev[0]);
  addTo(a, ax); addTo(a, W[`rnn.bias_hh_l${k}`].data);
  return [a.map(ACT[cfg.activation])];
}
"""


def torch_module(config):
    if config.activation not in ("tanh", "relu"):
        return None, f"no PyTorch counterpart: torch.nn.RNN has tanh and relu, not {config.activation}"
    return "RNN", {"nonlinearity": config.activation}


NETWORK = StackedCells(
    name="rnn", cell=RNNCell, prefix="rnn", torch=torch_module,
    label=lambda c: f"rnn {c.activation} {c.num_layers}x{c.hidden_size}",
    policy=Policy(
        summary="vanilla (Elman) RNN", takes=frozenset({"activation", "weight_drop", "input_dropout"}), refusals={"gate_activation": "it has no gates"},
        fresh_variants=({"activation": "tanh"}, {"activation": "sigmoid"}, {"activation": "relu"}),
        gradient_path="one step back multiplies the gradient by diag(act'(a_t)) W_hh: sigmoid's slope is at most 1/4, "
                      "so a sigmoid state shrinks it unless ||W_hh|| > 4; tanh (slope 1 at 0) shrinks it less"),
)
