"""Named corpora, usable wherever a corpus path is: `charrnn train tinyshakespeare`.

    tinyshakespeare   Karpathy's char-rnn benchmark text, downloaded on first use into the data
                      directory and verified against its SHA-256
    pydoc             Python's own reference documentation (`pydoc_data`, shipped with every
                      CPython): English prose that needs no file and no network

The data directory is $CHARRNN_DATA, else the `data/` folder of a source checkout, else
~/.cache/charrnn. A download goes to a temporary file that is verified, then renamed: a failed,
partial or corrupted download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from charrnn.corpus import items
from charrnn.corpus.streams import CorpusError, split_sizes
from charrnn.corpus.text import STDIN, normalize_text, read_text

DATA_ENV = "CHARRNN_DATA"
URL_ENV = "CHARRNN_TINYSHAKESPEARE_URL"  # a mirror (tests point it at a local server)


def python_docs_text() -> str:
    """English prose that ships with every CPython: the reference documentation topics in
    `pydoc_data` (about 465,000 characters). A corpus that needs no file and no network."""
    from pydoc_data.topics import topics

    return "".join(topics[k] for k in sorted(topics))


@dataclass(frozen=True)
class Download:
    filename: str
    url: str
    sha256: str
    size: int


DOWNLOADS = {
    "tinyshakespeare": Download(
        filename="tinyshakespeare.txt",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        size=1_115_394,
    ),
}
EMBEDDED = {"pydoc": python_docs_text}
NAMES = tuple(DOWNLOADS) + tuple(EMBEDDED)
DEFAULT = "pydoc"


def data_dir() -> Path:
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / "README.md").is_file():
        return checkout
    return Path.home() / ".cache" / "charrnn"


def fetch(name: str, directory: Path | None = None, url: str | None = None, progress=None) -> Path:
    """The local path of a downloadable corpus, downloading and verifying it if needed.

    `progress(done_bytes, total_bytes)` is called as bytes arrive (the CLI draws a bar)."""
    import urllib.error
    import urllib.request

    d = DOWNLOADS[name]
    directory = Path(directory or data_dir())
    path = directory / d.filename
    if path.is_file() and sha256_file(path) == d.sha256:
        return path
    url = url or os.environ.get(URL_ENV) or d.url
    offline = (f"offline? download {d.url} yourself and pass the file's path instead of "
               f"'{name}'")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{d.filename}.", suffix=".part", dir=directory)
    except OSError as e:
        raise CorpusError(f"cannot write to {directory}: {e.strerror or e}; set ${DATA_ENV}") from None
    try:
        digest, got = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=30) as response:
            while chunk := response.read(1 << 16):
                f.write(chunk)
                digest.update(chunk)
                got += len(chunk)
                if progress:
                    progress(got, d.size)
        if got != d.size or digest.hexdigest() != d.sha256:
            raise CorpusError(
                f"the download of {name} from {url} is damaged ({got:,} bytes, SHA-256 "
                f"{digest.hexdigest()[:12]}...; expected {d.size:,} bytes, {d.sha256[:12]}...); "
                f"nothing was kept; {offline}"
            )
        os.replace(tmp, path)
        return path
    except CorpusError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
        raise CorpusError(f"could not download {name} from {url} ({reason}); {offline}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Source:
    text: str
    name: str  # what the user called it
    path: str | None  # a file the text can be read from again, if any
    encoding: str
    normalize: str = "none"  # text.NORMALIZATIONS: applied to `text` already
    notes: list = field(default_factory=list)  # lines for the user (a byte-order mark dropped, ...)


def load(name_or_path: str | None, encoding: str = "utf-8", progress=None, normalize: str = "none") -> Source:
    """A file path, or one of the named corpora; None means the embedded default. The text is
    normalized as asked (see text.normalize_text)."""
    name_or_path = name_or_path or DEFAULT
    notes: list = []
    if name_or_path in NAMES and not os.path.exists(name_or_path):
        if name_or_path in EMBEDDED:
            text, name, path, encoding = EMBEDDED[name_or_path](), name_or_path, None, "utf-8"
        else:
            path = str(fetch(name_or_path, progress=progress))
            text, name, encoding = read_text(path, notes=notes, error=CorpusError), name_or_path, "utf-8"
    elif name_or_path == STDIN:  # piped in: recorded by its hash, found again only by piping it in again
        text = read_text(STDIN, encoding, notes=notes, error=CorpusError)
        name, path = "stdin", None
    elif not os.path.exists(name_or_path) and os.sep not in name_or_path:
        raise CorpusError(f"{name_or_path}: no such file, and not a named corpus ({', '.join(NAMES)})")
    else:
        text = read_text(name_or_path, encoding, notes=notes, error=CorpusError)
        name, path = os.path.basename(name_or_path), os.path.abspath(name_or_path)
    return Source(normalize_text(text, normalize), name, path, encoding, normalize, notes)


GIVE_CORPUS = "give the corpus file explicitly (train: CORPUS; inspect-gradients: --corpus FILE)"


def of_checkpoint(ck) -> Source:
    """The text a checkpoint was trained on, found again (its file, or its named corpus) and
    verified against the SHA-256 stored in the checkpoint."""
    from charrnn.corpus.streams import sha256_text

    name, path = ck.corpus.get("name"), ck.corpus.get("path")
    normalize = ck.normalization
    if path and os.path.isfile(path):
        src = load(path, ck.corpus.get("encoding", "utf-8"), normalize=normalize)
    elif name in NAMES:
        src = load(name, normalize=normalize)
    elif name == "stdin":
        raise CorpusError(f"{ck.path} was trained on text piped into standard input; pipe the same text in again "
                          f"and name it '{STDIN}' (e.g. cat corpus.txt | charrnn train {STDIN} --resume {ck.path})")
    else:
        raise CorpusError(f"the corpus {ck.path} was trained on is not at hand; {GIVE_CORPUS}")
    if sha256_text(src.text) != ck.corpus.get("sha256"):
        raise CorpusError(f"{src.path or src.name} changed since {ck.path} was trained on it; {GIVE_CORPUS}")
    return src


def validation_text(ck) -> tuple[str, str, str]:
    """(training text, validation text, name) of the run's own corpus, found again as `eval` and
    `--resume` find it (CorpusError when it is not at hand); a list model's sides as it reads
    them (corpus/items.py)."""
    own = of_checkpoint(ck)
    val_frac = ck.train.options.val_frac if ck.train else 0.1
    name = f"{own.name} (validation split)"
    if ck.config.item_start is not None:
        train, val = items.split_items(items.read_items(own.text)[0], val_frac)
        return items.as_read(train), items.as_read(val), name
    n_train, _ = split_sizes(len(own.text), val_frac)
    return own.text[:n_train], own.text[n_train:], name
