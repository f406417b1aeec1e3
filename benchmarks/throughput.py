"""Training throughput of charrnn: characters per second for one full training step
(teacher-forced forward, BPTT backward, global-norm clip, Adam step), median over many steps.

    python benchmarks/throughput.py                 # the standard table (T=100, V=65)
    python benchmarks/throughput.py --steps 5 --only "LSTM 1x128 B=32"
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.optim import clip_by_global_norm, make_optimizer
from charrnn.teacher_forcing import loss_and_grads

CONFIGS = [  # (label, cell, layers, hidden, batch)
    ("LSTM 1x128 B=32", "lstm", 1, 128, 32),
    ("LSTM 2x256 B=32", "lstm", 2, 256, 32),
    ("LSTM 1x512 B=64", "lstm", 1, 512, 64),
    ("LSTM 2x512 B=64", "lstm", 2, 512, 64),
    ("GRU 2x256 B=32", "gru", 2, 256, 32),
    ("tanh RNN 1x256 B=32", "rnn", 1, 256, 32),
]


def measure(cell, layers, hidden, batch, T=100, V=65, steps=20, warmup=2, seed=0):
    rng = np.random.default_rng(seed)
    config = ModelConfig(vocab_size=V, hidden_size=hidden, num_layers=layers, cell=cell)
    params = init_params(config, rng)
    opt = make_optimizer("adam", 2e-3)
    state = zero_state(config, batch)
    times = []
    for i in range(warmup + steps):
        ids = rng.integers(0, V, size=(T + 1, batch))
        t0 = time.perf_counter()
        r = loss_and_grads(params, config, ids, state)
        clip_by_global_norm(r.grads, 5.0)
        opt.step(params, r.grads)
        state = r.final_state
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    chars = T * batch
    rates = sorted(chars / t for t in times)
    return statistics.median(rates), rates[len(rates) // 10], rates[-1 - len(rates) // 10]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per configuration")
    ap.add_argument("--only", default=None, help="run only the configuration with this label")
    ap.add_argument("--tiny", action="store_true", help="a seconds-long smoke run on a tiny model")
    args = ap.parse_args()
    configs = [("LSTM 1x16 B=4", "lstm", 1, 16, 4)] if args.tiny else CONFIGS
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, T=100, V=65, float32, Adam, clip 5")
    print("| config | chars/s (median) | p10 .. p90 |")
    print("|---|---|---|")
    for label, cell, layers, hidden, batch in configs:
        if args.only and args.only != label:
            continue
        med, lo, hi = measure(cell, layers, hidden, batch, steps=2 if args.tiny else args.steps,
                              T=10 if args.tiny else 100)
        print(f"| {label} | {med:,.0f} | {lo:,.0f} .. {hi:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
