"""The benchmark scripts run (on tiny configurations; their numbers are not asserted)."""

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args):
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300)


def test_throughput_script_runs():
    r = run("throughput.py", "--tiny")
    assert r.returncode == 0, r.stderr
    assert "| LSTM 1x16 B=4 |" in r.stdout


def test_throughput_threads_comparison_runs_beside_a_busy_core():
    r = run("throughput.py", "--tiny", "--threads-compare", "--busy", "1")
    assert r.returncode == 0, r.stderr
    assert "1 core(s) kept busy" in r.stdout and "| LSTM 1x16 B=4 |" in r.stdout


def test_compare_torch_script_runs():
    pytest.importorskip("torch")
    r = run("compare_torch.py", "--tiny")
    assert r.returncode == 0, r.stderr
    assert "| LSTM 1x16 B=4 |" in r.stdout and "sampling" in r.stdout
