"""The registry: every network charrnn can train, each declared once in its own module (see
`base.Network` for what a declaration says). Adding a network is one new module and one entry
in NETWORKS; everything else asks here.

    rnn     vanilla (Elman) RNN                         rnn.py
    gru     gated recurrent unit                        gru.py
    lstm    long short-term memory                      lstm.py
    mlstm   multiplicative LSTM                         mlstm.py
    jordan  output-recurrent network (no h -> h)        jordan.py
"""

from __future__ import annotations

from charrnn.networks import gru, jordan, lstm, mlstm, rnn
from charrnn.networks.base import Network, OptionNotTaken

NETWORKS: dict[str, Network] = {n.name: n for n in (rnn.NETWORK, gru.NETWORK, lstm.NETWORK, mlstm.NETWORK,
                                                     jordan.NETWORK)}
DEFAULT = lstm.NETWORK.name  # --cell when a model is built without the recipe


def taking(option: str) -> str:
    """Which networks take a network-specific option, for its help text: "rnn, jordan only"."""
    return ", ".join(n.name for n in NETWORKS.values() if option in n.takes) + " only"


def get(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(NETWORKS)}") from None
