"""What the documents show of a trained model -- the unit that tracks a property of the text
(`charrnn neurons`) and the loss by position past the trained length (`charrnn eval
--by-position`) -- measured on models trained here, so that each figure has a row.

    python benchmarks/trained_views.py --corpus tinyshakespeare --by-position   # LSTM 1x512, 5 minutes, seed 0
    python benchmarks/trained_views.py --corpus numpy                           # the same model on NumPy's sources
    python benchmarks/trained_views.py --table                      # the by-position table of the newest row

Each run trains `charrnn train CORPUS --time 5m --cell lstm --num-layers 1 --hidden-size 512
--seed 0` (every other option the recipe's), keeps the model in WORK/CORPUS (for
`benchmarks/pictures.py neurons WORK/CORPUS/best.safetensors val OUT.png --property P`, which
makes the documents' pictures of it), reads it with `charrnn neurons --json` on its validation
split (the best-tracking units of each property) and, with --by-position, with `charrnn eval
--by-position --json` on the validation split, and appends one row to results/trained-views.jsonl.
CORPUS is one of benchmarks/recipe.py's corpora (tinyshakespeare, numpy, pydoc-80k, ...).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

from provenance import provenance
from recipe import corpus_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "trained-views.jsonl"
WORK = pathlib.Path(tempfile.gettempdir()) / "charrnn-trained-views"
MODEL = ["--cell", "lstm", "--num-layers", "1", "--hidden-size", "512", "--seed", "0"]


def charrnn(*args) -> dict:
    r = subprocess.run([sys.executable, "-m", "charrnn", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"charrnn {args[0]} failed: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout)


def unit_name(u: dict) -> str:
    return f"{u['layer']}:{u['kind']}:{u['index']}"


def measure(corpus: str, budget: str, work: pathlib.Path, by_position: bool) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    text_path = work / f"{corpus}.txt"
    text_path.write_text(corpus_text(corpus), encoding="utf-8")
    out = work / corpus
    started = provenance()
    summary = charrnn("train", text_path, "--time", budget, *MODEL, "--out", out, "--json", "--progress", "none")
    best = out / "best.safetensors"
    views = charrnn("neurons", best, "--json")
    ranking = {p["property"]: [{"unit": unit_name(u), "r": u["r"], "low": u["low"], "high": u["high"]}
                               for u in p["units"][:3]] for p in views["ranking"]}
    row = {"corpus": corpus, "budget": budget, "command": " ".join(["charrnn train", corpus, "--time", budget, *MODEL]),
           "steps": summary["steps"], "val": summary["best_val_loss"], "val_unigram": summary["val_unigram"],
           "chars_per_sec": summary["chars_per_sec"], "recipe": summary["recipe"], "ranking": ranking, **started}
    if by_position:
        val = work / "val.txt"
        text = text_path.read_text(encoding="utf-8")
        val.write_text(text[len(text) - summary_val_chars(best):], encoding="utf-8")
        row["by_position"] = charrnn("eval", best, val, "--by-position", "--json")["by_position"]
    return row


def summary_val_chars(checkpoint: pathlib.Path) -> int:
    from charrnn.training.checkpoint import load

    return load(checkpoint).corpus["val_chars"]


def by_position_table(row: dict) -> str:
    out = ["| positions | nats/char | 95% interval |", "|---|---:|---|"]
    for b in row["by_position"]["buckets"]:
        lo, hi = b["positions"]
        out.append(f"| {lo:,}–{hi:,} | {b['loss']:.3f} | {b['low']:.3f} .. {b['high']:.3f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--by-position", action="store_true", help="also the loss by position on the validation split")
    ap.add_argument("--budget", default="5m")
    ap.add_argument("--work", default=str(WORK))
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    if args.table:
        rows = [json.loads(line) for line in pathlib.Path(args.results).read_text().splitlines() if line.strip()]
        print(by_position_table([r for r in rows if "by_position" in r][-1]))
        return
    if args.corpus is None:
        ap.error("give --corpus or --table")
    row = measure(args.corpus, args.budget, pathlib.Path(args.work), args.by_position)
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "by_position"}))


if __name__ == "__main__":
    main()
