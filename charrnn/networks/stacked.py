"""Networks of stacked recurrent cells (rnn, gru, lstm, mlstm): both unrolls of the stack over
a cell's one step, written once for every cell.

    x_t   = onehot(char_t)                          (B, V)
    h^0_t = cell_0(x_t, h^0_{t-1})                  layer 0 reads characters
    h^k_t = cell_k(dropout(h^{k-1}_t), h^k_{t-1})   layer k reads the layer below
    decoder input = dropout(h^{L-1}_t)              (teacher_forcing.py / sampling.py decode it)

TRAIN TIME (`window_forward`, `window_backward`): the window's inputs are all known (the
observed text), so each layer's input projection ax = x W_ih^T + b_ih is computed for all T
steps at once -- a gather for layer 0 -- and only the cell's step runs in a loop over t. The
backward loop runs t = T-1 down to 0 (that is BPTT: dL/dh_t needs dL/dh_{t+1}), recording each
step's gradients; then every shared weight's gradient is one matrix product over all T*B rows:

    dW_hh = sum_t dA_t^T h_{t-1} = dA(T*B, G*H)^T H_prev(T*B, H)

TEST TIME (`step`): one step of the whole stack for B streams, from the character just chosen.

Dropout (training only) acts on every layer's output, as in char-rnn: between stacked layers,
where PyTorch's `nn.LSTM(dropout=p)` puts it, and also before the decoder, so that it
regularises a one-layer model too. DropConnect (--weight-drop, training only; AWD-LSTM's weight
drop) masks the recurrent weights instead, once per window: every step of the window reads
h_{t-1} through the same thinned W = W_hh * M / (1 - p), and dL/dW_hh = (dL/dW) * M / (1 - p).
Input dropout (--input-dropout, training only) drops whole input characters: where it fires, layer
0 reads no character at that step (ax_t = b_ih for that stream), elsewhere the column it reads is
scaled by 1 / (1 - p).

A cell (rnn.py, gru.py, lstm.py, mlstm.py) provides:

    gates                G: its input projection ax_t has G*H columns (weight_ih (G*H, D))
    state_parts          ("h",) or ("h", "c")
    activation_choices   the functions its state (or candidate) may go through
    products             the matrix products inside its step that read the past, each
                         out_t = in_t W^T (+ b): the step's recurrent weights
    step_forward(ax_t, state_prev, W, h_out=None) -> (state_t, cache_t)
    step_backward(dstate_t, cache_t, W, dax_out, dout) -> dstate_prev
                         writes dL/d(ax_t) into dax_out (B, G*H) and dL/d(out_t) of each product
                         into dout[j] (None for a product that adds to ax: its gradient is dax's)
    read(cache_t, name)  a product's input other than h_{t-1}
    values(cache_t)      symbol -> (B, H): its gates and inner states at that step
    blocks(config)       its Blocks (`block` below), tensors named by suffix ("weight_hh")

W is a dict from each product's tensor suffix ("weight_hh", "bias_hh") to the layer's tensor.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from charrnn.ground.ops import dropout_mask, gather_columns, onehot_weight_gradient
from charrnn.networks.base import Block, Network, Rows
from charrnn.networks.policy import Policy


@dataclass(frozen=True)
class Product:
    """One matrix product inside a cell's step that reads the past: out_t = in_t W^T (+ b),
    W (rows*H, H). Its weight's gradient is sum_t dout_t^T in_t, one product over T*B rows."""

    weight: str  # tensor suffix, e.g. "weight_hh"
    bias: str | None  # e.g. "bias_hh", or None
    rows: int  # W has rows*H rows
    reads: str = "h"  # "h": h_{t-1}; otherwise the name of a value the cell keeps (cell.read)
    # out_t is added to the first rows*H columns of ax_t (a = ax_t + out_t), so dL/d(out_t) is
    # those columns of dL/d(ax_t): the backward pass gives it no buffer of its own
    adds_to_ax: bool = False


def block(j: int, H: int, symbol: str, role: str, nonlinearity: str, reads: Product | None = None,
          part: int | None = None, gate: bool = False) -> Block:
    """Block j of a cell's input projection: rows j*H .. (j+1)*H of weight_ih and bias_ih; where
    it reads the past through the product `reads`, the product's H-row block `part` of its
    weight and bias (part None: all the product's rows, and its bias, if any, is not the block's)."""
    recurrent_weight = recurrent_bias = None
    if reads is not None:
        lo, hi = (0, reads.rows * H) if part is None else (part * H, (part + 1) * H)
        recurrent_weight = Rows(reads.weight, lo, hi)
        recurrent_bias = Rows(reads.bias, lo, hi) if reads.bias and part is not None else None
    return Block(symbol, role, nonlinearity, Rows("weight_ih", j * H, (j + 1) * H),
                 Rows("bias_ih", j * H, (j + 1) * H), recurrent_weight, recurrent_bias, gate)


@dataclass
class LayerTape:
    """What layer k's backward pass needs from its forward pass."""

    x: np.ndarray  # (T, B) ids for layer 0, else (T, B, H): the layer below's output after dropout
    h: np.ndarray  # (T+1, B, H): h[0] is the initial state, h[t+1] the output at step t
    caches: list  # T per-step caches from cell.step_forward
    dropout_mask: np.ndarray | None  # (T, B, H), or (1, B, H) per window: this layer's output's, or None
    keep: np.ndarray | None = None  # (T, B, 1): 0 where a stream starts afresh at step t, else 1
    input_keep: np.ndarray | None = None  # (T, B, 1): layer 0's input dropout, where it is on
    W: dict | None = None  # the recurrent tensors as the forward read them, where DropConnect thinned them
    connect: dict | None = None  # suffix -> DropConnect's mask of that weight (its shape), else None

    def h_prev(self) -> np.ndarray:
        """h_{t-1} as step t read it, (T, B, H): zero where the stream started afresh."""
        return self.h[:-1] if self.keep is None else self.h[:-1] * self.keep


@dataclass
class StackedTape:
    layers: list  # one LayerTape per layer


class StackedCells(Network):
    """A network of L stacked layers of one cell class. Tensors of layer k are named
    f"{prefix}.weight_ih_l{k}", f"{prefix}.bias_ih_l{k}" and, per product, f"{prefix}.{suffix}_l{k}":
    prefix "rnn" where torch.nn loads them (PyTorch's module attribute), the network's own
    name where it cannot. The carried state is one float array (L, S, B, H), PyTorch's layout:
    h_0 = state[:, 0], an LSTM's c_0 = state[:, 1]."""

    def __init__(self, *, name: str, cell, prefix: str, policy: Policy, torch=None, label=None):
        self.name, self.cell_class, self.prefix, self.policy = name, cell, prefix, policy
        self.state_parts = cell.state_parts
        self.activation_choices = cell.activation_choices
        self._torch, self._label = torch, label

    # ------------------------------------------------------------------ declaration
    def cell(self, config):
        return make_cell(self.cell_class, config.activation, config.gate_activation)

    def check(self, config) -> None:
        self.cell(config)  # its activations

    def tensor(self, suffix: str, k: int) -> str:
        return f"{self.prefix}.{suffix}_l{k}"

    def param_shapes(self, config) -> dict:
        """Per layer, in PyTorch's order: weight_ih (G*H, D), the products' weights, bias_ih
        (G*H,), the products' biases. D = V for layer 0, H above."""
        V, H, G = config.vocab_size, config.hidden_size, self.cell_class.gates
        shapes = {}
        for k in range(config.num_layers):
            D = V if k == 0 else H
            shapes[self.tensor("weight_ih", k)] = (G * H, D)
            for p in self.cell_class.products:
                shapes[self.tensor(p.weight, k)] = (p.rows * H, H)
            shapes[self.tensor("bias_ih", k)] = (G * H,)
            for p in self.cell_class.products:
                if p.bias:
                    shapes[self.tensor(p.bias, k)] = (p.rows * H,)
        return shapes

    def torch_module(self, config):
        return self._torch(config) if self._torch else super().torch_module(config)

    def label(self, config) -> str:
        return self._label(config) if self._label else super().label(config)

    def blocks(self, config) -> list:
        """The cell's blocks in every layer, with the layer's tensor names."""
        def named(rows: Rows | None, k: int) -> Rows | None:
            return None if rows is None else rows._replace(name=self.tensor(rows.name, k))

        sides = ("input_weight", "input_bias", "recurrent_weight", "recurrent_bias")
        return [(k, dataclasses.replace(b, **{side: named(getattr(b, side), k) for side in sides}))
                for k in range(config.num_layers) for b in self.cell_class.blocks(config)]

    def vocab_axes(self, config) -> dict:
        """Layer 0's input weight (G*H, V): one column a character."""
        return {self.tensor("weight_ih", 0): (1, 1)}

    def recurrent_weights(self, config) -> list:
        """The weights that read h_{t-1}."""
        return [self.tensor(p.weight, k) for k in range(config.num_layers) for p in self.cell_class.products
                if p.reads == "h"]

    # ------------------------------------------------------------------------ state
    def zero_state(self, config, batch_size: int, dtype=np.float32):
        """(L, S, B, H) zeros."""
        return np.zeros((config.num_layers, len(self.state_parts), batch_size, config.hidden_size), dtype=dtype)

    def reset_streams(self, state, streams: np.ndarray) -> None:
        state[:, :, streams] = 0.0

    def cast_state(self, state, dtype):
        return np.array(state, dtype=dtype)

    def state_batch(self, state) -> int:
        return state.shape[2]

    def state_tensor(self, state) -> np.ndarray:
        return state

    def state_from_tensor(self, config, tensor: np.ndarray):
        L, S, H = config.num_layers, len(self.state_parts), config.hidden_size
        if tensor.ndim != 4 or tensor.shape[:2] != (L, S) or tensor.shape[3] != H:
            raise ValueError(f"has shape {tensor.shape}, which does not fit the config (L, {S}, B, H)")
        if tensor.dtype.kind != "f" or not np.isfinite(tensor).all():
            raise ValueError("must hold finite floats")
        return tensor

    # ---------------------------------------------------------------- shared pieces
    def recurrent(self, params: dict, k: int) -> dict:
        """Layer k's recurrent tensors by suffix, as stored: row-major, which both the forward's
        ops.times and the backward's d_t @ W read fastest."""
        W = {}
        for p in self.cell_class.products:
            W[p.weight] = params[self.tensor(p.weight, k)]
            if p.bias:
                W[p.bias] = params[self.tensor(p.bias, k)]
        return W

    def input_projection(self, params: dict, k: int, x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """ax = x W_ih^T + b_ih for layer k, for any leading shape of x: a gather for layer 0
        (x holds ids; onehot(x) W_ih^T is column x of W_ih), one product over all rows above;
        `keep` (..., 1) scales what the input adds (input dropout), not the bias."""
        W_ih, b_ih = params[self.tensor("weight_ih", k)], params[self.tensor("bias_ih", k)]  # (G*H, D), (G*H,)
        ax = gather_columns(W_ih, x) if k == 0 else x @ W_ih.T  # (..., G*H)
        if keep is not None:
            ax *= keep
        ax += b_ih
        return ax

    # ------------------------------------------------------------------- TRAIN TIME
    def window_forward(self, params, config, x, state0, dropout_rng=None, resets=None):
        """x (T, B) ids, state0 (L, S, B, H) -> (top (T*B, H), final state (L, S, B, H), tape);
        where resets[t, b], stream b's state is zeroed before step t (in every layer)."""
        cell = self.cell(config)
        T, B = x.shape
        S = len(self.state_parts)
        keep = None if resets is None or not resets.any() else (~resets)[..., None].astype(state0.dtype)  # (T, B, 1)
        final_state = np.empty_like(state0)
        layers = []
        input_keep = dropout_mask(x.shape + (1,), config.input_dropout, dropout_rng, state0.dtype)  # (T, B, 1)
        for k in range(config.num_layers):
            W, connect = self.thinned(self.recurrent(params, k), config, dropout_rng)
            ax = self.input_projection(params, k, x, input_keep if k == 0 else None)  # (T, B, G*H), all steps at once
            h = np.empty((T + 1,) + state0.shape[2:], dtype=state0.dtype)  # (T+1, B, H)
            h[0] = state0[k, 0]
            state = tuple(state0[k, s] for s in range(S))
            caches = []
            for t in range(T):
                if keep is not None and resets[t].any():
                    state = tuple(s * keep[t] for s in state)  # an item starts: from the zero state
                state, cache = cell.step_forward(ax[t], state, W, h_out=h[t + 1])
                caches.append(cache)
            final_state[k] = np.stack(state)
            out = h[1:]  # (T, B, H)
            mask = dropout_mask(out.shape, config.dropout, dropout_rng, out.dtype, config.dropout_mask)
            if mask is not None:
                out = out * mask
            layers.append(LayerTape(x=x, h=h, caches=caches, dropout_mask=mask, keep=keep,
                                    input_keep=input_keep if k == 0 else None, W=W if connect else None, connect=connect))
            x = out  # the next layer's input (or the decoder's)
        return x.reshape(T * B, -1), final_state, StackedTape(layers)

    def window_backward(self, params, config, tape, dtop, trace=None):
        """BPTT through the stack, from dL/d(top) (T*B, H), mirroring window_forward: layers top
        down, and in each the steps t = T-1 down to 0. Returns (grads, dL/d(state0))."""
        cell = self.cell(config)
        T, B = tape.layers[0].h.shape[0] - 1, tape.layers[0].h.shape[1]
        dH = dtop.reshape(T, B, -1)  # (T, B, H)
        dstate0 = np.empty((config.num_layers, len(self.state_parts), B, dH.shape[2]), dtype=dH.dtype)
        grads = {}
        for k in reversed(range(config.num_layers)):
            lt = tape.layers[k]
            W = lt.W if lt.W is not None else self.recurrent(params, k)
            if lt.dropout_mask is not None:
                dH = dH * lt.dropout_mask  # through this layer's output dropout
            dAx, dout = self.gradient_buffers(params, k, dH)
            arriving = [None] * T if trace is not None else None  # what reaches each step from t+1
            # the gradient flowing back along the recurrence, starting at zero after the window
            dstate = tuple(np.zeros_like(dH[0]) for _ in self.state_parts)
            for t in reversed(range(T)):
                if arriving is not None:
                    arriving[t] = dstate
                dstate = cell.step_backward((dH[t] + dstate[0],) + dstate[1:], lt.caches[t], W, dAx[t],
                                            tuple(None if d is None else d[t] for d in dout))
                if lt.keep is not None and not lt.keep[t].all():
                    dstate = tuple(d * lt.keep[t] for d in dstate)  # nothing crosses an item's start
            dstate0[k] = np.stack(dstate)
            dout = tuple(dAx[..., : p.rows * dH.shape[2]] if d is None else d
                         for p, d in zip(self.cell_class.products, dout))
            grads.update(self.weight_gradients(cell, k, lt, dAx, dout, config.vocab_size))
            for suffix, mask in (lt.connect or {}).items():
                grads[self.tensor(suffix, k)] *= mask  # through W * M / (1 - p)
            if trace is not None:
                self.record(trace, dAx, dout, dH, arriving)
            if k > 0:  # on to layer k-1's (dropped) output
                dH = (dAx.reshape(T * B, -1) @ params[self.tensor("weight_ih", k)]).reshape(T, B, -1)
        return grads, dstate0

    def thinned(self, W: dict, config, dropout_rng) -> tuple[dict, dict | None]:
        """DropConnect (--weight-drop): the weights that read h_{t-1}, each times a mask drawn
        once for the window, and the masks by suffix; (W, None) without it (or at evaluation)."""
        masks = {p.weight: dropout_mask(W[p.weight].shape, config.weight_drop, dropout_rng, W[p.weight].dtype)
                 for p in self.cell_class.products if p.reads == "h"}
        if any(m is None for m in masks.values()):
            return W, None
        return {**W, **{suffix: W[suffix] * m for suffix, m in masks.items()}}, masks

    def gradient_buffers(self, params: dict, k: int, dH: np.ndarray) -> tuple:
        """dAx (T, B, G*H), and per product a (T, B, rows*H) buffer for dL/d(out_t), or None for
        a product that adds to ax (Product.adds_to_ax: its gradient is dAx's first columns)."""
        T, B, H = dH.shape
        dAx = np.empty((T, B, params[self.tensor("bias_ih", k)].shape[0]), dtype=dH.dtype)
        return dAx, tuple(None if p.adds_to_ax else np.empty((T, B, p.rows * H), dtype=dH.dtype)
                          for p in self.cell_class.products)

    def weight_gradients(self, cell, k: int, lt: LayerTape, dAx: np.ndarray, dout: tuple, V: int) -> dict:
        """Every step's contribution to layer k's shared weights, summed as one product over T*B
        rows: dW = sum_t d_t^T in_t = d(T*B, n)^T in(T*B, m)."""
        T, B = dAx.shape[:2]
        grads = {}
        for p, d in zip(self.cell_class.products, dout):
            d2 = d.reshape(T * B, -1)
            grads[self.tensor(p.weight, k)] = d2.T @ self.product_input(cell, p, lt).reshape(T * B, -1)
            if p.bias:
                grads[self.tensor(p.bias, k)] = d2.sum(axis=0)
        dAx2 = dAx.reshape(T * B, -1)
        grads[self.tensor("bias_ih", k)] = dAx2.sum(axis=0)
        if k == 0:  # one-hot inputs: column v collects the rows of the steps that read character v
            read = dAx2 if lt.input_keep is None else dAx2 * lt.input_keep.reshape(-1, 1)  # a dropped input adds nothing
            grads[self.tensor("weight_ih", k)] = onehot_weight_gradient(read, lt.x.reshape(-1), V)
        else:
            grads[self.tensor("weight_ih", k)] = dAx2.T @ lt.x.reshape(T * B, -1)  # sum_t dAx_t^T x_t
        return grads

    def record(self, trace, dAx, dout, dH, arriving) -> None:
        """The trace beside the backward pass (reports/gradients.py): for this layer, inserted
        before the layers above it."""
        parts = self.state_parts
        trace.dAx.insert(0, dAx)
        trace.dout.insert(0, dout)
        trace.dh.insert(0, dH + np.stack([a[0] for a in arriving]))
        trace.dstate.insert(0, {parts[s]: np.stack([a[s] for a in arriving]) for s in range(1, len(parts))})

    @staticmethod
    def product_input(cell, p: Product, lt: LayerTape) -> np.ndarray:
        """in_t of product p for every step, (T, B, H): h_{t-1}, or what the cell kept."""
        return lt.h_prev() if p.reads == "h" else np.stack([cell.read(c, p.reads) for c in lt.caches])

    def step_contributions(self, params, config, tape, trace, t):
        cell = self.cell(config)
        part = {}
        for k, lt in enumerate(tape.layers):
            dAx = trace.dAx[k][t]  # (B, G*H)
            if k == 0:
                part[self.tensor("weight_ih", k)] = onehot_weight_gradient(dAx, lt.x[t], config.vocab_size)
            else:
                part[self.tensor("weight_ih", k)] = dAx.T @ lt.x[t]
            part[self.tensor("bias_ih", k)] = dAx.sum(axis=0)
            for p, d in zip(self.cell_class.products, trace.dout[k]):
                if p.reads == "h":  # h[t] is h_{t-1}, zero where the stream started afresh
                    inp = lt.h[t] if lt.keep is None else lt.h[t] * lt.keep[t]
                else:
                    inp = cell.read(lt.caches[t], p.reads)
                part[self.tensor(p.weight, k)] = d[t].T @ inp
                if p.bias:
                    part[self.tensor(p.bias, k)] = d[t].sum(axis=0)
        return part

    def activations(self, tape) -> list:
        if not tape.layers[0].caches:
            return [{"h": lt.h[1:]} for lt in tape.layers]
        out = []
        for lt in tape.layers:
            steps = [self.cell_class.values(c) for c in lt.caches]
            out.append({"h": lt.h[1:], **{s: np.stack([v[s] for v in steps]) for s in steps[0]}})
        return out

    # -------------------------------------------------------------------- TEST TIME
    def page_step(self, config) -> str | None:
        """The stack's step in JavaScript (STACK_JS) around the cell's own (its PAGE_JS, a
        function cellStep(ax, prev, layer, W, cfg) -> the new state's parts)."""
        cell_js = getattr(self.cell_class, "PAGE_JS", None)
        return None if cell_js is None else STACK_JS.replace("PREFIX", self.prefix) + cell_js

    def step(self, params, config, x, state):
        """ids x (B,), state (L, S, B, H) -> (the top layer's h (B, H), new state)."""
        cell = self.cell(config)
        S = len(self.state_parts)
        new = np.empty_like(state)
        inp = x
        for k in range(config.num_layers):
            ax = self.input_projection(params, k, inp)  # (B, G*H)
            layer, _ = cell.step_forward(ax, tuple(state[k, s] for s in range(S)), self.recurrent(params, k),
                                         h_out=new[k, 0])
            for s in range(1, S):
                new[k, s] = layer[s]
            inp = new[k, 0]  # h, the next layer's input
        return inp, new


# TEST TIME in JavaScript (the page): `step` above, one stream. W[name] = {rows, cols, data (row
# major), t (the transpose, for gathering a column)}; the state is [[h, (c)], ...] per layer
STACK_JS = """
function zeroState(cfg) {
  return Array.from({length: cfg.num_layers}, () => Array.from({length: cfg.state_parts}, () => new Float64Array(cfg.hidden_size)));
}
function netStep(x, state, W, cfg) {
  let inp = null;
  const next = [];
  for (let k = 0; k < cfg.num_layers; k++) {
    const wih = W[`PREFIX.weight_ih_l${k}`];
    const ax = k === 0 ? column(wih, x) : matvec(wih, inp);  // the input projection: a gather for layer 0
    addTo(ax, W[`PREFIX.bias_ih_l${k}`].data);
    next.push(cellStep(ax, state[k], k, W, cfg));
    inp = next[k][0];
  }
  return {h: inp, state: next};
}
"""


def gated_label(name: str):
    return lambda c: f"{name} ({c.gate_activation} gates) {c.num_layers}x{c.hidden_size}"


@functools.lru_cache(maxsize=64)
def make_cell(cell_class, activation: str, gate_activation: str):
    return cell_class(activation, gate_activation)
