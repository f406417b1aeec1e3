"""Element-wise recurrences measured before they are built: a QRNN (filter width 1 and 2) and a
minGRU, whose gates read only their input, against charrnn's GRU at equal parameters.

    python benchmarks/elementwise.py --speed                 # chars/s, alternated with the GRU's step
    python benchmarks/elementwise.py --equal-time pydoc --budget 2m --seeds 0 1
                                                             # trained as long as the recipe's GRU, scored alike

Why they might be faster: every product of a gate reads the layer's input, known for the whole
window, so it is one product over T*B rows; only an element-wise recurrence stays in the loop
over t (two NumPy calls a step forward, two backward). Why they might not: charrnn's GRU step is
already mostly element-wise work on (B, H) arrays, which taking the loop away does not remove.

The networks (layer l reads x_t, the one-hot character for l = 0, the layer below's h_t else;
a filter of width 2 also reads x_{t-1}, carried across windows):

    minGRU (Feng et al. 2024):  z_t = s(W_z x_t + b_z)   g_t = W_g x_t + b_g
                                h_t = (1 - z_t) * h_{t-1} + z_t * g_t
    QRNN, fo-pooling (Bradbury et al. 2016):
                                [A_z, A_f, A_o] = W [x_t; x_{t-1}] + b
                                z_t = tanh(A_z)   f_t = s(A_f)   o_t = s(A_o)
                                c_t = f_t * c_{t-1} + (1 - f_t) * z_t      h_t = o_t * c_t

Both are c_t = a_t * c_{t-1} + b_t in the loop; backward, with G_t = dL/dc_t,

    G_t = dL/dc_t (from h_t) + a_{t+1} * G_{t+1}      da_t = G_t * c_{t-1}      db_t = G_t

and everything else over all T*B rows at once. Decoder, loss, dropout (between layers and before
the decoder), clipping and Adam are charrnn's own (charrnn.ground). Each prototype is sized to
the GRU's parameter count (its width solved for the layers given). `--speed` times one training
window (forward, backward, clipping, Adam; T = 100, B = 32, float32, random characters, glibc's
malloc kept from returning memory as `charrnn train` does) of each, the GRU's from
benchmarks/throughput.py's Run, alternating for `--rounds` rounds, and prints the medians.
`--equal-time` runs `charrnn train CORPUS --time BUDGET --seed S` (the recipe chooses), then trains
each prototype at the GRU's parameter count with the recipe's B, T, learning rate, cosine schedule
over the budget and dropout, for the budget's seconds of training (charrnn's run also spends its
start-up, speed measurement and evaluations inside the budget: the prototypes are favoured), and
scores all on the validation split read as one stream. Rows go to
benchmarks/results/elementwise.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from charrnn.ground.ops import dropout_mask, gather_columns, log_softmax, onehot_weight_gradient
from charrnn.ground.optim import clip_by_global_norm, make_optimizer
from provenance import provenance

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "elementwise.jsonl"
KINDS = {"mingru": (2, 1), "qrnn1": (3, 1), "qrnn2": (3, 2)}  # gates G, filter width k
LAYERS = {"mingru": 3, "qrnn1": 2, "qrnn2": 2}  # the depth each is tried at (the minGRU paper stacks 3)


def param_count(kind: str, layers: int, H: int, V: int) -> int:
    G, k = KINDS[kind]
    return sum(G * H * (k * (V if l == 0 else H) + 1) for l in range(layers)) + V * (H + 1)


def width_for(kind: str, layers: int, target: int, V: int) -> int:
    """The width whose parameter count is closest to `target`."""
    return min(range(8, 2048), key=lambda H: abs(param_count(kind, layers, H, V) - target))


class Proto:
    """A stacked element-wise recurrent network of one kind; `window` is a training window's
    loss and gradients, `state` the carried c (and, at width 2, the last input) of every layer."""

    def __init__(self, kind: str, layers: int, H: int, V: int, seed: int = 0, dtype=np.float32, dropout: float = 0.0,
                 chunk: int = 10):
        self.kind, self.layers, self.H, self.V, self.dtype, self.dropout = kind, layers, H, V, dtype, dropout
        self.chunk = chunk
        self.G, self.k = KINDS[kind]
        rng = np.random.default_rng(seed)
        self.params = {}
        for l in range(layers):
            D = V if l == 0 else H
            bound = 1.0 / math.sqrt(H)
            self.params[f"W{l}"] = rng.uniform(-bound, bound, (self.G * H, self.k * D)).astype(dtype)
            self.params[f"b{l}"] = np.zeros(self.G * H, dtype)
            if kind == "qrnn1" or kind == "qrnn2":
                self.params[f"b{l}"][H : 2 * H] = 1.0  # forget gates start open, as an LSTM's often do
        bound = 1.0 / math.sqrt(H)
        self.params["Wd"] = rng.uniform(-bound, bound, (V, H)).astype(dtype)
        self.params["bd"] = np.zeros(V, dtype)

    def zero_state(self, B: int) -> list:
        return [{"c": np.zeros((B, self.H), self.dtype),
                 "x": np.zeros(B, np.intp) if l == 0 else np.zeros((B, self.H), self.dtype)} for l in range(self.layers)]

    def inputs(self, l: int, x, prev):
        """A (T*B, G*H): the gates' pre-activations of layer l for the whole window."""
        W, b = self.params[f"W{l}"], self.params[f"b{l}"]
        T, B = x.shape[:2]
        D = self.V if l == 0 else self.H
        if l == 0:
            A = gather_columns(W[:, :D], x).reshape(T * B, -1)
            if self.k == 2:
                shifted = np.concatenate([prev[None], x[:-1]])
                A += gather_columns(W[:, D:], shifted).reshape(T * B, -1)
            return A + b, None
        X = x.reshape(T * B, D)
        if self.k == 2:
            X = np.concatenate([X, np.concatenate([prev[None], x[:-1]]).reshape(T * B, D)], axis=1)
        return X @ W.T + b, X

    def gates(self, A):
        """(a, b, o) of c_t = a_t * c_{t-1} + b_t, h_t = o_t * c_t (o None: h = c), from a chunk of
        pre-activations; the activated gates are written back into A for the backward."""
        H = self.H
        if self.kind == "mingru":
            z = A[..., :H]
            np.multiply(z, 0.5, out=z)
            np.tanh(z, out=z)
            z += 1.0
            z *= 0.5
            return 1.0 - z, z * A[..., H:], None
        z, f, o = A[..., :H], A[..., H : 2 * H], A[..., 2 * H :]
        np.tanh(z, out=z)
        for s in (f, o):
            np.multiply(s, 0.5, out=s)
            np.tanh(s, out=s)
            s += 1.0
            s *= 0.5
        return f, (1.0 - f) * z, o

    def window(self, ids: np.ndarray, state: list, rng=None, grads: bool = True):
        """ids (T+1, B): the window's mean cross-entropy, its gradients (or None) and the new state.
        The element-wise work runs over `chunk` steps at a time: arrays of a few steps stay in the
        cache, where a whole window's (T, B, H) arrays do not (`--chunk 100` is the whole window at
        once, to compare)."""
        T, B, H, C = ids.shape[0] - 1, ids.shape[1], self.H, self.chunk
        x, saved, new_state = ids[:-1], [], []
        for l in range(self.layers):
            A, X = self.inputs(l, x, state[l]["x"])
            A = A.reshape(T, B, self.G * H)  # activated in place, chunk by chunk
            c = np.empty((T, B, H), self.dtype)
            h = c if self.kind == "mingru" else np.empty((T, B, H), self.dtype)
            prev = state[l]["c"]
            for t0 in range(0, T, C):
                a, bb, o = self.gates(A[t0 : t0 + C])
                for t in range(t0, min(t0 + C, T)):  # the only loop over time: c_t = a_t * c_{t-1} + b_t
                    np.multiply(a[t - t0], prev, out=c[t])
                    c[t] += bb[t - t0]
                    prev = c[t]
                if o is not None:
                    np.multiply(o, c[t0 : t0 + C], out=h[t0 : t0 + C])
            mask = dropout_mask(h.shape, self.dropout, rng, self.dtype)
            out = h if mask is None else h * mask
            saved.append((X, A, c, mask, x, state[l]))
            new_state.append({"c": c[-1].copy(), "x": x[-1].copy()})
            x = out
        logits = x.reshape(T * B, H) @ self.params["Wd"].T + self.params["bd"]
        logp = log_softmax(logits)
        y = ids[1:].reshape(-1)
        loss = -float(logp[np.arange(T * B), y].mean())
        if not grads:
            return loss, None, new_state
        return loss, self.backward(logp, y, x, saved, T, B), new_state

    def gate_backward(self, acts, dA, dh, G, c, c_prev):
        """dL/dA for one chunk, from G = dL/dc and dh = dL/dh (the activated gates in `acts`)."""
        H = self.H
        if self.kind == "mingru":
            z, g = acts[..., :H], acts[..., H:]
            dA[..., H:] = G * z  # b = z g
            dA[..., :H] = (G * g - G * c_prev) * z * (1.0 - z)  # a = 1 - z
            return
        z, f, o = acts[..., :H], acts[..., H : 2 * H], acts[..., 2 * H :]
        dA[..., :H] = G * (1.0 - f) * (1.0 - z * z)  # b = (1 - f) z
        dA[..., H : 2 * H] = (G * c_prev - G * z) * f * (1.0 - f)  # a = f
        dA[..., 2 * H :] = dh * c * o * (1.0 - o)  # h = o c

    def backward(self, logp, y, top, saved, T, B):
        H, C, g = self.H, self.chunk, {}
        dlogits = np.exp(logp)
        dlogits[np.arange(T * B), y] -= 1.0
        dlogits /= T * B
        g["Wd"] = dlogits.T @ top.reshape(T * B, H)
        g["bd"] = dlogits.sum(axis=0)
        dx = (dlogits @ self.params["Wd"]).reshape(T, B, H)
        for l in reversed(range(self.layers)):
            X, A, c, mask, x, st = saved[l]
            dh = dx if mask is None else dx * mask
            dA = np.empty_like(A)
            carry = np.zeros((B, H), self.dtype)
            for t0 in reversed(range(0, T, C)):
                t1 = min(t0 + C, T)
                acts = A[t0:t1]
                a = 1.0 - acts[..., :H] if self.kind == "mingru" else acts[..., H : 2 * H]
                dc = dh[t0:t1] if self.kind == "mingru" else dh[t0:t1] * acts[..., 2 * H :]
                G = np.empty((t1 - t0, B, H), self.dtype)
                for t in reversed(range(t1 - t0)):  # G_t = dL/dc_t + a_{t+1} G_{t+1}
                    np.add(dc[t], carry, out=G[t])
                    np.multiply(G[t], a[t], out=carry)
                c_prev = np.concatenate([(st["c"] if t0 == 0 else c[t0 - 1])[None], c[t0 : t1 - 1]])
                self.gate_backward(acts, dA[t0:t1], dh[t0:t1], G, c[t0:t1], c_prev)
            dA = dA.reshape(T * B, -1)
            g[f"b{l}"] = dA.sum(axis=0)
            W = self.params[f"W{l}"]
            if l == 0:
                D = self.V
                parts = [onehot_weight_gradient(dA, x.reshape(-1), D)]
                if self.k == 2:
                    shifted = np.concatenate([st["x"][None], x[:-1]]).reshape(-1)
                    parts.append(onehot_weight_gradient(dA, shifted, D))
                g["W0"] = np.concatenate(parts, axis=1)
            else:
                g[f"W{l}"] = dA.T @ X
                dX = dA @ W
                dx = dX[:, :H].reshape(T, B, H).copy()
                if self.k == 2:  # x_{t-1}'s share goes one step back; the carried input's is dropped
                    dx[:-1] += dX[:, H:].reshape(T, B, H)[1:]
        return g

    def stream_loss(self, ids: np.ndarray, seq_len: int = 1024) -> float:
        """Mean cross-entropy of a text read as one stream, state carried throughout."""
        state, total, n = self.zero_state(1), 0.0, 0
        for s in range(0, len(ids) - 1, seq_len):
            chunk = ids[s : s + seq_len + 1][:, None]
            if len(chunk) < 2:
                break
            loss, _, state = self.window(chunk, state, grads=False)
            total += loss * (len(chunk) - 1)
            n += len(chunk) - 1
        return total / n


def timed_step(step) -> float:
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def speed(rounds: int, targets, V: int = 65, T: int = 100, B: int = 32, chunk: int = 10) -> list[dict]:
    """Each prototype against the GRU of its parameter count, one training window each per round,
    in turn; chars/s medians."""
    from throughput import Run

    rng = np.random.default_rng(0)
    rows = []
    for H_gru in targets:
        gru = Run("gru", 1, H_gru, B, T=T, V=V)
        P = sum(v.size for v in gru.params.values())
        protos = {}
        for kind in KINDS:
            H = width_for(kind, LAYERS[kind], P, V)
            protos[kind] = Proto(kind, LAYERS[kind], H, V, dropout=0.0, chunk=chunk)
        opts = {k: make_optimizer("adam", 2e-3) for k in protos}
        states = {k: p.zero_state(B) for k, p in protos.items()}
        windows = [rng.integers(0, V, size=(T + 1, B)) for _ in range(4)]

        def proto_step(k, i):
            p = protos[k]
            _, g, states[k] = p.window(windows[i % 4], states[k])
            clip_by_global_norm(g, 5.0)
            opts[k].step(p.params, g)

        times = {k: [] for k in ["gru", *protos]}
        names = ["gru", *protos]
        for i in range(rounds + 2):
            for k in names if i % 2 == 0 else names[::-1]:  # the order swapped every round
                dt = timed_step(gru.step) if k == "gru" else timed_step(lambda: proto_step(k, i))
                if i >= 2:  # two warm-up rounds
                    times[k].append(dt)
        base = T * B / statistics.median(times["gru"])
        rows.append({"what": "speed", "target": f"GRU 1x{H_gru}", "params": P, "kind": "gru", "layers": 1, "chunk": None,
                     "hidden": H_gru, "chars_per_sec": base, "ratio": 1.0, "rounds": rounds})
        for k, p in protos.items():
            cps = T * B / statistics.median(times[k])
            rows.append({"what": "speed", "target": f"GRU 1x{H_gru}", "params": param_count(k, p.layers, p.H, V),
                         "kind": k, "layers": p.layers, "hidden": p.H, "chars_per_sec": cps, "ratio": cps / base,
                         "rounds": rounds, "chunk": p.chunk})
    return rows


def recipe_run(corpus: str, budget: str, seed: int, out: str) -> tuple[str, dict]:
    """charrnn's default run; its recipe line and (cell, layers, hidden, dropout, lr, B, T)."""
    r = subprocess.run([sys.executable, "-m", "charrnn", "train", corpus, "--time", budget, "--seed", str(seed),
                        "--out", out, "--progress", "none"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"charrnn train failed: {r.stderr.strip().splitlines()[-1:]}")
    line = next(l[len("recipe: "):] for l in r.stderr.splitlines() if l.startswith("recipe: "))
    m = re.match(r"(\w+) (\d+)x(\d+), B=(\d+), T=(\d+), Adam ([\d.e-]+) cosine, dropout ([\d.]+)", line)
    cell, L, H, B, T, lr, p = m.groups()
    return line, {"cell": cell.lower(), "layers": int(L), "hidden": int(H), "B": int(B), "T": int(T),
                  "lr": float(lr), "dropout": float(p)}


def train_proto(p: Proto, train: np.ndarray, seconds: float, B: int, T: int, lr: float, seed: int) -> int:
    """Train for `seconds` on B streams read in order (state carried, reset at the wrap), Adam with
    a cosine schedule over the time, clipping at 5; returns the steps taken."""
    rng = np.random.default_rng(seed + 1)
    L = len(train) // B
    streams = train[: L * B].reshape(B, L).T  # (L, B): stream b is the b-th contiguous piece
    opt, state, pos, steps = make_optimizer("adam", lr), p.zero_state(B), 0, 0
    t0 = time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        if pos + T + 1 > L:
            pos, state = 0, p.zero_state(B)
        _, g, state = p.window(streams[pos : pos + T + 1], state, rng)
        clip_by_global_norm(g, 5.0)
        opt.step(p.params, g, lr=lr * 0.5 * (1 + math.cos(math.pi * min(elapsed / seconds, 1.0))))
        pos += T
        steps += 1
    return steps


def equal_time(corpus: str, budget: str, seed: int) -> list[dict]:
    from charrnn.corpus.corpora import python_docs_text
    from charrnn.corpus.streams import Corpus
    from charrnn.teacher_forcing import evaluate_stream
    from charrnn.training.checkpoint import load

    text = python_docs_text() if corpus == "pydoc" else pathlib.Path(corpus).read_text(encoding="utf-8")
    data = Corpus.from_text(text, 0.1)
    with tempfile.TemporaryDirectory() as out:
        arg = "pydoc" if corpus == "pydoc" else corpus
        line, rec = recipe_run(arg, budget, seed, out)
        ck = load(f"{out}/best.safetensors")
        gru_loss = evaluate_stream(ck.params, ck.config, data.val, seq_len=1024)[0]
        seconds = ck.train.elapsed
        P = sum(v.size for v in ck.params.values())
    V = len(data.vocab)
    name = pathlib.Path(corpus).stem
    rows = [{"what": "equal-time", "corpus": name, "budget": budget, "seed": seed, "kind": rec["cell"],
             "layers": rec["layers"], "hidden": rec["hidden"], "params": P, "val": gru_loss, "recipe": line}]
    print(f"{name} {budget} seed {seed}: charrnn's default {gru_loss:.4f} ({line})", file=sys.stderr, flush=True)
    for kind in KINDS:
        H = width_for(kind, LAYERS[kind], P, V)
        p = Proto(kind, LAYERS[kind], H, V, seed=seed, dropout=rec["dropout"])
        steps = train_proto(p, data.train, seconds, rec["B"], rec["T"], rec["lr"], seed)
        loss = p.stream_loss(data.val)
        rows.append({"what": "equal-time", "corpus": name, "budget": budget, "seed": seed, "kind": kind,
                     "layers": p.layers, "hidden": H, "params": param_count(kind, p.layers, H, V), "val": loss,
                     "steps": steps, "seconds": seconds, "chunk": p.chunk, "dropout": p.dropout})
        print(f"  {kind} {p.layers}x{H}: {loss:.4f} after {steps} steps", file=sys.stderr, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed", action="store_true", help="chars/s of each prototype against the GRU's step")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=10, help="steps of element-wise work at a time")
    ap.add_argument("--targets", type=int, nargs="+", default=[128, 256], help="the GRU 1xH sizes to match")
    ap.add_argument("--equal-time", metavar="CORPUS", help="pydoc or a file: trained as long as the recipe's run")
    ap.add_argument("--budget", default="2m")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    from charrnn import keep_freed_memory

    keep_freed_memory()
    rows = []
    if args.speed:
        rows += speed(args.rounds, args.targets, chunk=args.chunk)
        print("| matched to | network | layers x width | parameters | chars/s | against the GRU |")
        print("|---|---|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['target']} | {r['kind']} | {r['layers']}x{r['hidden']} | {r['params']:,} | "
                  f"{r['chars_per_sec']:,.0f} | {r['ratio']:.2f}x |")
    for seed in args.seeds if args.equal_time else []:
        rows += equal_time(args.equal_time, args.budget, seed)
    command = " ".join(["python benchmarks/elementwise.py", *sys.argv[1:]])
    with open(args.results, "a", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({**r, "command": command, **provenance()}) + "\n")


if __name__ == "__main__":
    main()
