"""A tool people script: progress that suits where stderr goes, `train --json`, text from a pipe,
paths that are not files, and shell completion."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from charrnn.training import checkpoint

from conftest import PANGRAMS, SMALL, invoke

LOUD = [a for a in SMALL if a != "--quiet"]  # the small model, its progress shown



def run_cli(*args, stdin=None, env=None, timeout=120):
    """The installed command in a child process: stderr is a pipe, as in CI or under nohup."""
    return subprocess.run([sys.executable, "-m", "charrnn", *map(str, args)], input=stdin, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_stderr_to_a_file_gets_plain_lines_not_a_redrawn_bar(corpus_file, tmp_path):
    r = run_cli("train", corpus_file, *LOUD, "--steps", 40, "--eval-every", 10, "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "\r" not in err
    lines = [l for l in err.splitlines() if l.startswith("step ")]
    assert len(lines) == 4  # one at each evaluation: steps 10, 20, 30, 40
    for n, line in zip((10, 20, 30, 40), lines):
        assert line.startswith(f"step {n} (") and "elapsed" in line and "chars/s" in line
        assert "train loss" in line and "val loss" in line


@pytest.mark.slow
def test_progress_can_be_chosen(corpus_file, tmp_path):
    none = run_cli("train", corpus_file, *LOUD, "--steps", 5, "--progress", "none", "--out", tmp_path / "n")
    assert none.returncode == 0 and not [l for l in none.stderr.decode().splitlines() if l.startswith("step ")]
    bar = run_cli("train", corpus_file, *LOUD, "--steps", 5, "--progress", "bar", "--out", tmp_path / "b")
    assert bar.returncode == 0 and "\r" in bar.stderr.decode()


def test_lines_between_evaluations_come_at_most_once_a_period(corpus_file, tmp_path, monkeypatch):
    from charrnn.views.progress import TrainProgress

    monkeypatch.setattr(TrainProgress, "LINE_SECONDS", 0.0)  # a line after every step
    r = invoke("train", corpus_file, *LOUD, "--steps", 6, "--eval-every", 0, "--progress", "lines",
               "--out", tmp_path / "r")
    assert r.exit_code == 0
    steps = [l.split(" ")[1] for l in r.stderr.splitlines() if l.startswith("step ")]
    assert steps == ["1", "2", "3", "4", "5", "6", "6"]  # the last: the evaluation at the end


def test_train_json_is_the_summary_as_data(corpus_file, tmp_path):
    r = invoke("train", corpus_file, *SMALL, "--steps", 8, "--eval-every", 4, "--json", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert set(s) == {"run_dir", "best_checkpoint", "last_checkpoint", "best_val_loss", "val_unigram", "beats_unigram",
                      "train_loss",
                      "steps", "epochs", "elapsed", "chars_per_sec", "stopped_by", "model", "batch_size", "recipe",
                      "sample_command", "resume_command"}
    assert s["steps"] == 8 and s["stopped_by"] == "steps" and s["model"]["cell"] == "lstm"
    ck = checkpoint.load(s["best_checkpoint"])
    assert s["best_val_loss"] == ck.train.best_val_loss and s["run_dir"] == str(tmp_path / "r")
    assert s["recipe"] == ck.train.recipe.line()


@pytest.mark.slow
def test_text_from_a_pipe_trains_evaluates_and_resumes(tmp_path):
    text = ((PANGRAMS + "\n") * 30).encode()
    r = run_cli("train", "-", *SMALL, "--steps", 4, "--out", tmp_path / "r", stdin=text)
    assert r.returncode == 0, r.stderr
    ck = checkpoint.load(tmp_path / "r" / "last.safetensors")
    assert ck.corpus["name"] == "stdin" and ck.corpus["path"] is None
    assert "cat CORPUS | charrnn train - --resume" in r.stdout.decode()
    ev = run_cli("eval", tmp_path / "r" / "last.safetensors", "-", "--json", stdin=text)
    assert ev.returncode == 0 and json.loads(ev.stdout)["predicted"] == len(text) - 1
    again = run_cli("train", "-", "--resume", tmp_path / "r" / "last.safetensors", "--steps", 2, "--quiet",
                    stdin=text)
    assert again.returncode == 0, again.stderr
    lost = run_cli("train", "--resume", tmp_path / "r" / "last.safetensors", "--steps", 2)
    assert lost.returncode == 1 and lost.stderr.decode().count("\n") == 1 and "pipe the same text" in lost.stderr.decode()


def test_a_dash_with_nothing_piped_in_is_one_line(monkeypatch, tmp_path):
    from charrnn.corpus.text import TextError, read_stdin_bytes

    class Terminal:
        def isatty(self):
            return True

    with pytest.raises(TextError, match="nothing is piped in"):
        read_stdin_bytes(TextError, Terminal())


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "fifo"])
def test_paths_that_are_not_regular_files_get_one_line(path, tmp_path, runs):
    if path == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif not os.path.exists(path):
        pytest.skip(f"{path} is not on this system")
    r = run_cli("train", path, "--time", "5s", timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and "not a regular file" in err and "Traceback" not in err
    trained = tmp_path / "t"
    assert invoke("train", PANGRAMS_FILE(tmp_path), *SMALL, "--steps", 1, "--out", trained).exit_code == 0
    r = run_cli("eval", trained / "last.safetensors", path, timeout=60)
    assert r.returncode == 1 and "not a regular file" in r.stderr.decode()


def PANGRAMS_FILE(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    return f


@pytest.mark.slow
def test_bash_completion_completes_commands_and_options(tmp_path):
    """The script Click writes, sourced by a real bash, completes a command and an option."""
    bash = "/bin/bash"
    if not os.path.exists(bash):
        pytest.skip("no bash")
    exe = pathlib.Path(sys.executable).parent / "charrnn"  # the console script pip installed
    if not exe.exists():
        pytest.skip("charrnn is not installed as a command beside this Python")
    env = {**os.environ, "PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}
    script = subprocess.run(["charrnn"], env={**env, "_CHARRNN_COMPLETE": "bash_source"}, capture_output=True,
                            text=True).stdout
    assert "complete" in script and "_charrnn_completion" in script
    (tmp_path / "complete.sh").write_text(script)

    def complete(words):
        line = " ".join(words)
        probe = (f"source {tmp_path / 'complete.sh'}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
                 f"_charrnn_completion charrnn; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return subprocess.run([bash, "-c", probe], env=env, capture_output=True, text=True).stdout.split()

    assert complete(["charrnn", "tr"]) == ["train"]
    assert "--progress" in complete(["charrnn", "train", "--pro"])
    assert set(complete(["charrnn", "train", "--cell", ""])) >= {"gru", "lstm", "mlstm"}
