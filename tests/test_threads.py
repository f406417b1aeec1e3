"""--threads: the matrix products of a command run on at most that many BLAS threads, and the
setting is restored when the command ends."""

import pytest
import threadpoolctl

from charrnn import sampling, teacher_forcing

from conftest import SMALL, invoke


def blas_threads_now():
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture
def two_threads():
    """BLAS set to 2 threads around the test, whatever this machine's default."""
    if not blas_threads_now():
        pytest.skip("NumPy's BLAS exposes no thread pool here")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield


def record_threads(monkeypatch, module, name):
    seen = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        seen.append(blas_threads_now())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return seen


@pytest.mark.parametrize("threads, expected", [(["--threads", "1"], {1}), ([], {2})])
def test_train_and_eval_products_run_on_the_asked_threads(corpus_file, runs, tmp_path, two_threads, monkeypatch,
                                                          threads, expected):
    seen = record_threads(monkeypatch, teacher_forcing, "forward")
    out = tmp_path / "run"
    r = invoke("train", corpus_file, *SMALL, "--steps", "3", "--out", out, *threads)
    assert r.exit_code == 0, r.output
    r = invoke("eval", out / "best.safetensors", corpus_file, *threads)
    assert r.exit_code == 0, r.output
    assert len(seen) > 3 and all(s == expected for s in seen)
    assert blas_threads_now() == {2}  # restored after each command


def test_sample_runs_on_the_asked_threads(corpus_file, runs, tmp_path, two_threads, monkeypatch):
    out = tmp_path / "run"
    assert invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", out).exit_code == 0
    seen = record_threads(monkeypatch, sampling, "step")
    r = invoke("sample", out / "best.safetensors", "--length", "20", "--threads", "1", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert len(seen) >= 20 and all(s == {1} for s in seen)
    assert blas_threads_now() == {2}


def test_the_thread_count_does_not_change_the_text(corpus_file, runs, tmp_path):
    out = tmp_path / "run"
    assert invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", out).exit_code == 0
    texts = [invoke("sample", out / "best.safetensors", "--length", "50", "--seed", "7", *t).stdout
             for t in ([], ["--threads", "1"])]
    assert texts[0] == texts[1] and len(texts[0]) >= 50


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_thread_count_is_one_line(value):
    r = invoke("sample", "--threads", value)
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "--threads" in r.output
