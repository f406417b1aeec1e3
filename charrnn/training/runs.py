"""Run directories and the files in them.

    runs/<date>-<time>-<corpus name>/
        best.safetensors    the checkpoint with the lowest validation loss
        last.safetensors    the newest checkpoint (what --resume continues)
        metrics.jsonl       one JSON line every few steps and one per evaluation
        .lock               held (flock) while a run writes here

Also: the newest run's best checkpoint (what `charrnn sample` uses when given none), and
stopping a run cleanly on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import unicodedata
from contextlib import contextmanager

from charrnn.ground.errors import UserError

RUNS_ENV = "CHARRNN_RUNS"
BEST, LAST, METRICS, LOCK = "best.safetensors", "last.safetensors", "metrics.jsonl", ".lock"
NAME_MAX_CHARS = 60  # of the corpus part of a run name: well inside every file system's 255 bytes


class RunLocked(UserError):
    """Another live process is training into the same run directory."""


class RunDirError(UserError):
    """A run directory that cannot be used."""


def runs_dir() -> str:
    return os.environ.get(RUNS_ENV, "runs")


def safe_name(corpus: str) -> str:
    """The corpus's file name without its extension, made safe as one path component on every
    file system: letters and digits of any script are kept (夏目漱石 stays 夏目漱石); separators,
    control characters and other symbols become '_'; NFC, so one name has one spelling."""
    stem = os.path.splitext(os.path.basename(corpus))[0]
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"[^\w.-]+", "_", stem)  # \w is Unicode-aware: letters, digits, marks, '_'
    stem = stem.strip("._")[:NAME_MAX_CHARS]
    return stem or "corpus"


def new_run_dir(corpus: str) -> str:
    base = os.path.join(runs_dir(), f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_name(corpus)}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def prepare_out_dir(out: str, resuming: bool) -> None:
    """Create the run directory; refuse one that holds another run or cannot be written."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunDirError(f"--out {out} is a file, not a directory")
    if not resuming and os.path.isdir(out) and any(
        f.endswith(".safetensors") or f == METRICS for f in os.listdir(out)
    ):
        raise RunDirError(f"{out} already holds a run; choose another --out, or --resume its checkpoint")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.unlink(probe)
    except OSError as e:
        raise RunDirError(f"cannot write to --out {out}: {e.strerror or e}") from None


def remove_temporary_files(out: str, prefix: str) -> None:
    """Remove what a process killed while saving left behind."""
    for name in os.listdir(out):
        if name.startswith(prefix):
            os.unlink(os.path.join(out, name))


def newest_best_checkpoint() -> str:
    """The best checkpoint of the most recently updated run under the runs directory."""
    root = runs_dir()
    found = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            path = os.path.join(root, name, BEST)
            if os.path.isfile(path):
                found.append((os.path.getmtime(path), path))
    if not found:
        raise UserError(f"no checkpoint given and no runs in {root}/; train one with 'charrnn train CORPUS' "
                        f"or give a checkpoint path")
    return max(found)[1]


@contextmanager
def run_lock(out_dir: str):
    """Hold an exclusive lock on out_dir/.lock for the duration of a run.

    flock locks belong to the open file, so the kernel drops them when the process dies, even
    by SIGKILL: a crashed run never leaves the directory locked."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unlocked
        yield
        return
    path = os.path.join(out_dir, LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RunLocked(f"{out_dir} is being written by another charrnn train (pid {holder}); "
                        f"wait for it to finish or choose another --out") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.unlink(path)
        os.close(fd)


class MetricsLog:
    """metrics.jsonl, appended to: one JSON object a line, flushed as written so that
    `tail -f metrics.jsonl` follows a run. A context manager: closed however the run ends."""

    def __init__(self, out_dir: str):
        self.path = os.path.join(out_dir, METRICS)
        self.file = None

    def __enter__(self) -> "MetricsLog":
        self.file = open(self.path, "a", encoding="utf-8")
        return self

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def __exit__(self, *exc) -> None:
        self.file.close()


@contextmanager
def stop_on_signals(request_stop):
    """Within the block, Ctrl-C (SIGINT) and SIGTERM call request_stop(signum) so that the run
    can finish its step and save; a second signal raises KeyboardInterrupt to leave at once
    (every file on disk is whole at any moment, so leaving is safe). The old handlers are put
    back afterwards."""
    received = []

    def handler(signum, frame):
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        request_stop(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
