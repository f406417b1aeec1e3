"""The registry: every network charrnn can train, each declared once in its own module as
NETWORK (`base.Network` says what a declaration holds, `policy.Policy` what the product decides
about it). Everything else asks here; `charrnn --help` lists them with their summaries.

Adding a network is its module and one line: its name in BUILT_IN below (or, for a network
kept outside the package, `register(NETWORK)`).
"""

from __future__ import annotations

import importlib

from charrnn.networks.base import Network

BUILT_IN = (
    "rnn",  # vanilla (Elman) RNN
    "gru",  # gated recurrent unit
    "lstm",  # long short-term memory
    "mlstm",  # multiplicative LSTM
    "jordan",  # output-recurrent network (no h -> h)
)
NETWORKS: dict[str, Network] = {}
DEFAULT = "lstm"  # --cell when a model is built without the recipe


def register(network: Network) -> Network:
    """Make `network` trainable under its name (`--cell NAME`)."""
    NETWORKS[network.name] = network
    return network


def unregister(name: str) -> None:
    NETWORKS.pop(name)


for _name in BUILT_IN:
    register(importlib.import_module(f".{_name}", __name__).NETWORK)  # relative: the package may be renamed


def get(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(NETWORKS)}") from None


def specific_options() -> list[str]:
    """The options only some networks take (--activation, --gate-activation, --context)."""
    return sorted({option for net in NETWORKS.values() for option in net.policy.takes})


def taking(option: str) -> str:
    """Which networks take a network-specific option, for its help text: "rnn, jordan only"."""
    return ", ".join(n.name for n in NETWORKS.values() if option in n.policy.takes) + " only"


def accepts(network: Network, given: dict) -> bool:
    """Whether the network-specific options among `given` (option -> value) apply to `network`."""
    specific = specific_options()
    return all(option in network.policy.takes and (option != "activation" or value in network.activation_choices)
               for option, value in given.items() if option in specific)
