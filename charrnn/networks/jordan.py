"""`--cell jordan`: the network whose only recurrence runs from the output to the hidden units
(Goodfellow et al., *Deep Learning*, section 10.2.1, figure 10.4). There is no hidden-to-hidden
weight:

    a_t = b_h + W_yh [onehot(y_{t-1}); onehot(y_{t-2}); ...; onehot(y_{t-k})]       (B, H)
    h_t = act(a_t)
    o_t = softmax(W_dec h_t + b_dec)                                                  (B, V)

y_{t-1} .. y_{t-k} are the last k outputs (`--context k`, default 1: the document's case).

TRAIN TIME (teacher forcing): each previous output is replaced by the observed character, so
every step depends only on the text, never on another step's hidden units. The window is not
unrolled at all: `window_forward` computes all T*B positions as one feed-forward batch and
`window_backward` is ordinary backpropagation -- no loop over time, and nothing crosses a step
(the gradient-flow section of `inspect-gradients` shows it). TEST TIME (`step`): the model's own
sampled outputs are fed back, one step at a time: the temporal connection exists only at test time.

In a character model the previous output y_{t-1} is the character the step reads, so the
k = 1 network predicts from one character (a bigram model); with k it reads k characters back,
a fixed window, where an RNN's state can reach back without bound.

Tensors (no PyTorch counterpart):
    jordan.weight_yh   (H, k*V)   block j (columns j*V .. (j+1)*V - 1) reads y_{t-1-j}
    jordan.bias_h      (H,)
    decoder.weight     (V, H),  decoder.bias (V,)   as for every model
The carried state is the history itself (`History`): the last k characters read, as ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.ground import activations
from charrnn.ground.ops import dropout_mask, onehot_weight_gradient
from charrnn.networks.base import Block, Network, Rows
from charrnn.networks.policy import Policy

WEIGHT, BIAS = "jordan.weight_yh", "jordan.bias_h"


@dataclass(eq=False)
class History:
    """The carried state of B streams: the last k characters each read, oldest first, as ids
    (B, k); -1 where the stream has read fewer than k ("before the text")."""

    ids: np.ndarray  # (B, k) int

    def __eq__(self, other) -> bool:
        return isinstance(other, History) and np.array_equal(self.ids, other.ids)


def histories(x: np.ndarray, carried: History, resets: np.ndarray | None = None) -> np.ndarray:
    """For inputs x (T, B) after the carried history: (T, B, k) where [t, b, j] is y_{t-1-j},
    the character j steps before the one being predicted's predecessor (j = 0: x_t itself).
    Where resets[t, b], stream b starts afresh at step t: nothing read before t is in its
    history (-1) from t on."""
    k = carried.ids.shape[1]
    full = np.concatenate([carried.ids.T, x], axis=0)  # (k + T, B)
    T = x.shape[0]
    hist = np.stack([full[k - j : k - j + T] for j in range(k)], axis=2)
    if resets is not None and resets.any():
        t = np.arange(T)[:, None]
        start = np.maximum.accumulate(np.where(resets, t, -1), axis=0)  # (T, B): the last start so far, or -1
        since = np.where(start >= 0, t - start, k)  # steps read since it (k: none in this window)
        hist[np.arange(k)[None, None, :] > since[:, :, None]] = -1
    return hist


def pre_activation(params: dict, V: int, hist: np.ndarray) -> np.ndarray:
    """a = b_h + sum_j W_yh[:, block j] onehot(hist[..., j]) for any leading shape of hist (..., k):
    a gather of one column per block (no one-hot is built); absent characters (-1) add nothing."""
    W = params[WEIGHT]  # (H, k*V)
    Wt = np.ascontiguousarray(W.T)  # (k*V, H): rows to gather
    a = np.broadcast_to(params[BIAS], hist.shape[:-1] + (W.shape[0],)).copy()
    for j in range(hist.shape[-1]):
        col = hist[..., j]
        rows = np.take(Wt, np.maximum(col, 0) + j * V, axis=0)  # (..., H)
        a += np.where((col >= 0)[..., None], rows, 0.0).astype(a.dtype)
    return a


@dataclass
class JordanTape:
    hist: np.ndarray  # (T, B, k)
    h: np.ndarray  # (T, B, H) hidden units
    dropout_mask: np.ndarray | None  # (T, B, H), or (1, B, H) per window


class OutputRecurrent(Network):
    name = "jordan"
    activation_choices = activations.STATE_ACTIVATIONS
    policy = Policy(
        summary="output-recurrent: hidden units read the last k outputs, no h-to-h weight",
        takes=frozenset({"activation", "context"}),
        refusals={"gate_activation": "it has no gates", "weight_drop": "it has no recurrent weights",
                  "input_dropout": "its inputs are its own previous outputs"}, max_layers=1,
        gradient_path="nothing crosses a step under teacher forcing: the last step's loss reaches only its own "
                      "hidden units (the window is one feed-forward batch)")

    def check(self, config) -> None:
        if config.num_layers != 1:
            raise ValueError("the jordan network has one hidden layer; leave out --num-layers")
        activations.get(config.activation, activations.STATE_ACTIVATIONS, "jordan activation")

    def param_shapes(self, config) -> dict:
        H = config.hidden_size
        return {WEIGHT: (H, config.context * config.vocab_size), BIAS: (H,)}

    def torch_module(self, config):
        return None, "no PyTorch counterpart: the jordan network's recurrence runs from its outputs"

    def vocab_axes(self, config) -> dict:
        """W_yh (H, k*V): k blocks of one column a character, block j for y_{t-1-j}."""
        return {WEIGHT: (1, config.context)}

    def label(self, config) -> str:
        return f"jordan k={config.context} {config.activation} 1x{config.hidden_size}"

    def blocks(self, config) -> list:
        H = config.hidden_size
        return [(0, Block("h", f"hidden units (read the last {config.context} outputs)", config.activation,
                          input_weight=Rows(WEIGHT, 0, H), input_bias=Rows(BIAS, 0, H)))]

    # ------------------------------------------------------------------------ state
    def zero_state(self, config, batch_size: int, dtype=None) -> History:
        return History(np.full((batch_size, config.context), -1, dtype=np.intp))

    def reset_streams(self, state: History, streams: np.ndarray) -> None:
        state.ids[streams] = -1

    def cast_state(self, state: History, dtype) -> History:
        return History(state.ids.copy())

    def state_batch(self, state: History) -> int:
        return state.ids.shape[0]

    def state_tensor(self, state: History) -> np.ndarray:
        return state.ids.astype(np.int64)

    def state_from_tensor(self, config, tensor: np.ndarray) -> History:
        """(B, k) ids (-1: none); or, from a checkpoint written before the history had a type of
        its own, (1, 1, B, k) floats holding id + 1 (0: none)."""
        k, V = config.context, config.vocab_size
        if tensor.ndim == 4 and tensor.shape[:2] == (1, 1) and tensor.dtype.kind == "f":
            if not np.isfinite(tensor).all():
                raise ValueError("must hold finite values")
            tensor = np.rint(tensor[0, 0]) - 1
        if tensor.ndim != 2 or tensor.shape[1] != k:
            raise ValueError(f"has shape {tensor.shape}; the jordan network's history is (B, {k})")
        if tensor.size and (tensor.min() < -1 or tensor.max() >= V):
            raise ValueError(f"holds character ids outside -1 .. {V - 1}")
        return History(tensor.astype(np.intp))

    # ------------------------------------------------------------------- TRAIN TIME
    def window_forward(self, params, config, x, state0: History, dropout_rng=None, resets=None):
        """Teacher forcing over x (T, B): every position at once, as one feed-forward batch."""
        act, _ = activations.get(config.activation)
        T, B = x.shape
        hist = histories(x, state0, resets)  # (T, B, k)
        h = act(pre_activation(params, config.vocab_size, hist))  # (T, B, H): no step reads another's h
        mask = dropout_mask(h.shape, config.dropout, dropout_rng, h.dtype, config.dropout_mask)
        out = h if mask is None else h * mask
        final = History(hist[-1, :, ::-1].astype(np.intp))  # the last k read, oldest first
        return out.reshape(T * B, -1), final, JordanTape(hist=hist, h=h, dropout_mask=mask)

    def window_backward(self, params, config, tape: JordanTape, dtop, trace=None):
        """Ordinary backpropagation, all positions at once. No gradient reaches the history
        (returned as None): it is text, not a function of the weights."""
        _, dact = activations.get(config.activation)
        T, B, k = tape.hist.shape
        V = config.vocab_size
        dH = dtop.reshape(T, B, -1)  # (T, B, H) only from o_t
        if tape.dropout_mask is not None:
            dH = dH * tape.dropout_mask
        dA = (dH * dact(tape.h)).reshape(T * B, -1)  # (T*B, H)
        grads = {WEIGHT: self.weight_gradient(dA, tape.hist.reshape(T * B, k), V), BIAS: dA.sum(axis=0)}
        if trace is not None:  # what reaches h_t: its own output's gradient, nothing from t+1
            trace.dAx.insert(0, dA.reshape(T, B, -1))
            trace.dout.insert(0, ())
            trace.dh.insert(0, dH)
            trace.dstate.insert(0, {})
        return grads, None

    @staticmethod
    def weight_gradient(dA: np.ndarray, hist: np.ndarray, V: int) -> np.ndarray:
        """dW_yh from dA (N, H) and the histories (N, k): block j collects the rows by y_{t-1-j}."""
        return np.concatenate([onehot_weight_gradient(dA[hist[:, j] >= 0], hist[hist[:, j] >= 0, j], V)
                               for j in range(hist.shape[1])], axis=1)

    def step_contributions(self, params, config, tape: JordanTape, trace, t: int) -> dict:
        dA = trace.dAx[0][t]  # (B, H)
        return {WEIGHT: self.weight_gradient(dA, tape.hist[t], config.vocab_size), BIAS: dA.sum(axis=0)}

    def activations(self, tape: JordanTape) -> list:
        return [{"h": tape.h}]

    # -------------------------------------------------------------------- TEST TIME
    def page_step(self, config) -> str:
        """`step` in JavaScript (the model's page): the history, oldest first, -1 for none."""
        return """
function zeroState(cfg) { return new Array(cfg.context).fill(-1); }
function netStep(x, state, W, cfg) {
  const last = state.concat([x]).slice(-cfg.context), w = W["jordan.weight_yh"], V = cfg.vocab_size;
  const a = Float64Array.from(W["jordan.bias_h"].data);
  for (let j = 0; j < cfg.context; j++) {  // j = 0 is x, the character just read
    const c = last[last.length - 1 - j];
    if (c >= 0) addTo(a, column(w, j * V + c));
  }
  return {h: a.map(ACT[cfg.activation]), state: last};
}
"""

    def step(self, params, config, x, state: History):
        """The character just produced x (B,) joins the history of fed-back outputs."""
        act, _ = activations.get(config.activation)
        last = np.concatenate([state.ids, x[:, None]], axis=1)[:, -config.context :]  # (B, k), oldest first
        h = act(pre_activation(params, config.vocab_size, last[:, ::-1]))  # j = 0 is x
        return h, History(last.astype(np.intp))


NETWORK = OutputRecurrent()
