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
regularises a one-layer model too.

A cell (rnn.py, gru.py, lstm.py, mlstm.py) provides:

    gates                G: its input projection ax_t has G*H columns (weight_ih (G*H, D))
    state_parts          ("h",) or ("h", "c")
    products             the matrix products inside its step that read the past, each
                         out_t = in_t W^T (+ b): the step's recurrent weights
    step_forward(ax_t, state_prev, W, h_out=None) -> (state_t, cache_t)
    step_backward(dstate_t, cache_t, W, dax_out, dout) -> dstate_prev
                         writes dL/d(ax_t) into dax_out (B, G*H) and dL/d(out_t) of each product
                         into dout[j] (None for a product whose gradient is the start of dax)
    read(cache_t, name)  a product's input other than h_{t-1}
    values(cache_t)      symbol -> (B, H): its gates and inner states at that step
    block_specs          per block of ax: symbol, role, nonlinearity, is it a gate, which
                         product rows it owns

W is a dict from each product's tensor suffix ("weight_hh", "bias_hh") to the layer's tensor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from charrnn.ground.ops import dropout_mask, gather_columns, onehot_weight_gradient
from charrnn.networks.base import Block, Network, refuse_options


@dataclass(frozen=True)
class Product:
    """One matrix product inside a cell's step that reads the past: out_t = in_t W^T (+ b),
    W (rows*H, H). Its weight's gradient is sum_t dout_t^T in_t, one product over T*B rows."""

    weight: str  # tensor suffix, e.g. "weight_hh"
    bias: str | None  # e.g. "bias_hh", or None
    rows: int  # W has rows*H rows
    reads: str = "h"  # "h": h_{t-1}; otherwise the name of a value the cell keeps (cell.read)
    first_of_dax: bool = False  # dL/d(out_t) is the first rows*H columns of dL/d(ax_t)


@dataclass
class LayerTape:
    """What layer k's backward pass needs from its forward pass."""

    x: np.ndarray  # (T, B) ids for layer 0, else (T, B, H): the layer below's output after dropout
    h: np.ndarray  # (T+1, B, H): h[0] is the initial state, h[t+1] the output at step t
    caches: list  # T per-step caches from cell.step_forward
    dropout_mask: np.ndarray | None  # (T, B, H) mask applied to this layer's output, or None


@dataclass
class StackedTape:
    layers: list  # one LayerTape per layer


class StackedCells(Network):
    """A network of L stacked layers of one cell class. Tensors of layer k are named
    f"{prefix}.weight_ih_l{k}", f"{prefix}.bias_ih_l{k}" and, per product, f"{prefix}.{suffix}_l{k}"."""

    def __init__(self, *, name: str, summary: str, cell, gradient_path: str, prefix: str = "rnn", torch=None,
                 takes=frozenset({"gate_activation"}), recipe_shapes=(), recipe_replaces=(), fresh_variants=({},),
                 reasons=None, label=None):
        self.name, self.summary, self.cell_class, self.prefix = name, summary, cell, prefix
        self.gradient_path = gradient_path
        self.takes, self.recipe_shapes, self.fresh_variants = frozenset(takes), tuple(recipe_shapes), fresh_variants
        self.recipe_replaces = tuple(recipe_replaces)
        self.state_parts = cell.state_parts
        self.activation_choices = cell.activation_choices
        self._torch, self._reasons, self._label = torch, reasons or {}, label

    # ------------------------------------------------------------------ declaration
    def cell(self, config):
        return make_cell(self.cell_class, config.activation, config.gate_activation)

    def check(self, config) -> None:
        super().check(config)
        self.cell(config)  # checks its activations
        refuse_options(config, self.name, self.takes, {"context": "it carries its own state", **self._reasons})

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
        H = config.hidden_size
        products = self.cell_class.products
        out = []
        for k in range(config.num_layers):
            for j, (symbol, role, nonlin, gate, own) in enumerate(self.cell_class.block_specs(config)):
                rows = (j * H, (j + 1) * H)
                rec_w = rec_b = None
                if own is not None:  # (product index, its block of H rows, or None: all its rows)
                    p = products[own[0]]
                    lo, hi = (0, p.rows * H) if own[1] is None else (own[1] * H, (own[1] + 1) * H)
                    rec_w = (self.tensor(p.weight, k), lo, hi)
                    rec_b = (self.tensor(p.bias, k), lo, hi) if p.bias and own[1] is not None else None
                out.append((k, Block(symbol, role, nonlin, (
                    (self.tensor("weight_ih", k), *rows), rec_w, (self.tensor("bias_ih", k), *rows), rec_b), gate)))
        return out

    def recurrent_weights(self, config) -> list:
        """The weights that read h_{t-1}."""
        return [self.tensor(p.weight, k) for k in range(config.num_layers) for p in self.cell_class.products
                if p.reads == "h"]

    # ---------------------------------------------------------------- shared pieces
    def recurrent(self, params: dict, k: int) -> dict:
        """Layer k's recurrent tensors by suffix, as stored: row-major, which both the forward's
        layers.times and the backward's d_t @ W read fastest."""
        W = {}
        for p in self.cell_class.products:
            W[p.weight] = params[self.tensor(p.weight, k)]
            if p.bias:
                W[p.bias] = params[self.tensor(p.bias, k)]
        return W

    def input_projection(self, params: dict, k: int, x: np.ndarray) -> np.ndarray:
        """ax = x W_ih^T + b_ih for layer k, for any leading shape of x: a gather for layer 0
        (x holds ids; onehot(x) W_ih^T is column x of W_ih), one product over all rows above."""
        W_ih, b_ih = params[self.tensor("weight_ih", k)], params[self.tensor("bias_ih", k)]  # (G*H, D), (G*H,)
        ax = gather_columns(W_ih, x) if k == 0 else x @ W_ih.T  # (..., G*H)
        ax += b_ih
        return ax

    # ------------------------------------------------------------------- TRAIN TIME
    def window_forward(self, params, config, x, state0, dropout_rng=None):
        """x (T, B) ids, state0 (L, S, B, H) -> (top (T*B, H), final state (L, S, B, H), tape)."""
        cell = self.cell(config)
        T, B = x.shape
        S = len(self.state_parts)
        dtype = params["decoder.weight"].dtype
        final_state = np.empty_like(state0)
        layers = []
        for k in range(config.num_layers):
            W = self.recurrent(params, k)
            ax = self.input_projection(params, k, x)  # (T, B, G*H), all steps at once
            h = np.empty((T + 1,) + state0.shape[2:], dtype=dtype)  # (T+1, B, H)
            h[0] = state0[k, 0]
            state = tuple(state0[k, s] for s in range(S))
            caches = []
            for t in range(T):
                state, cache = cell.step_forward(ax[t], state, W, h_out=h[t + 1])
                caches.append(cache)
            final_state[k] = np.stack(state)
            out = h[1:]  # (T, B, H)
            mask = dropout_mask(out.shape, config.dropout, dropout_rng, dtype)
            if mask is not None:
                out = out * mask
            layers.append(LayerTape(x=x, h=h, caches=caches, dropout_mask=mask))
            x = out  # the next layer's input (or the decoder's)
        return x.reshape(T * B, -1), final_state, StackedTape(layers)

    def window_backward(self, params, config, tape, dtop, trace=None):
        """BPTT through the stack, from dL/d(top) (T*B, H). Returns (grads, dL/d(state0))."""
        cell = self.cell(config)
        products = self.cell_class.products
        T, B = tape.layers[0].h.shape[0] - 1, tape.layers[0].h.shape[1]
        S = len(self.state_parts)
        dH = dtop.reshape(T, B, -1)  # (T, B, H)
        dstate0 = np.empty((config.num_layers, S, B, dH.shape[2]), dtype=dH.dtype)
        grads = {}
        for k in reversed(range(config.num_layers)):
            lt = tape.layers[k]
            W = self.recurrent(params, k)
            GH = params[self.tensor("bias_ih", k)].shape[0]
            if lt.dropout_mask is not None:
                dH = dH * lt.dropout_mask  # through this layer's output dropout
            dAx = np.empty((T, B, GH), dtype=dH.dtype)
            # a product whose output's gradient is the start of dAx's row needs no buffer of its own
            dout = tuple(dAx[..., : p.rows * dH.shape[2]] if p.first_of_dax else np.empty((T, B, p.rows * dH.shape[2]),
                                                                                           dtype=dH.dtype)
                         for p in products)
            dh_kept = np.empty_like(dH) if trace is not None else None
            dc_kept = np.empty_like(dH) if trace is not None and S == 2 else None
            # the gradient flowing back along the recurrence, starting at zero after the window
            dstate = tuple(np.zeros_like(dH[0]) for _ in range(S))
            for t in reversed(range(T)):
                dh_t = dH[t] + dstate[0]  # from the output at t, and from step t+1
                if dh_kept is not None:
                    dh_kept[t] = dh_t
                if dc_kept is not None:
                    dc_kept[t] = dstate[1]
                dstate = cell.step_backward((dh_t,) + dstate[1:], lt.caches[t], W, dAx[t],
                                            tuple(None if p.first_of_dax else d[t] for p, d in zip(products, dout)))
            dstate0[k] = np.stack(dstate)

            # every step's contribution to the shared weights, summed as one product over T*B rows
            for p, d in zip(products, dout):
                d2 = d.reshape(T * B, -1)
                grads[self.tensor(p.weight, k)] = d2.T @ self.product_input(cell, p, lt).reshape(T * B, -1)
                if p.bias:
                    grads[self.tensor(p.bias, k)] = d2.sum(axis=0)
            dAx2 = dAx.reshape(T * B, GH)
            grads[self.tensor("bias_ih", k)] = dAx2.sum(axis=0)
            if k == 0:
                grads[self.tensor("weight_ih", k)] = onehot_weight_gradient(dAx2, lt.x.reshape(-1), config.vocab_size)
            else:
                grads[self.tensor("weight_ih", k)] = dAx2.T @ lt.x.reshape(T * B, -1)  # sum_t dAx_t^T x_t
                dH = (dAx2 @ params[self.tensor("weight_ih", k)]).reshape(T, B, -1)  # to layer k-1's (dropped) output
            if trace is not None:
                trace.dAx.insert(0, dAx)
                trace.dout.insert(0, dout)
                trace.dh.insert(0, dh_kept)
                trace.dc.insert(0, dc_kept)
        return grads, dstate0

    @staticmethod
    def product_input(cell, p: Product, lt: LayerTape) -> np.ndarray:
        """in_t of product p for every step, (T, B, H): h_{t-1}, or what the cell kept."""
        return lt.h[:-1] if p.reads == "h" else np.stack([cell.read(c, p.reads) for c in lt.caches])

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
                inp = lt.h[t] if p.reads == "h" else cell.read(lt.caches[t], p.reads)  # h[t] is h_{t-1}
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


def gated_label(name: str):
    return lambda c: f"{name} ({c.gate_activation} gates) {c.num_layers}x{c.hidden_size}"


@functools.lru_cache(maxsize=64)
def make_cell(cell_class, activation: str, gate_activation: str):
    return cell_class(activation, gate_activation)
