"""The model: a configuration, its parameters under PyTorch's names, and its initial state.

A char-RNN is L stacked recurrent layers over one-hot characters and a linear decoder:

    x_t  = onehot(char_t)                       (B, V)
    h^0_t = cell_0(x_t, h^0_{t-1})              layer 0 reads characters
    h^k_t = cell_k(dropout(h^{k-1}_t), h^k_{t-1})   layer k reads the layer below
    o_t  = softmax(dropout(h^{L-1}_t) W_dec^T + b_dec)   (B, V)  next-character distribution

Dropout (training only) acts on every layer's output, as in char-rnn: between stacked layers,
where PyTorch's `nn.LSTM(dropout=p)` puts it, and also before the decoder, so that it
regularises a one-layer model too.

Parameter names, shapes and gate orders are exactly those of `torch.nn.RNN` / `GRU` / `LSTM`
(inside a module attribute called `rnn`) and `torch.nn.Linear` (called `decoder`):

    rnn.weight_ih_l{k}  (G*H, D)    D = V for k = 0, H above
    rnn.weight_hh_l{k}  (G*H, H)
    rnn.bias_ih_l{k}    (G*H,)
    rnn.bias_hh_l{k}    (G*H,)
    decoder.weight      (V, H)
    decoder.bias        (V,)

so `torch_module.load_state_dict({k.removeprefix("rnn."): torch.from_numpy(v) ...})` works.

Initialisation is PyTorch's default, so a fresh charrnn model is distributed like a fresh
PyTorch one: every recurrent weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)); the decoder weight and
bias ~ U(-1/sqrt(H), 1/sqrt(H)) (nn.Linear's kaiming-uniform with a = sqrt(5) gives the same
bound 1/sqrt(fan_in) with fan_in = H). With weights this small the initial logits are near zero,
so the initial loss is close to ln(V).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from charrnn import activations
from charrnn.cells import CELLS, make_cell
from charrnn.options import option


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int  # V
    hidden_size: int = option(512, "Hidden units per layer (H).", low=1, high=16384)
    num_layers: int = option(1, "Stacked recurrent layers (L).", low=1, high=32)
    cell: str = option("lstm", "Recurrent cell.", choices=tuple(CELLS))
    activation: str = option("tanh", "State nonlinearity of the rnn cell.",
                             choices=activations.STATE_ACTIVATIONS)
    gate_activation: str = option("sigmoid", "Gate nonlinearity of gru/lstm.",
                                  choices=activations.GATE_ACTIVATIONS)
    dropout: float = option(0.1, "Dropout on every layer's output (between layers and before the "
                                 "decoder); training only.", low=0.0, high=1.0, open_high=True)
    context: int = option(1, "jordan only: how many previous outputs (characters) are fed back to the "
                             "hidden units (k).", low=1, high=64)

    def __post_init__(self):
        self.make_cell()  # checks the cell and its activations
        if self.cell == "jordan" and self.num_layers != 1:
            raise ValueError("the jordan network has one hidden layer; leave out --num-layers")
        if self.cell != "jordan" and self.context != 1:
            raise ValueError("--context is for the jordan network; an rnn, gru or lstm carries its own state")
        for field, low in (("vocab_size", 1), ("hidden_size", 1), ("num_layers", 1)):
            value = getattr(self, field)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{field} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def gates(self) -> int:
        return CELLS[self.cell].gates

    @property
    def state_size(self) -> int:
        return CELLS[self.cell].state_size

    @property
    def state_width(self) -> int:
        """The last axis of the carried state: H, or for jordan the k characters of its history."""
        return self.context if self.cell == "jordan" else self.hidden_size

    def make_cell(self):
        return make_cell(self.cell, self.activation, self.gate_activation)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model config fields: {', '.join(repr(k) for k in sorted(unknown))}")
        return cls(**d)


def pytorch_equivalent(config: ModelConfig) -> tuple[bool, str]:
    """(whether torch.nn can load these weights unchanged, the module or the reason it cannot)."""
    L, V, H = config.num_layers, config.vocab_size, config.hidden_size
    if config.cell == "jordan":
        return False, "no PyTorch counterpart: the jordan network's recurrence runs from its outputs"
    if config.cell == "rnn":
        if config.activation == "sigmoid":
            return False, "no PyTorch counterpart: torch.nn.RNN has tanh and relu, not sigmoid"
        return True, f"torch.nn.RNN({V}, {H}, num_layers={L}, nonlinearity='{config.activation}') + nn.Linear({H}, {V})"
    module = {"gru": "GRU", "lstm": "LSTM"}[config.cell]
    if config.gate_activation != "sigmoid":
        return False, f"no PyTorch counterpart: torch.nn.{module}'s gates are sigmoid, not {config.gate_activation}"
    return True, f"torch.nn.{module}({V}, {H}, num_layers={L}) + nn.Linear({H}, {V})"


def layer_names(k: int) -> tuple[str, str, str, str]:
    return (
        f"rnn.weight_ih_l{k}",
        f"rnn.weight_hh_l{k}",
        f"rnn.bias_ih_l{k}",
        f"rnn.bias_hh_l{k}",
    )


def param_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape for every parameter, in PyTorch's order."""
    V, H, G = config.vocab_size, config.hidden_size, config.gates
    if config.cell == "jordan":  # no hidden-to-hidden weight (jordan.py)
        return {"jordan.weight_yh": (H, config.context * V), "jordan.bias_h": (H,),
                "decoder.weight": (V, H), "decoder.bias": (V,)}
    shapes = {}
    for k in range(config.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer_names(k)
        D = V if k == 0 else H
        shapes[w_ih] = (G * H, D)
        shapes[w_hh] = (G * H, H)
        shapes[b_ih] = (G * H,)
        shapes[b_hh] = (G * H,)
    shapes["decoder.weight"] = (V, H)
    shapes["decoder.bias"] = (V,)
    return shapes


def init_params(config: ModelConfig, rng: np.random.Generator, dtype=np.float32) -> dict:
    """PyTorch's default initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every tensor."""
    bound = 1.0 / np.sqrt(config.hidden_size)
    return {
        name: rng.uniform(-bound, bound, size=shape).astype(dtype)
        for name, shape in param_shapes(config).items()
    }


def zero_state(config: ModelConfig, batch_size: int, dtype=np.float32) -> np.ndarray:
    """The initial recurrent state, (L, S, B, H): S = 1 (h) for RNN/GRU, 2 (h, c) for LSTM.

    PyTorch's h_0 is state[:, 0] and an LSTM's c_0 is state[:, 1].
    """
    return np.zeros(
        (config.num_layers, config.state_size, batch_size, config.state_width), dtype=dtype
    )


def num_params(config: ModelConfig) -> int:
    return sum(int(np.prod(s)) for s in param_shapes(config).values())


def cast_params(params: dict, dtype) -> dict:
    return {name: np.ascontiguousarray(p, dtype=dtype) for name, p in params.items()}


def input_projection(params: dict, k: int, x: np.ndarray) -> np.ndarray:
    """ax = x W_ih^T + b_ih for layer k, for any leading shape of x.

    Layer 0 reads characters: x holds ids and onehot(x) W_ih^T is simply column x of W_ih, so
    the product is a gather (no one-hot matrix is ever built). Layers above read the hidden
    state of the layer below: x is (..., H) and this is one matrix product over all rows.
    """
    W_ih = params[f"rnn.weight_ih_l{k}"]  # (G*H, D)
    b_ih = params[f"rnn.bias_ih_l{k}"]  # (G*H,)
    if k == 0:
        # rows of W_ih^T; gathering from a contiguous copy is several times faster than from the
        # strided transpose (and free when W_ih is stored column-major, as sampling keeps it)
        ax = np.take(np.ascontiguousarray(W_ih.T), x, axis=0)  # (..., G*H)
    else:
        ax = x @ W_ih.T  # (..., G*H)
    ax += b_ih
    return ax


def decode(params: dict, h: np.ndarray) -> np.ndarray:
    """Logits o = h W_dec^T + b_dec: (..., H) -> (..., V). The same decoder at every step."""
    logits = h @ params["decoder.weight"].T
    logits += params["decoder.bias"]
    return logits


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis; subtracting the max first means exp never overflows."""
    z = logits - logits.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z
