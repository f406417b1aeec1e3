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
