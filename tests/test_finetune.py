"""Fine-tuning (`charrnn train TEXT --init-from CKPT`): a trained model's weights are the start,
its characters keep their rows and columns, the new text's new characters start as a fresh
model's, and the new run records where it came from."""

import numpy as np
import pytest

from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, grow_vocab, init_params, zero_state
from charrnn.teacher_forcing import forward
from charrnn.training import checkpoint

from conftest import NETWORKS, PANGRAMS, SMALL, invoke, layer_counts, one_line_error


@pytest.mark.parametrize("cell", NETWORKS)
def test_grown_weights_predict_the_old_characters_as_before(cell, rng):
    """On a text of the old characters, every logit of an old character is exactly what the old
    model gave it: growing the vocabulary only moved its rows and columns."""
    old, new = Vocab(list("abcde")), Vocab(list("\nXabcdez"))
    kw = {"context": 2} if cell == "jordan" else {}
    small = ModelConfig(vocab_size=5, hidden_size=6, num_layers=layer_counts(cell)[-1], cell=cell, **kw)
    big = ModelConfig(vocab_size=8, hidden_size=6, num_layers=layer_counts(cell)[-1], cell=cell, **kw)
    params = init_params(small, rng, np.float64)
    grown = grow_vocab(params, big, old.chars, new.chars, np.random.default_rng(1))
    text = "abcdeedcbaacebd"
    a = forward(params, small, old.encode(text).astype(np.intp).reshape(-1, 1), zero_state(small, 1, np.float64))[2]
    b = forward(grown, big, new.encode(text).astype(np.intp).reshape(-1, 1), zero_state(big, 1, np.float64))[2]
    logits_a = a.log_probs - a.log_probs.max(axis=1, keepdims=True)  # log-softmax, up to a constant per row
    ids = [new.index[c] for c in old.chars]
    pa = np.exp(a.log_probs)
    pb = np.exp(b.log_probs[:, ids])
    np.testing.assert_allclose(pb / pb.sum(axis=1, keepdims=True), pa, rtol=1e-12)
    assert not np.allclose(logits_a, 0)
    fresh = init_params(big, np.random.default_rng(1), np.float64)
    np.testing.assert_array_equal(grown["decoder.bias"][new.index["z"]], fresh["decoder.bias"][new.index["z"]])


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    d = tmp_path_factory.mktemp("parent")
    (d / "a.txt").write_text((PANGRAMS + "\n") * 40, encoding="utf-8")
    assert invoke("train", d / "a.txt", *SMALL, "--steps", "20", "--out", d / "run").exit_code == 0
    return d / "run" / "best.safetensors"


def test_fine_tuning_adds_characters_and_keeps_the_parents_model(parent, tmp_path, runs):
    small = tmp_path / "b.txt"
    small.write_text(("Über die Brücke — " + PANGRAMS + "\n") * 20, encoding="utf-8")
    r = invoke("train", small, "--init-from", parent, "--steps", "5", "--seq-len", "20", "--batch-size", "4",
               "--out", tmp_path / "ft")
    assert r.exit_code == 0, r.output
    ck, old = checkpoint.load(tmp_path / "ft" / "best.safetensors"), checkpoint.load(parent)
    added = sorted(set(small.read_text(encoding="utf-8")) - set(old.vocab.chars))
    assert {"Ü", "ü", "—"} <= set(added)
    assert f"{len(added)} new character(s) ({', '.join(map(repr, added))}) start as a fresh model's" in r.stderr
    assert "fine-tuning from" in r.stderr  # the recipe line says so
    assert (ck.config.cell, ck.config.num_layers, ck.config.hidden_size) == (old.config.cell, old.config.num_layers,
                                                                            old.config.hidden_size)
    assert set(ck.vocab.chars) == set(old.vocab.chars) | set(added) and ck.train.optimizer_steps == 5
    assert ck.train.parent["checkpoint"] == str(parent) and ck.train.parent["added_chars"] == len(added)
    info = invoke("info", tmp_path / "ft" / "best.safetensors", "--json")
    assert info.exit_code == 0 and f"{len(added)} characters added" in info.stdout


def test_a_fine_tuning_time_budget_measures_the_parents_model(parent, tmp_path, runs):
    small = tmp_path / "b.txt"
    small.write_text(PANGRAMS * 20, encoding="utf-8")
    assert invoke("train", small, "--init-from", parent, "--time", "3s", "--quiet", "--out", tmp_path / "r").exit_code == 0
    recipe = checkpoint.load(tmp_path / "r" / "last.safetensors").train.recipe
    assert list(recipe.measured) == ["lstm 1x16"] and "~0 passes" not in recipe.reason


def test_fine_tuning_bad_input_gets_one_line(parent, tmp_path, runs):
    small = tmp_path / "b.txt"
    small.write_text(PANGRAMS * 20, encoding="utf-8")
    one_line_error(invoke("train", small, "--init-from", parent, "--hidden-size", "99", "--steps", "2"),
                   "--hidden-size 99 differs")
    one_line_error(invoke("train", small, "--init-from", parent, "--resume", parent), "--init-from", "--resume")
    damaged = tmp_path / "damaged.safetensors"
    data = bytearray(parent.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))
    one_line_error(invoke("train", small, "--init-from", damaged, "--steps", "2"), "damaged")
    one_line_error(invoke("train", small, "--init-from", tmp_path / "missing.safetensors"), "no such checkpoint")
