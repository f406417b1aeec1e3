"""`charrnn eval` and `charrnn info`."""

import json
import math
import re

import numpy as np
import pytest

from charrnn.training import checkpoint
from charrnn.corpus.streams import unigram_entropy

from conftest import SMALL, invoke


@pytest.fixture
def trained(corpus_file, tmp_path, runs):
    r = invoke("train", corpus_file, *SMALL, "--steps", "12", "--eval-every", "4", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    return tmp_path / "r" / "best.safetensors"


def test_eval_reports_loss_bits_perplexity_and_baseline(trained, corpus_file):
    r = invoke("eval", trained, corpus_file, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["bits"] == pytest.approx(res["loss"] / math.log(2))
    assert res["perplexity"] == pytest.approx(math.exp(res["loss"]))
    assert res["predicted"] == len(corpus_file.read_text()) - 1 and res["unknown_count"] == 0
    ck = checkpoint.load(trained)
    assert res["unigram"] == pytest.approx(unigram_entropy(ck.vocab.encode(corpus_file.read_text()), len(ck.vocab)))
    table = invoke("eval", trained, corpus_file)
    assert "unigram baseline" in table.stdout and "perplexity" in table.stdout


def test_eval_counts_unknown_characters(trained, tmp_path):
    f = tmp_path / "other.txt"
    f.write_text("The quick brown fox ~~ jumps €€€ over", encoding="utf-8")
    r = invoke("eval", trained, f, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["unknown_count"] == 5 and res["unknown_chars"] == ["~", "€"]


def test_eval_of_the_validation_text_is_the_runs_validation_loss(trained, corpus_file, tmp_path):
    from charrnn.corpus.streams import split_sizes

    text = corpus_file.read_text()
    n_train, _ = split_sizes(len(text), 0.1)
    val = tmp_path / "val.txt"
    val.write_text(text[n_train:])
    res = json.loads(invoke("eval", trained, val, "--json").stdout)
    assert res["loss"] == pytest.approx(checkpoint.load(trained).train.best_val_loss, rel=1e-6)


def plotted(stdout):
    """The marks inside the loss chart's plot area (right of its axis), row by row."""
    return [line.split(" |", 1)[1] for line in stdout.splitlines() if re.match(r"\s*-?\d+\.\d{3} \|", line)]


def test_info_shows_config_tensors_and_curve(trained):
    r = invoke("info", trained)
    assert r.exit_code == 0, r.output
    for s in ("hidden_size", "rnn.weight_hh_l0", "64x16", "sha256", "t = train loss"):
        assert s in r.stdout
    rows = plotted(r.stdout)
    assert len(rows) == 12
    marks = "".join(rows)
    assert marks.count("v") + marks.count("*") >= 1 and marks.count("t") + marks.count("*") >= 1
    assert len(marks.replace(" ", "")) >= 3  # three evaluations, each with a train and a val loss
    res = json.loads(invoke("info", trained, "--json").stdout)
    assert res["parameters"] == sum(t["count"] for t in res["tensors"])
    assert [h["step"] for h in res["history"]] == [4, 8, 12]


def test_loss_chart_puts_each_point_where_its_step_and_loss_say():
    from charrnn.views.evaluation import loss_chart

    history = [{"step": 0, "train_loss": 3.0, "val_loss": 2.0}, {"step": 100, "train_loss": 1.0, "val_loss": None}]
    rows = plotted(loss_chart(history, width=11, height=5))
    assert rows[0] == "t" + " " * 10  # highest loss, first step: top left
    assert rows[2] == "v" + " " * 10  # 2.0 is half way between 3.0 and 1.0
    assert rows[4] == " " * 10 + "t"  # lowest loss, last step: bottom right
    assert rows[1].strip() == rows[3].strip() == ""


def test_bad_checkpoint_is_one_line(tmp_path, corpus_file):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"garbage")
    for args in (("eval", bad, corpus_file), ("info", bad)):
        r = invoke(*args)
        assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "x.safetensors" in r.stderr


def test_loss_by_position_goes_out_to_ten_training_windows(trained, tmp_path):
    text = tmp_path / "long.txt"
    from conftest import PANGRAMS

    text.write_text((PANGRAMS + "\n") * 40)
    r = json.loads(invoke("eval", trained, text, "--by-position", "--json").stdout)
    p = r["by_position"]
    T = p["window"]
    assert T == 20 and [b["positions"] for b in p["buckets"]] == [[j * T + 1, (j + 1) * T] for j in range(10)]
    assert all(b["low"] <= b["loss"] <= b["high"] for b in p["buckets"]) and p["streams"] >= 2
    table = invoke("eval", trained, text, "--by-position").stdout
    assert "Loss by position" in table and "181-200" in table


def test_reading_by_position_in_chunks_carries_the_state_exactly(rng):
    from charrnn.model import ModelConfig, init_params
    from charrnn.teacher_forcing import loss_by_position

    config = ModelConfig(vocab_size=6, hidden_size=5, num_layers=2, cell="gru")
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 6, size=500)
    whole = loss_by_position(params, config, ids, 60, streams=4, seq_len=1000)
    chunked = loss_by_position(params, config, ids, 60, streams=4, seq_len=7)
    assert whole.shape == (60, 4)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
