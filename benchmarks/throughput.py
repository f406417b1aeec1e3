"""Training throughput of charrnn: characters per second for one full training step -- the
trainer's own `train_step` (state resets, teacher-forced forward with dropout 0.1, BPTT backward,
global-norm clip, Adam step) -- median over many steps.

    python benchmarks/throughput.py                 # the standard table (T=100, V=65)
    python benchmarks/throughput.py --steps 5 --only "LSTM 1x128 B=32"
    python benchmarks/throughput.py --threads-compare --busy 1
        # BLAS on all cores against one thread, alternating in one run, while another
        # process keeps one core busy (what `charrnn train --threads 1` is for)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np

from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.optim import make_optimizer
from charrnn.options import TrainOptions
from charrnn.threads import blas_threads
from charrnn.trainer import train_step

CONFIGS = [  # (label, cell, layers, hidden, batch)
    ("LSTM 1x128 B=32", "lstm", 1, 128, 32),
    ("LSTM 2x256 B=32", "lstm", 2, 256, 32),
    ("LSTM 1x512 B=64", "lstm", 1, 512, 64),
    ("LSTM 2x512 B=64", "lstm", 2, 512, 64),
    ("GRU 2x256 B=32", "gru", 2, 256, 32),
    ("tanh RNN 1x256 B=32", "rnn", 1, 256, 32),
]


class Run:
    """One configuration's training loop, stepped on demand (so that settings can alternate)."""

    def __init__(self, cell, layers, hidden, batch, T=100, V=65, seed=0, dropout=None):
        rng = np.random.default_rng(seed)
        self.rng = rng
        extra = {} if dropout is None else {"dropout": dropout}  # default: charrnn's own
        self.config = ModelConfig(vocab_size=V, hidden_size=hidden, num_layers=layers, cell=cell, **extra)
        self.options = TrainOptions()
        self.params = init_params(self.config, rng)
        self.opt = make_optimizer("adam", 2e-3)
        self.state = zero_state(self.config, batch)
        self.windows = [rng.integers(0, V, size=(T + 1, batch)) for _ in range(4)]
        self.chars = T * batch
        self.i = 0

    def step(self, ids=None) -> float:
        """One training step on `ids` (default: the next of its windows); returns its chars/s
        and keeps its loss in `self.loss`."""
        if ids is None:
            ids = self.windows[self.i % len(self.windows)]
            self.i += 1
        t0 = time.perf_counter()
        r = train_step(self.params, self.config, self.opt, ids, self.state, lr=2e-3, clip=self.options.clip,
                       rng=self.rng, state_reset=self.options.state_reset)
        self.state = r.final_state
        self.loss = r.loss
        return self.chars / (time.perf_counter() - t0)


def spread(rates):
    rates = sorted(rates)
    return statistics.median(rates), rates[len(rates) // 10], rates[-1 - len(rates) // 10]


def measure(cell, layers, hidden, batch, T=100, V=65, steps=20, warmup=2, seed=0):
    run = Run(cell, layers, hidden, batch, T, V, seed)
    rates = [run.step() for _ in range(warmup + steps)][warmup:]
    return spread(rates)


def compare_threads(cell, layers, hidden, batch, T=100, V=65, rounds=6, steps=3):
    """chars/s with BLAS on all cores and with one thread, alternating rounds of steps."""
    run = Run(cell, layers, hidden, batch, T, V)
    rates = {None: [], 1: []}
    for r in range(rounds):
        for n in (None, 1) if r % 2 == 0 else (1, None):
            with blas_threads(n):
                run.step()  # the first step after a switch warms the new thread setting up
                rates[n] += [run.step() for _ in range(steps)]
    return spread(rates[None]), spread(rates[1])


@contextmanager
def busy_cores(n):
    """n other processes, each keeping one core busy, for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per configuration")
    ap.add_argument("--only", default=None, help="run only the configuration with this label")
    ap.add_argument("--tiny", action="store_true", help="a seconds-long smoke run on a tiny model")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: one per core)")
    ap.add_argument("--threads-compare", action="store_true",
                    help="BLAS on all cores against one thread, alternating in one run")
    ap.add_argument("--busy", type=int, default=0, help="keep this many cores busy with other processes meanwhile")
    args = ap.parse_args()
    configs = [("LSTM 1x16 B=4", "lstm", 1, 16, 4)] if args.tiny else CONFIGS
    T = 10 if args.tiny else 100
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, T={T}, V=65, float32, Adam, clip 5; "
          f"{args.busy} core(s) kept busy by other processes")
    if args.threads_compare:
        print("| config | all cores: chars/s (p10 .. p90) | 1 thread: chars/s (p10 .. p90) | 1 thread / all |")
    else:
        print("| config | chars/s (median) | p10 .. p90 |")
    print("|---|---|---|" + ("---|" if args.threads_compare else ""))
    with busy_cores(args.busy), blas_threads(args.threads):
        for label, cell, layers, hidden, batch in configs:
            if args.only and args.only != label:
                continue
            if args.threads_compare:
                rounds, steps = (2, 1) if args.tiny else (6, max(1, args.steps // 6))
                (a, a_lo, a_hi), (o, o_lo, o_hi) = compare_threads(cell, layers, hidden, batch, T=T,
                                                                   rounds=rounds, steps=steps)
                print(f"| {label} | {a:,.0f} ({a_lo:,.0f} .. {a_hi:,.0f}) | {o:,.0f} ({o_lo:,.0f} .. {o_hi:,.0f}) "
                      f"| {o / a:.2f}x |", flush=True)
            else:
                med, lo, hi = measure(cell, layers, hidden, batch, steps=2 if args.tiny else args.steps, T=T)
                print(f"| {label} | {med:,.0f} | {lo:,.0f} .. {hi:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
