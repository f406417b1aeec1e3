"""The training unroll: gradient checks, loss at init, carried state, memorisation."""

import math

import numpy as np
import pytest

from charrnn import networks, sampling, teacher_forcing
from charrnn.reports.gradients import CHECK_TOLERANCE, check_gradients, numerical_gradient, relative_error, step_contributions
from charrnn.ground.ops import log_softmax, onehot_weight_gradient, times
from charrnn.model import ModelConfig, init_params, param_shapes, zero_state
from charrnn.ground.optim import clip_by_global_norm, make_optimizer

from conftest import NETWORKS, PANGRAMS, STATE_CARRYING, VARIANTS, float_state, layer_counts, random_state


def small_problem(cell, activation, gate_activation, num_layers, dropout=0.0, seed=0, dropout_mask="step",
                  weight_drop=0.0, input_dropout=0.0):
    V, H, T, B = 7, 5, 6, 3
    config = ModelConfig(
        vocab_size=V, hidden_size=H, num_layers=num_layers, cell=cell,
        activation=activation, gate_activation=gate_activation, dropout=dropout, dropout_mask=dropout_mask,
        weight_drop=weight_drop, input_dropout=input_dropout,
    )
    rng = np.random.default_rng(seed)
    params = init_params(config, rng, np.float64)
    for p in params.values():
        p *= 3.0  # larger weights: saturate some units, push hard_sigmoid past its clip points
    ids = rng.integers(0, V, size=(T + 1, B))
    return config, params, ids, random_state(config, B, rng)


@pytest.mark.parametrize("cell,activation,gate_activation,num_layers",
                         [(*v, L) for v in VARIANTS for L in layer_counts(v[0])])
def test_gradient_check_every_tensor_and_initial_state(cell, activation, gate_activation, num_layers):
    """Every tensor of every network of the registry, in every variant its options allow, and the
    carried state where it is a float one (a history of characters has no gradient)."""
    config, params, ids, state0 = small_problem(cell, activation, gate_activation, num_layers)
    results = check_gradients(params, config, ids, state0)
    initial = ["initial_state"] if float_state(config.cell) else []
    assert [r.name for r in results] == list(param_shapes(config)) + initial
    for r in results:
        assert r.rel_error < CHECK_TOLERANCE, (r.name, r.rel_error)


@pytest.mark.parametrize("cell,num_layers,per", [(c, L, per) for c in NETWORKS for L in layer_counts(c)
                                                 for per in ("step", "window")])
def test_gradient_check_with_dropout(cell, num_layers, per):
    config, params, ids, state0 = small_problem(cell, "tanh", "sigmoid", num_layers, dropout=0.4, dropout_mask=per)
    results = check_gradients(params, config, ids, state0, dropout_seed=7)
    assert max(r.rel_error for r in results) < CHECK_TOLERANCE


@pytest.mark.parametrize("cell,num_layers", [(c, L) for c in NETWORKS if c != "jordan" for L in layer_counts(c)])
def test_gradient_check_with_dropconnect_and_input_dropout(cell, num_layers):
    """--weight-drop (the recurrent weights thinned once per window) and --input-dropout (whole
    input characters dropped): every tensor's gradient checked, each alone and with the others."""
    for dropout, weight_drop, input_dropout in ((0.0, 0.4, 0.0), (0.3, 0.4, 0.0), (0.0, 0.0, 0.4), (0.3, 0.4, 0.4)):
        config, params, ids, state0 = small_problem(cell, "tanh", "sigmoid", num_layers, dropout=dropout,
                                                    weight_drop=weight_drop, input_dropout=input_dropout)
        results = check_gradients(params, config, ids, state0, dropout_seed=5)
        assert max(r.rel_error for r in results) < CHECK_TOLERANCE, [(r.name, r.rel_error) for r in results]


def test_dropconnect_thins_the_recurrent_weights_once_a_window_and_only_in_training():
    config, params, ids, state0 = small_problem("gru", "tanh", "sigmoid", 1, weight_drop=0.5)
    plain = dict(config.__dict__, weight_drop=0.0)
    plain_config = ModelConfig(**plain)
    loss, _, _ = teacher_forcing.forward(params, config, ids, state0)  # no rng: evaluation, nothing dropped
    assert loss == teacher_forcing.forward(params, plain_config, ids, state0)[0]
    _, _, tape = teacher_forcing.forward(params, config, ids, state0, np.random.default_rng(1))
    layer = tape.net.layers[0]
    mask = layer.connect["weight_hh"]
    assert mask.shape == params["rnn.weight_hh_l0"].shape and set(np.unique(mask)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer.W["weight_hh"], params["rnn.weight_hh_l0"] * mask)
    assert np.array_equal(layer.W["bias_hh"], params["rnn.bias_hh_l0"])  # biases are not dropped
    with pytest.raises(ValueError, match="--weight-drop does not apply to the jordan network"):
        ModelConfig(vocab_size=7, cell="jordan", weight_drop=0.3)


def test_input_dropout_drops_whole_characters_only_in_training():
    """Where input dropout fires, layer 0 reads no character at that step: its input projection is
    the bias alone; elsewhere the character's column, scaled by 1 / (1 - p)."""
    config, params, ids, state0 = small_problem("lstm", "tanh", "sigmoid", 1, input_dropout=0.5)
    net, x = config.network, ids[:-1]
    _, _, tape = net.window_forward(params, config, x, state0, np.random.default_rng(4))
    keep = tape.layers[0].input_keep  # (T, B, 1)
    assert set(np.unique(keep)) == {0.0, 2.0}
    ax = net.input_projection(params, 0, x, keep)
    plain = net.input_projection(params, 0, x)
    bias = params["rnn.bias_ih_l0"]
    np.testing.assert_allclose(ax, (plain - bias) * keep + bias, rtol=1e-12)
    assert np.allclose(ax[keep[..., 0] == 0], bias)
    _, _, untouched = net.window_forward(params, config, x, state0)  # no rng: evaluation
    assert untouched.layers[0].input_keep is None
    with pytest.raises(ValueError, match="--input-dropout does not apply to the jordan network"):
        ModelConfig(vocab_size=7, cell="jordan", input_dropout=0.3)


@pytest.mark.parametrize("cell", NETWORKS)
def test_window_dropout_drops_the_same_units_at_every_step_of_a_stream(cell):
    """--dropout-mask window: each stream's units are dropped for the whole window (variational
    dropout); per step, the dropped units change from step to step."""
    for per in ("step", "window"):
        config, params, ids, state0 = small_problem(cell, "tanh", "sigmoid", 1, dropout=0.5, dropout_mask=per)
        top, _, _ = config.network.window_forward(params, config, ids[:-1], state0, np.random.default_rng(3))
        dropped = (top == 0).reshape(ids.shape[0] - 1, ids.shape[1], -1)  # (T, B, H)
        assert dropped.any()
        same_over_time = all((dropped[t] == dropped[0]).all() for t in range(dropped.shape[0]))
        assert same_over_time == (per == "window"), per


def test_gradient_check_catches_a_wrong_backward():
    config, params, ids, state0 = small_problem("lstm", "tanh", "sigmoid", 1)

    def buggy_backward(p, c, tape, **kw):
        grads, dstate0 = teacher_forcing.backward(p, c, tape, **kw)
        grads["rnn.bias_hh_l0"] = grads["rnn.bias_hh_l0"] * 1.01
        return grads, dstate0

    results = {r.name: r for r in check_gradients(params, config, ids, state0, backward=buggy_backward)}
    assert not results["rnn.bias_hh_l0"].passed
    assert results["rnn.weight_hh_l0"].passed


@pytest.mark.parametrize("cell", NETWORKS)
def test_loss_at_initialisation_is_close_to_ln_V(cell, rng):
    V = 65
    config = ModelConfig(vocab_size=V, hidden_size=128, num_layers=layer_counts(cell)[-1], cell=cell)
    params = init_params(config, rng)
    ids = rng.integers(0, V, size=(51, 16))
    loss, _, _ = teacher_forcing.forward(params, config, ids, zero_state(config, 16))
    assert abs(loss - math.log(V)) < 0.05


@pytest.mark.parametrize("cell", STATE_CARRYING)
def test_float32_stays_float32(cell, rng):
    config = ModelConfig(vocab_size=11, hidden_size=8, num_layers=2, cell=cell, dropout=0.2)
    params = init_params(config, rng)
    ids = rng.integers(0, 11, size=(5, 2))
    r = teacher_forcing.loss_and_grads(params, config, ids, zero_state(config, 2), rng)
    assert all(g.dtype == np.float32 for g in r.grads.values())
    assert r.dstate0.dtype == np.float32 and r.final_state.dtype == np.float32
    assert {n: g.shape for n, g in r.grads.items()} == param_shapes(config)


@pytest.mark.parametrize("cell", NETWORKS)
def test_two_carried_windows_equal_one_long_window(cell, rng):
    config = ModelConfig(vocab_size=9, hidden_size=6, num_layers=layer_counts(cell)[-1], cell=cell)
    params = init_params(config, rng, np.float64)
    T, B = 8, 3
    ids = rng.integers(0, 9, size=(2 * T + 1, B))
    state0 = zero_state(config, B, np.float64)
    long_loss, long_final, long_tape = teacher_forcing.forward(params, config, ids, state0)
    loss1, mid, tape1 = teacher_forcing.forward(params, config, ids[: T + 1], state0)
    loss2, final, tape2 = teacher_forcing.forward(params, config, ids[T:], mid)
    np.testing.assert_allclose((loss1 + loss2) / 2, long_loss, rtol=1e-12)
    np.testing.assert_allclose(np.concatenate([tape1.nll, tape2.nll]), long_tape.nll, rtol=1e-12)
    assert_same_state(final, long_final)


def assert_same_state(a, b):
    """Two carried states hold the same values (a float state to round-off)."""
    if isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    else:
        assert a == b


def loss_unshared_at(params, config, ids, state0, t_star, name, value):
    """The window's mean loss when tensor `name` takes `value` at step t_star only: the network
    unrolled with that one weight no longer shared. Computed with the free-running path's
    one-step function fed the observed characters -- no BPTT code involved."""
    T, B = ids.shape[0] - 1, ids.shape[1]
    state, total = state0, 0.0
    for t in range(T):
        p = {**params, name: value} if t == t_star else params
        logits, state = sampling.step(p, config, ids[t], state)
        total -= log_softmax(logits)[np.arange(B), ids[t + 1]].sum()
    return total / (T * B)


@pytest.mark.parametrize("cell", NETWORKS)
def test_each_steps_contribution_is_the_gradient_of_that_steps_copy_of_the_weight(cell, rng):
    """Parameter sharing, checked independently: the contribution of step t to dL/dW equals
    dL/dW_t of a network whose W is unshared at step t (finite differences), for every tensor
    and step; and the contributions add up to BPTT's gradient."""
    config = ModelConfig(vocab_size=5, hidden_size=3, num_layers=layer_counts(cell)[-1], cell=cell)
    params = init_params(config, rng, np.float64)
    for p in params.values():
        p *= 3.0
    T, B = 4, 2
    ids = rng.integers(0, 5, size=(T + 1, B))
    state0 = random_state(config, B, rng)
    contributions, grads, _ = step_contributions(params, config, ids, state0)
    summed = {n: np.zeros_like(g) for n, g in grads.items()}
    for t, part in enumerate(contributions):
        assert set(part) == set(grads)
        for name, c in part.items():
            value = params[name].copy()
            numeric = numerical_gradient(lambda: loss_unshared_at(params, config, ids, state0, t, name, value), value)
            assert relative_error(c, numeric) < CHECK_TOLERANCE, (t, name)
            summed[name] += c
    for name, g in grads.items():
        np.testing.assert_allclose(summed[name], g, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cell,num_layers", [(c, 2 if c == networks.DEFAULT else 1) for c in STATE_CARRYING])
def test_memorises_a_short_string(cell, num_layers):
    text = PANGRAMS[:200]
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text]).reshape(-1, 1)  # (200, 1): one stream
    config = ModelConfig(vocab_size=len(chars), hidden_size=64, num_layers=num_layers, cell=cell)
    params = init_params(config, np.random.default_rng(0))
    opt = make_optimizer("adam", 1e-2)
    for _ in range(500):
        r = teacher_forcing.loss_and_grads(params, config, ids, zero_state(config, 1))
        if r.loss < 0.05:
            break
        clip_by_global_norm(r.grads, 5.0)
        opt.step(params, r.grads)
    assert r.loss < 0.05


@pytest.mark.parametrize("V", [7, 300])
def test_onehot_weight_gradient_both_paths(V, rng):
    dAx = rng.normal(size=(50, 12))
    x = rng.integers(0, V, size=50)
    expected = np.zeros((12, V))
    for n in range(50):
        expected[:, x[n]] += dAx[n]
    np.testing.assert_allclose(onehot_weight_gradient(dAx, x, V), expected, rtol=1e-12)


@pytest.mark.parametrize("B", [1, 32])
def test_a_step_product_in_blas_friendly_order_is_the_product(B, rng):
    """ops.times(x, M) = x M: for in_t W^T, the cells' forward use, from a row-major W (as
    stored) or a column-major one (sampling keeps the one-hot weights so), and for any M,
    including a row slice of a wider array as x."""
    W = rng.normal(size=(24, 8)).astype(np.float32)  # (rows*H, H)
    x = rng.normal(size=(B, 8)).astype(np.float32)
    d = rng.normal(size=(B, 40)).astype(np.float32)[:, :24]
    for w in (W, np.asfortranarray(W)):
        np.testing.assert_allclose(times(x, w.T), x @ w.T, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(times(d, w), d @ w, rtol=1e-5, atol=1e-6)
    assert times(x, W.T).shape == (B, 24) and times(d, W).shape == (B, 8)


@pytest.mark.parametrize("cell", NETWORKS)
@pytest.mark.parametrize("n,streams", [(1001, 7), (1000, 32), (5, 16), (300, 1)])
def test_pieces_side_by_side_are_each_read_as_their_own_stream(cell, n, streams, rng):
    """streams = S: the text cut into S contiguous pieces (L predictions each, the last one
    shorter), each read from a zero state; every character after the first predicted once."""
    config = ModelConfig(vocab_size=11, hidden_size=8, cell=cell, num_layers=1)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 11, size=n)
    loss, count = teacher_forcing.evaluate_stream(params, config, ids, seq_len=13, streams=streams)
    assert count == n - 1
    S = min(streams, n - 1)
    L = -(-(n - 1) // S)
    total = 0.0
    for b in range(S):
        piece = ids[b * L : b * L + L + 1]
        if len(piece) >= 2:
            piece_loss, piece_count = teacher_forcing.evaluate_stream(params, config, piece, seq_len=1000)
            total += piece_loss * piece_count
    assert loss == pytest.approx(total / (n - 1), rel=1e-10)
