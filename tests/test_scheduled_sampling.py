"""`train --scheduled-sampling P`: some inputs are the model's own samples, ramped over the budget."""

import json
import os
import signal

import numpy as np
import pytest

from charrnn import teacher_forcing
from charrnn.training import checkpoint
from charrnn.views.progress import TrainProgress
from charrnn.corpus.streams import Corpus, Streams
from charrnn.reports.gradients import CHECK_TOLERANCE, check_gradients
from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.ground.optim import clip_by_global_norm, make_optimizer
from charrnn.scheduled_sampling import mixed_inputs

from conftest import NETWORKS, SMALL, invoke, layer_counts, random_state


def test_p_zero_is_exactly_teacher_forcing(corpus_file, tmp_path, runs):
    """--scheduled-sampling 0 gives bit for bit the weights of a run without it, and of a plain
    teacher-forced loop written out here (forward, BPTT, clip, Adam) with no scheduled sampling."""
    args = ["train", corpus_file, *SMALL, "--steps", "6", "--eval-every", "0", "--dropout", "0", "--state-reset", "0"]
    assert invoke(*args, "--out", tmp_path / "plain").exit_code == 0
    assert invoke(*args, "--scheduled-sampling", "0", "--out", tmp_path / "zero").exit_code == 0
    plain = checkpoint.load(tmp_path / "plain" / "last.safetensors").params
    zero = checkpoint.load(tmp_path / "zero" / "last.safetensors").params
    config = checkpoint.load(tmp_path / "plain" / "last.safetensors").config
    params = init_params(config, np.random.default_rng(0))
    opt, state = make_optimizer("adam", 4e-3), zero_state(config, 4)
    streams = Streams(Corpus.from_text(corpus_file.read_text()).train, 4, 20)
    for w in range(6):
        r = teacher_forcing.loss_and_grads(params, config, streams.window(w), state)
        clip_by_global_norm(r.grads, 5.0)
        opt.step(params, r.grads, 4e-3)
        state = r.final_state
    for n in plain:
        assert np.array_equal(plain[n], zero[n]) and np.array_equal(plain[n], params[n]), n


def test_mixed_inputs(rng):
    config = ModelConfig(vocab_size=6, hidden_size=5, num_layers=2, cell="gru")
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 6, size=(41, 8))
    state0 = zero_state(config, 8, np.float64)
    none = mixed_inputs(params, config, ids, state0, 0.0, np.random.default_rng(1))
    assert np.array_equal(none, ids[:-1])
    every = mixed_inputs(params, config, ids, state0, 1.0, np.random.default_rng(1))
    assert np.array_equal(every[0], ids[0])  # the first input is always observed
    assert 0.5 < np.mean(every[1:] != ids[1:-1])  # a random model's samples rarely match the text
    half = mixed_inputs(params, config, ids, state0, 0.5, np.random.default_rng(1))
    assert 0.15 < np.mean(half[1:] != ids[1:-1]) < np.mean(every[1:] != ids[1:-1])
    assert np.array_equal(half, mixed_inputs(params, config, ids, state0, 0.5, np.random.default_rng(1)))


@pytest.mark.parametrize("cell", NETWORKS)
def test_gradient_check_with_the_sampled_inputs_held_fixed(cell, rng):
    config = ModelConfig(vocab_size=7, hidden_size=5, num_layers=layer_counts(cell)[-1], cell=cell, dropout=0.3)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 7, size=(7, 3))
    state0 = random_state(config, 3, rng)
    inputs = mixed_inputs(params, config, ids, state0, 0.7, np.random.default_rng(2))
    assert not np.array_equal(inputs, ids[:-1])
    results = check_gradients(params, config, ids, state0, dropout_seed=5, inputs=inputs)
    assert max(r.rel_error for r in results) < CHECK_TOLERANCE


def test_ramp_is_logged_stored_and_resumed_exactly(corpus_file, tmp_path, runs, monkeypatch):
    args = ["train", corpus_file, *SMALL, "--steps", "40", "--eval-every", "10", "--scheduled-sampling", "0.5",
            "--seed", "3"]
    assert invoke(*args, "--out", tmp_path / "whole").exit_code == 0
    logged = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    probs = [(m["step"], m["sample_prob"]) for m in logged if "sample_prob" in m]
    assert probs == [(10, pytest.approx(0.5 * 9 / 40)), (20, pytest.approx(0.5 * 19 / 40)),
                     (30, pytest.approx(0.5 * 29 / 40)), (40, pytest.approx(0.5 * 39 / 40))]
    whole = checkpoint.load(tmp_path / "whole" / "last.safetensors")
    assert whole.train.options.scheduled_sampling == 0.5
    # the same run, interrupted at step 17 (Ctrl-C) and resumed to the end of its budget
    real_on_step = TrainProgress.on_step

    def interrupt_at_17(self, info):
        real_on_step(self, info)
        if info.step == 17:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TrainProgress, "on_step", interrupt_at_17)
    assert invoke(*args, "--out", tmp_path / "split").exit_code == 130
    monkeypatch.setattr(TrainProgress, "on_step", real_on_step)
    assert checkpoint.load(tmp_path / "split" / "last.safetensors").train.step == 17
    r = invoke("train", "--quiet", "--resume", tmp_path / "split" / "last.safetensors")
    assert r.exit_code == 0, r.output
    split = checkpoint.load(tmp_path / "split" / "last.safetensors")
    assert split.train.step == 40
    for n in whole.params:
        assert np.array_equal(whole.params[n], split.params[n]), n
    # and it changed what was learned: not the teacher-forced weights
    assert invoke("train", corpus_file, *SMALL, "--steps", "40", "--eval-every", "10", "--seed", "3",
                  "--out", tmp_path / "tf").exit_code == 0
    tf = checkpoint.load(tmp_path / "tf" / "last.safetensors").params
    assert not np.array_equal(tf["decoder.weight"], whole.params["decoder.weight"])


def test_a_resume_with_more_budget_keeps_the_ramps_position(corpus_file, tmp_path, runs):
    """The chance ramps over the run: a resume that adds budget goes on from where the ramp stood
    (here 0.475 after 20 of 20 steps) towards P, never back to 0."""
    out = tmp_path / "r"
    args = [*SMALL, "--scheduled-sampling", "0.5", "--eval-every", "0"]
    assert invoke("train", corpus_file, *args, "--steps", "20", "--out", out).exit_code == 0
    assert checkpoint.load(out / "last.safetensors").train.sample_prob == pytest.approx(0.475)
    r = invoke("train", corpus_file, "--quiet", "--resume", out / "last.safetensors", "--steps", "20")
    assert r.exit_code == 0, r.output
    logged = [json.loads(line)["sample_prob"] for line in (out / "metrics.jsonl").read_text().splitlines()
              if "sample_prob" in line]
    assert logged == pytest.approx([0.225, 0.475, 0.475 + 0.025 * 0.45, 0.475 + 0.025 * 0.95])


def test_scheduled_sampling_trains_the_output_recurrent_network(corpus_file, tmp_path, runs):
    """The network whose input is its own previous output: with its own samples fed back as
    inputs, the history it carries holds them, and training runs and resumes."""
    out = tmp_path / "j"
    args = ["--cell", "jordan", "--context", "2", "--hidden-size", "16", "--dropout", "0", "--seq-len", "20",
            "--batch-size", "4", "--quiet", "--scheduled-sampling", "0.5", "--eval-every", "0"]
    assert invoke("train", corpus_file, *args, "--steps", "10", "--out", out).exit_code == 0
    assert invoke("train", corpus_file, "--quiet", "--resume", out / "last.safetensors", "--steps", "5").exit_code == 0
    ck = checkpoint.load(out / "last.safetensors")
    assert ck.train.step == 15 and ck.train.sample_prob > 0 and ck.config.cell == "jordan"
