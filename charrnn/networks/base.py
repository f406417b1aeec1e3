"""What a network is, as the rest of the package sees it: the `Network` interface that every
entry of the registry (`charrnn.networks`) fills in, and the pieces its declarations are made of.

A network declares, in its own module:

    name, summary          the word after --cell, one line saying what it is
    param_shapes(config)   every tensor, PyTorch's name and shape where PyTorch has the module
    torch_module(config)   the torch.nn module that loads these weights unchanged, or why none does
    blocks(config)         its gates and candidates: symbol, role, nonlinearity, the rows they own
    state                  zero_state / reset_streams / cast_state / the checkpoint's tensor
    TRAIN TIME             window_forward(x (T, B), state0) -> decoder input, final state, tape
                           window_backward(tape, dL/d(decoder input)) -> grads, dL/d(state0)
    TEST TIME              step(x (B,), state) -> decoder input (B, H), new state
    inspection             step_contributions (parameter sharing), activations (gates, states)
    recipe_shapes          the (layers, hidden) the recipe may choose it at; () = never
    recipe_replaces        Replacement(s): another network's shape it trains in place of, and from
                           which time budgets (each backed by measured equal-time runs)

Dimension letters, used in every shape comment of the package:
    B  batch (independent streams)     T  time steps in a window
    V  vocabulary size                 D  input size of a layer (V for layer 0, H above)
    H  hidden size                     G  blocks of H rows in a layer's input projection
    L  layers                          S  parts of a cell's state ((h,) or (h, c))

Everything that differs between networks is answered here, so no module outside a network's
own file asks for a network by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# the options a network may take, with the value meaning "not given" (ModelConfig's defaults)
SPECIFIC_OPTIONS = {"activation": "tanh", "gate_activation": "sigmoid", "context": 1}


@dataclass(frozen=True)
class Block:
    """H rows of a layer's input projection (a gate or a candidate) and the rows of the other
    tensors that belong to it. `tensors` holds, in this order, the input-side weight, the
    recurrent weight, the input-side bias and the recurrent bias, each as (name, first row,
    last row + 1), or None where the block has no such tensor."""

    symbol: str  # "f"
    role: str  # "forget gate"
    nonlinearity: str  # what its pre-activation goes through: "sigmoid", "tanh", ...
    tensors: tuple  # 4 x ((name, lo, hi) | None)
    gate: bool = False  # its values lie in (0, 1) and multiply something


TENSOR_SIDES = ("input weight", "recurrent weight", "input bias", "recurrent bias")


@dataclass
class BackwardTrace:
    """Per-step quantities of the backward pass, kept only on request (gradients.py reads them).

    Per layer k: dAx[k] (T, B, G*H) = dL/d(ax_t), the gradient of the input projection;
    dout[k] a tuple with one (T, B, n) array per recurrent product (dL/d of its output);
    dh[k] (T, B, H) = dL/dh_t, the full gradient arriving at h_t (from above and from t+1);
    dc[k] (T, B, H) = the gradient arriving at the cell state c_t along the cell path from
    t+1, for networks whose state has a c (None otherwise)."""

    dAx: list = field(default_factory=list)
    dout: list = field(default_factory=list)
    dh: list = field(default_factory=list)
    dc: list = field(default_factory=list)


class OptionNotTaken(ValueError):
    """A network-specific option given to a network that does not take it."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


def refuse_options(config, name: str, takes: frozenset, reasons: dict) -> None:
    """OptionNotTaken for a network-specific option given a value the network `name` does not
    take (reasons: option -> why it does not apply)."""
    for option, unset in SPECIFIC_OPTIONS.items():
        if option not in takes and getattr(config, option) != unset:
            why = reasons.get(option)
            raise OptionNotTaken(f"--{option.replace('_', '-')} does not apply to the {name} network"
                                 + (f": {why}" if why else ""), option)


@dataclass(frozen=True)
class Replacement:
    """Where the recipe chooses `cell` at `layers` x `hidden` (by its rule, or its small-text,
    long-budget branch) for a time budget from `min_seconds` to `max_seconds` (the budgets it was
    measured at), the declaring network of the same shape trains instead; `why` ends the recipe's
    line."""

    cell: str
    layers: int
    hidden: int
    min_seconds: float
    max_seconds: float
    why: str


class Network:
    """The interface; see the module docstring. Defaults here serve networks whose carried
    state is one float array (L, S, B, H) -- PyTorch's layout: h_0 = state[:, 0], c_0 = state[:, 1]."""

    name: str = ""
    summary: str = ""
    takes: frozenset = frozenset()  # the options of SPECIFIC_OPTIONS it accepts
    activation_choices: tuple = ("tanh",)  # the values --activation may take for it
    max_layers: int | None = None
    recipe_shapes: tuple = ()  # (layers, hidden) pairs the recipe may choose; () = never
    recipe_replaces: tuple = ()  # Replacement(s): shapes of another network it trains in place of
    fresh_variants: tuple = ({},)  # option sets that inspect-gradients compares as fresh models
    state_parts: tuple = ("h",)
    state_differentiable: bool = True  # is dL/d(initial state) defined (a float state)?
    gradient_path: str = ""  # what one step back through time multiplies the gradient by (inspect-gradients)

    # ------------------------------------------------------------------ declaration
    def accepts(self, given: dict) -> bool:
        """Whether the network-specific options among `given` (option -> value) apply to it."""
        return all(option in self.takes and (option != "activation" or value in self.activation_choices)
                   for option, value in given.items() if option in SPECIFIC_OPTIONS)

    def check(self, config) -> None:
        """ValueError for options that do not apply to this network."""

    def param_shapes(self, config) -> dict:
        """Name -> shape of this network's own tensors (the decoder is every model's: model.py)."""
        raise NotImplementedError

    def torch_module(self, config) -> tuple[str | None, dict | str]:
        """(torch.nn class name, its keyword arguments) when torch.nn loads these weights
        unchanged; else (None, the reason)."""
        return None, f"no PyTorch counterpart: torch.nn has no {self.name} module"

    def blocks(self, config) -> list:
        """[(layer, Block)] for every block of every layer, in PyTorch's row order."""
        raise NotImplementedError

    def label(self, config) -> str:
        return f"{self.name} {config.num_layers}x{config.hidden_size}"

    def recurrent_weights(self, config) -> list:
        """The names of the weights that carry the state from step to step (scaled by
        inspect-gradients --recurrent-scale)."""
        return []

    # ------------------------------------------------------------------------ state
    def zero_state(self, config, batch_size: int, dtype=np.float32):
        """(L, S, B, H) zeros."""
        return np.zeros((config.num_layers, len(self.state_parts), batch_size, config.hidden_size), dtype=dtype)

    def reset_streams(self, state, streams: np.ndarray) -> None:
        """Start the streams where `streams` (B,) is True afresh, in place."""
        state[:, :, streams] = 0.0

    def cast_state(self, state, dtype):
        return np.array(state, dtype=dtype)

    def state_batch(self, state) -> int:
        return state.shape[2]

    def state_tensor(self, state) -> np.ndarray:
        """What a checkpoint stores as train/state."""
        return state

    def state_from_tensor(self, config, tensor: np.ndarray):
        """The state from a checkpoint's train/state; ValueError (a phrase) if it does not fit."""
        L, S, H = config.num_layers, len(self.state_parts), config.hidden_size
        if tensor.ndim != 4 or tensor.shape[:2] != (L, S) or tensor.shape[3] != H:
            raise ValueError(f"has shape {tensor.shape}, which does not fit the config (L, {S}, B, H)")
        if tensor.dtype.kind != "f" or not np.isfinite(tensor).all():
            raise ValueError("must hold finite floats")
        return tensor

    # ------------------------------------------------------------------- the unrolls
    def window_forward(self, params, config, x, state0, dropout_rng=None):
        """TRAIN TIME: inputs x (T, B) -> (decoder input (T*B, H) after dropout, final state, tape)."""
        raise NotImplementedError

    def window_backward(self, params, config, tape, dtop, trace=None):
        """dL/d(decoder input) (T*B, H) -> (grads of this network's own tensors, dL/d(state0) or None)."""
        raise NotImplementedError

    def step(self, params, config, x, state):
        """TEST TIME: ids x (B,) -> (decoder input (B, H), new state)."""
        raise NotImplementedError

    def step_contributions(self, params, config, tape, trace: BackwardTrace, t: int) -> dict:
        """Step t's part of the gradient of each of this network's own tensors."""
        raise NotImplementedError

    def activations(self, tape) -> list:
        """Per layer, symbol -> (T, B, H) values over the window: the state and every gate."""
        return []
