"""Reading a user's text: encodings named or guessed, byte-order marks, NFKC, Unicode run names."""

import pytest

from charrnn.training import checkpoint
from charrnn.training.runs import safe_name
from charrnn.corpus.text import TextError, guess_encoding, normalize_text, read_text

from conftest import SMALL, invoke, one_line_error

JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で" \
           "ニャーニャー泣いていた事だけは記憶している。\n"


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"abc\xff\xfedef", "byte offset 3"),
    (b"ab\x00cd", "binary"),
])
def test_read_text_errors(tmp_path, content, message):
    f = tmp_path / "c.txt"
    f.write_bytes(content)
    with pytest.raises(TextError, match=message):
        read_text(f)


def test_read_text_missing_and_directory(tmp_path):
    with pytest.raises(TextError, match="no such file"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(TextError, match="directory"):
        read_text(tmp_path)


@pytest.mark.parametrize("codec,named", [
    ("cp932", "Shift_JIS (cp932)"), ("euc_jp", "EUC-JP"), ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16 LE"),
])
def test_a_japanese_file_in_another_encoding_names_it_and_the_option(tmp_path, runs, codec, named):
    f = tmp_path / "ja.txt"
    f.write_bytes((JAPANESE * 20).encode(codec))
    assert guess_encoding(f.read_bytes()) == codec
    r = invoke("train", f, *SMALL, "--steps", "1")
    one_line_error(r, "not valid utf-8", named, f"--encoding {codec}")
    assert not runs.exists()  # nothing was trained or written
    r = invoke("train", f, *SMALL, "--steps", "1", "--encoding", codec, "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    assert "猫" in checkpoint.load(tmp_path / "r" / "best.safetensors").vocab.chars


def test_western_text_in_latin1_suggests_latin1(tmp_path, runs):
    f = tmp_path / "fr.txt"
    f.write_bytes(("Un café crème et une crème brûlée, s'il vous plaît. " * 20).encode("latin-1"))
    one_line_error(invoke("train", f, *SMALL), "--encoding latin-1")


def test_any_codec_python_knows(tmp_path, runs):
    f = tmp_path / "koi8.txt"
    f.write_bytes(("Съешь же ещё этих мягких французских булок. " * 20).encode("koi8_r"))
    r = invoke("train", f, *SMALL, "--steps", "1", "--encoding", "koi8_r", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    one_line_error(invoke("train", f, *SMALL, "--encoding", "klingon"), "unknown encoding 'klingon'")


@pytest.mark.parametrize("encoding,data,noted", [
    ("utf-8", b"\xef\xbb\xbf" + (JAPANESE * 20).encode("utf-8"), 1),
    ("utf-16-le", b"\xff\xfe" + (JAPANESE * 20).encode("utf-16-le"), 1),
    ("utf-16", (JAPANESE * 20).encode("utf-16"), 0),  # the BOM is how UTF-16 names its byte order
])
def test_byte_order_mark_is_not_a_character(tmp_path, runs, encoding, data, noted):
    f = tmp_path / "bom.txt"
    f.write_bytes(data)
    r = invoke("train", f, *SMALL, "--steps", "1", "--encoding", encoding, "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    assert r.stderr.count("byte-order mark") == noted
    assert "\ufeff" not in checkpoint.load(tmp_path / "r" / "best.safetensors").vocab.chars


def test_nfkc_folds_full_and_half_width_forms_everywhere(tmp_path, runs):
    assert normalize_text("ＡＢＣ１２３ｶﾀｶﾅ", "nfkc") == "ABC123カタカナ"
    assert normalize_text("ＡＢＣ", "none") == "ＡＢＣ"
    f = tmp_path / "mixed.txt"
    f.write_text(("ＡＢＣ abc ｶﾀｶﾅ カタカナ １２３ 123\n" * 40), encoding="utf-8")
    plain, folded = tmp_path / "plain", tmp_path / "folded"
    assert invoke("train", f, *SMALL, "--steps", "2", "--out", plain).exit_code == 0
    r = invoke("train", f, *SMALL, "--steps", "2", "--normalize", "nfkc", "--out", folded)
    assert r.exit_code == 0, r.output
    v_plain = checkpoint.load(plain / "best.safetensors").vocab.chars
    ck = checkpoint.load(folded / "best.safetensors")
    assert "Ａ" in v_plain and "ｶ" in v_plain
    assert "Ａ" not in ck.vocab.chars and "ｶ" not in ck.vocab.chars and "カ" in ck.vocab.chars
    assert ck.corpus["normalize"] == "nfkc" and ck.train.options.normalize == "nfkc"
    # the prime and eval texts are folded the same way: full-width characters are known
    best = folded / "best.safetensors"
    r = invoke("sample", best, "--prime", "ＡＢＣ", "--length", "5", "--seed", "0")
    assert r.exit_code == 0 and r.stdout.startswith("ABC"), r.output
    r = invoke("sample", plain / "best.safetensors", "--prime", "ｶﾀ", "--length", "1")  # not folded: as trained
    assert r.exit_code == 0 and r.stdout.startswith("ｶﾀ"), r.output
    ev = tmp_path / "ev.txt"
    ev.write_text("ＡＢＣ ｶﾀｶﾅ\n" * 5, encoding="utf-8")
    r = invoke("eval", best, ev, "--json")
    assert r.exit_code == 0 and '"unknown_count": 0' in r.stdout, r.output
    # resume keeps it, and refuses to change it
    r = invoke("train", "--quiet", "--resume", folded / "last.safetensors", "--steps", "1")
    assert r.exit_code == 0, r.output
    one_line_error(invoke("train", f, "--resume", folded / "last.safetensors", "--steps", "1", "--normalize", "none"),
                   "--normalize")


@pytest.mark.parametrize("name,expected", [
    ("夏目漱石.txt", "夏目漱石"),
    ("吾輩は猫である.txt", "吾輩は猫である"),
    ("Ünïcödé text.md", "Ünïcödé_text"),
    ("a/b\\c:d*?.txt", "b_c_d"),
    ("tab\tnew\nline.txt", "tab_new_line"),
    ("...", "corpus"),
    ("猫" * 300 + ".txt", "猫" * 60),
])
def test_run_names_keep_unicode_letters_and_stay_safe(name, expected):
    assert safe_name(name) == expected


def test_a_run_on_a_japanese_file_is_named_after_it(tmp_path, runs):
    f = tmp_path / "夏目漱石.txt"
    f.write_text(JAPANESE * 20, encoding="utf-8")
    assert invoke("train", f, *SMALL, "--steps", "1").exit_code == 0
    (d,) = list(runs.iterdir())
    assert d.name.endswith("-夏目漱石")
