"""A save that fails reports one line, keeps the previous checkpoint and leaves no temp files."""

import errno
import os
import stat

import pytest

from charrnn.training import checkpoint

from conftest import SMALL, invoke

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_failed_save_keeps_the_previous_checkpoint(corpus_file, tmp_path, runs, monkeypatch, err):
    out = tmp_path / "run"
    real_write = checkpoint.os.fsync
    calls = {"n": 0}

    def failing_fsync(fd):
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # the directory fsync after a rename
            return real_write(fd)
        calls["n"] += 1
        if calls["n"] > 2:  # the first evaluation's two saves (last, best) succeed, later ones fail
            raise OSError(err, "simulated failure")
        return real_write(fd)

    monkeypatch.setattr(checkpoint.os, "fsync", failing_fsync)
    r = invoke("train", corpus_file, *SMALL, "--steps", "20", "--eval-every", "5", "--out", out)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write to") and "simulated" in lines[0]
    assert checkpoint.load(out / "last.safetensors").train.step == 5
    assert sorted(p.name for p in out.iterdir()) == ["best.safetensors", "last.safetensors", "metrics.jsonl"]


def test_unwritable_out_is_refused_before_training(corpus_file, tmp_path, runs, monkeypatch):
    from charrnn.training import runs as runs_mod

    def no_write(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(runs_mod, "open", no_write, raising=False)
    r = invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", tmp_path / "ro")
    assert r.exit_code == 1 and "cannot write to --out" in r.stderr and "Permission denied" in r.stderr
    assert not (tmp_path / "ro" / "last.safetensors").exists()
