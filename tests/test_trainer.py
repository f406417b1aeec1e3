"""The training loop's budgets, schedules and options, end to end through `charrnn train`."""

import json
import math

import numpy as np
import pytest

from charrnn import sampling, teacher_forcing
from charrnn.training import checkpoint
from charrnn.training.budget import Stop
from charrnn.training.loop import Trainer
from charrnn.training.options import TrainOptions
from charrnn.training.plan import plan_run
from charrnn.model import ModelConfig, init_params, zero_state

from charrnn.training.step import train_step

from conftest import NETWORKS, SMALL, invoke, layer_counts


def metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def logged_lrs(out):
    return [(m["step"], m["lr"]) for m in metrics(out) if "lr" in m]


def cosine(lr, p, floor=0.1):
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def test_constant_and_cosine_schedules_over_steps(corpus_file, tmp_path, runs):
    base = ["train", corpus_file, *SMALL, "--steps", "20", "--lr", "0.01", "--eval-every", "0"]
    assert invoke(*base, "--lr-schedule", "constant", "--out", tmp_path / "c").exit_code == 0
    assert logged_lrs(tmp_path / "c") == [(10, 0.01), (20, 0.01)]
    assert invoke(*base, "--lr-schedule", "cosine", "--out", tmp_path / "k").exit_code == 0
    # step n (1-based) uses the rate at the budget's progress before it: (n - 1) / 20
    assert logged_lrs(tmp_path / "k") == [(10, pytest.approx(cosine(0.01, 9 / 20))),
                                          (20, pytest.approx(cosine(0.01, 19 / 20)))]
    # auto without --time: constant
    assert invoke(*base, "--out", tmp_path / "a").exit_code == 0
    assert logged_lrs(tmp_path / "a") == [(10, 0.01), (20, 0.01)]


class FakeTime:
    """A clock for the trainer that advances 1 ms whenever it is read: the run's timing is the
    same on every machine."""

    def __init__(self):
        self.now = 1000.0
        self.reads = 0

    def __call__(self):
        self.now += 0.001
        self.reads += 1
        return self.now


def test_time_budget_reserves_the_evaluation_and_decays_the_rate(corpus_file, tmp_path, runs, monkeypatch):
    """Each evaluation takes 1 s of (fake) time. Training stops early enough that the final
    evaluation still ends within the --time budget, and auto = cosine over the time."""
    clock, evaluated = FakeTime(), []
    real_loss = Trainer.validation_loss

    def slow_loss(self):
        evaluated.append(self.state.step)
        clock.now += 1.0
        return real_loss(self)

    monkeypatch.setattr(Trainer, "validation_loss", slow_loss)
    out = tmp_path / "r"
    plan = plan_run(str(corpus_file), out=str(out), time_budget=5.0,
                    model_given={"cell": "lstm", "hidden_size": 16, "num_layers": 1, "dropout": 0.0},
                    options_given={"seq_len": 20, "batch_size": 4, "eval_every": 50, "lr": 0.01})
    result = Trainer(plan, clock=clock).run()
    ck = checkpoint.load(out / "last.safetensors")
    assert clock.reads > result.steps and len(evaluated) == len(ck.train.history) >= 2  # both fakes were used
    assert 4.0 < ck.train.elapsed <= 5.0
    assert result.stopped_by is Stop.TIME
    lrs = [lr for _, lr in logged_lrs(out)]
    assert len(lrs) > 10 and all(a > b for a, b in zip(lrs, lrs[1:]))
    assert 0.001 < lrs[-1] < 0.003  # near the 10% floor at the end of the budget


def test_epochs_budget(corpus_file, tmp_path, runs):
    # 5,400 training characters: 4 streams of 1,350 -> 67 windows of 20 per epoch
    r = invoke("train", corpus_file, *SMALL, "--epochs", "2", "--eval-every", "0", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    ck = checkpoint.load(tmp_path / "r" / "last.safetensors")
    assert (ck.train.epoch, ck.train.step, ck.train.window) == (2, 134, 0)
    assert "epochs" in r.stdout


def test_sample_every_prints_previews_on_stderr(corpus_file, tmp_path, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "10", "--sample-every", "5", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    assert r.stderr.count("--- sample at step") == 2 and "--- sample at step 10 ---" in r.stderr
    assert "--- sample" not in r.stdout


def test_no_validation_split(corpus_file, tmp_path, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "6", "--eval-every", "3", "--val-frac", "0",
               "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    best = checkpoint.load(tmp_path / "r" / "best.safetensors")
    assert best.train.step == 6 and best.train.best_val_loss is None
    assert best.corpus["val_chars"] == 0
    assert [h["val_loss"] for h in best.train.history] == [None, None]
    assert "best validation loss" not in r.stdout


def test_train_step_is_the_trainers_step(corpus_file, tmp_path, runs):
    """The public train_step, run by hand with the trainer's settings, gives the trainer's weights."""
    from charrnn.corpus.streams import Corpus, Streams
    from charrnn.ground.optim import make_optimizer

    out = tmp_path / "r"
    assert invoke("train", corpus_file, *SMALL, "--steps", "3", "--eval-every", "0", "--out", out).exit_code == 0
    saved = checkpoint.load(out / "last.safetensors")
    data = Corpus.from_text(corpus_file.read_text())
    config = saved.config
    o = TrainOptions()  # the defaults the run was given (SMALL sets none of these)
    rng = np.random.default_rng(o.seed)
    params = init_params(config, rng)
    opt = make_optimizer(o.optimizer, o.lr)
    streams, state = Streams(data.train, 4, 20), zero_state(config, 4)
    for w in range(3):
        state = train_step(params, config, opt, streams.window(w), state, lr=o.lr, clip=o.clip,
                           rng=rng, state_reset=o.state_reset).final_state
    for n in params:
        assert np.array_equal(params[n], saved.params[n]), n


@pytest.mark.parametrize("cell", NETWORKS)
def test_reading_a_prime_gives_the_training_unrolls_final_state(cell, rng):
    """The two paths agree: the state sampling reaches after its (teacher-forced) prime is the
    state the training unroll ends a window in, on the same text."""
    config = ModelConfig(vocab_size=9, hidden_size=7, num_layers=layer_counts(cell)[-1], cell=cell)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 9, size=31)
    _, final, _ = teacher_forcing.forward(params, config, ids.reshape(-1, 1), zero_state(config, 1, np.float64))
    state = sampling.read_prime(params, config, ids[:-1], 1)
    if isinstance(final, np.ndarray):
        np.testing.assert_allclose(state, final, rtol=1e-12, atol=1e-14)
    else:
        assert state == final
