"""Named corpora: the embedded default, and the real download path against a local server."""

"""The download runs against a local server serving a made-up body, registered in place of the
real tinyshakespeare (its size and SHA-256), so these tests need no network and no ../shared."""

import pytest

from charrnn.corpus import corpora
from charrnn.corpus.streams import CorpusError

from conftest import Server, invoke


@pytest.fixture
def shakespeare_bytes(made_up_download):
    return made_up_download


def test_download_verifies_and_then_reuses_the_file(tmp_path, shakespeare_bytes):
    seen = []
    with Server(shakespeare_bytes) as server:
        path = corpora.fetch("tinyshakespeare", tmp_path, url=server.url, progress=lambda d, t: seen.append((d, t)))
        assert path == tmp_path / "tinyshakespeare.txt"
        assert corpora.sha256_file(path) == corpora.DOWNLOADS["tinyshakespeare"].sha256
        assert seen[-1] == (len(shakespeare_bytes), len(shakespeare_bytes))
        corpora.fetch("tinyshakespeare", tmp_path, url=server.url)
        assert server.requests == 1  # verified file on disk: no second download
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tinyshakespeare.txt"]


def test_checksum_mismatch_keeps_nothing(tmp_path, shakespeare_bytes):
    tampered = shakespeare_bytes.replace(b"ROMEO", b"ROMEX", 1)
    assert tampered != shakespeare_bytes
    with Server(tampered) as server, pytest.raises(CorpusError, match="damaged") as e:
        corpora.fetch("tinyshakespeare", tmp_path, url=server.url)
    assert str(e.value).startswith("the download of tinyshakespeare")
    assert str(e.value).count("offline") == 1
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_keeps_nothing(tmp_path, shakespeare_bytes):
    with Server(shakespeare_bytes, truncate_to=len(shakespeare_bytes) // 3) as server, pytest.raises(CorpusError) as e:
        corpora.fetch("tinyshakespeare", tmp_path, url=server.url)
    assert str(e.value).startswith("the download of tinyshakespeare")
    assert str(e.value).count("offline") == 1
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_says_what_to_do_offline(tmp_path):
    with pytest.raises(CorpusError, match="could not download tinyshakespeare.*offline"):
        corpora.fetch("tinyshakespeare", tmp_path, url="http://127.0.0.1:9/none.txt")
    assert list(tmp_path.iterdir()) == []


def test_train_on_the_named_corpus_downloads_it(tmp_path, runs, shakespeare_bytes, monkeypatch):
    monkeypatch.setenv("CHARRNN_DATA", str(tmp_path / "data"))
    with Server(shakespeare_bytes) as server:
        monkeypatch.setenv("CHARRNN_TINYSHAKESPEARE_URL", server.url)
        r = invoke("train", "tinyshakespeare", "--hidden-size", "8", "--steps", "1", "--seq-len", "10",
                   "--batch-size", "2", "--eval-every", "0", "--val-frac", "0.001", "--quiet")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "data" / "tinyshakespeare.txt").read_bytes() == shakespeare_bytes


def test_embedded_default_corpus_needs_no_file():
    src = corpora.load(None)
    assert src.name == "pydoc" and len(src.text) > 100_000 and src.path is None
    assert "statement" in src.text


def test_unknown_name_is_one_line(runs):
    r = invoke("train", "no-such-corpus")
    assert r.exit_code != 0 and r.stderr.count("\n") == 1
    assert "not a named corpus" in r.stderr and "tinyshakespeare" in r.stderr
