"""charrnn against PyTorch on the same CPU, in the same run: training and sampling throughput.

    pip install -e '.[bench]'                 # torch==2.13.0, CPU
    python benchmarks/compare_torch.py        # the full table (takes several minutes)
    python benchmarks/compare_torch.py --tiny # a seconds-long smoke run
    python benchmarks/compare_torch.py --candidates
        # training only, the recipe's candidates that PyTorch has (benchmarks/throughput.py's
        # CANDIDATES; the mLSTM has no torch.nn module and is named and left out)

For each configuration both frameworks get the same weights (charrnn's, loaded into
torch.nn.LSTM/GRU/RNN + Linear under the same names), the same windows and the same initial
state, and the script checks that their first-step losses agree, so the comparison is of equal
work. A training step is: forward over T x B one-hot characters, cross-entropy, BPTT backward,
global-norm clip at 5, Adam step. The two frameworks alternate in rounds on the same machine;
the table gives the median chars/s over all timed steps, the p10..p90 spread, the ratio, and
the matrix-product rate in GFLOP/s against this machine's float32 peak, measured in the same
run as the median rate of a 2048^3 float32 matrix product.

FLOPs per character (multiply-add = 2), counted the same way for both:
    per layer: 6 * G*H * (D + H)     (forward, input-gradient and weight-gradient products;
                                      D = V for layer 0, H above)
    decoder:   6 * V * H
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from charrnn import sampling
from charrnn.model import ModelConfig, init_params, param_shapes, zero_state
from charrnn.ground.vocab import Vocab
from throughput import CANDIDATES
from throughput import CONFIGS as TRAIN_CONFIGS  # the same table as benchmarks/throughput.py
from throughput import Run

TINY = [("LSTM 1x16 B=4", "lstm", 1, 16, 4), ("GRU 1x16 B=4", "gru", 1, 16, 4)]


def matrices(cell, layers, H, V):
    """The model's weight matrices (the registry's shapes), biases left out."""
    config = ModelConfig(vocab_size=V, hidden_size=H, num_layers=layers, cell=cell)
    return [shape for shape in param_shapes(config).values() if len(shape) == 2]


def flops_per_char(cell, layers, H, V):
    """Forward, input-gradient and weight-gradient products: 6 multiply-add FLOPs per weight."""
    return sum(6 * r * c for r, c in matrices(cell, layers, H, V))


def sampling_flops_per_char(cell, layers, H, V):
    """One generation step, forward only: a product with a one-hot input is a gather (no FLOPs)."""
    return sum(2 * r * c for r, c in matrices(cell, layers, H, V) if c != V)


def peak_gflops(n=2048, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.copy()
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def torch_model(torch, config, params=None):
    """The torch.nn module the registry names for `config` and an nn.Linear decoder, holding
    charrnn's weights when `params` is given (they load unchanged: the same names and layouts)."""
    module, kwargs = config.network.torch_module(config)
    if module is None:
        raise SystemExit(f"{config.label()}: {kwargs}")
    rnn = getattr(torch.nn, module)(config.vocab_size, config.hidden_size, num_layers=config.num_layers, **kwargs)
    dec = torch.nn.Linear(config.hidden_size, config.vocab_size)
    if params is not None:
        rnn.load_state_dict({k.split(".", 1)[1]: torch.from_numpy(np.array(v, dtype=np.float32))
                             for k, v in params.items() if not k.startswith("decoder.")})
        dec.load_state_dict({"weight": torch.from_numpy(np.array(params["decoder.weight"], dtype=np.float32)),
                             "bias": torch.from_numpy(np.array(params["decoder.bias"], dtype=np.float32))})
    return rnn, dec


def torch_state(torch, state):
    """charrnn's (L, S, B, H) state as PyTorch's h_0, or (h_0, c_0) where S = 2."""
    parts = tuple(torch.from_numpy(state[:, s].copy()) for s in range(state.shape[1]))
    return parts if len(parts) == 2 else parts[0]


def compare_training(torch, label, cell, layers, H, B, T, V, rounds, steps_per_round):
    # charrnn's training step (benchmarks/throughput.py), without dropout: the stock PyTorch step
    # below has none, and the first-step losses must agree for the work to be equal
    run = Run(cell, layers, H, B, T, V, dropout=0.0)
    config, windows = run.config, run.windows
    rnn, dec = torch_model(torch, config, run.params)
    opt_t = torch.optim.Adam(list(rnn.parameters()) + list(dec.parameters()), lr=2e-3)
    state_t = torch_state(torch, run.state)

    def step_c(ids):
        run.step(ids)
        return run.loss

    def step_t(ids):
        nonlocal state_t
        x = torch.nn.functional.one_hot(torch.from_numpy(ids[:-1]), V).float()  # (T, B, V)
        y = torch.from_numpy(ids[1:]).reshape(-1)
        out, new_state = rnn(x, state_t)
        loss = torch.nn.functional.cross_entropy(dec(out).reshape(-1, V), y)
        opt_t.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(rnn.parameters()) + list(dec.parameters()), 5.0)
        opt_t.step()
        state_t = tuple(s.detach() for s in new_state) if isinstance(new_state, tuple) else new_state.detach()
        return loss.detach().item()

    first_c, first_t = step_c(windows[0]), step_t(windows[0])
    assert abs(first_c - first_t) < 1e-4, f"{label}: first-step losses differ: {first_c} vs {first_t}"
    times = {"charrnn": [], "torch": []}
    for r in range(rounds):
        for name, fn in (("charrnn", step_c), ("torch", step_t)) if r % 2 == 0 else (("torch", step_t), ("charrnn", step_c)):
            for i in range(steps_per_round):
                t0 = time.perf_counter()
                fn(windows[(r * steps_per_round + i) % len(windows)])
                times[name].append(time.perf_counter() - t0)
    chars = T * B
    out = {"first_loss": (first_c, first_t)}
    for name, ts in times.items():
        rates = sorted(chars / t for t in ts)
        out[name] = (statistics.median(rates), rates[len(rates) // 10], rates[-1 - len(rates) // 10])
    return out


def compare_sampling(torch, cell, layers, H, V, length, num_samples):
    config = ModelConfig(vocab_size=V, hidden_size=H, num_layers=layers, cell=cell)
    params = init_params(config, np.random.default_rng(0))
    vocab = Vocab([chr(33 + i) for i in range(V)])
    settings = sampling.SampleSettings(length=length)

    def run_c():
        t0 = time.perf_counter()
        for _ in sampling.generate(params, config, vocab, settings, sampling.sample_seeds(1, num_samples)):
            pass
        return length * num_samples / (time.perf_counter() - t0)

    rnn, dec = torch_model(torch, config, params)
    gen = torch.Generator().manual_seed(1)

    @torch.no_grad()
    def run_t():
        t0 = time.perf_counter()
        state = torch_state(torch, zero_state(config, num_samples))
        x = torch.zeros(num_samples, dtype=torch.long)
        for _ in range(length):
            out, state = rnn(torch.nn.functional.one_hot(x, V).float()[None], state)
            p = torch.softmax(dec(out[0]), dim=-1)
            x = torch.multinomial(p, 1, generator=gen)[:, 0]
        return length * num_samples / (time.perf_counter() - t0)

    c, t = [], []
    for _ in range(3):
        c.append(run_c())
        t.append(run_t())
    return statistics.median(c), statistics.median(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per framework per round")
    ap.add_argument("--only", default=None, help="only the configuration with this label")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--candidates", action="store_true", help="training only, the recipe's candidates")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    T, V = (10, 20) if args.tiny else (100, 65)
    configs = TINY if args.tiny else CANDIDATES if args.candidates else TRAIN_CONFIGS
    peak = peak_gflops(256 if args.tiny else 2048)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, torch {torch.__version__} "
          f"({args.threads} threads); float32 matmul peak {peak:.1f} GFLOP/s; T={T}, V={V}, Adam, clip 5")
    print("| config | charrnn chars/s (p10..p90) | PyTorch chars/s (p10..p90) | ratio | charrnn GFLOP/s (% of peak) |")
    print("|---|---|---|---|---|")
    rounds, steps = (2, 2) if args.tiny else (args.rounds, args.steps)
    for label, cell, layers, H, B in configs:
        if args.only and args.only != label:
            continue
        config = ModelConfig(vocab_size=V, hidden_size=H, num_layers=layers, cell=cell)
        module, why = config.network.torch_module(config)
        if module is None:
            print(f"# {label}: {why}", flush=True)
            continue
        r = compare_training(torch, label, cell, layers, H, B, T, V, rounds, steps)
        (c, c_lo, c_hi), (t, t_lo, t_hi) = r["charrnn"], r["torch"]
        gf = c * flops_per_char(cell, layers, H, V) / 1e9
        print(f"| {label} | {c:,.0f} ({c_lo:,.0f}..{c_hi:,.0f}) | {t:,.0f} ({t_lo:,.0f}..{t_hi:,.0f}) | "
              f"{c / t:.2f}x | {gf:.1f} ({100 * gf / peak:.0f}%) |", flush=True)
    if args.candidates:
        return
    print()
    print("| sampling | charrnn chars/s | PyTorch chars/s | ratio |")
    print("|---|---|---|---|")
    sample_configs = [("lstm", 1, 16)] if args.tiny else [("lstm", 2, 512), ("lstm", 1, 128)]
    length = 50 if args.tiny else 2000
    for scfg in sample_configs:
        rates = {}
        for n in (1, 32):
            c, t = compare_sampling(torch, *scfg, V, length if n == 1 else length // 4, n)
            rates[n] = c
            print(f"| LSTM {scfg[1]}x{scfg[2]}, {n} sample(s) | {c:,.0f} | {t:,.0f} | {c / t:.2f}x |", flush=True)
        bound = peak * 1e9 / sampling_flops_per_char(*scfg, V)
        print(f"#   LSTM {scfg[1]}x{scfg[2]}: 32 samples give {rates[32] / rates[1]:.1f}x one sample's chars/s; "
              f"at this machine's peak a batch could give at most {bound:,.0f} chars/s "
              f"= {bound / rates[1]:.1f}x one sample", flush=True)


if __name__ == "__main__":
    main()
