"""Every `charrnn` command shown in the READMEs and the docs/ pages runs, in order, so none of
them can go stale.

Commands run through Click's CliRunner in a fresh directory. To keep the suite fast, training
budgets and model sizes are shrunk (the substitutions below); every option the README shows is
still parsed and used. Placeholders such as runs/RUN/best.safetensors become the newest run's
checkpoint. The Python example of docs/checkpoints.md (loading weights into PyTorch) runs when
torch is installed.
"""

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from conftest import PANGRAMS, Server, invoke

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
READMES = [README, ROOT / "README.ja.md"]
PAGES = READMES + sorted((ROOT / "docs").glob("*.md"))
LIST_SYLLABLES = ["mar", "ka", "ri", "na", "jo", "le", "sa", "to"]  # made-up names: a list, with names that start "mar"
JAPANESE = "ファイル %s が見つかりません。\n設定値 %r は既に登録済みです。\n12月\n"  # stands in for data/ja-messages.txt

SHRINK = [  # (pattern, replacement) applied to each command line
    (r"--time \S+", "--steps 3"),
    (r"--steps \d+", "--steps 3"),
    (r"--epochs \d+", "--steps 3"),
    (r"--length \d+", "--length 40"),
    (r"--seq-len \d+", "--seq-len 30"),
    (r"--train-steps \d+", "--train-steps 2"),
]
TRAIN_FAST = ["--hidden-size", "16", "--batch-size", "4", "--seq-len", "20", "--eval-every", "0", "--quiet"]
INSPECT_FAST = ["--hidden-size", "8", "--check-elements", "4", "--check-steps", "3"]


def readme_commands(readme=README, python=False):
    """The `charrnn ...` command lines of a README's bash blocks (and its `python -c ...` ones)."""
    text = readme.read_text(encoding="utf-8")
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("charrnn ") or (python and part.startswith("python -c ")):
                    yield part


def python_examples():
    """The pages' Python blocks that load weights into PyTorch (docs/python.md's own run in
    test_python_api.py, without torch)."""
    return [code for page in PAGES for code in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
            if "import torch" in code]


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_readme_shows_commands(readme):
    cmds = list(readme_commands(readme))
    for sub in ("train", "sample", "inspect-gradients", "eval"):
        assert any(c.split()[1] == sub for c in cmds), sub


def newest_best(runs: pathlib.Path) -> str:
    bests = sorted(runs.glob("*/best.safetensors"), key=os.path.getmtime)
    return str(bests[-1])


@pytest.mark.parametrize("readme", PAGES, ids=lambda p: p.name)
def test_every_readme_command_runs(tmp_path, monkeypatch, made_up_download, readme):
    """On any machine: `tinyshakespeare` is downloaded, by the real download code, from a local
    server serving a made-up text registered in its place; data/ja-messages.txt (made by a
    script from PyPI) is stood in for by a few Japanese lines."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ja-messages.txt").write_text(JAPANESE * 60, encoding="utf-8")
    runs = tmp_path / "runs"
    monkeypatch.setenv("CHARRNN_RUNS", str(runs))
    monkeypatch.setenv("CHARRNN_DATA", str(tmp_path / "data"))
    server = Server(made_up_download).__enter__()
    monkeypatch.setenv("CHARRNN_TINYSHAKESPEARE_URL", server.url)
    if readme == READMES[1]:  # the Japanese page trains on "your own Shift_JIS file"
        (tmp_path / "corpus.txt").write_text(("吾輩は猫である。名前はまだ無い。\n" + PANGRAMS + "\n") * 40,
                                            encoding="cp932")
    else:
        (tmp_path / "corpus.txt").write_text((PANGRAMS + "\n") * 40, encoding="utf-8")
    for name in ("names.txt", "other-names.txt"):  # the lists the pages train and evaluate on
        (tmp_path / name).write_text("".join(a + b + c + "\n" for a in LIST_SYLLABLES for b in LIST_SYLLABLES
                                             for c in ("", "a", "el")), encoding="utf-8")
    if readme not in READMES:  # a docs page may start from runs/RUN: give it a run to find
        assert invoke("train", "corpus.txt", "--steps", "3", *TRAIN_FAST).exit_code == 0
    ran = 0
    for cmd in readme_commands(readme, python=True):
        if cmd.startswith("python -c "):
            code = shlex.split(cmd)[2]
            if "RUN" in code:
                code = code.replace("runs/RUN/best.safetensors", newest_best(runs))
            subprocess.run([sys.executable, "-c", code], check=True)
            continue
        for pattern, repl in SHRINK:
            cmd = re.sub(pattern, repl, cmd)
        args = shlex.split(cmd)[1:]
        if any("RUN" in a or "<run>" in a for a in args):
            args = [newest_best(runs) if ("RUN" in a or "<run>" in a) else a for a in args]
        if args[0] == "train":
            args += TRAIN_FAST
        if args[0] == "inspect-gradients":
            args += INSPECT_FAST
        redirect = None
        if ">" in args:  # a shell redirection of stdout
            i = args.index(">")
            args, redirect = args[:i], args[i + 1]
        r = invoke(*args)
        assert r.exit_code == 0, (cmd, r.output)
        if redirect:
            pathlib.Path(redirect).write_text(r.stdout)
            if redirect.endswith(".json"):
                json.loads(r.stdout)
        ran += 1
    server.__exit__()
    assert ran >= {README: 8, READMES[1]: 5}.get(readme, 0)
    named = any("tinyshakespeare" in c for c in readme_commands(readme))
    assert server.requests == named  # downloaded once, then read from the data directory


def test_readme_python_example_loads_weights_into_torch(tmp_path, monkeypatch, corpus_file):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("CHARRNN_RUNS", str(tmp_path / "runs"))
    assert invoke("train", corpus_file, "--steps", "2", *TRAIN_FAST).exit_code == 0
    ckpt = newest_best(tmp_path / "runs")
    for code in python_examples():
        code = code.replace("runs/RUN/best.safetensors", ckpt)
        scope = {}
        exec(compile(code, "docs", "exec"), scope)
        assert isinstance(scope.get("rnn"), torch.nn.RNNBase)
