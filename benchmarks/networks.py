"""The networks against each other at equal time: `charrnn train CORPUS --time BUDGET --cell C
--hidden-size H`, everything else the recipe's (B, T, Adam, schedule, dropout), for each cell,
on each corpus and budget, over several seeds; the cells take turns in a rotating order so that
whatever else the machine does falls on each of them alike. Each run's row is appended to the
results file as it ends, so a stopped grid keeps what it measured.

    python benchmarks/networks.py --corpus pydoc --budget 2m --seeds 0 1      # append rows
    python benchmarks/networks.py --cells "gru" "gru --activation relu" --results r.jsonl
        # a cell with extra options: a variant, labelled by the whole string
    python benchmarks/networks.py --table                                      # the README table

The loss is the run's own best monitored validation loss (the validation split's first 128K
characters in up to 32 pieces, as the trainer reads it), nats/char; chars/s is training
characters over training seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from provenance import provenance

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
RESULTS = ROOT / "benchmarks" / "results" / "networks.jsonl"
CORPORA = {"tinyshakespeare": str(SHARED), "pydoc": "pydoc"}


def run_one(corpus: str, budget: str, variant: str, hidden: int, seed: int, threads: int | None) -> dict:
    from charrnn.training.checkpoint import load

    cell, *extra = variant.split()
    with tempfile.TemporaryDirectory() as out:
        command = ["train", CORPORA.get(corpus, corpus), "--time", budget, "--cell", cell, "--hidden-size", str(hidden),
                   "--seed", str(seed), *extra] + (["--threads", str(threads)] if threads else [])
        args = [sys.executable, "-m", "charrnn", *command, "--out", out]
        t0 = time.perf_counter()
        r = subprocess.run(args, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        recipe = next((l[len("recipe: "):] for l in r.stderr.splitlines() if l.startswith("recipe: ")), "")
        error = r.stderr.strip().splitlines()[-1] if r.returncode != 0 else None  # e.g. the loss diverged
        if error and not os.path.exists(os.path.join(out, "last.safetensors")):
            raise SystemExit(f"{variant}: charrnn train failed: {error}")
        ck = load(os.path.join(out, "last.safetensors"))
        t = ck.train
        chars = t.step * t.batch_size * t.options.seq_len
    return {"corpus": corpus, "budget": budget, "cell": variant, "hidden": hidden, "seed": seed, "threads": threads,
            "val": t.best_val_loss, "val_unigram": t.val_unigram, "steps": t.step, "chars_per_sec": chars / max(t.elapsed, 1e-9), "wall": wall,
            "recipe": recipe, "error": error, "command": " ".join(["charrnn", *command]), **provenance()}


def table(path: pathlib.Path) -> str:
    """Mean best validation loss (nats/char) and its spread over seeds, per corpus x budget x cell."""
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["corpus"], r["budget"], r["hidden"], r["cell"])].append(r)
    cells = list(dict.fromkeys(r["cell"] for r in rows))
    lines = ["| corpus | budget | H | " + " | ".join(f"{c}: loss (min..max, n) / chars/s" for c in cells) + " |",
             "|---|---|---|" + "---|" * len(cells)]
    for key in dict.fromkeys((c, b, h) for c, b, h, _ in groups):
        out = []
        for cell in cells:
            g = groups.get((*key, cell))
            if not g:
                out.append("")
                continue
            vals = [r["val"] for r in g if not r.get("error") and r["val"] is not None]
            speed = statistics.median(r["chars_per_sec"] for r in g)
            failed = len(g) - len(vals)
            note = f" ({failed} of {len(g)} diverged)" if failed else ""
            out.append((f"{statistics.mean(vals):.3f} ({min(vals):.3f}..{max(vals):.3f}, {len(vals)}) / {speed:,.0f}"
                        if vals else "diverged") + note)
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="+", default=["pydoc"], help="tinyshakespeare, pydoc, or a path")
    ap.add_argument("--budget", nargs="+", default=["2m"])
    ap.add_argument("--cells", nargs="+", default=["gru", "lstm", "mlstm"])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--results", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--table", action="store_true", help="print the table of the results file and stop")
    args = ap.parse_args()
    if args.table:
        print(table(args.results))
        return
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for corpus in args.corpus:
        for budget in args.budget:
            for i, seed in enumerate(args.seeds):
                order = args.cells[i % len(args.cells):] + args.cells[: i % len(args.cells)]  # rotate who goes first
                for cell in order:
                    row = run_one(corpus, budget, cell, args.hidden, seed, args.threads)
                    with open(args.results, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    val = "diverged: " + row["error"] if row["error"] else f"{row['val']:.4f} nats/char"
                    print(f"{corpus} {budget} {cell} 1x{args.hidden} seed {seed}: {val}, "
                          f"{row['steps']} steps, {row['chars_per_sec']:,.0f} chars/s", flush=True)


if __name__ == "__main__":
    main()
