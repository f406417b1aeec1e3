"""Reading a user's text file: bytes -> str, with the encoding they name, and one clear line
when that fails -- naming the encoding the bytes most likely are in, and the option to pass.

    read_text(path, encoding)        the text; a leading byte-order mark is dropped (and noted)
    guess_encoding(data)             utf-16 / cp932 (Shift_JIS) / euc_jp / latin-1, by trying them
    normalize_text(text, form)       "none", or "nfkc": full-width and half-width forms folded

Guessing is a hint, never a silent choice: decoding with a wrong codec trains on mojibake.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
import unicodedata

from charrnn.ground.errors import UserError

NORMALIZATIONS = ("none", "nfkc")
BOM = "\ufeff"
SNIFF_BYTES = 1 << 16  # how much of a file the encoding guess reads
JAPANESE = ("cp932", "euc_jp")  # what Japanese text that is not UTF-8 is almost always in
CODEC_NAMES = {"cp932": "Shift_JIS (cp932)", "euc_jp": "EUC-JP", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
               "utf-16-be": "UTF-16 BE", "latin-1": "Latin-1 (or cp1252)"}


class TextError(UserError, ValueError):
    """A text file the tool cannot use; the message is one line for the user."""


STDIN = "-"  # the name that reads standard input, as UNIX tools do
MAX_STDIN_BYTES = 1 << 30  # 1 GiB: a pipe has no size to check before reading it


def read_file_bytes(path: str, error: type[Exception], what: str, expected: str) -> bytes:
    """The bytes of a file the user named, or `error` with one line saying what is wrong
    ("no such <what>", a directory, a device or a pipe where <expected> was wanted, unreadable)."""
    if not os.path.exists(path):
        raise error(f"{path}: no such {what}")
    if os.path.isdir(path):
        raise error(f"{path}: is a directory; give {expected}")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # /dev/zero, /dev/urandom, a FIFO: read without end
            raise error(f"{path}: not a regular file (a device, a pipe or a socket); give {expected}, or pipe "
                        f"the text into '{STDIN}'")
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror})") from None


def read_stdin_bytes(error: type[Exception], stream=None) -> bytes:
    """Everything piped into standard input, at most MAX_STDIN_BYTES; `error` for a terminal (there
    is nothing piped in) or more than that."""
    stream = stream or sys.stdin
    if stream is None or stream.isatty():
        raise error(f"'{STDIN}' reads the text from standard input, but nothing is piped in; e.g. "
                    f"cat corpus.txt | charrnn train {STDIN}")
    data = stream.buffer.read(MAX_STDIN_BYTES + 1) if hasattr(stream, "buffer") else stream.read().encode()
    if len(data) > MAX_STDIN_BYTES:
        raise error(f"standard input holds more than {MAX_STDIN_BYTES >> 30} GiB; give the text as a file instead")
    return data


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; any codec Python knows is accepted."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise TextError(f"unknown encoding {encoding!r}; try utf-8, cp932 (Shift_JIS), euc_jp, "
                        f"utf-16 or latin-1 (any codec Python knows works)") from None
    return info.name


def read_text(path: str | os.PathLike, encoding: str = "utf-8", notes: list | None = None,
              error: type[Exception] = TextError) -> str:
    """Decode the whole file. A byte-order mark at the start is not text: it is dropped, and a
    line saying so is appended to `notes`."""
    path = os.fspath(path)
    codec = check_encoding(encoding)
    data = read_stdin_bytes(error) if path == STDIN else read_file_bytes(path, error, "file", "a text file")
    path = "standard input" if path == STDIN else path
    if not data:
        raise error(f"{path}: the file is empty; give a text file with some text in it")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        raise error(decode_failure(path, data, encoding, e)) from None
    del data  # keep one copy of a large corpus, not two
    if text.startswith(BOM):
        text = text[1:]
        if notes is not None:
            notes.append(f"note: dropped the byte-order mark (U+FEFF) at the start of {path}")
    if "\x00" in text:
        raise error(f"{path}: holds NUL characters, so it looks binary, not text"
                    + ("" if codec.startswith("utf-16") else "; if it is UTF-16, pass --encoding utf-16"))
    return text


def decode_failure(path: str, data: bytes, encoding: str, e: UnicodeDecodeError) -> str:
    where = f"byte 0x{data[e.start]:02x} at byte offset {e.start}"
    guess = guess_encoding(data)
    if guess is None or check_encoding(guess) == check_encoding(encoding):
        return f"{path}: not valid {encoding} ({where}); pass the file's encoding with --encoding"
    return (f"{path}: not valid {encoding} ({where}); it looks like {CODEC_NAMES.get(guess, guess)}: "
            f"pass --encoding {guess}")


def guess_encoding(data: bytes) -> str | None:
    """The most likely encoding of bytes that are not UTF-8: UTF-16 by its byte-order mark or
    its zero bytes; otherwise each Japanese codec (and UTF-16 without a byte-order mark) that
    decodes the start of the file, judged by
    how much of what it decodes is kana (every Japanese text is full of kana; mojibake has
    little); otherwise latin-1, which decodes anything."""
    sample = data[:SNIFF_BYTES]
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(sample) >= 4:
        even_zeros = sample[0::2].count(0) / len(sample[0::2])
        odd_zeros = sample[1::2].count(0) / len(sample[1::2])
        if odd_zeros > 0.3 and even_zeros < 0.05:
            return "utf-16-le"
        if even_zeros > 0.3 and odd_zeros < 0.05:
            return "utf-16-be"
    best, best_share = None, 0.2  # below a fifth kana, no Japanese codec is convincing
    for codec in JAPANESE + ("utf-16-le", "utf-16-be"):  # UTF-16 Japanese has no zero bytes
        try:  # the sample may end inside a character: decode it as the start of a stream
            text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        wide = [c for c in text if ord(c) > 0x7F]
        share = sum(0x3041 <= ord(c) <= 0x30FF for c in wide) / max(len(wide), 1)
        if share > best_share:
            best, best_share = codec, share
    return best or "latin-1"


def normalize_text(text: str, form: str) -> str:
    """"nfkc" folds compatibility forms (full-width Ａ１ to A1, half-width ｶﾅ to カナ, ① to 1)
    so that one character is one symbol to the model; "none" leaves the text as it is."""
    if form == "none":
        return text
    if form == "nfkc":
        return unicodedata.normalize("NFKC", text)
    raise TextError(f"unknown normalization {form!r}; choose one of {', '.join(NORMALIZATIONS)}")
