"""What the checkpoint's checksum costs (training/checkpoint.checksum: SHA-256 of the metadata
and every tensor), on the recipe's largest models with their Adam state, beside a whole save and
load (the checksum included in both).

    python benchmarks/checksum.py
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, init_params
from charrnn.training import checkpoint


def median_ms(f, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main():
    print("| model (V = 65) | file | checksum | save | load |")
    print("|---|---:|---:|---:|---:|")
    for cell, layers, hidden in (("mlstm", 1, 512), ("gru", 2, 512)):
        config = ModelConfig(vocab_size=65, cell=cell, num_layers=layers, hidden_size=hidden)
        params = init_params(config, np.random.default_rng(0))
        optim = {f"{n}/{s}": np.zeros_like(a) for n, a in params.items() for s in ("exp_avg", "exp_avg_sq")}
        ck = checkpoint.Checkpoint(config=config, vocab=Vocab([chr(33 + i) for i in range(65)]), params=params,
                                   optim_state=optim)
        tensors = {**params, **{f"optim/{k}": v for k, v in optim.items()}}
        path = os.path.join(tempfile.mkdtemp(), "c.safetensors")
        checkpoint.save(ck, path)
        print(f"| {config.label()} | {os.path.getsize(path) / 1e6:.1f} MB | "
              f"{median_ms(lambda: checkpoint.checksum(tensors, {}), 7):.0f} ms | "
              f"{median_ms(lambda: checkpoint.save(ck, path), 5):.0f} ms | "
              f"{median_ms(lambda: checkpoint.load(path), 5):.0f} ms |")


if __name__ == "__main__":
    main()
