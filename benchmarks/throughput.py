"""Training throughput of charrnn: characters per second for one full training step -- the
trainer's own `train_step` (state resets, teacher-forced forward with dropout 0.1, BPTT backward,
global-norm clip, Adam step) -- median over many steps.

    python benchmarks/throughput.py                 # the standard table (T=100, V=65)
    python benchmarks/throughput.py --steps 5 --only "LSTM 1x128 B=32"
    python benchmarks/throughput.py --threads-compare --busy 1
        # BLAS on all cores against one thread, alternating in one run, while another
        # process keeps one core busy (what `charrnn train --threads 1` is for)
    python benchmarks/throughput.py --candidates
        # the recipe's candidates (and the LSTM and mLSTM of the same size), B=32, each with the
        # float32 rate its step reaches and its share of this machine's peak: the peak is measured
        # first, as the best of a few 4096 x 4096 float32 products on all cores
    python benchmarks/throughput.py --candidates --bound
        # how fast the same candidates could be if everything but the matrix products were free:
        # the step's matrix products alone (same shapes, layouts and order), alternating with the
        # whole step in one run

A training step's arithmetic is counted as 6 N P flops (N = T*B characters; P = the weights
used in matrix products, every tensor but layer 0's input weights, which are a gather): 2 N P
forward, 4 N P backward (the gradients of the inputs and of the weights). The element-wise gate
arithmetic, the softmax and Adam are left out, so the share is a lower bound of the work done.
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

from charrnn import networks
from charrnn.ground.ops import times
from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.ground.optim import make_optimizer
from charrnn.training.options import TrainOptions
from charrnn.cli.threads import blas_threads
from charrnn.training.step import train_step

CANDIDATES = [  # the recipe's (networks/gru.py recipe_shapes), then the LSTM and mLSTM of the largest 1-layer size
    ("GRU 1x128 B=32", "gru", 1, 128, 32),
    ("GRU 1x256 B=32", "gru", 1, 256, 32),
    ("GRU 1x384 B=32", "gru", 1, 384, 32),
    ("GRU 1x512 B=32", "gru", 1, 512, 32),
    ("GRU 2x512 B=32", "gru", 2, 512, 32),
    ("LSTM 1x512 B=32", "lstm", 1, 512, 32),
    ("mLSTM 1x512 B=32", "mlstm", 1, 512, 32),
]

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


def peak_gflops(n: int = 4096, tries: int = 3) -> float:
    """This machine's float32 matrix-product rate: the best of a few n x n products (2 n^3 flops)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the threads
    best = min(timed(lambda: a @ b) for _ in range(tries))
    return 2 * n**3 / best / 1e9


def timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def dense_weights(run: "Run") -> int:
    """P: the weights a step uses in matrix products (layer 0's input weights are gathered)."""
    V = run.config.vocab_size
    return sum(w.size for name, w in run.params.items() if w.ndim == 2 and not (name.endswith("_l0") and w.shape[1] == V))


def spread(rates):
    rates = sorted(rates)
    return statistics.median(rates), rates[len(rates) // 10], rates[-1 - len(rates) // 10]


def measure(cell, layers, hidden, batch, T=100, V=65, steps=20, warmup=2, seed=0, with_weights=False):
    run = Run(cell, layers, hidden, batch, T, V, seed)
    rates = [run.step() for _ in range(warmup + steps)][warmup:]
    return (spread(rates), dense_weights(run)) if with_weights else spread(rates)


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


def matrix_products(run: Run, T: int = 100) -> list:
    """One training step's matrix products as (a, b) operand pairs, to be run as a @ b in order --
    the same shapes, memory layouts and order as the stacked cells' unrolls (networks/stacked.py)
    and the decoder: per step and layer, each product's in_t W^T forward (in ops.times'
    order) and dout_t W backward; per window, the decoder's three products, each product's weight
    gradient over T*B rows, the one-hot input gradient of layer 0 (the last pair of layer 0,
    outside the 6 N P count) and the input products of the layers above. Their time is what a
    step would take if the gate arithmetic, softmax, clipping and Adam cost nothing."""
    config = run.config
    cell = networks.get(config.cell).cell_class
    B, H, V, L = run.state.shape[-2], config.hidden_size, config.vocab_size, config.num_layers
    rng = np.random.default_rng(0)
    r = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    forward, backward = [], []
    for k in range(L):
        GH = cell.gates * H
        W_ih, x, dAx = r(GH, V if k == 0 else H), r(T * B, H), r(T * B, GH)
        W = [r(p.rows * H, H) for p in cell.products]  # row-major, as the parameters
        inp = [r(T, B, H) for _ in cell.products]
        dout = [r(T, B, p.rows * H) for p in cell.products]
        if k > 0:
            forward.append((x, W_ih.T))
        forward += [(w, i[t].T) for t in range(T) for w, i in zip(W, inp)]  # ops.times: (W in_t^T)^T
        layer_back = [(d[t], w) for t in reversed(range(T)) for w, d in zip(W, dout)]
        layer_back += [(d.reshape(T * B, -1).T, i.reshape(T * B, H)) for d, i in zip(dout, inp)]
        layer_back += [(dAx.T, x), (dAx, W_ih)] if k > 0 else [(dAx.T, r(T * B, V))]
        backward = layer_back + backward  # the layers run top to bottom backward
    W_dec, h_top, dlogits = r(V, H), r(T * B, H), r(T * B, V)
    return forward + [(h_top, W_dec.T), (dlogits.T, h_top), (dlogits, W_dec)] + backward


def compare_bound(cell, layers, hidden, batch, T=100, V=65, rounds=6, steps=3):
    """chars/s of the whole step and of its matrix products alone, alternating rounds."""
    run = Run(cell, layers, hidden, batch, T, V)
    pairs = matrix_products(run, T)

    def products():
        for a, b in pairs:
            a @ b

    rates = {"step": [], "products": []}
    for i in range(rounds):
        for what in ("step", "products") if i % 2 == 0 else ("products", "step"):
            for _ in range(steps):
                rates[what].append(run.step() if what == "step" else run.chars / timed(products))
    return spread(rates["step"]), spread(rates["products"])


def product_orders(cell, hidden, batch, rounds=7, n=100):
    """Each per-step product of one layer of `cell`, forward in_t W^T and backward d_t W, timed
    as plain `@` (forward from a column-major copy of W, the layout the cells kept for it) and
    as ops.times, alternating rounds of n products: [(product, direction, (plain us, times
    us))], medians over the rounds."""
    cls = networks.get(cell).cell_class
    rng = np.random.default_rng(0)
    rows = []
    for p in cls.products:
        W = rng.standard_normal((p.rows * hidden, hidden), dtype=np.float32)  # (rows*H, H), as stored
        W_col = np.asfortranarray(W)
        x = rng.standard_normal((batch, hidden), dtype=np.float32)  # in_t
        d = rng.standard_normal((batch, p.rows * hidden), dtype=np.float32)  # dout_t
        pairs = {"forward": (lambda: x @ W_col.T, lambda: times(x, W.T)),
                 "backward": (lambda: d @ W, lambda: times(d, W))}
        for direction, (plain, ordered) in pairs.items():
            us = {0: [], 1: []}
            for r in range(rounds):
                for which in (0, 1) if r % 2 == 0 else (1, 0):
                    f = (plain, ordered)[which]
                    f()
                    us[which].append(timed(lambda: [f() for _ in range(n)]) / n * 1e6)
            rows.append((p.weight, direction, (statistics.median(us[0]), statistics.median(us[1]))))
    return rows


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
    ap.add_argument("--candidates", action="store_true",
                    help="the recipe's candidates, with the share of this machine's float32 peak each step reaches")
    ap.add_argument("--orders", action="store_true",
                    help="each per-step product in plain order and in ops.times' order, alternating")
    ap.add_argument("--bound", action="store_true",
                    help="with each configuration, its matrix products alone: the most a faster gate arithmetic could give")
    args = ap.parse_args()
    configs = [("LSTM 1x16 B=4", "lstm", 1, 16, 4)] if args.tiny else CANDIDATES if args.candidates else CONFIGS
    if args.candidates:
        with blas_threads(args.threads):
            peak = peak_gflops(512 if args.tiny else 4096)
        print(f"# float32 peak of this machine: {peak:,.1f} GFLOP/s (best of 3 square products)")
    T = 10 if args.tiny else 100
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, T={T}, V=65, float32, Adam, clip 5; "
          f"{args.busy} core(s) kept busy by other processes")
    if args.orders:
        print("| config | product | direction | x @ W: us | ops.times: us | plain / times |")
        print("|---|---|---|---|---|---|")
    elif args.bound:
        print("| config | whole step: chars/s (p10 .. p90) | its matrix products alone: chars/s (p10 .. p90) "
              "| products' share of the step | the most a free gate arithmetic could give |")
        print("|---|---|---|---|---|")
    elif args.threads_compare:
        print("| config | all cores: chars/s (p10 .. p90) | 1 thread: chars/s (p10 .. p90) | 1 thread / all |")
        print("|---|---|---|---|")
    elif args.candidates:
        print("| config | chars/s (median) | p10 .. p90 | weights in products P | GFLOP/s (6 N P) | of peak |")
        print("|---|---|---|---|---|---|")
    else:
        print("| config | chars/s (median) | p10 .. p90 |")
        print("|---|---|---|")
    with busy_cores(args.busy), blas_threads(args.threads):
        for label, cell, layers, hidden, batch in configs:
            if args.only and args.only != label:
                continue
            if args.orders:
                for weight, direction, (plain, ordered) in product_orders(cell, hidden, batch,
                                                                          rounds=2 if args.tiny else 7):
                    print(f"| {label} | {weight} | {direction} | {plain:,.1f} | {ordered:,.1f} | {plain / ordered:.2f}x |",
                          flush=True)
            elif args.bound or args.threads_compare:
                rounds, steps = (2, 1) if args.tiny else (6, max(1, args.steps // 6))
                pair = compare_bound if args.bound else compare_threads
                (a, a_lo, a_hi), (b, b_lo, b_hi) = pair(cell, layers, hidden, batch, T=T, rounds=rounds, steps=steps)
                last = f"{a / b:.0%} | {b / a:.2f}x" if args.bound else f"{b / a:.2f}x"
                print(f"| {label} | {a:,.0f} ({a_lo:,.0f} .. {a_hi:,.0f}) | {b:,.0f} ({b_lo:,.0f} .. {b_hi:,.0f}) "
                      f"| {last} |", flush=True)
            elif args.candidates:
                (med, lo, hi), P = measure(cell, layers, hidden, batch, steps=2 if args.tiny else args.steps, T=T,
                                           with_weights=True)
                rate = 6 * P * med / 1e9
                print(f"| {label} | {med:,.0f} | {lo:,.0f} .. {hi:,.0f} | {P:,} | {rate:,.1f} | {rate / peak:.0%} |",
                      flush=True)
            else:
                med, lo, hi = measure(cell, layers, hidden, batch, steps=2 if args.tiny else args.steps, T=T)
                print(f"| {label} | {med:,.0f} | {lo:,.0f} .. {hi:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
