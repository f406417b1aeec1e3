"""Terminals: plain-ASCII tables and charts, and stdout encodings that cannot write everything
(checked in subprocesses with PYTHONIOENCODING, as a user's terminal would set them)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import SMALL, invoke

pytestmark = pytest.mark.slow  # each case runs the command in a subprocess with its own stdout encoding

TEXT = ("吾輩は猫である。名前はまだ無い。😺\nどこで生れたかとんと見当がつかぬ。😺\n") * 60


@pytest.fixture(scope="module")
def japanese(tmp_path_factory):
    """A small model trained on Japanese text (with an emoji, which EUC-JP cannot encode)."""
    d = tmp_path_factory.mktemp("ja")
    corpus = d / "猫.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", "1", "--hidden-size", "32", "--dropout", "0",
               "--seq-len", "20", "--batch-size", "8", "--lr", "0.01", "--steps", "60", "--eval-every", "30", "--quiet", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors", corpus


def run(*args, encoding=None, env=None):
    e = {**os.environ, **(env or {})}
    if encoding:
        e["PYTHONIOENCODING"] = encoding
    return subprocess.run([sys.executable, "-m", "charrnn", *map(str, args)], capture_output=True, env=e)


def ascii_only(data: bytes) -> bool:
    return all(b < 128 for b in data)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_ascii_mode_draws_every_table_and_chart_in_ascii(japanese, tmp_path, how):
    ckpt, corpus = japanese
    flag = ["--ascii"] if how == "flag" else []
    env = {"CHARRNN_ASCII": "1"} if how == "env" else {}
    for args in (["info", ckpt], ["eval", ckpt, corpus],
                 ["inspect-gradients", ckpt, "--seq-len", "20", "--check-steps", "2", "--check-elements", "2"],
                 ["train", corpus, *SMALL, "--steps", "2", "--out", tmp_path / f"r-{how}"]):
        r = run(*args, *flag, encoding="utf-8", env=env)
        assert r.returncode == 0, r.stderr.decode()
        out = r.stdout.decode("utf-8")
        drawn = out.replace(str(ckpt), "").replace(str(corpus), "").replace(str(tmp_path), "")
        drawn = "".join(ch for ch in drawn if ch not in TEXT)  # the model's own characters may show
        assert ascii_only(drawn.encode()), (args, sorted({c for c in drawn if ord(c) > 127}))
        assert "+-" in out or "|" in out  # tables are still drawn


def test_without_ascii_mode_tables_use_box_characters(japanese):
    r = run("info", japanese[0], encoding="utf-8")
    assert r.returncode == 0 and "━" in r.stdout.decode()


def test_info_shows_the_whole_vocabulary_on_request(japanese):
    ckpt, _ = japanese
    short = invoke("info", ckpt).stdout
    full = invoke("info", ckpt, "--vocab").stdout
    vocab = sorted(set(TEXT))
    assert "more (--vocab shows all)" not in short  # 24 characters: all fit
    assert "".join(c for c in vocab if c != "\n") in full.replace("\\n", "")
    assert f"vocabulary, {len(vocab)} characters in id order:" in full


def test_a_long_vocabulary_is_previewed_and_not_cut(tmp_path, runs):
    kanji = "".join(chr(0x4E00 + i) for i in range(300))
    f = tmp_path / "kanji.txt"
    f.write_text(kanji * 5, encoding="utf-8")
    assert invoke("train", f, *SMALL, "--steps", "1", "--out", tmp_path / "r").exit_code == 0
    def shown(out):  # the kanji in the output, in order, whatever the table's folding
        return "".join(c for c in out if c in kanji)

    short = invoke("info", tmp_path / "r" / "best.safetensors").stdout
    assert shown(short) == kanji[:40] and "and 260 more (--vocab shows all)" in re.sub(r"[\s│]+", " ", short)
    full = invoke("info", tmp_path / "r" / "best.safetensors", "--vocab").stdout
    assert shown(full) == kanji


@pytest.mark.parametrize("encoding", ["ascii", "euc-jp"])
def test_reports_never_fail_on_a_narrow_stdout(japanese, encoding):
    """info, eval and inspect-gradients write what stdout cannot encode as escapes, and switch
    to ASCII tables by themselves."""
    ckpt, corpus = japanese
    for args in (["info", ckpt, "--vocab"], ["eval", ckpt, corpus],
                 ["inspect-gradients", ckpt, "--seq-len", "20", "--check-steps", "2", "--check-elements", "2"]):
        r = run(*args, encoding=encoding)
        assert r.returncode == 0 and b"Traceback" not in r.stderr, (args, r.stderr.decode())
        out = r.stdout.decode(encoding)
        assert "━" not in out and ("+" in out or "|" in out)
        assert "\\u258" not in out and "\\u2026" not in out  # charts in ASCII, not escaped blocks
        if args[0] == "info":
            assert ("\\u732b" if encoding == "ascii" else "猫") in out  # 猫, escaped or written


def test_sample_to_a_stdout_that_cannot_write_a_character(japanese):
    ckpt, _ = japanese
    full = run("sample", ckpt, "--length", "200", "--seed", "1", encoding="utf-8")
    text = full.stdout.decode("utf-8")
    assert full.returncode == 0 and "😺" in text  # the model writes the emoji in this sample
    for encoding in ("ascii", "euc-jp"):
        r = run("sample", ckpt, "--length", "200", "--seed", "1", encoding=encoding)
        err = r.stderr.decode()
        assert r.returncode == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "PYTHONIOENCODING=utf-8" in err and "--replace-unencodable" in err
        written = r.stdout.decode(encoding)
        bad = next(i for i, ch in enumerate(text) if not can_encode(ch, encoding))
        assert f"U+{ord(text[bad]):04X}" in err
        assert written == text[:bad]  # everything before the character was written, and stays
        r = run("sample", ckpt, "--length", "200", "--seed", "1", "--replace-unencodable", encoding=encoding)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout.decode(encoding) == "".join(ch if can_encode(ch, encoding) else "?" for ch in text)


def can_encode(ch, encoding):
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False
