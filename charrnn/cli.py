"""The `charrnn` command: a thin Click layer. Each command validates its options, calls the
library, and hands the result to `render`. Heavy modules are imported inside the commands so
that `charrnn --help` starts fast."""

from __future__ import annotations

import click

from charrnn import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="charrnn")
def main():
    """Train a character-level RNN (RNN, GRU, LSTM) in NumPy on any text file, sample from it,
    and watch backpropagation through time at work."""
