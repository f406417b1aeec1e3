"""`--cell mlstm`: the multiplicative LSTM (Krause, Lu, Murray and Renals, "Multiplicative LSTM
for sequence modelling", 2016, arXiv:1609.07959; the cell of OpenAI's "sentiment neuron",
Radford et al. 2017). An LSTM whose gates read, instead of h_{t-1}, an intermediate state m_t
in which the input scales the recurrent transition -- a different hidden-to-hidden map for
each input character:

    [ax_i, ax_f, ax_g, ax_o, ax_m] = x_t W_ih^T + b_ih                 (B, 5H)   W_ih = [W_ix; W_fx; W_gx; W_ox; W_mx]
    m_t = ax_m * (h_{t-1} W_mh^T)                                       (B, H)    m_t = (W_mx x_t) ⊙ (W_mh h_{t-1})
    [a_i, a_f, a_g, a_o] = [ax_i, ax_f, ax_g, ax_o] + m_t W_gm^T + b_gm   (B, 4H)   where an LSTM has h_{t-1} W_hh^T + b_hh
    i = s(a_i)   f = s(a_f)   g = u(a_g)   o = s(a_o)                    s = gate activation
    c_t = f * c_{t-1} + i * g
    h_t = o * u(c_t)                                                    u = activation (tanh)

With one-hot inputs, W_mx x_t is column x_t of W_mx: each character picks its own diagonal
scaling of W_mh. The candidate g goes through tanh as in the LSTM here and in Radford et al.'s
code; every product has a bias on the input side, as PyTorch's cells do (for one-hot input,
b_mx only shifts W_mx's columns).

Backward, given dh_t and the carried dc_t:
    da = the LSTM's gate backward (lstm.py)                            (B, 4H) = dL/d[ax_i..ax_o]
    dm = da W_gm                                                        (B, H)
    dax_m = dm * (h_{t-1} W_mh^T)       du = dm * ax_m                  u = h_{t-1} W_mh^T
    dh_{t-1} = du W_mh                  dc_{t-1} = dc * f

Tensors of layer k (no PyTorch counterpart):
    mlstm.weight_ih_l{k} (5H, D)   mlstm.weight_gm_l{k} (4H, H)   mlstm.weight_mh_l{k} (H, H)
    mlstm.bias_ih_l{k}   (5H,)     mlstm.bias_gm_l{k}   (4H,)
"""

from __future__ import annotations

import numpy as np

from charrnn.ground.ops import times
from charrnn.networks.lstm import LSTMGates
from charrnn.networks.policy import Policy, Replacement
from charrnn.networks.stacked import Product, StackedCells, block, gated_label


class MLSTMCell(LSTMGates):
    name = "mlstm"
    gates = 5  # i, f, g, o and m's input factor
    products = (Product("weight_gm", "bias_gm", rows=4, reads="m", adds_to_ax=True),  # gates <- m_t
                Product("weight_mh", None, rows=1))  # u = h_{t-1} W_mh^T

    @classmethod
    def blocks(cls, config):
        gm, mh = cls.products
        return cls.gate_blocks(config, gm) + [
            block(4, config.hidden_size, "m", "multiplicative state (W_mx x)(W_mh h)", "product", mh)]

    def step_forward(self, ax_t, state_prev, W, h_out=None):
        h_prev, c_prev = state_prev  # (B, H) each
        H = h_prev.shape[1]
        ax_m = ax_t[:, 4 * H :]  # (B, H)
        u = times(h_prev, W["weight_mh"].T)  # (B, H)
        m = ax_m * u  # (B, H)
        a = times(m, W["weight_gm"].T) + ax_t[:, : 4 * H]  # (B, 4H)
        a += W["bias_gm"]
        h, c, ifgo, u_c = self.gates_forward(a, c_prev, h_out)
        return (h, c), (ifgo, c_prev, c, u_c, m, u, ax_m)

    def step_backward(self, dstate, cache, W, dax_out, dout):
        dh, dc_next = dstate  # (B, H) each
        ifgo, c_prev, _, u_c, m, u, ax_m = cache
        H = dh.shape[1]
        da = dax_out[:, : 4 * H]  # (B, 4H): also dL/d(m W_gm^T + b_gm)
        dc_prev = self.gates_backward(dh, dc_next, ifgo, c_prev, u_c, da)
        dm = da @ W["weight_gm"]  # (B, H)
        np.multiply(dm, u, out=dax_out[:, 4 * H :])  # dax_m
        du = np.multiply(dm, ax_m, out=dout[1])  # (B, H)
        return du @ W["weight_mh"], dc_prev

    # step_forward in JavaScript (the model's page: networks/stacked.py STACK_JS calls it)
    PAGE_JS = LSTMGates.GATES_JS + """
function cellStep(ax, prev, k, W, cfg) {
  const H = cfg.hidden_size, u = matvec(W[`mlstm.weight_mh_l${k}`], prev[0]);
  const m = new Float64Array(H);
  for (let j = 0; j < H; j++) m[j] = ax[4 * H + j] * u[j];
  const a = matvec(W[`mlstm.weight_gm_l${k}`], m);
  for (let j = 0; j < 4 * H; j++) a[j] += ax[j];
  addTo(a, W[`mlstm.bias_gm_l${k}`].data);
  return lstmGates(a, prev[1], cfg);
}
"""

    @staticmethod
    def read(cache, name: str):
        return cache[4]  # m_t, what weight_gm reads

    @classmethod
    def values(cls, cache) -> dict:
        return {**cls.gate_values(cache[0], cache[2]), "m": cache[4]}


NETWORK = StackedCells(
    name="mlstm", cell=MLSTMCell, prefix="mlstm", label=gated_label("mlstm"),
    policy=Policy(
        summary="multiplicative LSTM (Krause et al. 2016)", takes=frozenset({"activation", "gate_activation", "weight_drop", "input_dropout"}),
        gradient_path="as the lstm's, the cell path is multiplied only by the forget gate; h_(t-1) reaches the gates "
                      "through m_t = (W_mx x_t) * (W_mh h_(t-1)), a different map for each character",
        # at equal time it beat the GRU 1x512 that the rule chooses on tinyshakespeare at 5 minutes (two
        # seeds), 10 and 30 minutes (docs/networks.md, docs/recipe.md), and the small-text branch's GRU
        # 1x512 (dropout 0.5) on three 50-80 KB pieces at 5 and 10 minutes (docs/recipe.md). Up to an
        # hour: on tinyshakespeare a budget past 30 minutes trains the same run as 30 (the recipe's
        # MOST_PASSES); past an hour, and under 5 minutes, it is unmeasured, so the rule's choice stands
        replaces=(Replacement("gru", 1, 512, 300, 3600, "mlstm for gru 1x512: better at equal time, 5-60 min"),)),
)
