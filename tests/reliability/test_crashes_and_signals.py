"""Killed, interrupted or terminated runs never lose what was saved, and resume."""

import json
import os
import random
import signal

import pytest

from charrnn.training import checkpoint

from .conftest import FAST, start_train, wait_for

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out


def logged_step(out):
    try:
        lines = (out / "metrics.jsonl").read_text().splitlines()
        return max(json.loads(line)["step"] for line in lines if line.endswith("}"))
    except (OSError, ValueError):
        return 0


def loadable(path):
    checkpoint.load(path)  # raises CheckpointError if damaged
    return True


def saved_step(path):
    try:
        return checkpoint.load(path).train.step
    except (checkpoint.CheckpointError, OSError):
        return -1


def test_sigkill_at_random_moments_never_damages_checkpoints(corpus, tmp_path):
    """Checkpoint at every step (so a kill often lands inside a save), kill -9 a live run after
    a random number of further saves, check that best and last always load, then resume from
    last."""
    out = tmp_path / "run"
    last = out / "last.safetensors"
    rnd = random.Random(0)
    steps_seen = []
    for attempt in range(12):
        args = [corpus, *FAST, "--steps", "100000", "--eval-every", "1", "--out", out]
        if last.exists():
            args = [corpus, "--quiet", "--steps", "100000", "--resume", last]
        before = saved_step(last)
        p = start_train(*args)
        # wait until this process has saved 1..6 checkpoints of its own, then kill it mid-run
        target = max(before, 0) + rnd.randint(1, 6)
        assert wait_for(lambda: saved_step(last) >= target or p.poll() is not None, timeout=60)
        assert p.poll() is None, p.stderr.read()
        p.send_signal(signal.SIGKILL)
        assert p.wait() == -signal.SIGKILL  # killed while running, not finished
        assert loadable(out / "best.safetensors") and loadable(last)
        steps_seen.append(checkpoint.load(last).train.step)
        assert steps_seen[-1] >= target
    assert steps_seen == sorted(steps_seen)  # each resume continued from where the last stopped
    # the lock of a killed run does not block the next one, and leftovers are cleaned up
    p = start_train(corpus, "--quiet", "--steps", "2", "--resume", last)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert not [n for n in os.listdir(out) if n.startswith(".tmp-")]


@pytest.mark.parametrize("sig,code,said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_and_sigterm_save_and_print_how_to_resume(corpus, tmp_path, sig, code, said):
    out = tmp_path / "run"
    p = start_train(corpus, *FAST, "--steps", "100000", "--eval-every", "20", "--out", out)
    # past the first evaluation's save (step 20): the metrics log has reached step 30
    assert wait_for(lambda: logged_step(out) >= 30, timeout=60)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code
    assert "Traceback" not in err
    assert f"{said} at step" in err
    assert "--resume" in err and str(out / "last.safetensors") in err
    ck = checkpoint.load(out / "last.safetensors")
    assert ck.train.step > 20  # saved where it stopped, not only at the last evaluation


def test_second_ctrl_c_exits_at_once_without_damage(corpus, tmp_path):
    """The first Ctrl-C is acknowledged on stderr; a second one sent after that leaves at once
    ("stopped at once"), before the step and its save would have finished. Large windows make
    a step slow enough for the second signal to land inside it; should the run nevertheless
    finish first, the attempt is repeated (a broken second-Ctrl-C path fails every attempt)."""
    slow = ["--hidden-size", "256", "--seq-len", "400", "--batch-size", "32", "--quiet"]
    outcomes = []
    for attempt in range(3):
        out = tmp_path / f"run{attempt}"
        p = start_train(corpus, *slow, "--steps", "100000", "--eval-every", "1", "--out", out)
        # past the first evaluation's saves (last, then best)
        assert wait_for(lambda: (out / "best.safetensors").exists() or p.poll() is not None, timeout=120)
        p.send_signal(signal.SIGINT)
        ack = p.stderr.readline()
        while ack and "finishing this step" not in ack:
            ack = p.stderr.readline()
        p.send_signal(signal.SIGINT)
        rest = p.stderr.read()
        p.wait(timeout=60)
        assert "Traceback" not in rest and p.returncode == 130
        assert loadable(out / "last.safetensors") and loadable(out / "best.safetensors")
        assert not [n for n in os.listdir(out) if n.startswith(".tmp-")]
        outcomes.append("stopped at once" in rest)
        if outcomes[-1]:
            break
    assert outcomes[-1], "the second Ctrl-C never took the 'stop at once' path"


def test_two_runs_one_directory(corpus, tmp_path):
    out = tmp_path / "run"
    p = start_train(corpus, *FAST, "--steps", "100000", "--eval-every", "5", "--out", out)
    try:
        assert wait_for(lambda: (out / "last.safetensors").exists(), timeout=60)
        q = start_train(corpus, "--quiet", "--steps", "5", "--resume", out / "last.safetensors")
        _, err = q.communicate(timeout=60)
        assert q.returncode == 1 and "being written by another" in err and err.count("\n") == 1
        q = start_train(corpus, *FAST, "--steps", "5", "--out", out)
        _, err = q.communicate(timeout=60)
        assert q.returncode == 1 and err.count("\n") == 1
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
    assert p.returncode == 130
