"""A speed change measured the only way this shared machine allows: the old code and the new,
one training step each in turn, in ONE process, on the same weights and windows.

    python benchmarks/alternate.py --old 2a2d3f9              # the recipe's candidates
    python benchmarks/alternate.py --old 2a2d3f9 --only "GRU 1x512 B=32" --rounds 20
    python benchmarks/alternate.py --old HEAD --tiny          # a seconds-long smoke run
    python benchmarks/alternate.py --old 7a31887 --train      # whole `charrnn train` processes
    python benchmarks/alternate.py --old 4ce1a85 --sample     # `charrnn sample`'s loop, 1 and 32 samples

--train measures what a user runs: `charrnn train CORPUS --steps N --json` of the old revision
(extracted as it was, run as its own `python -m charrnn`) and of the working tree, one process
after the other, the order swapped every round; the printed figure is each run's own training
chars/s (step time only, evaluation excluded). It catches what one process cannot: a change to
how the process is set up (charrnn/cli/memory.py's malloc setting, applied by the command line, cannot
be undone inside a process), and costs that show only in a real run.

The revision named by --old is taken from git (`git archive REV charrnn`) into a temporary
package `charrnn_old`, its imports pointed at itself, so that both versions load side by side;
the working tree's `charrnn` is the new one. For each configuration both start from the same
weights (the first step's losses are compared: a speed change must not change the math beyond
float32 rounding), then run `rounds` rounds of `steps` steps each, the order of old and new
swapped every round, so that whatever else the machine is doing falls on both alike. Printed:
median chars/s with p10..p90 for each, and new/old. Timed is the trainer's own `train_step`
(forward with dropout, BPTT, clip, Adam), as in throughput.py, with glibc's malloc keeping freed
pages as `charrnn train` has it (charrnn/cli/memory.py): without it, a change that allocates less
per window looks faster in this process than it is in a real run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

from throughput import CANDIDATES, spread

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMPORT = re.compile(r"^(\s*)(from|import) charrnn\b", re.M)


def extract(rev: str, where: pathlib.Path) -> None:
    """where/charrnn: the package as it was at `rev`."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "charrnn"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=tar, check=True)


def load_old(rev: str, where: pathlib.Path):
    """The package as it was at `rev`, importable as charrnn_old."""
    extract(rev, where)
    (where / "charrnn").rename(where / "charrnn_old")
    for path in (where / "charrnn_old").rglob("*.py"):
        path.write_text(IMPORT.sub(r"\1\2 charrnn_old", path.read_text(encoding="utf-8")), encoding="utf-8")
    sys.path.insert(0, str(where))
    return importlib.import_module("charrnn_old")


# where each module this script uses lives, by the package's layout: revisions before the floors
# (everything in charrnn/) and after (charrnn/ground, training, cli, ...), so that any old revision
# can be measured against the working tree
LAYOUTS = {
    "flat": {"model": "model", "optim": "optim", "options": "options", "step": "update", "sampling": "sampling",
             "vocab": "vocab", "memory": "memory"},
    "floors": {"model": "model", "optim": "ground.optim", "options": "training.options", "step": "training.step",
               "sampling": "sampling", "vocab": "ground.vocab", "memory": "cli.memory"},
}


def module(pkg, job: str):
    """The module of `pkg` (a version of the package) that does `job`, in that version's layout."""
    layout = "floors" if (pathlib.Path(pkg.__file__).parent / "training").is_dir() else "flat"
    return importlib.import_module(f"{pkg.__name__}.{LAYOUTS[layout][job]}")


class Stepper:
    """One configuration's training loop in one version of the package."""

    def __init__(self, pkg, cell, layers, hidden, batch, T, V, windows, seed=0):
        model, optim, options, step = (module(pkg, job) for job in ("model", "optim", "options", "step"))
        self.config = model.ModelConfig(vocab_size=V, hidden_size=hidden, num_layers=layers, cell=cell)
        self.options = options.TrainOptions()
        self.params = model.init_params(self.config, np.random.default_rng(seed))
        self.opt = optim.make_optimizer("adam", 2e-3)
        self.state = model.zero_state(self.config, batch)
        self.rng = np.random.default_rng(seed + 1)
        self.train_step = step.train_step
        self.windows, self.i, self.chars = windows, 0, T * batch

    def step(self) -> float:
        ids = self.windows[self.i % len(self.windows)]
        self.i += 1
        t0 = time.perf_counter()
        r = self.train_step(self.params, self.config, self.opt, ids, self.state, lr=2e-3, clip=self.options.clip,
                            rng=self.rng, state_reset=self.options.state_reset)
        rate = self.chars / (time.perf_counter() - t0)
        self.state, self.loss = r.final_state, r.loss
        return rate


def compare(old_pkg, new_pkg, cell, layers, hidden, batch, T=100, V=65, rounds=10, steps=3):
    rng = np.random.default_rng(0)
    windows = [rng.integers(0, V, size=(T + 1, batch)) for _ in range(4)]
    runs = {"old": Stepper(old_pkg, cell, layers, hidden, batch, T, V, windows),
            "new": Stepper(new_pkg, cell, layers, hidden, batch, T, V, windows)}
    for r in runs.values():
        r.step()
    first = {k: r.loss for k, r in runs.items()}
    if abs(first["old"] - first["new"]) > 1e-4 * max(1.0, abs(first["old"])):
        raise SystemExit(f"{cell} {layers}x{hidden}: the first step's loss differs: old {first['old']!r}, "
                         f"new {first['new']!r}")
    rates = {"old": [], "new": []}
    for i in range(rounds):
        for who in ("old", "new") if i % 2 == 0 else ("new", "old"):
            rates[who] += [runs[who].step() for _ in range(steps)]
    return spread(rates["old"]), spread(rates["new"])


def package_run(env: dict, cwd: str) -> pathlib.Path:
    """The charrnn package a Python started with this environment, in cwd, imports."""
    r = subprocess.run([sys.executable, "-c", "import charrnn; print(charrnn.__file__)"], capture_output=True,
                       text=True, check=True, env=env, cwd=cwd)
    return pathlib.Path(r.stdout.strip()).resolve()


def train_rates(old_dir: pathlib.Path, corpus: str | None, cell, layers, hidden, batch, steps: int, rounds: int):
    """Alternating `charrnn train` processes, old then new (new then old every other round)."""
    args = ["--cell", cell, "--num-layers", str(layers), "--hidden-size", str(hidden), "--batch-size", str(batch),
            "--steps", str(steps), "--eval-every", "0", "--quiet", "--json"]
    env = {who: {**os.environ, "PYTHONPATH": str(where)} for who, where in (("old", old_dir), ("new", ROOT))}
    rates = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as out:
        for who, where in (("old", old_dir), ("new", ROOT)):
            ran = package_run(env[who], out)
            if not ran.is_relative_to(where.resolve()):  # else the old revision would be timed against itself
                raise SystemExit(f"{who}: `python -m charrnn` ran {ran}, not the package in {where}")
        for i in range(rounds):
            for who in ("old", "new") if i % 2 == 0 else ("new", "old"):
                r = subprocess.run([sys.executable, "-m", "charrnn", "train", *([corpus] if corpus else []), *args, "--out",
                                    f"{out}/{who}{i}"], capture_output=True, text=True,
                                   env=env[who], cwd=out)  # not the caller's directory: -m would import from it
                if r.returncode != 0:
                    raise SystemExit(f"{who}: charrnn train failed: {r.stderr.strip()}")
                rates[who].append(json.loads(r.stdout)["chars_per_sec"])
    return spread(rates["old"]), spread(rates["new"])


def sample_rates(old_pkg, new_pkg, cell, layers, hidden, samples, length, rounds=7, V=65):
    """sampling.generate (the loop of `charrnn sample`) in each version in turn, the order swapped
    every round, from the same weights and seeds: (old, new) chars/s spreads, and whether the two
    wrote the same text."""
    rates, texts = {"old": [], "new": []}, {}
    for i in range(rounds):
        for who in ("old", "new") if i % 2 == 0 else ("new", "old"):
            pkg = old_pkg if who == "old" else new_pkg
            model, sampling, vocab = (module(pkg, job) for job in ("model", "sampling", "vocab"))
            config = model.ModelConfig(vocab_size=V, hidden_size=hidden, num_layers=layers, cell=cell)
            params = model.init_params(config, np.random.default_rng(0))
            chars = vocab.Vocab([chr(33 + v) for v in range(V)])
            t0 = time.perf_counter()
            out = ["".join(c) for c in sampling.generate(params, config, chars, sampling.SampleSettings(length=length),
                                                         sampling.sample_seeds(1, samples))]
            rates[who].append(length * samples / (time.perf_counter() - t0))
            texts[who] = out
    return spread(rates["old"]), spread(rates["new"]), texts["old"] == texts["new"]


SAMPLE_CONFIGS = [  # (label, cell, layers, hidden): the default at 2 and at 5-60 minutes, and a large LSTM
    ("GRU 1x384", "gru", 1, 384), ("mLSTM 1x512", "mlstm", 1, 512), ("LSTM 2x512", "lstm", 2, 512)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the git revision to compare the working tree's charrnn against")
    ap.add_argument("--only", default=None, help="run only the configuration with this label")
    ap.add_argument("--rounds", type=int, default=10, help="rounds, the order swapped every round")
    ap.add_argument("--steps", type=int, default=3, help="steps of each version per round")
    ap.add_argument("--tiny", action="store_true", help="a seconds-long smoke run on a tiny model")
    ap.add_argument("--train", action="store_true", help="alternate whole `charrnn train` processes (docstring)")
    ap.add_argument("--sample", action="store_true",
                    help="alternate `charrnn sample`'s loop (sampling.generate), 1 and 32 samples")
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/data/tinyshakespeare.txt"),
                    help="--train's corpus (default: tinyshakespeare; the built-in corpus where it is absent)")
    ap.add_argument("--train-steps", type=int, default=30, help="--train: steps per run")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    new_pkg = None if args.train else importlib.import_module("charrnn")
    if not args.train:  # as the command line does for every run (charrnn/cli/memory.py); both versions share it
        module(new_pkg, "memory").keep_freed_memory()
    configs = [("LSTM 1x16 B=4", "lstm", 1, 16, 4), ("GRU 1x16 B=4", "gru", 1, 16, 4)] if args.tiny else CANDIDATES
    T, rounds, steps = (10, 2, 1) if args.tiny else (100, args.rounds, args.steps)
    corpus = str(pathlib.Path(args.corpus).resolve()) if pathlib.Path(args.corpus).exists() else None  # None: `charrnn train`'s built-in one
    with tempfile.TemporaryDirectory() as tmp:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.old], capture_output=True,
                             text=True, check=True).stdout.strip()
        if args.sample:
            old_pkg = load_old(args.old, pathlib.Path(tmp))
            configs = [("LSTM 1x16", "lstm", 1, 16)] if args.tiny else SAMPLE_CONFIGS
            print(f"# sampling.generate, old: charrnn at {rev}; new: the working tree; V=65, {rounds} rounds, "
                  f"alternating; chars/s")
            print("| config | samples | old chars/s (p10 .. p90) | new chars/s (p10 .. p90) | new / old | same text |")
            print("|---|---|---|---|---|---|")
            for label, cell, layers, hidden in configs:
                for samples, length in ((1, 1000), (32, 300)):
                    (o, o_lo, o_hi), (n, n_lo, n_hi), same = sample_rates(
                        old_pkg, new_pkg, cell, layers, hidden, samples, 20 if args.tiny else length, rounds=rounds)
                    print(f"| {label} | {samples} | {o:,.0f} ({o_lo:,.0f} .. {o_hi:,.0f}) | {n:,.0f} ({n_lo:,.0f} .. "
                          f"{n_hi:,.0f}) | {n / o:.2f}x | {'yes' if same else 'no'} |", flush=True)
            return
        if args.train:
            old_dir = pathlib.Path(tmp)
            extract(args.old, old_dir)
            steps = 2 if args.tiny else args.train_steps
            print(f"# `charrnn train {pathlib.Path(corpus).name if corpus else '(built-in corpus)'} --steps {steps} --eval-every 0` processes, old: "
                  f"charrnn at {rev}, new: the working tree; {rounds} rounds, alternating; training chars/s")
        else:
            old_pkg = load_old(args.old, pathlib.Path(tmp))
            print(f"# old: charrnn at {rev}; new: the working tree; T={T}, V=65, float32, Adam, clip 5, dropout as "
                  f"the default; {rounds} rounds x {steps} steps each, alternating")
        print("| config | old chars/s (p10 .. p90) | new chars/s (p10 .. p90) | new / old |")
        print("|---|---|---|---|")
        for label, cell, layers, hidden, batch in configs:
            if args.only and args.only != label:
                continue
            if args.train:
                (o, o_lo, o_hi), (n, n_lo, n_hi) = train_rates(old_dir, corpus, cell, layers, hidden, batch, steps,
                                                               rounds)
            else:
                (o, o_lo, o_hi), (n, n_lo, n_hi) = compare(old_pkg, new_pkg, cell, layers, hidden, batch, T=T,
                                                           rounds=rounds, steps=steps)
            print(f"| {label} | {o:,.0f} ({o_lo:,.0f} .. {o_hi:,.0f}) | {n:,.0f} ({n_lo:,.0f} .. {n_hi:,.0f}) "
                  f"| {n / o:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
