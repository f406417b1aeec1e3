"""The model: a configuration, its parameters, and its initial state.

A char-RNN is a network (one of the registry's, charrnn/networks) over one-hot characters and a
linear decoder:

    x_t  = onehot(char_t)                       (B, V)
    h_t  = the network's top hidden state       (B, H)
    o_t  = softmax(dropout(h_t) W_dec^T + b_dec)   (B, V)  next-character distribution

Parameter names, shapes and gate orders are exactly those of `torch.nn.RNN` / `GRU` / `LSTM`
(inside a module attribute called `rnn`) and `torch.nn.Linear` (called `decoder`) where PyTorch
has the network:

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

from charrnn import networks
from charrnn.ground import activations
from charrnn.ground.fields import flag, option


DROPOUT_MASKS = ("step", "window")  # --dropout-mask (ground/ops.dropout_mask)


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int  # V
    hidden_size: int = option(512, "Hidden units per layer (H).", low=1, high=16384)
    num_layers: int = option(1, "Stacked recurrent layers (L).", low=1, high=32)
    cell: str = option(networks.DEFAULT, "Recurrent network: " + "; ".join(
        f"{n.name}: {n.policy.summary}" for n in networks.NETWORKS.values()) + ".", choices=tuple(networks.NETWORKS))
    activation: str = option("tanh", "State nonlinearity: of the hidden units, or of a gated cell's candidate and "
                                     "cell output (tanh, relu, elu).",
                             choices=activations.STATE_ACTIVATIONS)
    gate_activation: str = option("sigmoid", f"Gate nonlinearity ({networks.taking('gate_activation')}).",
                                  choices=activations.GATE_ACTIVATIONS)
    dropout: float = option(0.1, "Dropout on every layer's output (between layers and before the "
                                 "decoder); training only.", low=0.0, high=1.0, open_high=True)
    dropout_mask: str = option("step", "Dropout's masks: a new one at every time step (step), or one per window and "
                                       "stream, the same at all its steps (window: variational dropout, as AWD-LSTM).",
                               choices=DROPOUT_MASKS)
    input_dropout: float = option(0.0, "Input dropout: each step of each stream reads no character with this "
                                       f"chance, the others scaled up to match ({networks.taking('input_dropout')}); "
                                       "training only.", low=0.0, high=1.0, open_high=True)
    weight_drop: float = option(0.0, "DropConnect on the recurrent weights: each window drops this fraction of "
                                     "the weights that read h_{t-1}, the same ones at every step (AWD-LSTM's weight "
                                     f"drop; {networks.taking('weight_drop')}); training only.",
                                low=0.0, high=1.0, open_high=True)
    context: int = option(1, f"How many previous outputs (characters) are fed back to the hidden units, k "
                             f"({networks.taking('context')}).", low=1, high=64)
    # a list model (one item a line): the id of the line break that starts and ends every item;
    # wherever it is the input, the state starts afresh. None: a model of a running text
    item_start: int | None = None

    def __post_init__(self):
        for field, low in (("vocab_size", 1), ("hidden_size", 1), ("num_layers", 1)):
            value = getattr(self, field)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{field} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.item_start is not None and not (isinstance(self.item_start, int) and 0 <= self.item_start < self.vocab_size):
            raise ValueError(f"item_start must be a character id below {self.vocab_size}, got {self.item_start!r}")
        self.refuse_options_not_taken()
        self.network.check(self)

    def refuse_options_not_taken(self) -> None:
        """ValueError for a network-specific option given a value, other than its default, that
        this network does not take: '--context does not apply to the gru network: it carries its
        own state (--context is for jordan only)'."""
        policy, defaults = self.network.policy, {f.name: f.default for f in dataclasses.fields(self)}
        for name in networks.specific_options():
            if name not in policy.takes and getattr(self, name) != defaults[name]:
                why = policy.refusals.get(name)
                raise ValueError(f"{flag(name)} does not apply to the {self.cell} network"
                                 + (f": {why}" if why else "") + f" ({flag(name)} is for {networks.taking(name)})")

    @property
    def network(self) -> networks.Network:
        return networks.get(self.cell)

    def label(self) -> str:
        """e.g. "lstm (sigmoid gates) 2x512": how tables name the model."""
        return self.network.label(self)

    def to_dict(self) -> dict:
        """The config as a checkpoint stores it; a running text's model leaves item_start out, as
        checkpoints did before list models."""
        d = dataclasses.asdict(self)
        if d["item_start"] is None:
            del d["item_start"]
        for name in ("weight_drop", "input_dropout"):  # off: as checkpoints were before them
            if d[name] == 0.0:
                del d[name]
        if d["dropout_mask"] == "step":  # as checkpoints were before window masks: older charrnn reads them
            del d["dropout_mask"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model config fields: {', '.join(repr(k) for k in sorted(unknown))}")
        return cls(**d)


def pytorch_equivalent(config: ModelConfig) -> tuple[bool, str]:
    """(whether torch.nn can load these weights unchanged, the module or the reason it cannot)."""
    module, kwargs = config.network.torch_module(config)
    if module is None:
        return False, kwargs
    L, V, H = config.num_layers, config.vocab_size, config.hidden_size
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return True, f"torch.nn.{module}({V}, {H}, num_layers={L}{extra}) + nn.Linear({H}, {V})"


def param_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape for every parameter: the network's, then the decoder's."""
    V, H = config.vocab_size, config.hidden_size
    return {**config.network.param_shapes(config), "decoder.weight": (V, H), "decoder.bias": (V,)}


def vocab_axes(config: ModelConfig) -> dict:
    """Name -> (axis, k) for every tensor with k blocks of V entries along `axis`: the network's
    (networks/*: its one-hot input's weights), and the decoder's rows."""
    return {**config.network.vocab_axes(config), "decoder.weight": (0, 1), "decoder.bias": (0, 1)}


def grow_vocab(params: dict, config: ModelConfig, old_chars: list, new_chars: list, rng: np.random.Generator) -> dict:
    """The weights of a model trained on old_chars, for the vocabulary new_chars (which holds
    them all, and more): a character the old model knew keeps its rows and columns (moved to its
    new id), one it did not starts as a fresh model's (init_params for `config`, the new shape)."""
    grown = init_params(config, rng, dtype_of(params))
    old_V, new_V = len(old_chars), len(new_chars)
    position = {c: i for i, c in enumerate(new_chars)}
    new_id = np.array([position[c] for c in old_chars])  # old id -> new id
    for name, axes in vocab_axes(config).items():
        axis, k = axes
        moved = np.moveaxis(grown[name], axis, 0)  # a view: the vocabulary's axis first
        old = np.moveaxis(params[name], axis, 0)
        for j in range(k):
            moved[j * new_V + new_id] = old[j * old_V : (j + 1) * old_V]
    for name, p in params.items():
        if name not in vocab_axes(config):
            grown[name] = p.copy()
    return grown


def init_params(config: ModelConfig, rng: np.random.Generator, dtype=np.float32) -> dict:
    """PyTorch's default initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every tensor."""
    bound = 1.0 / np.sqrt(config.hidden_size)
    return {
        name: rng.uniform(-bound, bound, size=shape).astype(dtype)
        for name, shape in param_shapes(config).items()
    }


def zero_state(config: ModelConfig, batch_size: int, dtype=np.float32):
    """The initial carried state of B streams, as the network keeps it: for stacked cells
    (L, S, B, H) with S = 1 (h) or 2 (h, c) -- PyTorch's h_0 is state[:, 0], an LSTM's c_0
    state[:, 1]; for a network that reads its own outputs, the empty history."""
    return config.network.zero_state(config, batch_size, dtype)


def dtype_of(params: dict):
    """The precision a model computes in: its weights' (a checkpoint's are all of one dtype)."""
    return params["decoder.weight"].dtype


def num_params(config: ModelConfig) -> int:
    return sum(int(np.prod(s)) for s in param_shapes(config).values())


def cast_params(params: dict, dtype) -> dict:
    return {name: np.ascontiguousarray(p, dtype=dtype) for name, p in params.items()}
