"""charrnn's default recipe against stock PyTorch scripts, at equal wall-clock time, on the
same machine, one after the other (never at the same time).

    pip install -e '.[bench]'                                     # torch, CPU
    python benchmarks/recipe.py --corpus tinyshakespeare --budget 2m --budget 5m
    python benchmarks/recipe.py --corpus all --budget 2m          # every tuning corpus
    python benchmarks/recipe.py --table                           # the table of all results so far
    python benchmarks/recipe.py --corpus tinyshakespeare --budget 30m --torch-config "2x256 B=32"
                                                                  # a long row, against one PyTorch script
    python benchmarks/recipe.py --corpus shakespeare-60k --budget 10m --torch-config "2x512 B=64" \
        --no-charrnn-run --torch-seed 1 --results benchmarks/results/recipe-seeds.jsonl
                                                                  # a stock script's second seed
    python benchmarks/recipe.py --tiny                            # a seconds-long smoke run

For each corpus and budget:

  charrnn   `charrnn train CORPUS --time BUDGET` with no model options: the recipe chooses. Its
            wall time is measured from the command's start to its end (start-up, speed
            measurement, evaluations and saves included); its best checkpoint is kept.
  PyTorch   torch.nn.LSTM + nn.Linear, one-hot input, B streams read in order with the state
            carried across windows (as char-rnn), T = 100, Adam 2e-3, clip 5, no schedule, no
            dropout, trained for the same number of seconds of training alone (so start-up
            is charrnn's cost only), in {1x512 B=32, 2x256 B=32, 2x512 B=64}.

Both are then scored the same way, outside the timed part: the validation split (the last 10%,
the same split and vocabulary for both, charrnn's `Corpus.from_text`) read as ONE stream, state
carried from its first character to its last, by PyTorch's modules (charrnn's weights load into
them under the same names). Each result is appended to a JSON-lines file, so that a long table
can be built in several sittings; `--table` prints the markdown table.

Tuning corpora (`--corpus`): tinyshakespeare (../shared/data/tinyshakespeare.txt), pydoc (the
built-in corpus), numpy (the .py files of the installed NumPy, concatenated in sorted order), and
pieces of them of 30-100 KB: shakespeare-60k, pydoc-80k, numpy-50k. Any other value is a file.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from provenance import provenance

from charrnn.model import ModelConfig
from compare_torch import torch_model  # the registry's torch.nn module, charrnn's weights loaded

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
RESULTS = ROOT / "benchmarks" / "results" / "recipe.jsonl"
TORCH_CONFIGS = [  # (label, layers, hidden, batch)
    ("1x512 B=32", 1, 512, 32),
    ("2x256 B=32", 2, 256, 32),
    ("2x512 B=64", 2, 512, 64),
]
PIECES = {  # name: (whole corpus, first character, length)
    "shakespeare-60k": ("tinyshakespeare", 200_000, 60_000),
    "pydoc-80k": ("pydoc", 300_000, 80_000),
    "numpy-50k": ("numpy", 1_000_000, 50_000),
}
ALL = ["tinyshakespeare", "pydoc", "numpy", *PIECES]


def corpus_text(name: str) -> str:
    if name in PIECES:
        whole, start, length = PIECES[name]
        return corpus_text(whole)[start : start + length]
    if name == "tinyshakespeare":
        return SHARED.read_text(encoding="utf-8")
    if name == "pydoc":
        from charrnn.corpus import corpora

        return corpora.load("pydoc", "utf-8").text
    if name == "numpy":
        root = os.path.dirname(np.__file__)
        files = sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True))
        return "".join(pathlib.Path(f).read_text(encoding="utf-8", errors="replace") for f in files)
    return pathlib.Path(name).read_text(encoding="utf-8")


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse_seconds(budget: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(budget[:-1]) * units[budget[-1]] if budget[-1] in units else float(budget)


# ----------------------------------------------------------------------------- PyTorch side
def one_stream_loss(torch, rnn, dec, ids: np.ndarray, V: int, chunk: int = 1024) -> float:
    """Mean nats/char over ids read as one stream (every character after the first predicted once)."""
    total, state = 0.0, None
    with torch.no_grad():
        for start in range(0, len(ids) - 1, chunk):
            piece = torch.from_numpy(ids[start : start + chunk + 1].astype(np.int64))
            x = torch.nn.functional.one_hot(piece[:-1], V).float()[:, None]  # (T, 1, V)
            out, state = rnn(x, state)
            total += torch.nn.functional.cross_entropy(dec(out[:, 0]), piece[1:], reduction="sum").item()
    return total / (len(ids) - 1)


def torch_run(torch, train: np.ndarray, V: int, L: int, H: int, B: int, seconds: float,
              T: int = 100, seed: int = 0) -> tuple:
    """The stock script: train for `seconds` of training; returns (modules, steps, chars)."""
    torch.manual_seed(seed)
    rnn, dec = torch_model(torch, ModelConfig(vocab_size=V, hidden_size=H, num_layers=L, cell="lstm"))
    params = list(rnn.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    S = len(train) // B
    streams = torch.from_numpy(train[: S * B].astype(np.int64).reshape(B, S))
    windows = (S - 1) // T
    state, step, w = None, 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ids = streams[:, w * T : w * T + T + 1].T  # (T+1, B)
        x = torch.nn.functional.one_hot(ids[:-1], V).float()
        out, state = rnn(x, state)
        loss = torch.nn.functional.cross_entropy(dec(out).reshape(-1, V), ids[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        state = tuple(s.detach() for s in state)
        step, w = step + 1, (w + 1) % windows
        if w == 0:
            state = None  # a new pass starts every stream from zero
    return rnn, dec, step, step * B * T


# ----------------------------------------------------------------------------- charrnn side
def charrnn_run(path: str, seconds: float, out: str, extra=()) -> tuple[float, str]:
    """`charrnn train PATH --time SECONDS`: (wall seconds, the recipe line)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "charrnn", "train", path, "--time", f"{seconds:g}s",
                        "--out", out, *extra], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"charrnn train failed: {r.stderr.strip().splitlines()[-1:]}")
    recipe = next((line[len("recipe: "):] for line in r.stderr.splitlines() if line.startswith("recipe: ")), "")
    return wall, recipe


def charrnn_loss(torch, checkpoint: str, val: np.ndarray) -> tuple[float, float]:
    """(the validation split read as one stream, the loss the run itself monitored)"""
    from charrnn.training.checkpoint import load
    from charrnn.teacher_forcing import evaluate_stream

    ck = load(checkpoint)
    c = ck.config
    if c.network.torch_module(c)[0] is None:  # no torch.nn module loads it: charrnn reads the stream itself
        return evaluate_stream(ck.params, c, val, seq_len=1024)[0], ck.train.best_val_loss
    rnn, dec = torch_model(torch, c, ck.params)
    return one_stream_loss(torch, rnn, dec, val, c.vocab_size), ck.train.best_val_loss


def bench(torch, name: str, budget: str, configs, results: pathlib.Path, extra=(), charrnn: bool = True,
          torch_seed: int = 0) -> list[dict]:
    from charrnn.corpus.streams import Corpus

    seconds = parse_seconds(budget)
    text = corpus_text(name)
    data = Corpus.from_text(text, 0.1)
    V = len(data.vocab)
    rows = []
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    started = provenance()  # the code the runs start from: a commit made while they run is not theirs
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.txt")
        pathlib.Path(path).write_text(text, encoding="utf-8")
        if charrnn:  # left out only to measure the stock scripts' own seed spread
            wall, recipe = charrnn_run(path, seconds, os.path.join(tmp, "run"), extra)
            loss, monitored = charrnn_loss(torch, os.path.join(tmp, "run", "best.safetensors"), data.val)
            rows.append({"who": "charrnn", "config": recipe, "wall": round(wall, 2), "val": loss, "monitored": monitored})
            print(f"{name} {budget} charrnn: {loss:.4f} in {wall:.1f} s ({recipe})", file=sys.stderr, flush=True)
            shutil.rmtree(os.path.join(tmp, "run"))
    for label, L, H, B in configs:
        rnn, dec, steps, chars = torch_run(torch, data.train, V, L, H, B, seconds, seed=torch_seed)
        loss = one_stream_loss(torch, rnn, dec, data.val, V)
        rows.append({"who": "pytorch", "config": f"LSTM {label}", "steps": steps, "val": loss})
        print(f"{name} {budget} PyTorch LSTM {label}: {loss:.4f} ({steps} steps)", file=sys.stderr, flush=True)
    record = {**started, "corpus": name, "chars": len(text), "budget": budget, "seconds": seconds, "machine": machine,
              "charrnn_args": list(extra), "torch_seed": torch_seed, "rows": rows,
              "command": " ".join(["python benchmarks/recipe.py", *sys.argv[1:]])}
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    return rows


def table(results: pathlib.Path, date: str | None = None) -> str:
    """Markdown: one row per corpus and budget (the latest result for each; only that day's, with `date`)."""
    latest = {}
    for line in results.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if date is None or r.get("date") == date:
            latest[(r["corpus"], r["budget"])] = r
    labels = [f"LSTM {label}" for label, *_ in TORCH_CONFIGS]
    out = ["| corpus | chars | budget | charrnn default (recipe) | wall | " + " | ".join(f"PyTorch {l}" for l in labels)
           + " | charrnn - best PyTorch |",
           "|---|---:|---:|---|---:|" + "---:|" * len(labels) + "---:|"]
    for (corpus, budget), r in sorted(latest.items(), key=lambda kv: (ALL.index(kv[0][0]) if kv[0][0] in ALL else 99,
                                                                         parse_seconds(kv[0][1]))):
        c = next((x for x in r["rows"] if x["who"] == "charrnn"), None)
        torch_losses = {x["config"]: x["val"] for x in r["rows"] if x["who"] == "pytorch"}
        cells = [f"{torch_losses[l]:.3f}" if l in torch_losses else "" for l in labels]
        if c is None:  # a stock-scripts-only record (--no-charrnn-run)
            out.append(f"| {corpus} | {r['chars']:,} | {budget} | not run | | " + " | ".join(cells) + " | |")
            continue
        margin = f"{c['val'] - min(torch_losses.values()):+.3f}" if torch_losses else "PyTorch not run"
        model = c["config"].split(", B=")[0]
        over = 100 * (c["wall"] / r["seconds"] - 1)
        out.append(f"| {corpus} | {r['chars']:,} | {budget} | **{c['val']:.3f}** {model} | {c['wall']:.0f} s "
                   f"({over:+.1f}%) | " + " | ".join(cells) + f" | {margin} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", default=[], help="a tuning corpus, 'all', or a file (repeatable)")
    ap.add_argument("--budget", action="append", default=[], help="2m, 5m, 90s ... (repeatable)")
    ap.add_argument("--results", default=str(RESULTS), help="the JSON-lines file results are appended to")
    ap.add_argument("--table", action="store_true", help="print the markdown table of the results file and stop")
    ap.add_argument("--no-torch-runs", action="store_true", help="charrnn only (PyTorch still scores it)")
    ap.add_argument("--torch-config", action="append", default=[], choices=[label for label, *_ in TORCH_CONFIGS],
                    help="train only this stock PyTorch configuration (repeatable; default: all three), for long "
                         "budgets against the best configuration of a shorter row")
    ap.add_argument("--seed", type=int, default=None,
                    help="charrnn's --seed (default: its own); for a second run of a row, with --no-torch-runs and "
                         "another --results file")
    ap.add_argument("--charrnn-args", default="",
                    help="options added to charrnn's command line, e.g. \"--cell gru --hidden-size 512 --dropout 0.5\" "
                         "(the recipe fills in the rest): a candidate scored exactly as the default is; with "
                         "--no-torch-runs and another --results file")
    ap.add_argument("--no-charrnn-run", action="store_true",
                    help="the stock PyTorch scripts only; with --torch-seed and another --results file, their own "
                         "seed spread")
    ap.add_argument("--torch-seed", type=int, default=0, help="the stock scripts' torch.manual_seed (default 0)")
    ap.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (results to a temporary file)")
    args = ap.parse_args()
    results = pathlib.Path(args.results)
    if args.table:
        print(table(results))
        return
    import torch

    torch.manual_seed(0)
    if args.tiny:
        results = pathlib.Path(tempfile.mkdtemp()) / "recipe.jsonl"
        bench(torch, "pydoc-80k", "4s", [("1x16 B=4", 1, 16, 4)], results)
        print(table(results))
        return
    corpora = ALL if "all" in args.corpus else (args.corpus or ["tinyshakespeare"])
    configs = [] if args.no_torch_runs else [c for c in TORCH_CONFIGS if not args.torch_config or c[0] in args.torch_config]
    for budget in args.budget or ["2m"]:
        for name in corpora:
            extra = shlex.split(args.charrnn_args) + ([] if args.seed is None else ["--seed", str(args.seed)])
            bench(torch, name, budget, configs, results, tuple(extra), charrnn=not args.no_charrnn_run,
                  torch_seed=args.torch_seed)
    print(table(results))


if __name__ == "__main__":
    main()
