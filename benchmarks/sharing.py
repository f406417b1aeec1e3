"""Parameter sharing multiplies the training data: one vanilla RNN whose weights are shared by
every step of the window, against the same network with its own weights at each of the T steps
(an unrolled multilayer perceptron), trained on the same windows in the same order.

    python benchmarks/sharing.py                        # T = 16, H = 64, the built-in corpus
    python benchmarks/sharing.py --steps 3000 --seeds 0 1

Both are the one code below, with the weights given a leading axis of 1 (shared: step t uses
W[0]) or T (step t uses W[t]):

    h_t = tanh(W_xh[t] onehot(x_t) + W_hh[t] h_{t-1} + b_h[t])      o_t = W_hy[t] h_t + b_y[t]

Every window starts from h = 0; Adam, lr 3e-3; the loss is the mean cross-entropy over the T
positions. The shared network's W_hh gets T contributions from every window (one per step),
each unshared W_hh[t] one: at equal data the shared one has seen T times as many examples of
what it computes. Printed: validation loss (nats/char) after each block of windows, and the
parameter counts. Rows go to benchmarks/results/sharing.jsonl.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from charrnn.corpus.corpora import python_docs_text
from charrnn.corpus.streams import Corpus
from provenance import provenance

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "sharing.jsonl"


def init(copies: int, V: int, H: int, rng) -> dict:
    b = 1 / np.sqrt(H)
    return {"W_xh": rng.uniform(-b, b, (copies, H, V)), "W_hh": rng.uniform(-b, b, (copies, H, H)),
            "b_h": np.zeros((copies, H)), "W_hy": rng.uniform(-b, b, (copies, V, H)), "b_y": np.zeros((copies, V))}


def loss_and_grads(p: dict, ids: np.ndarray, want_grads: bool = True):
    """ids (T+1, B): mean cross-entropy over the T positions, and its gradient (BPTT)."""
    T, B = ids.shape[0] - 1, ids.shape[1]
    at = (lambda t: 0) if p["W_hh"].shape[0] == 1 else (lambda t: t)
    hs, probs = [np.zeros((B, p["W_hh"].shape[1]))], []
    loss = 0.0
    for t in range(T):
        k = at(t)
        h = np.tanh(p["W_xh"][k][:, ids[t]].T + hs[-1] @ p["W_hh"][k].T + p["b_h"][k])
        z = h @ p["W_hy"][k].T + p["b_y"][k]
        z -= z.max(axis=1, keepdims=True)
        q = np.exp(z)
        q /= q.sum(axis=1, keepdims=True)
        loss -= np.log(q[np.arange(B), ids[t + 1]]).sum()
        hs.append(h)
        probs.append(q)
    loss /= T * B
    if not want_grads:
        return loss, None
    g = {n: np.zeros_like(v) for n, v in p.items()}
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(T)):
        k = at(t)
        dz = probs[t].copy()
        dz[np.arange(B), ids[t + 1]] -= 1
        dz /= T * B
        g["W_hy"][k] += dz.T @ hs[t + 1]
        g["b_y"][k] += dz.sum(axis=0)
        da = (dz @ p["W_hy"][k] + dh_next) * (1 - hs[t + 1] ** 2)
        g["W_hh"][k] += da.T @ hs[t]
        g["b_h"][k] += da.sum(axis=0)
        np.add.at(g["W_xh"][k].T, ids[t], da)
        dh_next = da @ p["W_hh"][k]
    return loss, g


class Adam:
    def __init__(self, p, lr=3e-3):
        self.lr, self.t = lr, 0
        self.m = {n: np.zeros_like(v) for n, v in p.items()}
        self.v = {n: np.zeros_like(v) for n, v in p.items()}

    def step(self, p, g):
        self.t += 1
        for n in p:
            self.m[n] = 0.9 * self.m[n] + 0.1 * g[n]
            self.v[n] = 0.999 * self.v[n] + 0.001 * g[n] ** 2
            p[n] -= self.lr * (self.m[n] / (1 - 0.9 ** self.t)) / (np.sqrt(self.v[n] / (1 - 0.999 ** self.t)) + 1e-8)


def windows(ids: np.ndarray, T: int, B: int, rng) -> np.ndarray:
    starts = rng.integers(0, len(ids) - T - 1, size=B)
    return np.stack([ids[s : s + T + 1] for s in starts], axis=1).astype(np.intp)


def run(T: int, H: int, steps: int, B: int, every: int, seed: int) -> list[dict]:
    data = Corpus.from_text(python_docs_text(), 0.1)
    V = len(data.vocab)
    val = windows(data.val, T, 512, np.random.default_rng(99))
    models = {"shared": init(1, V, H, np.random.default_rng(seed)), "unshared": init(T, V, H, np.random.default_rng(seed))}
    optims = {k: Adam(p) for k, p in models.items()}
    data_rng = np.random.default_rng(seed + 1)
    rows = []
    for step in range(1, steps + 1):
        batch = windows(data.train, T, B, data_rng)  # the same windows for both
        for name, p in models.items():
            optims[name].step(p, loss_and_grads(p, batch)[1])
        if step % every == 0:
            row = {"windows": step, "seed": seed, "T": T, "H": H, "B": B,
                   **{f"{name}_val": loss_and_grads(p, val, False)[0] for name, p in models.items()},
                   **{f"{name}_params": int(sum(v.size for v in p.values())) for name, p in models.items()}}
            rows.append(row)
            print(f"{step:6d} windows: shared {row['shared_val']:.3f}, unshared {row['unshared_val']:.3f} nats/char",
                  flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, default=16)
    ap.add_argument("--H", type=int, default=64)
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    for seed in args.seeds:
        for row in run(args.T, args.H, args.steps, args.B, args.every, seed):
            row.update(command=f"python benchmarks/sharing.py --T {args.T} --H {args.H} --B {args.B} "
                               f"--steps {args.steps} --every {args.every} --seeds {seed}", **provenance())
            with open(args.results, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
