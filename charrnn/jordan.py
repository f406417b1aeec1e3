"""The network whose only recurrence runs from the output to the hidden units (`--cell jordan`;
Goodfellow et al., *Deep Learning*, §10.2.1, figure 10.4). There is no hidden-to-hidden weight:

    a_t = b_h + W_yh [onehot(y_{t-1}); onehot(y_{t-2}); ...; onehot(y_{t-k})]       (B, H)
    h_t = act(a_t)
    o_t = softmax(W_dec h_t + b_dec)                                                  (B, V)

y_{t-1} .. y_{t-k} are the last k outputs (`--context k`, default 1: the document's case).

TRAIN TIME (teacher forcing): each previous output is replaced by the observed character, so
every step depends only on the text, never on another step's hidden units. The window is not
unrolled at all: `forward` computes all T*B positions as one feed-forward batch and `backward`
is ordinary backpropagation -- no loop over time, and nothing crosses a step (the gradient-flow
section of `inspect-gradients` shows it). TEST TIME (`step`): the model's own sampled outputs
are fed back, one step at a time: the temporal connection exists only at test time.

In a character model the previous output y_{t-1} is the character the step reads, so the
k = 1 network predicts from one character (a bigram model); with k it reads k characters back,
a fixed window, where an RNN's state can reach back without bound.

Tensors (no PyTorch counterpart):
    jordan.weight_yh   (H, k*V)   block j (columns j*V .. (j+1)*V - 1) reads y_{t-1-j}
    jordan.bias_h      (H,)
    decoder.weight     (V, H),  decoder.bias (V,)   as for every model
The carried state is the history itself: the last k characters read, (1, 1, B, k), each stored
as its id + 1, with 0 for "before the text" (so a zero state is an empty history).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn import activations
from charrnn.model import ModelConfig, decode, log_softmax

WEIGHT, BIAS = "jordan.weight_yh", "jordan.bias_h"


def histories(x: np.ndarray, carried: np.ndarray, k: int) -> np.ndarray:
    """For inputs x (T, B) after the carried last k characters (k, B) (oldest first, -1 = none):
    (T, B, k) where [t, b, j] is the character j steps before y_t's successor, i.e. y_{t-1-j}
    (j = 0: x_t itself)."""
    full = np.concatenate([carried, x], axis=0)  # (k + T, B)
    T = x.shape[0]
    return np.stack([full[k - j : k - j + T] for j in range(k)], axis=2)


def pre_activation(params: dict, config: ModelConfig, hist: np.ndarray) -> np.ndarray:
    """a = b_h + sum_j W_yh[:, block j] onehot(hist[..., j]) for any leading shape of hist (..., k):
    a gather of one column per block (no one-hot is built); absent characters (-1) add nothing."""
    V, W = config.vocab_size, params[WEIGHT]  # (H, k*V)
    Wt = np.ascontiguousarray(W.T)  # (k*V, H): rows to gather
    a = np.broadcast_to(params[BIAS], hist.shape[:-1] + (W.shape[0],)).copy()
    for j in range(hist.shape[-1]):
        col = hist[..., j]
        rows = np.take(Wt, np.maximum(col, 0) + j * V, axis=0)  # (..., H)
        a += np.where((col >= 0)[..., None], rows, 0.0).astype(a.dtype)
    return a


def decode_state(state: np.ndarray) -> np.ndarray:
    """(1, 1, B, k) stored ids + 1 -> (k, B) ids, -1 for none."""
    return np.rint(state[0, 0].T).astype(np.intp) - 1


def encode_state(last: np.ndarray, dtype) -> np.ndarray:
    """(k, B) ids (-1 for none) -> (1, 1, B, k) stored ids + 1."""
    return (last.T + 1).astype(dtype)[None, None]


@dataclass
class Tape:
    ids: np.ndarray  # (T+1, B)
    hist: np.ndarray  # (T, B, k)
    h: np.ndarray  # (T, B, H) hidden units
    dropout_mask: np.ndarray | None  # (T, B, H)
    top: np.ndarray  # (T*B, H) the decoder's input
    log_probs: np.ndarray  # (T*B, V)
    nll: np.ndarray  # (T, B)


def forward(params: dict, config: ModelConfig, ids: np.ndarray, state0: np.ndarray,
            dropout_rng: np.random.Generator | None = None, inputs: np.ndarray | None = None):
    """Teacher forcing over a window ids (T+1, B): every position at once. Same contract as
    teacher_forcing.forward: (mean loss, final state, tape)."""
    k, dtype = config.context, params["decoder.weight"].dtype
    act, _ = activations.get(config.activation, activations.STATE_ACTIVATIONS)
    x = ids[:-1] if inputs is None else inputs  # (T, B) the observed previous outputs
    T, B = x.shape
    hist = histories(x, decode_state(state0), k)  # (T, B, k)
    h = act(pre_activation(params, config, hist))  # (T, B, H): no step reads another's h
    out, mask = h, None
    if config.dropout > 0.0 and dropout_rng is not None:
        keep = 1.0 - config.dropout
        mask = (dropout_rng.random(h.shape, dtype=np.float32) < keep).astype(dtype) * dtype.type(1.0 / keep)
        out = h * mask
    top = out.reshape(T * B, -1)
    log_probs = log_softmax(decode(params, top))  # (T*B, V)
    nll = -log_probs[np.arange(T * B), ids[1:].reshape(-1)].reshape(T, B)
    final = encode_state(np.concatenate([decode_state(state0), x], axis=0)[-k:], state0.dtype)
    tape = Tape(ids=ids, hist=hist, h=h, dropout_mask=mask, top=top, log_probs=log_probs, nll=nll)
    return float(nll.mean(dtype=np.float64)), final, tape


def backward(params: dict, config: ModelConfig, tape: Tape, dlogits: np.ndarray, trace=None):
    """Ordinary backpropagation, all positions at once. The history is text, not a function of
    the weights, so no gradient reaches the carried state (returned as zeros)."""
    from charrnn.teacher_forcing import onehot_weight_gradient

    _, dact = activations.get(config.activation, activations.STATE_ACTIVATIONS)
    T, B, k = tape.hist.shape
    V = config.vocab_size
    dH = (dlogits @ params["decoder.weight"]).reshape(T, B, -1)  # (T, B, H) only from o_t
    if tape.dropout_mask is not None:
        dH = dH * tape.dropout_mask
    dA = (dH * dact(tape.h)).reshape(T * B, -1)  # (T*B, H)
    hist = tape.hist.reshape(T * B, k)
    dW = np.zeros(params[WEIGHT].shape, dtype=dA.dtype)  # (H, k*V)
    for j in range(k):
        present = hist[:, j] >= 0
        dW[:, j * V : (j + 1) * V] = onehot_weight_gradient(dA[present], hist[present, j], V)
    grads = {WEIGHT: dW, BIAS: dA.sum(axis=0), "decoder.weight": dlogits.T @ tape.top,
             "decoder.bias": dlogits.sum(axis=0)}
    if trace is not None:  # what reaches h_t: its own output's gradient, nothing from t+1
        trace.dAx.insert(0, dA.reshape(T, B, -1))
        trace.dAh.insert(0, dA.reshape(T, B, -1))
        trace.dh.insert(0, dH)
        trace.dc.insert(0, None)
    return grads, np.zeros((1, 1, B, k), dtype=dA.dtype)


def step(params: dict, config: ModelConfig, x: np.ndarray, state: list) -> tuple[np.ndarray, list]:
    """TEST TIME, one step for B streams: the character just produced x (B,) joins the history of
    fed-back outputs; returns the logits (B, V) and the new state [(history,)] as sampling.step."""
    k = config.context
    act, _ = activations.get(config.activation, activations.STATE_ACTIVATIONS)
    (stored,) = state[0]  # (B, k) ids + 1
    last = np.concatenate([np.rint(stored.T).astype(np.intp) - 1, x[None, :]], axis=0)[-k:]  # (k, B)
    hist = last[::-1].T  # (B, k): j = 0 is x
    h = act(pre_activation(params, config, hist))
    return decode(params, h), [((last.T + 1).astype(stored.dtype),)]
