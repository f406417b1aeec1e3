import os
import re
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


def run_measuring_peak(*args, timeout=600):
    """`charrnn ARGS` in a fresh process that reports its own peak resident memory
    (RUSAGE_SELF: RUSAGE_CHILDREN would be the largest of every child this test process ever
    waited for, and so depend on which tests ran before). Returns (completed process, bytes)."""
    code = ("import resource, sys\n"
            "from charrnn.cli import main\n"
            "try:\n    main(sys.argv[1:])\n"
            "except SystemExit as e:\n    status = e.code\n"
            "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(status)\n")
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return p, int(re.search(r"^peak (\d+)$", p.stderr, re.M).group(1)) * 1024
