import pathlib

import numpy as np
import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TINYSHAKESPEARE = SHARED_DATA / "tinyshakespeare.txt"

# a ~200 character string with no repeated 3-gram structure worth speaking of
PANGRAMS = (
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
    "How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow. "
    "Waltz, bad nymph, for quick jigs vex."
)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def tinyshakespeare():
    if not TINYSHAKESPEARE.exists():
        pytest.skip("../shared/data/tinyshakespeare.txt is not present")
    return TINYSHAKESPEARE


@pytest.fixture
def corpus_file(tmp_path):
    """A 6,000-character English corpus in a temporary file."""
    f = tmp_path / "corpus.txt"
    f.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    return f


@pytest.fixture
def runs(tmp_path, monkeypatch):
    d = tmp_path / "runs"
    monkeypatch.setenv("CHARRNN_RUNS", str(d))
    return d


def invoke(*args):
    from click.testing import CliRunner

    from charrnn.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


SMALL = ["--hidden-size", "16", "--seq-len", "20", "--batch-size", "4", "--quiet"]
