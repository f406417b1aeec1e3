"""Free-running generation: `sampling.py` and `charrnn sample`."""

import numpy as np
import pytest

from charrnn.model import ModelConfig, init_params
from charrnn.sampling import SampleSettings, generate, sample_seeds, sampling_distribution
from charrnn.ground.vocab import Vocab

from conftest import invoke, one_line_error


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small LSTM trained on a repeated string, until it can recite it."""
    d = tmp_path_factory.mktemp("repeat")
    corpus = d / "repeat.txt"
    corpus.write_text("hello world! " * 300)
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", "1", "--hidden-size", "32", "--seq-len", "26", "--batch-size", "8",
               "--lr", "0.01", "--steps", "150", "--eval-every", "0", "--val-frac", "0.05",
               "--quiet", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors"


@pytest.fixture(scope="module")
def random_model():
    vocab = Vocab.from_text("abcdefghijklmnopqrstuvwxyz .\n")
    config = ModelConfig(vocab_size=len(vocab), hidden_size=24, num_layers=2, cell="gru")
    return init_params(config, np.random.default_rng(5)), config, vocab


def draw(model, seeds, prime="", **kw):
    params, config, vocab = model
    settings = SampleSettings(**{"length": 60, **kw})
    rngs = [np.random.default_rng(s) for s in seeds]
    out = ["" for _ in seeds]
    for chars in generate(params, config, vocab, settings, rngs, prime):
        out = [o + c for o, c in zip(out, chars)]
    return out


def test_a_trained_model_recites_its_string(trained):
    r = invoke("sample", trained, "--prime", "hello", "--greedy", "--length", "39")
    assert r.exit_code == 0, r.output
    assert r.stdout == "hello" + " world! hello world! hello world! hello" + "\n"


def test_exact_length_prime_first_and_stdout_only_text(trained):
    r = invoke("sample", trained, "--length", "123", "--prime", "hel", "--seed", "1")
    assert r.exit_code == 0
    assert r.stdout.startswith("hel") and len(r.stdout) == 3 + 123 + 1
    assert r.stderr == ""
    r = invoke("sample", trained, "--length", "0")
    assert r.stdout == "\n"


def test_same_seed_same_text(trained):
    a = invoke("sample", trained, "--seed", "42", "--temperature", "2").stdout
    b = invoke("sample", trained, "--seed", "42", "--temperature", "2").stdout
    c = invoke("sample", trained, "--seed", "43", "--temperature", "2").stdout
    assert a == b and a != c


def test_greedy_equals_temperature_to_zero_and_top_k_one(random_model):
    greedy = draw(random_model, [0], greedy=True)
    assert draw(random_model, [1], temperature=1e-4) == greedy
    assert draw(random_model, [2], top_k=1) == greedy
    assert draw(random_model, [3]) != greedy  # plain sampling does differ


def test_batched_samples_equal_samples_drawn_one_at_a_time(random_model):
    seeds = [[9, i] for i in range(5)]
    batched = draw(random_model, seeds, prime="the ", temperature=0.9, top_p=0.95)
    alone = [draw(random_model, [s], prime="the ", temperature=0.9, top_p=0.95)[0] for s in seeds]
    assert batched == alone
    assert len(set(batched)) == 5


def test_cli_batch_matches_cli_single_samples(trained):
    r = invoke("sample", trained, "--num-samples", "3", "--seed", "5", "--length", "40", "--temperature", "1.5")
    assert r.exit_code == 0
    parts = r.stdout.split("----- sample ")
    assert len(parts) == 4
    one = invoke("sample", trained, "--seed", "5", "--length", "40", "--temperature", "1.5").stdout
    assert parts[1].split("\n", 1)[1].rstrip("\n") == one.rstrip("\n")


def test_stop_string_ends_a_sample_early(trained):
    r = invoke("sample", trained, "--prime", "hello", "--greedy", "--length", "500", "--stop", "!")
    assert r.stdout == "hello world!\n"


def test_top_k_and_top_p_cut_the_distribution():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    p = sampling_distribution(logits, top_k=2)
    np.testing.assert_allclose(p, [[0.625, 0.375, 0, 0]])
    p = sampling_distribution(logits, top_p=0.8)
    np.testing.assert_allclose(p, [[0.625, 0.375, 0, 0]])
    p = sampling_distribution(logits, top_p=0.81)
    np.testing.assert_allclose(p, [[0.5, 0.3, 0.15, 0]] / np.float64(0.95))
    p = sampling_distribution(logits, temperature=0.5)
    np.testing.assert_allclose(p, [[0.25, 0.09, 0.0225, 0.0025]] / np.float64(0.365))


@pytest.mark.slow
def test_long_sample_runs_in_constant_memory(random_model):
    import tracemalloc

    params, config, vocab = random_model
    tracemalloc.start()
    n = 0
    for chars in generate(params, config, vocab, SampleSettings(length=6000), sample_seeds(1, 1)):
        n += 1
        if n == 1000:
            base = tracemalloc.get_traced_memory()[0]
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert n == 6000 and grown < 100_000  # 20 bytes kept per character would show


def test_no_checkpoint_uses_the_newest_runs_best(trained, tmp_path, monkeypatch):
    import os
    import shutil

    runs = tmp_path / "runs"
    for name in ("old", "new"):
        (runs / name).mkdir(parents=True)
        shutil.copy(trained, runs / name / "best.safetensors")
    os.utime(runs / "old" / "best.safetensors", (1, 1))
    monkeypatch.setenv("CHARRNN_RUNS", str(runs))
    r = invoke("sample", "--length", "5", "--seed", "1")
    assert r.exit_code == 0
    assert str(runs / "new" / "best.safetensors") in r.stderr
    assert len(r.stdout) == 6


def test_errors(trained, tmp_path, monkeypatch):
    one_line_error(invoke("sample", trained, "--prime", "HELLO"), "never saw")
    r = invoke("sample", trained, "--prime", "HEllo", "--drop-unknown", "--length", "3", "--seed", "1")
    assert r.exit_code == 0 and r.stdout.startswith("llo")
    one_line_error(invoke("sample", trained, "--temperature", "0"), "temperature")
    one_line_error(invoke("sample", trained, "--temperature", "-1"), "temperature")
    one_line_error(invoke("sample", trained, "--top-p", "0"), "top-p")
    one_line_error(invoke("sample", trained, "--top-p", "1.5"), "top-p")
    one_line_error(invoke("sample", trained, "--top-k", "0"), "top-k")
    one_line_error(invoke("sample", trained, "--length", "-1"), "length")
    one_line_error(invoke("sample", tmp_path / "nope.safetensors"), "no such checkpoint")
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(trained.read_bytes()[:1000])
    one_line_error(invoke("sample", damaged), "damaged.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, dtype=np.float32)}, foreign)
    one_line_error(invoke("sample", foreign), "not a charrnn checkpoint")
    monkeypatch.setenv("CHARRNN_RUNS", str(tmp_path / "empty-runs"))
    one_line_error(invoke("sample"), "no runs")


def test_verbose_reports_settings_likelihood_and_speed_on_stderr(trained):
    r = invoke("sample", trained, "--prime", "hello", "--greedy", "--length", "26", "--seed", "3", "-v")
    assert r.exit_code == 0, r.output
    assert r.stdout == "hello world! hello world! hello\n"  # the text alone, unchanged by -v
    err = r.stderr.splitlines()
    assert err[0].startswith(f"checkpoint {trained} (lstm (sigmoid gates) 1x32, step 150)")
    assert "length 26" in err[1] and "greedy True" in err[1] and "seed 3" in err[1]
    mean_lp = float(err[2].split(": ")[1].split()[0])
    assert -0.5 < mean_lp <= 0.0  # a model that recites its string is sure of each character
    assert err[3].startswith("26 characters in") and err[3].endswith("chars/s")
    assert err[4].startswith("characters 1..5: the prime, read teacher forced") and "from character 6 on: free running" in err[4]
