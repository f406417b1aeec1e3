"""Every kind of bad corpus trains or gets one clear line; numerics never overflow."""

import numpy as np
import pytest

from charrnn.training import checkpoint
from charrnn.ground.ops import log_softmax

from conftest import SMALL, invoke

from .conftest import run_measuring_peak

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out


def outcome(r):
    """'trained' or 'refused'; anything else (a traceback, several lines) fails the test."""
    if r.exit_code == 0:
        return "trained"
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error:"), r.stderr
    return "refused"


@pytest.mark.parametrize("name,content,expected", [
    ("empty", b"", "refused"),
    ("whitespace", b"   \n\t \n" * 200, "trained"),
    ("binary", bytes(range(256)) * 40, "refused"),
    ("invalid-utf8", b"good text " * 100 + b"\xc3\x28" + b" more", "refused"),
    ("one-char", b"z" * 5000, "refused"),
])
def test_bad_corpora(tmp_path, runs, name, content, expected):
    f = tmp_path / f"{name}.txt"
    f.write_bytes(content)
    assert outcome(invoke("train", f, *SMALL, "--steps", "2")) == expected


def test_huge_vocabulary(tmp_path, runs):
    rng = np.random.default_rng(0)
    chars = [chr(0x4E00 + i) for i in range(3000)]
    f = tmp_path / "cjk.txt"
    f.write_text("".join(rng.choice(chars, size=60_000)), encoding="utf-8")
    r = invoke("train", f, *SMALL, "--steps", "2", "--out", tmp_path / "r")
    assert outcome(r) == "trained"
    assert len(checkpoint.load(tmp_path / "r" / "best.safetensors").vocab) == 3000


def test_200_mb_corpus_memory_stays_bounded(tmp_path):
    """Peak memory of training on 200 MB stays under 3x the corpus plus the model."""
    f = tmp_path / "big.txt"
    block = ("The quick brown fox jumps over the lazy dog. " * 1000 + "\n").encode()
    size = 200 * 1024 * 1024
    with open(f, "wb") as out:
        for _ in range(size // len(block)):
            out.write(block)
    corpus_bytes = f.stat().st_size
    p, peak = run_measuring_peak("train", f, "--hidden-size", "16", "--seq-len", "20", "--batch-size", "4",
                                 "--quiet", "--steps", "2", "--eval-every", "0", "--val-frac", "0.00005",
                                 "--out", tmp_path / "r")
    assert p.returncode == 0, p.stderr
    assert peak < 3 * corpus_bytes + 100 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_learning_rate_that_diverges_stops_with_a_message(corpus_file, tmp_path, runs):
    out = tmp_path / "r"
    assert invoke("train", corpus_file, *SMALL, "--steps", "10", "--eval-every", "10", "--out", out).exit_code == 0
    good = (out / "last.safetensors").read_bytes()
    r = invoke("train", corpus_file, "--quiet", "--resume", out / "last.safetensors", "--steps", "300",
               "--eval-every", "200", "--lr", "1000", "--clip", "0")
    assert outcome(r) == "refused"
    assert "--lr" in r.stderr and ("diverged" in r.stderr or "nan" in r.stderr)
    assert "last good checkpoint" in r.stderr
    assert (out / "last.safetensors").read_bytes() == good  # the last good checkpoint is kept
    assert all(np.isfinite(p).all() for p in checkpoint.load(out / "last.safetensors").params.values())


def test_softmax_and_cross_entropy_never_overflow_in_float32():
    logits = np.array([[1e30, -1e30, 0.0], [88.0, 89.0, 90.0], [-1e4, -1e4, -1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        lp = log_softmax(logits)
    assert lp.dtype == np.float32 and np.isfinite(lp).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=1e-6)


def test_inspect_gradients_on_a_large_vocabulary_keeps_memory_bounded(tmp_path):
    """LSTM 1x256 over V = 3,000 characters: the per-step views keep norms, never per-step
    tensors of shape (T, 4H, V) (2.5 GB here in float64), so the whole report stays under 1.5 GB."""
    from charrnn.model import ModelConfig, init_params
    from charrnn.ground.vocab import Vocab

    rng = np.random.default_rng(0)
    chars = [chr(0x4E00 + i) for i in range(3000)]
    text = "".join(chars) + "".join(rng.choice(chars, size=20_000))
    f = tmp_path / "cjk.txt"
    f.write_text(text, encoding="utf-8")
    vocab = Vocab.from_text(text)
    config = ModelConfig(vocab_size=len(vocab), hidden_size=256)
    ck = checkpoint.Checkpoint(config=config, vocab=vocab, params=init_params(config, rng))
    checkpoint.save(ck, tmp_path / "big.safetensors")
    p, peak = run_measuring_peak("inspect-gradients", tmp_path / "big.safetensors", "--corpus", f, "--json",
                                 "--check-steps", "2", "--check-elements", "4")
    assert p.returncode == 0, p.stderr
    assert len(vocab) == 3000 and '"seq_len": 100' in p.stdout
    assert peak < 1.5 * 2**30, f"peak {peak / 2**20:.0f} MiB"
