"""What the checkpoint's checksum costs (training/checkpoint.checksum: SHA-256 of the metadata
and every tensor), on the recipe's largest models with their Adam state, beside a whole save and
load (the checksum included in both).

    python benchmarks/checksum.py      # appends its rows to benchmarks/results/checksum.jsonl
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import time

import numpy as np

from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, init_params
from charrnn.training import checkpoint
from provenance import provenance

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "checksum.jsonl"


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
        row = {"model": config.label(), "mb": os.path.getsize(path) / 1e6,
               "checksum_ms": median_ms(lambda: checkpoint.checksum(tensors, {}), 7),
               "save_ms": median_ms(lambda: checkpoint.save(ck, path), 5),
               "load_ms": median_ms(lambda: checkpoint.load(path), 5),
               "command": "python benchmarks/checksum.py", **provenance()}
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        print(f"| {row['model']} | {row['mb']:.1f} MB | {row['checksum_ms']:.0f} ms | {row['save_ms']:.0f} ms | "
              f"{row['load_ms']:.0f} ms |")

if __name__ == "__main__":
    main()
