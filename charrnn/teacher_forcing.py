"""TRAIN TIME: teacher forcing and backpropagation through time (BPTT) over one window.

Teacher forcing: the input at step t is the *observed* character t of the text, never the
model's own guess, and the target is the observed character t+1:

    ids   (T+1, B)      a window of B parallel streams
    x_t = ids[t]        y_t = ids[t+1]                      t = 0 .. T-1
    h_t = cell(x_t, h_{t-1}; W, b)     the same W, b at every t
    o_t = softmax(W_dec h_t + b_dec)
    L   = mean over t and b of -log o_t[y_t]                nats per character

The initial state h_{-1} is given: carried over from the previous window of the same streams,
it lets the model use context longer than T while the gradient is cut at the window edge
(truncated BPTT).

Backward is BPTT, in three phases:
  1. dL/do_t for all T*B positions at once (softmax minus one-hot, / T*B), and the decoder's
     gradient as one matrix product over all positions;
  2. dL/dh_t from t = T-1 down to 0, one step at a time, because h_t's gradient needs
     h_{t+1}'s (that is the "through time"); each step records the gradient of its gate
     pre-activations dA_t (B, G*H);
  3. every shared weight's gradient as the sum over t of its per-step contributions, written
     as one product over all T*B rows:  dW_hh = sum_t dA_t^T h_{t-1} = dA(T*B, G*H)^T H_prev(T*B, H).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charrnn import jordan
from charrnn.model import ModelConfig, decode, input_projection, layer_names, log_softmax, zero_state


@dataclass
class LayerTape:
    """What layer k's backward pass needs from its forward pass."""

    x: np.ndarray  # (T, B) ids for layer 0, else (T, B, H): the layer below's output after dropout
    h: np.ndarray  # (T+1, B, H): h[0] is the initial state, h[t+1] the output at step t
    caches: list  # T per-step caches from cell.step_forward
    dropout_mask: np.ndarray | None  # (T, B, H) mask applied to this layer's output, or None


@dataclass
class Tape:
    ids: np.ndarray  # (T+1, B)
    layers: list[LayerTape]
    top: np.ndarray  # (T*B, H) the decoder's input: the top layer's output after dropout
    log_probs: np.ndarray  # (T*B, V) log o_t for every position
    nll: np.ndarray  # (T, B) -log o_t[y_t], nats


@dataclass
class StepResult:
    loss: float  # mean cross-entropy, nats/char
    grads: dict  # parameter name -> dL/dparam (same shape and dtype)
    dstate0: np.ndarray  # dL/d(initial state), (L, S, B, H)
    final_state: np.ndarray  # the state after the window, to carry into the next, (L, S, B, H)


@dataclass
class BackwardTrace:
    """Per-step quantities of the backward pass, kept only on request (gradients.py reads them).

    For layer k: dAx[t] = dL/d(ax_t), dAh[t] = dL/d(h_{t-1} W_hh^T + b_hh), both (T, B, G*H),
    and dh[t] = dL/dh_t, the full gradient arriving at h_t (from above and from t+1), (T, B, H);
    for an LSTM also dc[t], the gradient arriving at the cell state c_t along the cell path
    from t+1, (T, B, H) (None for other cells).
    """

    dAx: list = field(default_factory=list)
    dAh: list = field(default_factory=list)
    dh: list = field(default_factory=list)
    dc: list = field(default_factory=list)


def forward(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    state0: np.ndarray,
    dropout_rng: np.random.Generator | None = None,
    inputs: np.ndarray | None = None,
) -> tuple[float, np.ndarray, Tape]:
    """Run the window forward. Returns (mean loss in nats/char, final state, tape).

    ids (T+1, B) int; state0 (L, S, B, H). Dropout (inverted: kept units scaled by 1/(1-p))
    is applied to the output of every layer -- between stacked layers, as PyTorch's `dropout=`,
    and before the decoder, as char-rnn does -- only when a `dropout_rng` is given (training);
    without one the pass is deterministic (evaluation).

    `inputs` (T, B), when given, replaces the observed characters ids[:-1] as the first layer's
    input (scheduled sampling feeds some of the model's own samples); the targets stay the
    observed ids[1:], and the inputs are constants to the gradient.

    The jordan network has no hidden recurrence to unroll: jordan.forward computes its window
    as one feed-forward batch.
    """
    if config.cell == "jordan":
        return jordan.forward(params, config, ids, state0, dropout_rng, inputs)
    cell = config.make_cell()
    T = ids.shape[0] - 1
    dtype = params["decoder.weight"].dtype
    final_state = np.empty_like(state0)
    layers = []
    x = ids[:-1] if inputs is None else inputs  # (T, B) observed characters: teacher forcing
    for k in range(config.num_layers):
        _, W_hh, _, b_hh = (params[n] for n in layer_names(k))
        # the same values stored column-major: then W_hh.T is contiguous, and BLAS computes the
        # per-step h @ W_hh.T 20-50% faster than from the transpose of a row-major array
        W_hh = np.asfortranarray(W_hh)
        ax = input_projection(params, k, x)  # (T, B, G*H), all steps at once
        h = np.empty((T + 1,) + state0.shape[2:], dtype=dtype)  # (T+1, B, H)
        h[0] = state0[k, 0]
        state = tuple(state0[k, s] for s in range(config.state_size))
        caches = []
        for t in range(T):
            state, cache = cell.step_forward(ax[t], state, W_hh, b_hh, h_out=h[t + 1])
            caches.append(cache)
        final_state[k] = np.stack(state)
        out, mask = h[1:], None  # (T, B, H)
        if config.dropout > 0.0 and dropout_rng is not None:
            keep = 1.0 - config.dropout
            mask = (dropout_rng.random(out.shape, dtype=np.float32) < keep).astype(dtype)
            mask *= dtype.type(1.0 / keep)
            out = out * mask
        layers.append(LayerTape(x=x, h=h, caches=caches, dropout_mask=mask))
        x = out  # the next layer's input (or the decoder's)

    B = ids.shape[1]
    top = x.reshape(T * B, -1)  # (T*B, H)
    log_probs = log_softmax(decode(params, top))  # (T*B, V)
    y = ids[1:].reshape(-1)  # (T*B,) targets: the next observed character
    nll = -log_probs[np.arange(T * B), y].reshape(T, B)
    loss = float(nll.mean(dtype=np.float64))
    return loss, final_state, Tape(ids=ids, layers=layers, top=top, log_probs=log_probs, nll=nll)


def output_gradient(tape: Tape) -> np.ndarray:
    """dL/dlogits for L = mean cross-entropy: (softmax - onehot(y)) / (T*B), (T*B, V)."""
    TB = tape.log_probs.shape[0]
    dlogits = np.exp(tape.log_probs)
    dlogits[np.arange(TB), tape.ids[1:].reshape(-1)] -= 1.0
    dlogits *= 1.0 / TB
    return dlogits


def backward(
    params: dict,
    config: ModelConfig,
    tape: Tape,
    dlogits: np.ndarray | None = None,
    trace: BackwardTrace | None = None,
) -> tuple[dict, np.ndarray]:
    """BPTT. Returns (grads by parameter name, dL/d(initial state) (L, S, B, H)).

    `dlogits` defaults to the gradient of the mean cross-entropy; gradients.py passes others
    (for instance the gradient of the last step's loss alone) to watch gradient flow.
    """
    if dlogits is None:
        dlogits = output_gradient(tape)
    if config.cell == "jordan":  # ordinary backpropagation: nothing crosses a step
        return jordan.backward(params, config, tape, dlogits, trace)
    cell = config.make_cell()
    T, B = tape.ids.shape[0] - 1, tape.ids.shape[1]
    grads = {
        "decoder.weight": dlogits.T @ tape.top,  # (V, H): all positions in one product
        "decoder.bias": dlogits.sum(axis=0),  # (V,)
    }
    dH = (dlogits @ params["decoder.weight"]).reshape(T, B, -1)  # (T, B, H) dL/dh_t from o_t
    dstate0 = np.empty((config.num_layers, config.state_size, B, dH.shape[2]), dtype=dH.dtype)

    for k in reversed(range(config.num_layers)):
        lt = tape.layers[k]
        w_ih, w_hh, b_ih, b_hh = layer_names(k)
        W_hh = params[w_hh]
        GH = W_hh.shape[0]
        if lt.dropout_mask is not None:
            dH = dH * lt.dropout_mask  # through this layer's output dropout
        dAx = np.empty((T, B, GH), dtype=dH.dtype)
        # dAh differs from dAx only in a GRU; elsewhere one buffer serves as both
        dAh = np.empty((T, B, GH), dtype=dH.dtype) if cell.hidden_grad_differs else dAx
        dh_kept = np.empty_like(dH) if trace is not None else None
        dc_kept = np.empty_like(dH) if trace is not None and config.state_size == 2 else None
        # the gradient flowing back along the recurrence, starting at zero after the window
        dstate = tuple(np.zeros_like(dH[0]) for _ in range(config.state_size))
        for t in reversed(range(T)):
            dh_t = dH[t] + dstate[0]  # from the output at t, and from step t+1
            if dh_kept is not None:
                dh_kept[t] = dh_t
            if dc_kept is not None:
                dc_kept[t] = dstate[1]
            dstate, _, dah_t = cell.step_backward((dh_t,) + dstate[1:], lt.caches[t], W_hh, dax_out=dAx[t])
            if cell.hidden_grad_differs:
                dAh[t] = dah_t
        dstate0[k] = np.stack(dstate)

        # every step's contribution to the shared weights, summed as one product over T*B rows
        dAx2 = dAx.reshape(T * B, GH)
        dAh2 = dAh.reshape(T * B, GH)
        grads[w_hh] = dAh2.T @ lt.h[:-1].reshape(T * B, -1)  # sum_t dAh_t^T h_{t-1}
        grads[b_hh] = dAh2.sum(axis=0)
        grads[b_ih] = dAx2.sum(axis=0)
        if k == 0:
            grads[w_ih] = onehot_weight_gradient(dAx2, lt.x.reshape(-1), config.vocab_size)
        else:
            grads[w_ih] = dAx2.T @ lt.x.reshape(T * B, -1)  # sum_t dAx_t^T x_t
            dH = (dAx2 @ params[w_ih]).reshape(T, B, -1)  # dL/d(output of layer k-1, dropped)
        if trace is not None:
            trace.dAx.insert(0, dAx)
            trace.dAh.insert(0, dAh)
            trace.dh.insert(0, dh_kept)
            trace.dc.insert(0, dc_kept)
    return {name: grads[name] for name in params}, dstate0


def onehot_weight_gradient(dAx: np.ndarray, x: np.ndarray, V: int) -> np.ndarray:
    """dW_ih for one-hot inputs: sum_t dAx_t^T onehot(x_t), i.e. column v collects the rows
    of dAx whose input character is v. (N, G*H), (N,) -> (G*H, V).

    For a small vocabulary the one-hot product is a cheap BLAS call (N*V*G*H multiply-adds);
    for a large one, the rows are sorted by character and summed per character instead, which
    costs N*G*H whatever V is. (np.add.at does the same sum, but an order of magnitude slower.)"""
    if V <= 256:
        onehot = np.zeros((x.size, V), dtype=dAx.dtype)  # (N, V): one window, not the corpus
        onehot[np.arange(x.size), x] = 1.0
        return dAx.T @ onehot
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    dW = np.zeros((dAx.shape[1], V), dtype=dAx.dtype)  # (G*H, V)
    dW[:, xs[starts]] = np.add.reduceat(dAx[order], starts, axis=0).T
    return dW


def loss_and_grads(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    state0: np.ndarray,
    dropout_rng: np.random.Generator | None = None,
    inputs: np.ndarray | None = None,
) -> StepResult:
    """One training step's worth of math: forward, then BPTT backward."""
    loss, final_state, tape = forward(params, config, ids, state0, dropout_rng, inputs)
    grads, dstate0 = backward(params, config, tape)
    return StepResult(loss=loss, grads=grads, dstate0=dstate0, final_state=final_state)


def evaluate_stream(
    params: dict, config: ModelConfig, ids: np.ndarray, seq_len: int = 256, streams: int = 1
) -> tuple[float, int]:
    """Mean cross-entropy (nats/char) of a text read as ONE stream: state carried from its
    first character to its last, every character after the first predicted once, no dropout.

    streams = S > 1 cuts the text into S contiguous pieces read side by side, a batch of S,
    each from a zero state: S times fewer sequential steps for S - 1 more cold starts (the
    first characters of a piece are predicted with little context). Training uses it to
    monitor validation cheaply; `charrnn eval` reads one stream.

    Returns (mean loss, number of characters predicted)."""
    n = len(ids) - 1  # characters predicted
    if n < 1:
        return float("nan"), 0
    S = min(streams, n)
    L = -(-n // S)  # predictions per piece; the last piece is padded and its padding not counted
    padded = np.zeros(S * L + 1, dtype=np.intp)
    padded[: len(ids)] = ids
    grid = np.stack([padded[b * L : b * L + L + 1] for b in range(S)], axis=1)  # (L+1, S)
    counted = np.arange(S * L).reshape(S, L).T < n  # (L, S): prediction b*L + t is of a real character
    state = zero_state(config, S, params["decoder.weight"].dtype)
    total = 0.0
    for start in range(0, L, seq_len):
        _, state, tape = forward(params, config, grid[start : start + seq_len + 1], state)  # tape.nll (T', S)
        total += float(tape.nll[counted[start : start + seq_len]].sum(dtype=np.float64))
    return total / n, n
