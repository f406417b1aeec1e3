"""Adding a network is its module and one line: tests/mgu.py declares the minimal gated unit
outside the package, the fixture registers it with one line, and it trains, samples, evaluates
and passes the gradient check through the functions the CLI calls (and the CLI itself wherever a
checkpoint names the network) -- with nothing in charrnn/ changed for it."""

import numpy as np
import pytest

import mgu as mgu_module
from charrnn import networks, sampling
from charrnn.corpus import corpora
from charrnn.model import ModelConfig, init_params, param_shapes
from charrnn.reports.evaluation import evaluation
from charrnn.reports.gradients import check_gradients
from charrnn.training.checkpoint import load
from charrnn.training.loop import Trainer
from charrnn.training.plan import plan_run

from conftest import PANGRAMS, invoke, random_state


@pytest.fixture
def mgu():
    networks.register(mgu_module.NETWORK)
    yield mgu_module.NETWORK
    networks.unregister("mgu")


def test_its_gradient_is_checked_like_every_network(mgu, rng):
    config = ModelConfig(vocab_size=9, hidden_size=5, num_layers=2, cell="mgu", dropout=0.3)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 9, size=(7, 3))
    results = check_gradients(params, config, ids, random_state(config, 3, rng), dropout_seed=5)
    assert {r.name for r in results} == set(param_shapes(config)) | {"initial_state"}
    assert all(r.passed for r in results), [(r.name, r.rel_error) for r in results]


class ForgetsTheGateSlope(mgu_module.MGUCell):
    """A planted bug: the backward leaves out the gate's slope s'(f)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.dgate = np.ones_like


def test_a_wrong_backward_fails_the_check(mgu, rng, monkeypatch):
    """The check above can fail."""
    monkeypatch.setattr(mgu, "cell_class", ForgetsTheGateSlope)
    config = ModelConfig(vocab_size=9, hidden_size=5, cell="mgu")
    params = init_params(config, rng, np.float64)
    results = check_gradients(params, config, rng.integers(0, 9, size=(6, 2)), random_state(config, 2, rng))
    failed = {r.name for r in results if not r.passed}
    assert "mgu.weight_hf_l0" in failed  # the gate's own weight, and through time everything before it


def test_it_trains_samples_evaluates_and_inspects_through_the_cli(mgu, tmp_path, runs):
    corpus = tmp_path / "c.txt"
    corpus.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    plan = plan_run(str(corpus), out=str(tmp_path / "run"), steps=60,
                    model_given={"cell": "mgu", "hidden_size": 32, "num_layers": 2},
                    options_given={"seq_len": 20, "batch_size": 4, "eval_every": 30, "lr": 0.01})
    result = Trainer(plan).run()
    assert result.best_val_loss < result.val_unigram  # it learned more than character counts

    ck = load(result.best_path)
    assert ck.config.cell == "mgu" and ck.config.label() == "mgu 2x32"
    text = "".join(c[0] for c in sampling.generate(ck.params, ck.config, ck.vocab, sampling.SampleSettings(length=80),
                                                   sampling.sample_seeds(0, 1)))
    assert len(text) == 80 and set(text) <= set(ck.vocab.chars)
    report = evaluation(ck, corpora.load(str(corpus)))
    assert report["loss"] < report["unigram"]

    sampled = invoke("sample", result.best_path, "--length", "40", "--seed", "1")
    assert sampled.exit_code == 0 and len(sampled.stdout.strip()) > 0
    assert invoke("eval", result.best_path, corpus).exit_code == 0
    info = invoke("info", result.best_path)
    assert info.exit_code == 0 and "mgu.weight_hn_l1" in info.stdout
    inspected = invoke("inspect-gradients", result.best_path, "--seq-len", "20", "--check-steps", "4",
                       "--check-elements", "4")
    assert inspected.exit_code == 0, inspected.output  # every gradient check passed
    assert "f: forget gate" in inspected.stdout


def test_its_options_are_checked_by_its_policy(mgu):
    with pytest.raises(ValueError, match="--activation does not apply to the mgu network: its candidate is tanh"):
        ModelConfig(vocab_size=5, cell="mgu", activation="relu")
    assert "mgu" in networks.taking("gate_activation")
