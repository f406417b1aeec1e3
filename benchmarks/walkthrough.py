"""The documents' walkthroughs, run as a user runs them: each command of a walkthrough in turn, in
one fresh directory (so that `runs/ja` and `ja-val.txt` are where the text says), recording what
each printed, so that the output a document shows of a trained model is a recorded run's.

    python benchmarks/walkthrough.py ja          # README.ja.md: data/ja-messages.txt, 3-minute GRU and LSTM
    python benchmarks/walkthrough.py exposure    # docs/exposure-bias.md: LSTM 1x512, 5 minutes, tinyshakespeare
    python benchmarks/walkthrough.py plateau     # docs/recipe.md: no budget, 3,000 characters, stops by itself
    python benchmarks/walkthrough.py quickstart  # README.md's quick start: `charrnn train --time 2m`, then sample

Appends one row to results/walkthroughs.jsonl: the walkthrough's name, where and when it ran
(provenance), and for each step its command, exit status, seconds, stdout and stderr. The
documents show excerpts of it through benchmarks/tables.py (`output` tables and figures).
`ja` needs data/ja-messages.txt (`python data/japanese_messages.py`), `exposure` and `plateau`
../shared/data/tinyshakespeare.txt; `data/` of this checkout and that file are linked into the
walkthrough's directory (and the file is the named corpus there), so each command finds what
it names as the documents write it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from provenance import provenance

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "walkthroughs.jsonl"
SHARED = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"

JA_LSTM = "runs/ja-lstm/best.safetensors"
WALKTHROUGHS = {
    "ja": [
        ("train", "charrnn train data/ja-messages.txt --time 3m --out runs/ja --ascii"),
        ("sample", 'charrnn sample runs/ja/best.safetensors --prime "ファイル" --length 200 --temperature 0.8 --seed 1'),
        ("train-lstm", "charrnn train data/ja-messages.txt --time 3m --cell lstm --hidden-size 512 --num-layers 1 "
                       "--dropout 0.1 --eval-every 25 --out runs/ja-lstm --ascii"),
        ("inspect", f"charrnn inspect-gradients {JA_LSTM} --seq-len 50 --ascii"),
        ("greedy", f"charrnn sample {JA_LSTM} --greedy --length 150 --seed 2"),
        ("val-split", "python -c \"t = open('data/ja-messages.txt', encoding='utf-8').read(); "
                      "open('ja-val.txt', 'w', encoding='utf-8').write(t[int(len(t) * 0.9):])\""),
        ("eval", f"charrnn eval {JA_LSTM} ja-val.txt --ascii"),
    ],
    "exposure": [
        ("train", "charrnn train tinyshakespeare --time 5m --cell lstm --num-layers 1 --hidden-size 512 --out runs/eb"),
        ("exposure", "charrnn exposure-bias runs/eb/best.safetensors --show 1"),
    ],
    "quickstart": [  # README.md's quick start (after its pip install): the built-in corpus, 2 minutes
        ("train", "charrnn train --time 2m"),
        ("sample", "charrnn sample --length 300"),
    ],
    "plateau": [  # docs/recipe.md: a run with no budget stops by itself
        ("small", "head -c 3000 tinyshakespeare.txt > small.txt"),
        ("train", "charrnn train small.txt"),
    ],
}
JA = ROOT / "data" / "ja-messages.txt"
NEEDS = {"ja": (JA, "python data/japanese_messages.py makes it"),  # what each needs, and how it is had
         "exposure": (SHARED, "the benchmarks read tinyshakespeare there"),
         "plateau": (SHARED, "the benchmarks read tinyshakespeare there")}


def run(name: str, work: pathlib.Path) -> dict:
    """Every step of walkthrough NAME in WORK; stops at the first that fails."""
    (work / "data").symlink_to(ROOT / "data", target_is_directory=True)
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "200"}  # rich's tables as wide as the documents show them, not a pipe's 80
    if SHARED.exists():  # the named corpus is the shared copy, as the other benchmarks read it, not a download;
        (work / SHARED.name).symlink_to(SHARED)  # and `head -c 3000 tinyshakespeare.txt` finds it
        env["CHARRNN_DATA"] = str(work)
    row = {"walkthrough": name, **provenance(), "steps": []}
    for step, command in WALKTHROUGHS[name]:
        print(f"{name}/{step}: {command}", file=sys.stderr)
        started = time.perf_counter()
        r = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True)
        row["steps"].append({"step": step, "command": command, "rc": r.returncode,
                             "seconds": round(time.perf_counter() - started, 1), "stdout": r.stdout, "stderr": r.stderr})
        if r.returncode != 0:
            raise SystemExit(f"{name}/{step} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("walkthrough", choices=sorted(WALKTHROUGHS))
    ap.add_argument("--results", type=pathlib.Path, default=RESULTS)
    args = ap.parse_args()
    if args.walkthrough in NEEDS and not NEEDS[args.walkthrough][0].exists():
        raise SystemExit(f"{NEEDS[args.walkthrough][0]} is missing: {NEEDS[args.walkthrough][1]}")
    with tempfile.TemporaryDirectory(prefix="charrnn-walkthrough-") as work:
        row = run(args.walkthrough, pathlib.Path(work))
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"appended {args.walkthrough} to {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
