"""Fine-tuning against training from scratch, at equal time on the small text, one run at a time.

    python benchmarks/finetune.py --pretrain                  # tinyshakespeare, 10 minutes, once
    python benchmarks/finetune.py --text same --minutes 1 --seed 0
    python benchmarks/finetune.py --table

The parent: `charrnn train tinyshakespeare --time 10m --seed 0` (the recipe's model), trained on
the first 90% of ../shared/data/tinyshakespeare.txt; its validation split, the last 10%, is never
trained on. The small texts:

    same    shakespeare-heldout-100k: the last 100,000 characters of tinyshakespeare (from a line
            start), inside that validation split: text of the same kind the parent never saw
    other   pydoc-80k: 80,000 characters of Python's reference documentation (benchmarks/recipe.py's
            piece): English technical prose, another kind

For a text, a budget and a seed, two runs of `charrnn train TEXT --time T --seed S`, the order
swapped with the seed: one with `--init-from PARENT` (fine-tuning; the recipe keeps the parent's
network and size and chooses the rest), one without (from scratch: the recipe's own model). The
from-scratch run does not get the pretraining's 10 minutes. Both are scored the same way, by
`charrnn eval BEST VAL --json` on the small text's own validation split (its last 10%, which
neither run trained on), read as one stream. Rows go to benchmarks/results/finetune.jsonl.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import tables
from provenance import provenance
from recipe import corpus_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
RESULTS = ROOT / "benchmarks" / "results" / "finetune.jsonl"
WORK = pathlib.Path(tempfile.gettempdir()) / "charrnn-finetune"
TEXTS = {"same": "shakespeare-heldout-100k", "other": "pydoc-80k"}
PARENT_FIELDS = ("best_val_loss", "val_unigram", "steps", "epochs", "elapsed", "chars_per_sec", "recipe")


def small_text(kind: str) -> str:
    if kind == "same":
        text = SHAKESPEARE.read_text(encoding="utf-8")
        tail = text[-100_000:]
        return tail[tail.index("\n") + 1 :]  # from a line start
    return corpus_text("pydoc-80k")


def charrnn(*args) -> dict:
    r = subprocess.run(["charrnn", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"charrnn {' '.join(map(str, args))} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def pretrain(work: pathlib.Path, results: pathlib.Path) -> None:
    """Train the parent and append its row (the run's summary, what the documents quote of it) to
    finetune-parent.jsonl beside the results file."""
    out = work / "parent"
    started = provenance()
    summary = charrnn("train", SHAKESPEARE, "--time", "10m", "--seed", "0", "--out", out, "--json", "--progress", "none")
    (work / "parent.json").write_text(json.dumps(summary))
    row = {**{k: summary[k] for k in PARENT_FIELDS}, **started,
           "command": "charrnn train tinyshakespeare --time 10m --seed 0"}
    with open(results.parent / "finetune-parent.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(summary), file=sys.stderr)


def run_pair(kind: str, minutes: float, seed: int, work: pathlib.Path) -> list[dict]:
    parent = json.loads((work / "parent.json").read_text())["best_checkpoint"]
    text = small_text(kind)
    n_train = int(len(text) * 0.9)
    path, val = work / f"{TEXTS[kind]}.txt", work / f"{TEXTS[kind]}-val.txt"
    path.write_text(text, encoding="utf-8")
    val.write_text(text[n_train:], encoding="utf-8")
    rows = []
    order = [("fine-tuned", ["--init-from", parent]), ("from scratch", [])]
    for who, extra in order if seed % 2 == 0 else order[::-1]:
        out = work / f"{kind}-{who.replace(' ', '-')}-{minutes:g}m-{seed}-{int(time.time())}"
        started = time.perf_counter()
        summary = charrnn("train", path, "--time", f"{minutes * 60:g}s", "--seed", seed, "--out", out, "--json",
                          "--progress", "none", *extra)
        wall = time.perf_counter() - started
        scored = charrnn("eval", summary["best_checkpoint"], val, "--json")
        rows.append({"text": TEXTS[kind], "kind": kind, "who": who, "minutes": minutes, "seed": seed,
                     "val": scored["loss"], "recipe": summary["recipe"], "steps": summary["steps"], "wall": wall,
                     "command": f"charrnn train {TEXTS[kind]}.txt --time {minutes * 60:g}s --seed {seed}"
                                + (" --init-from PARENT" if extra else "")})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pretrain", action="store_true", help="train the parent (tinyshakespeare, 10 minutes)")
    ap.add_argument("--text", choices=sorted(TEXTS), help="fine-tune on this small text, and train on it from scratch")
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=str(WORK))
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.table:
        path = pathlib.Path(args.results)
        print(tables.finetune(path.parent, path.name))  # the README's table, as tables.py makes it
        return
    if args.pretrain:
        pretrain(work, pathlib.Path(args.results))
    if args.text:
        for row in run_pair(args.text, args.minutes, args.seed, work):
            row.update(provenance())
            with open(args.results, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row))


if __name__ == "__main__":
    main()
