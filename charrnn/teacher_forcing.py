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

The network runs the window (phases 2 and 3): for stacked cells the loop over t is
`networks/stacked.py`'s `window_forward` / `window_backward`, beside the test-time `step`; the
jordan network has no loop at all (networks/jordan.py). This module is what every network
shares: the observed inputs, the decoder, the loss, and its gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.corpus.streams import side_by_side
from charrnn.ground.ops import decode, log_softmax
from charrnn.model import ModelConfig, dtype_of, zero_state
from charrnn.networks.base import BackwardTrace


@dataclass
class Tape:
    ids: np.ndarray  # (T+1, B)
    net: object  # the network's own tape (its backward pass reads it)
    top: np.ndarray  # (T*B, H) the decoder's input: the top layer's output after dropout
    log_probs: np.ndarray  # (T*B, V) log o_t for every position
    nll: np.ndarray  # (T, B) -log o_t[y_t], nats


@dataclass
class StepResult:
    loss: float  # mean cross-entropy, nats/char
    grads: dict  # parameter name -> dL/dparam (same shape and dtype)
    dstate0: np.ndarray | None  # dL/d(initial state), (L, S, B, H); None where the state is text
    final_state: object  # the state after the window, to carry into the next


def forward(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    state0,
    dropout_rng: np.random.Generator | None = None,
    inputs: np.ndarray | None = None,
) -> tuple[float, object, Tape]:
    """Run the window forward. Returns (mean loss in nats/char, final state, tape).

    ids (T+1, B) int; state0 the carried state (model.zero_state's form). Dropout (inverted:
    kept units scaled by 1/(1-p)) is applied to the output of every layer -- between stacked
    layers, as PyTorch's `dropout=`, and before the decoder, as char-rnn does -- only when a
    `dropout_rng` is given (training); without one the pass is deterministic (evaluation).

    `inputs` (T, B), when given, replaces the observed characters ids[:-1] as the first layer's
    input (scheduled sampling feeds some of the model's own samples); the targets stay the
    observed ids[1:], and the inputs are constants to the gradient.
    """
    x = ids[:-1] if inputs is None else inputs  # (T, B) observed characters: teacher forcing
    T, B = x.shape
    top, final_state, net_tape = config.network.window_forward(params, config, x, state0, dropout_rng,
                                                               item_starts(config, x))  # (T*B, H)
    log_probs = log_softmax(decode(params, top))  # (T*B, V)
    y = ids[1:].reshape(-1)  # (T*B,) targets: the next observed character
    nll = -log_probs[np.arange(T * B), y].reshape(T, B)
    loss = float(nll.mean(dtype=np.float64))
    return loss, final_state, Tape(ids=ids, net=net_tape, top=top, log_probs=log_probs, nll=nll)


def item_breaks(config: ModelConfig, ids: np.ndarray) -> np.ndarray | None:
    """For a list model, where a piece of the text may start: at its items' line breaks."""
    return None if config.item_start is None else np.flatnonzero(ids == config.item_start)


def item_starts(config: ModelConfig, x: np.ndarray) -> np.ndarray | None:
    """For a list model, where the input is the line break that starts an item (T, B): there the
    state starts afresh, so no item sees another. None for a model of a running text."""
    return None if config.item_start is None else x == config.item_start


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
) -> tuple[dict, np.ndarray | None]:
    """BPTT. Returns (grads by parameter name, dL/d(initial state), None where the state is text).

    `dlogits` defaults to the gradient of the mean cross-entropy; gradients.py passes others
    (for instance the gradient of the last step's loss alone) to watch gradient flow.
    """
    if dlogits is None:
        dlogits = output_gradient(tape)
    grads = {
        "decoder.weight": dlogits.T @ tape.top,  # (V, H): all positions in one product
        "decoder.bias": dlogits.sum(axis=0),  # (V,)
    }
    dtop = dlogits @ params["decoder.weight"]  # (T*B, H) dL/d(decoder input)
    net_grads, dstate0 = config.network.window_backward(params, config, tape.net, dtop, trace)
    grads.update(net_grads)
    return {name: grads[name] for name in params}, dstate0


def loss_and_grads(
    params: dict,
    config: ModelConfig,
    ids: np.ndarray,
    state0,
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

    streams = B > 1 cuts the text into B contiguous pieces read side by side, a batch of B,
    each from a zero state: B times fewer sequential steps for B - 1 more cold starts (the
    first characters of a piece are predicted with little context). Training uses it to
    monitor validation cheaply; `charrnn eval` reads one stream.

    Returns (mean loss, number of characters predicted)."""
    n = len(ids) - 1  # characters predicted
    if n < 1:
        return float("nan"), 0
    grid, position = side_by_side(ids, min(streams, n), item_breaks(config, ids))  # (N+1, B), (N, B)
    counted = position < n  # the padding is not counted
    state = zero_state(config, grid.shape[1], dtype_of(params))
    total = 0.0
    for start in range(0, len(position), seq_len):
        _, state, tape = forward(params, config, grid[start : start + seq_len + 1], state)  # tape.nll (T', B)
        total += float(tape.nll[counted[start : start + seq_len]].sum(dtype=np.float64))
    return total / n, n


def loss_by_position(params: dict, config: ModelConfig, ids: np.ndarray, span: int, streams: int = 64,
                     seq_len: int = 256) -> np.ndarray:
    """-log o_t[y_t] at each position t = 1 .. span of up to `streams` non-overlapping pieces of
    the text, each read as one stream from a zero state: (span, B). Beyond the training window T
    the state is carried as it is within it, so a model that generalises past T keeps its loss."""
    B = min(streams, (len(ids) - 1) // span)
    if B < 1:
        raise ValueError(f"the text has {len(ids)} characters; reading positions 1..{span} needs at least {span + 1}")
    starts = np.linspace(0, len(ids) - 1 - span, B).round().astype(int)
    grid = np.stack([ids[s : s + span + 1] for s in starts], axis=1)  # (span+1, B)
    state = zero_state(config, B, dtype_of(params))
    out = []
    for start in range(0, span, seq_len):
        _, state, tape = forward(params, config, grid[start : start + seq_len + 1], state)
        out.append(tape.nll)
    return np.concatenate(out).astype(np.float64)
