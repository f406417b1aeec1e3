"""The Python interface (docs/python.md): its examples run, errors are exceptions with the
command line's messages, nothing prints when asked not to, importing changes no process setting,
Ctrl-C saves and re-raises, and the answers are the command line's."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

import charrnn
from charrnn.views.progress import TrainProgress

from conftest import PANGRAMS, SMALL, invoke

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAST = dict(cell="lstm", hidden_size=16, batch_size=4, seq_len=20, dropout=0.0)


def names_text():
    syllables = ["mar", "ka", "ri", "na", "jo", "le", "sa", "to"]
    return "".join(a + b + c + "\n" for a in syllables for b in syllables for c in ("", "a", "el"))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHARRNN_RUNS", str(tmp_path / "runs"))
    (tmp_path / "corpus.txt").write_text((PANGRAMS + "\n") * 40, encoding="utf-8")
    (tmp_path / "names.txt").write_text(names_text(), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("n", range(3))
def test_the_documented_examples_run(workdir, n, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "python.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3
    code = blocks[n].replace('time="2m"', "steps=3, " + ", ".join(f"{k}={v!r}" for k, v in FAST.items()))
    exec(compile(code, "docs/python.md", "exec"), {})
    out = capsys.readouterr().out
    assert out and "Traceback" not in out


def test_a_run_from_python_is_the_command_lines(workdir):
    summary = charrnn.train("corpus.txt", steps=5, seed=3, progress=False, **FAST)
    assert summary["steps"] == 5 and summary["best_checkpoint"].endswith("best.safetensors")
    model = charrnn.load(summary["best_checkpoint"])
    cli = invoke("sample", summary["best_checkpoint"], "--prime", "The ", "--length", "80", "--seed", "4")
    assert cli.stdout == "The " + model.sample(80, prime="The ", seed=4) + "\n"
    evaluated = json.loads(invoke("eval", summary["best_checkpoint"], "corpus.txt", "--json").stdout)
    assert model.loss((PANGRAMS + "\n") * 40) == evaluated["loss"]
    assert model.info["config"] == charrnn.load(summary["last_checkpoint"]).info["config"]


def test_errors_are_exceptions_with_the_command_lines_messages(workdir):
    with pytest.raises(charrnn.UserError, match="no such checkpoint"):
        charrnn.load("missing.safetensors")
    with pytest.raises(charrnn.UserError, match="unknown option 'hidden'"):
        charrnn.train("corpus.txt", steps=2, hidden=3)
    with pytest.raises(charrnn.UserError, match="not a duration"):
        charrnn.train("corpus.txt", time="ten minutes")
    with pytest.raises(charrnn.UserError, match="no such file"):
        charrnn.train("missing.txt", steps=2)
    model = charrnn.load(charrnn.train("corpus.txt", steps=2, progress=False, **FAST)["best_checkpoint"])
    with pytest.raises(charrnn.UserError, match="never saw"):
        model.sample(10, prime="\u732b")


def test_nothing_prints_when_asked_not_to(workdir, capfd):
    charrnn.train("corpus.txt", steps=3, progress=False, **FAST)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    charrnn.train("corpus.txt", steps=3, **FAST)
    assert "recipe: " in capfd.readouterr().err


def test_importing_and_training_change_no_process_setting(workdir, monkeypatch):
    from charrnn.cli import memory

    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1))
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    charrnn.train("corpus.txt", steps=2, progress=False, **FAST)
    assert calls == [] and (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    r = subprocess.run([sys.executable, "-c", "import numpy, charrnn, threadpoolctl, json; charrnn.load; "
                        "print(json.dumps([i['num_threads'] for i in threadpoolctl.threadpool_info()]))"],
                       capture_output=True, text=True, check=True)
    bare = subprocess.run([sys.executable, "-c", "import numpy, threadpoolctl, json; "
                           "print(json.dumps([i['num_threads'] for i in threadpoolctl.threadpool_info()]))"],
                          capture_output=True, text=True, check=True)
    assert r.stdout == bare.stdout


def test_ctrl_c_saves_the_run_and_raises(workdir, monkeypatch):
    real = TrainProgress.on_step

    def interrupt_at_4(self, info):
        real(self, info)
        if info.step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TrainProgress, "on_step", interrupt_at_4)
    with pytest.raises(KeyboardInterrupt, match="saved .*last.safetensors"):
        charrnn.train("corpus.txt", steps=20, out="run", progress=False, **FAST)
    assert charrnn.load("run/last.safetensors").info["training"]["step"] == 4
    monkeypatch.setattr(TrainProgress, "on_step", real)
    assert charrnn.train(resume="run/last.safetensors", progress=False)["steps"] == 20


def test_the_command_line_trains_through_the_same_function(workdir, monkeypatch):
    from charrnn.api import train as api_train

    calls = []
    real = api_train.run
    monkeypatch.setattr(api_train, "run", lambda *a: calls.append(1) or real(*a))
    assert invoke("train", "corpus.txt", *SMALL, "--steps", "2").exit_code == 0
    assert calls == [1]


def test_a_list_model_from_python(workdir):
    summary = charrnn.train("names.txt", steps=30, progress=False, **FAST)
    model = charrnn.load(summary["best_checkpoint"])
    assert model.is_list
    rows = model.items(8, unique=True, seed=2)
    assert len({r["item"] for r in rows}) == 8 and all(r["mark"] in ("new", "train", "val") for r in rows)
    assert "\n" not in model.sample(20, prime="mar", seed=1) and model.sample(20, prime="mar", seed=1).startswith("mar")
