"""`charrnn exposure-bias`: teacher forced against free running on the same real prefixes."""

import json
from collections import Counter

import numpy as np
import pytest

from charrnn.reports import exposure

from conftest import invoke, one_line_error

PHRASE = "hello world! "


@pytest.fixture(scope="module")
def reciter(tmp_path_factory):
    """A small LSTM trained until it recites its repeated phrase, and its corpus."""
    d = tmp_path_factory.mktemp("recite")
    corpus = d / "repeat.txt"
    corpus.write_text(PHRASE * 300)
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", "1", "--hidden-size", "32", "--dropout", "0",
               "--seq-len", "26", "--batch-size", "8", "--lr", "0.01", "--steps", "150", "--eval-every", "0", "--val-frac", "0.2", "--quiet", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors", corpus


@pytest.fixture(scope="module")
def pangram_model(tmp_path_factory):
    """A model trained a little on varied text: it uses context, and its own samples differ
    from the real text."""
    from conftest import PANGRAMS

    d = tmp_path_factory.mktemp("pangram")
    corpus = d / "pangrams.txt"
    corpus.write_text((PANGRAMS + "\n") * 40)
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", "1", "--hidden-size", "32", "--dropout", "0",
               "--seq-len", "20", "--batch-size", "8", "--steps", "100",
               "--lr", "0.01", "--eval-every", "0", "--quiet", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors", corpus


def report(*args):
    r = invoke("exposure-bias", *map(str, args), "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_teacher_forced_losses_are_what_eval_measures(pangram_model, tmp_path):
    """Over all offsets of a prefix, the teacher-forced loss is `charrnn eval`'s on those
    positions: eval(prefix + continuation) minus eval(prefix), in summed nats."""
    ckpt, corpus = pangram_model
    P, K = 30, 25
    r = report(ckpt, corpus, "--prefixes", "3", "--warmup", P, "--horizon", K)
    text = corpus.read_text()
    per_prefix = []  # from eval, the summed loss of offsets 1..K of each prefix
    for i, e in enumerate(r["examples"]):
        s = e["start"]
        (tmp_path / "all.txt").write_text(text[s : s + P + K])
        (tmp_path / "pre.txt").write_text(text[s : s + P])
        whole = json.loads(invoke("eval", ckpt, tmp_path / "all.txt", "--json").stdout)
        pre = json.loads(invoke("eval", ckpt, tmp_path / "pre.txt", "--json").stdout)
        per_prefix.append(whole["loss"] * whole["predicted"] - pre["loss"] * pre["predicted"])
        assert e["real"] == text[s + P : s + P + K] and e["prefix"] == text[s : s + P]
        assert -np.log(e["real_probability"]).sum() == pytest.approx(per_prefix[-1], rel=1e-3)
    mean_tf = np.mean(r["per_offset"]["teacher_forced_loss"])
    assert mean_tf == pytest.approx(np.sum(per_prefix) / (3 * K), rel=1e-5)


def test_at_offset_one_both_architectures_have_read_the_same_history(pangram_model):
    r = report(*pangram_model, "--prefixes", "8", "--warmup", "20", "--horizon", "30")
    tf, fr = r["per_offset"]["teacher_forced_loss"], r["per_offset"]["free_running_loss"]
    assert fr[0] == pytest.approx(tf[0], rel=1e-5)
    assert np.mean(fr[10:]) > np.mean(tf[10:]) + 0.1  # then its own samples lead it away
    assert [b["offsets"] for b in r["divergence"]] == [[1, 10], [11, 30], [1, 30]]
    assert [b["offsets"] for b in r["ngrams"]] == [[1, 10], [11, 30]]


def test_a_model_that_recites_its_text_has_no_exposure_gap(reciter):
    r = report(reciter[0], "--prefixes", "6", "--warmup", "26", "--horizon", "40", "--temperature", "0.5")
    for b in r["divergence"]:
        assert b["free_running"]["mean"] == pytest.approx(b["teacher_forced"]["mean"], abs=0.05)
    for b in r["ngrams"]:
        assert b["free_running"]["novelty"] == 0.0 and b["real"]["novelty"] == 0.0
    assert all(e["generated"] == e["real"] for e in r["examples"])
    # a 13-character loop: of the 21 windows of 20 characters in 40, windows i and i + 13 agree
    assert r["repetition"]["free_running"] == r["repetition"]["real"] == pytest.approx(16 / 21)
    assert r["text"] == "repeat.txt (validation split)"


def test_deterministic_given_the_seed(pangram_model):
    args = (*pangram_model, "--prefixes", "5", "--warmup", "20", "--horizon", "30")
    a, b = report(*args, "--seed", "4"), report(*args, "--seed", "4")
    assert a == b
    c = report(*args, "--seed", "5")
    assert [e["generated"] for e in c["examples"]] != [e["generated"] for e in a["examples"]]


def test_tables_and_errors(pangram_model, tmp_path):
    ckpt, corpus = pangram_model
    r = invoke("exposure-bias", ckpt, "--warmup", "20", "--horizon", "30", "--show", "2")
    assert r.exit_code == 0, r.output
    for s in ("1. The control", "EB-M", "exposure bias", "2. How the two unrolls part", "another real history",
              "3. The free-running text", "real  ", "model ", "its own prefix"):
        assert s in r.stdout
    short = tmp_path / "short.txt"
    short.write_text("The quick brown fox")
    one_line_error(invoke("exposure-bias", ckpt, short), "--warmup")
    corpus.rename(tmp_path / "moved.txt")
    try:
        one_line_error(invoke("exposure-bias", ckpt), "not at hand")
        one_line_error(invoke("exposure-bias", ckpt, tmp_path / "moved.txt", "--warmup", "20", "--horizon", "30"),
                       "judge")  # the n-gram judge is fitted on the training text
        judge = ckpt  # a model judges instead: any checkpoint of the same characters
        r = invoke("exposure-bias", ckpt, tmp_path / "moved.txt", "--warmup", "20", "--horizon", "30", "--json",
                   "--judge", judge)
        assert r.exit_code == 0 and "novelty" in r.stderr and "left out" in r.stderr
        assert json.loads(r.stdout)["judge"]["kind"] == "checkpoint"
        assert json.loads(r.stdout)["ngrams"][0]["free_running"]["novelty"] is None
    finally:
        (tmp_path / "moved.txt").rename(corpus)


def test_divergence_novelty_and_repetition_measures():
    a = Counter({("a",): 3, ("b",): 1})
    assert exposure.js_divergence(a, a) == 0.0
    assert exposure.js_divergence(Counter({("a",): 1}), Counter({("b",): 1})) == pytest.approx(1.0)
    ids = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8])
    h = exposure.ngram_hashes(ids, 8)
    assert len(h) == 10 and h[0] == h[9] and len(set(h.tolist())) == 9
    known = np.unique(exposure.ngram_hashes(np.arange(1, 40), 8))
    rows = np.array([np.arange(1, 11), np.arange(31, 41)])  # the second row ends on unseen 8-grams
    assert exposure.novelty(rows, known, 1, 3) == pytest.approx(1 / 6)
    assert exposure.repetition(np.array([[1] * 30, list(range(30))])) == pytest.approx(0.5)


def test_a_one_character_warm_up_works(pangram_model):
    """--warmup 1: the prefix is one character, read as the first free-running input from a zero
    state (it crashed on a window of no steps)."""
    ckpt, corpus = pangram_model
    r = report(ckpt, corpus, "--warmup", "1", "--horizon", "10", "--prefixes", "4")
    first = r["divergence"][0]
    assert first["teacher_forced"]["mean"] > 0 and first["free_running"]["mean"] > 0
    assert r["per_offset"]["teacher_forced_loss"][0] == pytest.approx(r["per_offset"]["free_running_loss"][0])


def markov_text(rng, n, V=6):
    """Text from a first-order Markov chain over V letters with sharp transitions."""
    T = rng.dirichlet(np.full(V, 0.3), size=V)
    x = [0]
    for _ in range(n - 1):
        x.append(rng.choice(V, p=T[x[-1]]))
    return "".join("abcdef"[i] for i in x)


@pytest.fixture(scope="module")
def markov_model(tmp_path_factory):
    """A small LSTM that fits a first-order Markov chain closely: what it writes after its own
    text is as good as what it writes after the real text."""
    d = tmp_path_factory.mktemp("markov")
    corpus = d / "markov.txt"
    corpus.write_text(markov_text(np.random.default_rng(0), 30_000))
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", "1", "--hidden-size", "16", "--dropout", "0",
               "--seq-len", "40", "--batch-size", "16", "--lr", "0.01", "--steps", "300", "--eval-every", "0",
               "--quiet", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors", corpus


def test_no_exposure_bias_where_the_model_fits_the_source(markov_model):
    r = report(markov_model[0], "--prefixes", "48", "--warmup", "40", "--horizon", "30")
    assert r["judge"]["kind"] == "kneser-ney" and r["judge"]["order"] in (2, 3)  # a first-order chain
    whole = r["control"][-1]
    assert whole["offsets"] == [1, 30]
    assert whole["eb_m"]["low"] <= 1.0 <= whole["eb_m"]["high"], whole["eb_m"]
    assert r["verdict"].startswith("no measurable exposure bias")
    # and the judge finds the model's text about as likely as the real text
    assert whole["judge"]["data_prefix"]["mean"] == pytest.approx(whole["judge"]["real"]["mean"], rel=0.1)


def test_the_control_separates_prefixes_unlike_the_training_text(reciter):
    """A model that recites its phrase continues it perfectly after a real prefix; after a prefix
    of its own sampled at temperature 4 (gibberish, unlike anything it was trained on) it has to
    find its way back first: the judge's loss of what it writes next is higher, and the interval
    says so."""
    r = report(reciter[0], "--prefixes", "24", "--warmup", "40", "--horizon", "20", "--prefix-temperature", "4",
               "--temperature", "0.5")
    early = r["control"][0]  # offsets 1-10: right after the prefix
    assert early["eb_m"]["low"] > 1.0, early["eb_m"]
    assert r["verdict"].startswith("exposure bias measured")
    same = report(reciter[0], "--prefixes", "24", "--warmup", "40", "--horizon", "20", "--temperature", "0.5")
    assert same["control"][-1]["eb_m"]["low"] <= 1.0 <= same["control"][-1]["eb_m"]["high"]  # its own prefixes: fine


def test_intervals_hold_their_mean_and_resample_prefixes():
    rng = np.random.default_rng(0)
    v = rng.normal(2.0, 0.3, size=50)
    ci = exposure.interval(v, rng)
    assert ci["low"] < ci["mean"] < ci["high"] and ci["mean"] == pytest.approx(v.mean())
    assert ci["high"] - ci["low"] == pytest.approx(2 * 1.96 * v.std() / np.sqrt(50), rel=0.2)
    ratio = exposure.interval(v * 1.5, rng, v)
    assert ratio["mean"] == pytest.approx(1.5) and ratio["high"] - ratio["low"] < 1e-9  # a fixed ratio
