"""What a network is, as the rest of the package sees it: the `Network` interface that every
entry of the registry (`charrnn.networks`) fills in, and the pieces its declaration is made of.

A network's module declares one object, NETWORK, which holds its math:

    name, label(config)    the word after --cell; how tables name a model of it
    param_shapes(config)   every tensor, PyTorch's name and shape where PyTorch has the module
    torch_module(config)   the torch.nn module that loads these weights unchanged, or why none does
    blocks(config)         its gates and candidates, each a `Block`: symbol, role, nonlinearity, rows
    recurrent_weights      the weights that carry the state from step to step
    vocab_axes(config)     the tensors that index the vocabulary, and along which axis (fine-tuning
                           on a text with new characters grows them)
    check(config)          ValueError for a config it cannot build (an activation it has no use for)
    state                  zero_state / reset_streams / cast_state / state_batch, and the
                           checkpoint's tensor: state_tensor / state_from_tensor
    TRAIN TIME             window_forward(x (T, B), state0, resets) -> decoder input, final state, tape
                           window_backward(tape, dL/d(decoder input)) -> grads, dL/d(state0) or None
    TEST TIME              step(x (B,), state) -> decoder input (B, H), new state; and page_step,
                           the same step in JavaScript for the model's page (None: no page)
    inspection             step_contributions (parameter sharing), activations (gates, states)

and, apart from the math, its `policy` (policy.py): the options it takes, the shapes the recipe
may choose it at, what inspect-gradients shows of it.

Dimension letters, used in every shape comment of the package:
    B  batch (independent streams)     T  time steps in a window
    V  vocabulary size                 D  input size of a layer (V for layer 0, H above)
    H  hidden size                     G  blocks of H rows in a layer's input projection
    L  layers                          S  parts of a cell's state ((h,) or (h, c))
    N  characters (of a text, a split or one stream)

Everything that differs between networks is answered by its declaration, so no module outside
a network's own file asks for a network by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from charrnn.networks.policy import Policy


class Rows(NamedTuple):
    """Rows lo .. hi - 1 of the tensor called `name`."""

    name: str
    lo: int
    hi: int


# a block's four tensors, each named by the side it sits on (what inspect-gradients' table shows)
TENSOR_SIDES = {"input_weight": "input weight", "recurrent_weight": "recurrent weight",
                "input_bias": "input bias", "recurrent_bias": "recurrent bias"}


@dataclass(frozen=True)
class Block:
    """H rows of a layer's input projection (a gate or a candidate), and the rows of the other
    tensors that belong to it; None where the block has no such tensor."""

    symbol: str  # "f"
    role: str  # "forget gate"
    nonlinearity: str  # what its pre-activation goes through: "sigmoid", "tanh", ...
    input_weight: Rows
    input_bias: Rows
    recurrent_weight: Rows | None = None
    recurrent_bias: Rows | None = None
    gate: bool = False  # its values lie in (0, 1) and multiply something

    def tensors(self) -> list[tuple[str, Rows]]:
        """(side, rows) for each tensor the block has, in TENSOR_SIDES' order."""
        return [(side, getattr(self, f)) for f, side in TENSOR_SIDES.items() if getattr(self, f) is not None]


@dataclass
class BackwardTrace:
    """Per-step quantities of the backward pass, kept only on request (reports/gradients.py reads
    them). Per layer k:

        dAx[k]     (T, B, G*H)  dL/d(ax_t), the gradient of the input projection
        dout[k]    one (T, B, n) array per recurrent product: dL/d of its output
        dh[k]      (T, B, H)    dL/dh_t, the full gradient arriving at h_t (from above and from t+1)
        dstate[k]  part -> (T, B, H) for each part of the state besides h: the gradient arriving
                   at it from step t+1 (an LSTM's cell path c); empty where the state is h alone
    """

    dAx: list = field(default_factory=list)
    dout: list = field(default_factory=list)
    dh: list = field(default_factory=list)
    dstate: list = field(default_factory=list)


class Network:
    """The interface; see the module docstring."""

    name: str = ""
    policy: Policy
    activation_choices: tuple = ("tanh",)  # the functions its state (or candidate) can go through

    # ------------------------------------------------------------------ declaration
    def label(self, config) -> str:
        return f"{self.name} {config.num_layers}x{config.hidden_size}"

    def check(self, config) -> None:
        """ValueError for a config this network cannot build."""

    def param_shapes(self, config) -> dict:
        """Name -> shape of this network's own tensors (the decoder is every model's: model.py)."""
        raise NotImplementedError

    def torch_module(self, config) -> tuple[str | None, dict | str]:
        """(torch.nn class name, its keyword arguments) when torch.nn loads these weights
        unchanged; else (None, the reason)."""
        return None, f"no PyTorch counterpart: torch.nn has no {self.name} module"

    def blocks(self, config) -> list[tuple[int, Block]]:
        """[(layer, Block)] for every block of every layer, in PyTorch's row order."""
        raise NotImplementedError

    def recurrent_weights(self, config) -> list:
        """The names of the weights that carry the state from step to step (scaled by
        inspect-gradients --recurrent-scale)."""
        return []

    def vocab_axes(self, config) -> dict:
        """Name -> (axis, k) for each of this network's tensors with k blocks of V entries along
        that axis, one per character (the input weights of one-hot inputs)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ state
    def zero_state(self, config, batch_size: int, dtype=np.float32):
        """The carried state of B streams that have read nothing."""
        raise NotImplementedError

    def reset_streams(self, state, streams: np.ndarray) -> None:
        """Start the streams where `streams` (B,) is True afresh, in place."""
        raise NotImplementedError

    def cast_state(self, state, dtype):
        raise NotImplementedError

    def state_batch(self, state) -> int:
        raise NotImplementedError

    def state_tensor(self, state) -> np.ndarray:
        """What a checkpoint stores as train/state."""
        raise NotImplementedError

    def state_from_tensor(self, config, tensor: np.ndarray):
        """The state from a checkpoint's train/state; ValueError (a phrase) if it does not fit."""
        raise NotImplementedError

    # ------------------------------------------------------------------- the unrolls
    def window_forward(self, params, config, x, state0, dropout_rng=None, resets=None):
        """TRAIN TIME: inputs x (T, B) -> (decoder input (T*B, H) after dropout, final state, tape).
        resets (T, B) bool, or None: where True, stream b starts afresh at step t -- its state
        before the step is the zero state, and no gradient crosses back over it (the items of a
        list model)."""
        raise NotImplementedError

    def window_backward(self, params, config, tape, dtop, trace=None):
        """dL/d(decoder input) (T*B, H) -> (grads of this network's own tensors, dL/d(state0), or
        None where the state is not a function of the weights)."""
        raise NotImplementedError

    def step(self, params, config, x, state):
        """TEST TIME: ids x (B,) -> (decoder input (B, H), new state)."""
        raise NotImplementedError

    def page_step(self, config) -> str | None:
        """TEST TIME in JavaScript, for `charrnn page`: source defining zeroState(cfg) and
        netStep(x, state, W, cfg) -> {h, state} (one character id, one stream), the same
        arithmetic as `step`; None where the network has no page."""
        return None

    def step_contributions(self, params, config, tape, trace: BackwardTrace, t: int) -> dict:
        """Step t's part of the gradient of each of this network's own tensors."""
        raise NotImplementedError

    def activations(self, tape) -> list:
        """Per layer, symbol -> (T, B, H) values over the window: the state and every gate."""
        return []
