import os
import subprocess
import sys
import time

import pytest

FAST = ["--hidden-size", "32", "--seq-len", "20", "--batch-size", "4", "--quiet"]

def start_train(*args, cwd=None, env=None):
    """`python -m charrnn train ...` in a subprocess (its own process, like a user's)."""
    return subprocess.Popen(
        [sys.executable, "-m", "charrnn", "train", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**os.environ, **(env or {})},
    )

def wait_for(predicate, timeout=60.0, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False

@pytest.fixture
def corpus(corpus_file):
    return corpus_file
