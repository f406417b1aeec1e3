"""`charrnn train` end to end through Click's CliRunner."""

import json

import numpy as np
import pytest

from charrnn.training import checkpoint
from charrnn.model import param_shapes

from conftest import SMALL, invoke, one_line_error


def run_dir(runs):
    (d,) = list(runs.iterdir())
    return d


def test_a_run_writes_loadable_checkpoints_and_a_metrics_log(corpus_file, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "12", "--eval-every", "5")
    assert r.exit_code == 0, r.output
    d = run_dir(runs)
    assert sorted(p.name for p in d.iterdir()) == ["best.safetensors", "last.safetensors", "metrics.jsonl"]
    best = checkpoint.load(d / "best.safetensors")
    last = checkpoint.load(d / "last.safetensors")
    assert last.train.step == 12 and best.config.hidden_size == 16
    lines = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]
    steps = [l for l in lines if "train_loss" in l]
    evals = [l for l in lines if "val_loss" in l]
    assert [l["step"] for l in steps] == [10]
    assert {"elapsed", "lr", "grad_norm", "clipped"} <= set(steps[0])
    assert [l["step"] for l in evals] == [5, 10, 12]
    assert best.train.best_val_loss == min(l["val_loss"] for l in evals)
    # the summary on stdout says where the model is and how to sample it
    assert "charrnn sample" in r.stdout and str(d / "best.safetensors") in r.stdout
    assert "unigram baseline" in r.stdout


def test_weight_names_and_shapes_are_pytorchs(corpus_file, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "2", "--cell", "gru", "--num-layers", "2")
    assert r.exit_code == 0, r.output
    ck = checkpoint.load(run_dir(runs) / "last.safetensors")
    V = len(ck.vocab)
    assert {n: p.shape for n, p in ck.params.items()} == {
        "rnn.weight_ih_l0": (48, V), "rnn.weight_hh_l0": (48, 16), "rnn.bias_ih_l0": (48,),
        "rnn.bias_hh_l0": (48,), "rnn.weight_ih_l1": (48, 16), "rnn.weight_hh_l1": (48, 16),
        "rnn.bias_ih_l1": (48,), "rnn.bias_hh_l1": (48,), "decoder.weight": (V, 16),
        "decoder.bias": (V,),
    }
    assert all(p.dtype == np.float32 for p in ck.params.values())
    assert list(ck.params) == list(param_shapes(ck.config))


def test_same_seed_same_weights(corpus_file, tmp_path, runs):
    for name in ("a", "b"):
        r = invoke("train", corpus_file, *SMALL, "--steps", "5", "--seed", "7", "--out", tmp_path / name)
        assert r.exit_code == 0, r.output
    a = checkpoint.load(tmp_path / "a" / "last.safetensors").params
    b = checkpoint.load(tmp_path / "b" / "last.safetensors").params
    assert all(np.array_equal(a[n], b[n]) for n in a)
    r = invoke("train", corpus_file, *SMALL, "--steps", "5", "--seed", "8", "--out", tmp_path / "c")
    c = checkpoint.load(tmp_path / "c" / "last.safetensors").params
    assert not np.array_equal(a["decoder.weight"], c["decoder.weight"])


@pytest.mark.parametrize("extra", [[], ["--dropout", "0.3", "--num-layers", "2", "--state-reset", "0.2"],
                                   ["--weight-decay", "0.1"], ["--average", "0.9"],
                                   ["--weight-drop", "0.3", "--dropout-mask", "window", "--input-dropout", "0.2"]])
def test_resume_is_bit_for_bit(corpus_file, tmp_path, runs, extra):
    # the corpus has 5,400 training characters: 4 streams of 1,350 -> 67 windows of 20 per epoch,
    # so 40 + 40 steps crosses an epoch boundary (state reset) as well. The model is fixed: the
    # recipe would choose less dropout for a 40-step budget than for an 80-step one
    args = ["train", corpus_file, *SMALL, "--dropout", "0.1", "--num-layers", "1", *extra, "--seed", "3",
            "--eval-every", "15"]
    assert invoke(*args, "--steps", "80", "--out", tmp_path / "whole").exit_code == 0
    assert invoke(*args, "--steps", "40", "--out", tmp_path / "split").exit_code == 0
    r = invoke("train", corpus_file, "--quiet", "--resume", tmp_path / "split" / "last.safetensors", "--steps", "40")
    assert r.exit_code == 0, r.output
    whole = checkpoint.load(tmp_path / "whole" / "last.safetensors")
    split = checkpoint.load(tmp_path / "split" / "last.safetensors")
    assert split.train.step == whole.train.step == 80
    assert split.train.epoch == whole.train.epoch == 1
    for n in whole.params:
        assert np.array_equal(whole.params[n], split.params[n]), n
    for k in whole.optim_state:
        assert np.array_equal(whole.optim_state[k], split.optim_state[k]), k
    assert np.array_equal(whole.carried_state, split.carried_state)
    assert (whole.average is None) == (split.average is None) == ("--average" not in extra)
    for n in whole.average or {}:
        assert np.array_equal(whole.average[n], split.average[n]), n


def test_resume_without_corpus_uses_the_runs_own(corpus_file, tmp_path, runs):
    assert invoke("train", corpus_file, *SMALL, "--steps", "3", "--out", tmp_path / "r").exit_code == 0
    r = invoke("train", "--quiet", "--resume", tmp_path / "r" / "last.safetensors", "--steps", "2")
    assert r.exit_code == 0, r.output
    assert checkpoint.load(tmp_path / "r" / "last.safetensors").train.step == 5
    corpus_file.write_text("changed", encoding="utf-8")
    r = invoke("train", "--quiet", "--resume", tmp_path / "r" / "last.safetensors", "--steps", "2")
    assert r.exit_code == 1 and "changed since" in r.stderr and "--corpus" in r.stderr


def test_resume_refuses_another_corpus_or_other_options(corpus_file, tmp_path, runs):
    assert invoke("train", corpus_file, *SMALL, "--steps", "3", "--out", tmp_path / "r").exit_code == 0
    last = tmp_path / "r" / "last.safetensors"
    before = last.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text(corpus_file.read_text() + "more", encoding="utf-8")
    r = invoke("train", other, "--resume", last, "--steps", "2")
    assert r.exit_code != 0 and "different corpus" in r.stderr
    r = invoke("train", corpus_file, "--resume", last, "--steps", "2", "--hidden-size", "32")
    assert r.exit_code != 0 and "--hidden-size" in r.stderr
    r = invoke("train", corpus_file, "--resume", last, "--steps", "2", "--batch-size", "8")
    assert r.exit_code != 0 and "--batch-size" in r.stderr
    r = invoke("train", corpus_file, "--resume", last)
    assert r.exit_code != 0 and "finished its budget" in r.stderr
    assert last.read_bytes() == before  # nothing already saved is lost


def test_a_new_run_never_overwrites_another(corpus_file, tmp_path, runs):
    assert invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", tmp_path / "r").exit_code == 0
    before = (tmp_path / "r" / "best.safetensors").read_bytes()
    r = invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", tmp_path / "r")
    assert r.exit_code != 0 and "already holds a run" in r.stderr
    assert (tmp_path / "r" / "best.safetensors").read_bytes() == before
    # default run directories are new each time
    assert invoke("train", corpus_file, *SMALL, "--steps", "1").exit_code == 0
    assert invoke("train", corpus_file, *SMALL, "--steps", "1").exit_code == 0
    assert len(list(runs.iterdir())) == 2


def test_errors_are_one_clear_line(tmp_path, runs, corpus_file):
    one_line_error(invoke("train", tmp_path / "missing.txt"), "no such file")
    one_line_error(invoke("train", tmp_path), "directory")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    one_line_error(invoke("train", empty), "empty")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    one_line_error(invoke("train", bad), "byte offset 3", "--encoding")
    single = tmp_path / "single.txt"
    single.write_text("a" * 500)
    one_line_error(invoke("train", single), "distinct")
    short = tmp_path / "short.txt"
    short.write_text("hello world, this is short")
    one_line_error(invoke("train", short, "--seq-len", "100"), "--seq-len")
    one_line_error(invoke("train", corpus_file, "--lr", "-1"), "--lr")
    one_line_error(invoke("train", corpus_file, "--cell", "transformer"), "--cell")
    one_line_error(invoke("train", corpus_file, "--time", "ten minutes"), "duration")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(invoke("train", corpus_file, *SMALL, "--out", blocker / "sub"), "cannot write")
    assert not runs.exists() or not any(runs.iterdir())


def test_short_corpus_fits_the_batch_and_says_so(tmp_path, runs):
    f = tmp_path / "c.txt"
    f.write_text("abcdefghij" * 30)  # 270 training characters
    r = invoke("train", f, "--hidden-size", "8", "--seq-len", "20", "--batch-size", "32", "--steps", "2", "--quiet")
    assert r.exit_code == 0, r.output
    assert "--batch-size is 12" in r.stderr


def test_non_utf8_corpus_trains_with_encoding(tmp_path, runs):
    f = tmp_path / "latin1.txt"
    f.write_bytes(("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e " * 40).encode("latin-1"))
    r = invoke("train", f, *SMALL, "--steps", "2", "--encoding", "latin-1")
    assert r.exit_code == 0, r.output
    assert "\u00e9" in checkpoint.load(run_dir(runs) / "best.safetensors").vocab.chars


def test_japanese_corpus(tmp_path, runs):
    f = tmp_path / "ja.txt"
    f.write_text("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 30, encoding="utf-8")
    r = invoke("train", f, *SMALL, "--steps", "2")
    assert r.exit_code == 0, r.output
    assert "猫" in checkpoint.load(run_dir(runs) / "best.safetensors").vocab.chars


def test_diverging_loss_stops_and_keeps_the_last_good_checkpoint(corpus_file, tmp_path, runs, monkeypatch):
    from charrnn.training import step as update

    real = update.loss_and_grads
    calls = {"n": 0}

    def poisoned(*a, **k):
        r = real(*a, **k)
        calls["n"] += 1
        if calls["n"] > 6:
            r.loss = float("nan")
        return r

    monkeypatch.setattr(update, "loss_and_grads", poisoned)
    r = invoke("train", corpus_file, *SMALL, "--steps", "20", "--eval-every", "5", "--out", tmp_path / "r")
    one_line_error(r, "nan", "--lr", "last good checkpoint")
    ck = checkpoint.load(tmp_path / "r" / "last.safetensors")
    assert ck.train.step == 5


@pytest.mark.slow
def test_no_budget_trains_until_the_validation_loss_stops_improving(tmp_path, runs):
    """`charrnn train FILE` with no budget, on a 3 KB file: it stops by itself once 5 evaluations
    find nothing better, and the model it keeps beats counting characters."""
    from conftest import PANGRAMS

    f = tmp_path / "small.txt"
    f.write_text((PANGRAMS + "\n") * 15)
    r = invoke("train", f, *SMALL, "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["stopped_by"] == "no better validation loss" and s["beats_unigram"] is True
    ck = checkpoint.load(s["last_checkpoint"])
    assert ck.train.budget.patience == 5 and ck.train.budget.end_time == 1800.0
    vals = [h["val_loss"] for h in ck.train.history]
    assert len(vals) - 1 - vals.index(min(vals)) == 5


def test_a_model_no_better_than_counting_characters_says_so(corpus_file, tmp_path, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "1", "--lr", "1e-6", "--out", tmp_path / "r")
    assert r.exit_code == 0
    note = [l for l in r.stderr.splitlines() if l.startswith("note: the best validation loss")]
    assert len(note) == 1 and "unigram baseline" in note[0] and "--time" in note[0]


def test_averaging_keeps_the_average_as_best_and_the_weights_beside_it_in_last(corpus_file, tmp_path, runs):
    """--average: best.safetensors's weights are the moving average (what sample, eval and a page
    read), last.safetensors holds the weights themselves and the average, and the validation loss
    that chose best is the average's."""
    from charrnn.teacher_forcing import evaluate_stream

    args = ["train", corpus_file, *SMALL, "--num-layers", "1", "--seed", "2", "--steps", "30", "--eval-every", "30"]
    r = invoke(*args, "--average", "0.9", "--out", tmp_path / "avg")
    assert r.exit_code == 0, r.output
    assert invoke(*args, "--out", tmp_path / "raw").exit_code == 0
    best, last = (checkpoint.load(tmp_path / "avg" / f"{n}.safetensors") for n in ("best", "last"))
    raw = checkpoint.load(tmp_path / "raw" / "last.safetensors")
    assert best.average is None and last.average is not None
    for n in raw.params:  # the weights train exactly as without averaging; the average differs from them
        assert np.array_equal(last.params[n], raw.params[n]), n
        assert np.array_equal(best.params[n], last.average[n]), n
    assert not np.array_equal(last.average["decoder.weight"], last.params["decoder.weight"])
    # it follows the weights: far nearer the trained weights than the random start is
    from charrnn.model import init_params
    start = init_params(last.config, np.random.default_rng(2), np.float32)
    far = lambda a, b: sum(float(np.sum((a[n] - b[n]) ** 2)) for n in a)  # noqa: E731
    assert far(last.average, last.params) < 0.25 * far(start, last.params)
    val = np.asarray(last.vocab.encode(corpus_file.read_text(encoding="utf-8")))[-600:]
    assert evaluate_stream(best.params, best.config, val)[0] != evaluate_stream(last.params, last.config, val)[0]
    assert last.train.history[-1]["val_loss"] == pytest.approx(last.train.best_val_loss)
