"""List models: every item is read from the initial state, so no item sees another -- at train
time (the window's resets) and at test time (sampling's step), for every network."""

import numpy as np
import pytest

from charrnn import sampling, teacher_forcing
from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.reports.gradients import check_gradients

from conftest import NETWORKS, layer_counts, random_state

SEP = 0  # the line break's id in these made-up vocabularies


def list_config(cell, **kw):
    return ModelConfig(vocab_size=9, hidden_size=6, num_layers=layer_counts(cell)[-1], cell=cell, item_start=SEP,
                       **{"context": 3, **kw} if cell == "jordan" else kw)


def window_with_an_item_start(rng, T=12, B=3, at=5):
    """ids (T+1, B) with no line break but at step `at` of stream 0 and step at + 2 of stream 2."""
    ids = rng.integers(1, 9, size=(T + 1, B))
    ids[at, 0] = SEP
    ids[at + 2, 2] = SEP
    return ids


@pytest.mark.parametrize("cell", NETWORKS)
def test_no_item_sees_the_one_before_it(cell, rng):
    """Change everything before an item's start -- the characters and the carried state -- and
    its predictions stay exactly the same; before the start they change."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = window_with_an_item_start(rng)
    other = ids.copy()
    other[:5, 0] = rng.integers(1, 9, size=5)  # the earlier item of stream 0, other characters
    a = teacher_forcing.forward(params, config, ids, random_state(config, 3, rng))[2].log_probs.reshape(12, 3, -1)
    b = teacher_forcing.forward(params, config, other, random_state(config, 3, rng))[2].log_probs.reshape(12, 3, -1)
    np.testing.assert_array_equal(a[5:, 0], b[5:, 0])  # from the start on: the same item, the same predictions
    np.testing.assert_array_equal(a[7:, 2], b[7:, 2])
    assert not np.allclose(a[:5, 0], b[:5, 0])


@pytest.mark.parametrize("cell", NETWORKS)
def test_the_gradient_with_item_starts_is_exact(cell, rng):
    config = list_config(cell, dropout=0.2)
    params = init_params(config, rng, np.float64)
    results = check_gradients(params, config, window_with_an_item_start(rng), random_state(config, 3, rng),
                              dropout_seed=4)
    assert all(r.passed for r in results), [(r.name, r.rel_error) for r in results if not r.passed]


@pytest.mark.parametrize("cell", NETWORKS)
def test_nothing_after_an_item_start_reaches_back_before_it(cell, rng):
    """The loss of the characters after the start has no gradient at the initial state."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = window_with_an_item_start(rng, at=0)  # stream 0 starts an item at its first step
    _, _, tape = teacher_forcing.forward(params, config, ids, random_state(config, 3, rng))
    _, dstate0 = teacher_forcing.backward(params, config, tape)
    if dstate0 is not None:  # a float state: stream 0's part is exactly zero, the others' not
        assert not dstate0[:, :, 0].any() and dstate0[:, :, 1].any()


@pytest.mark.parametrize("cell", NETWORKS)
def test_test_time_reads_an_item_as_train_time_does(cell, rng):
    """Sampling's step, fed the same list text, reaches the same state as the training unroll:
    both start afresh at every line break."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(1, 9, size=25)
    ids[[0, 7, 16]] = SEP
    start = random_state(config, 1, rng)
    _, final, _ = teacher_forcing.forward(params, config, ids.reshape(-1, 1), start)
    state = start
    for c in ids[:-1]:
        _, state = sampling.step(params, config, np.array([c]), state)
    if isinstance(final, np.ndarray):
        np.testing.assert_allclose(state, final, rtol=1e-12, atol=1e-14)
    else:
        assert state == final
    # and a line break read from any state gives what it gives from the zero state
    fresh = sampling.step(params, config, np.array([SEP]), zero_state(config, 1, np.float64))[0]
    np.testing.assert_allclose(sampling.step(params, config, np.array([SEP]), start)[0], fresh, rtol=1e-12)


def test_sampling_leaves_the_callers_state_as_it_was(rng):
    config = list_config("gru")
    params = init_params(config, rng, np.float64)
    state = random_state(config, 2, rng)
    before = state.copy()
    sampling.step(params, config, np.array([SEP, 3]), state)
    np.testing.assert_array_equal(state, before)
