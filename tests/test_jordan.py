"""`--cell jordan`: the network whose only recurrence runs from the output to the hidden units."""

import json

import numpy as np
import pytest

from charrnn import sampling, teacher_forcing
from charrnn.training import checkpoint
from charrnn.reports.gradients import CHECK_TOLERANCE, check_gradients, gradient_flow, numerical_gradient, relative_error
from charrnn.reports.gradients import step_contributions
from charrnn.ground.ops import log_softmax
from charrnn.model import ModelConfig, init_params, param_shapes, zero_state
from charrnn.networks import jordan

from conftest import SMALL, invoke, one_line_error
from test_teacher_forcing import loss_unshared_at


def problem(k, rng, B=3, T=7, dropout=0.0):
    config = ModelConfig(vocab_size=6, hidden_size=5, cell="jordan", context=k, dropout=dropout)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 6, size=(T + 1, B))
    state0 = zero_state(config, B, np.float64)
    state0.ids[...] = rng.integers(-1, 6, size=(B, k))  # some history before the window (-1 = none)
    return config, params, ids, state0


def test_tensors_are_documented_and_there_is_no_hidden_to_hidden_weight():
    config = ModelConfig(vocab_size=10, hidden_size=4, cell="jordan", context=3)
    assert param_shapes(config) == {"jordan.weight_yh": (4, 30), "jordan.bias_h": (4,),
                                    "decoder.weight": (10, 4), "decoder.bias": (10,)}
    empty = zero_state(config, 2)
    assert isinstance(empty, jordan.History) and empty.ids.shape == (2, 3) and (empty.ids == -1).all()


@pytest.mark.parametrize("k", [1, 4])
def test_gradient_check(k, rng):
    config, params, ids, state0 = problem(k, rng, dropout=0.3)
    results = check_gradients(params, config, ids, state0, dropout_seed=3)
    assert [r.name for r in results] == list(param_shapes(config))  # the history is text: no gradient
    assert max(r.rel_error for r in results) < CHECK_TOLERANCE


def test_teacher_forcing_needs_no_loop_over_time_and_nothing_crosses_a_step(rng):
    """The window is one batch: each position's loss depends only on its own k characters, so
    the gradient of the last step's loss reaches no earlier hidden units."""
    config, params, ids, state0 = problem(2, rng, T=12)
    flow, state_paths = gradient_flow(params, config, ids, state0)
    assert flow[-1] > 0 and np.all(flow[:-1] == 0.0) and state_paths == {}
    # shuffling the positions of the window changes nothing about each position's loss
    _, _, tape = teacher_forcing.forward(params, config, ids, state0)
    hist = tape.net.hist.reshape(-1, 2)
    order = rng.permutation(len(hist))
    h = np.tanh(jordan.pre_activation(params, config.vocab_size, hist[order]))
    lp = log_softmax(h @ params["decoder.weight"].T + params["decoder.bias"])
    np.testing.assert_allclose(lp, tape.log_probs[order], rtol=1e-12)


def test_each_steps_contribution_is_the_gradient_of_that_steps_copy(rng):
    config, params, ids, state0 = problem(2, rng, T=4, B=2)
    contributions, grads, _ = step_contributions(params, config, ids, state0)
    for t, part in enumerate(contributions):
        for name, c in part.items():
            value = params[name].copy()
            numeric = numerical_gradient(lambda: loss_unshared_at(params, config, ids, state0, t, name, value), value)
            assert relative_error(c, numeric) < CHECK_TOLERANCE, (t, name)


@pytest.mark.parametrize("k", [1, 3])
def test_the_history_carries_across_windows_and_into_sampling(k, rng):
    config, params, ids, state0 = problem(k, rng, T=16)
    long_loss, long_final, long_tape = teacher_forcing.forward(params, config, ids, state0)
    _, mid, tape1 = teacher_forcing.forward(params, config, ids[:9], state0)
    _, final, tape2 = teacher_forcing.forward(params, config, ids[8:], mid)
    np.testing.assert_allclose(np.concatenate([tape1.nll, tape2.nll]), long_tape.nll, rtol=1e-12)
    assert final == long_final
    # test time reads the same history: the prime's state is the unroll's final state
    zero = zero_state(config, 1, np.float64)
    _, end, _ = teacher_forcing.forward(params, config, ids[:, :1], zero)
    state = sampling.read_prime(params, config, ids[:-1, 0], 1)
    assert state == end


def test_cli_train_sample_eval_info_inspect(corpus_file, tmp_path, runs):
    out = tmp_path / "j"
    r = invoke("train", corpus_file, *SMALL, "--cell", "jordan", "--context", "3", "--steps", "30",
               "--lr", "0.02", "--out", out)
    assert r.exit_code == 0, r.output
    ck = checkpoint.load(out / "best.safetensors")
    assert ck.config.cell == "jordan" and ck.config.context == 3 and ck.carried_state.ids.shape == (4, 3)
    assert ck.train.best_val_loss < np.log(len(ck.vocab))  # it learned something
    r = invoke("sample", out / "best.safetensors", "--prime", "The quick", "--length", "50", "--seed", "1")
    assert r.exit_code == 0 and r.stdout.startswith("The quick") and len(r.stdout) == 9 + 50 + 1
    ev = json.loads(invoke("eval", out / "best.safetensors", corpus_file, "--json").stdout)
    assert ev["loss"] < ev["unigram"]
    info = json.loads(invoke("info", out / "best.safetensors", "--json").stdout)
    assert info["pytorch"]["loads"] is False and [t["name"] for t in info["tensors"]][:2] == [
        "jordan.weight_yh", "jordan.bias_h"]
    rep = json.loads(invoke("inspect-gradients", out / "best.safetensors", "--json", "--seq-len", "30",
                            "--check-steps", "3", "--check-elements", "4").stdout)
    (m,) = rep["models"]
    assert rep["all_checks_passed"] and m["gradient_flow"]["vanish_steps"] == 1
    r = invoke("train", "--quiet", "--resume", out / "last.safetensors", "--steps", "2")
    assert r.exit_code == 0, r.output
    one_line_error(invoke("train", corpus_file, *SMALL, "--cell", "jordan", "--num-layers", "2"), "one hidden layer")
    one_line_error(invoke("train", corpus_file, *SMALL, "--cell", "lstm", "--context", "2"), "--context")


def test_fresh_comparison_includes_it(corpus_file):
    r = invoke("inspect-gradients", "--json", "--seq-len", "20", "--hidden-size", "8", "--check-steps", "2",
               "--check-elements", "2", "--corpus", corpus_file)
    models = {m["model"]["cell"]: m for m in json.loads(r.stdout)["models"]}
    assert models["jordan"]["gradient_flow"]["norms"][1:] == [0.0] * 19
    assert models["jordan"]["gates_open"] == [] and models["jordan"]["cell_path_flow"] is None
