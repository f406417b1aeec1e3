"""Scheduled sampling against teacher forcing, with the exposure-bias control: P = 0 and P = P1,
at equal time and at equal steps, over several seeds, each run measured by
`charrnn exposure-bias --json` (the judge's EB-M with its interval) and by its validation loss.

    python benchmarks/exposure.py --corpus tinyshakespeare --time 2m --steps 1500 --seeds 0 1 2
    python benchmarks/exposure.py --table

Every run is `charrnn train CORPUS --seed S [--scheduled-sampling P1]` with either `--time T` or
`--steps N --lr-schedule cosine` (the same schedule as a timed run), the rest the recipe's; the
two settings of one seed run one after the other, in alternating order. Each row is appended to
the results file as it ends.
"""

from __future__ import annotations

import argparse
import json
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
RESULTS = ROOT / "benchmarks" / "results" / "exposure.jsonl"
CORPORA = {"tinyshakespeare": str(SHARED), "pydoc": "pydoc"}


def run(cmd: list) -> str:
    r = subprocess.run([sys.executable, "-m", "charrnn", *map(str, cmd)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"charrnn {cmd[0]} failed: {r.stderr.strip()[-400:]}")
    return r.stdout


def one(corpus: str, budget: list, p: float, seed: int, measure: list) -> dict:
    with tempfile.TemporaryDirectory() as out:
        summary = json.loads(run(["train", CORPORA.get(corpus, corpus), *budget, "--seed", seed,
                                  "--scheduled-sampling", p, "--json", "--progress", "none", "--out", out]))
        t0 = time.perf_counter()
        report = json.loads(run(["exposure-bias", summary["best_checkpoint"], *measure, "--json"]))
        seconds = time.perf_counter() - t0
    whole = report["control"][-1]
    return {"corpus": corpus, "budget": " ".join(map(str, budget)), "p": p, "seed": seed,
            "val": summary["best_val_loss"], "steps": summary["steps"], "recipe": summary["recipe"],
            "eb_m": whole["eb_m"], "judge": whole["judge"], "entropy": whole["entropy"],
            "early_eb_m": report["control"][0]["eb_m"], "verdict": report["verdict"],
            "divergence": report["divergence"][-1], "judge_kind": report["judge"], "measure_seconds": seconds,
            **provenance()}


def table(path: pathlib.Path) -> str:
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["corpus"], r["budget"], r["p"])].append(r)

    def spread(xs, spec=".3f"):
        return f"{statistics.mean(xs):{spec}} ({min(xs):{spec}}..{max(xs):{spec}})" if xs else ""

    lines = ["| corpus | budget | P | seeds | steps | validation loss | EB-M (whole horizon) | EB-M intervals holding 1 | "
             "judge: real / from real prefix / from own prefix | model entropy: real / real prefix / own prefix |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (corpus, budget, p), g in groups.items():
        held = sum(r["eb_m"]["low"] <= 1.0 <= r["eb_m"]["high"] for r in g)
        judge = " / ".join(spread([r["judge"][k]["mean"] for r in g], ".3f") for k in ("real", "data_prefix", "model_prefix"))
        ent = " / ".join(spread([r["entropy"][k]["mean"] for r in g], ".2f") for k in ("real", "data_prefix", "model_prefix"))
        lines.append(f"| {corpus} | {budget} | {p:g} | {len(g)} | {spread([r['steps'] for r in g], '.0f')} | "
                     f"{spread([r['val'] for r in g])} | {spread([r['eb_m']['mean'] for r in g])} | {held} of {len(g)} | "
                     f"{judge} | {ent} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="tinyshakespeare")
    ap.add_argument("--time", default="2m", help="the equal-time budget")
    ap.add_argument("--steps", type=int, default=1500, help="the equal-steps budget")
    ap.add_argument("--p", type=float, default=0.25, help="the scheduled-sampling setting against P = 0")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", choices=["time", "steps"], default=None)
    ap.add_argument("--measure", default="--prefixes 64 --warmup 100 --horizon 100",
                    help="exposure-bias options")
    ap.add_argument("--results", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    if args.table:
        print(table(args.results))
        return
    budgets = {"time": ["--time", args.time], "steps": ["--steps", args.steps, "--lr-schedule", "cosine"]}
    for name, budget in budgets.items():
        if args.only and args.only != name:
            continue
        for i, seed in enumerate(args.seeds):
            for p in ((0.0, args.p) if i % 2 == 0 else (args.p, 0.0)):
                row = one(args.corpus, budget, p, seed, args.measure.split())
                with open(args.results, "a") as f:
                    f.write(json.dumps(row) + "\n")
                e = row["eb_m"]
                print(f"{args.corpus} {row['budget']} P={p:g} seed {seed}: val {row['val']:.4f}, {row['steps']} steps, "
                      f"EB-M {e['mean']:.3f} ({e['low']:.3f}..{e['high']:.3f})", flush=True)


if __name__ == "__main__":
    main()
