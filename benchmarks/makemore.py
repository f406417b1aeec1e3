"""charrnn against makemore (karpathy/makemore) on makemore's own data and split, at equal
wall-clock time on this CPU, one run after the other (never at the same time).

    pip install -e '.[bench]'                          # torch, CPU
    python benchmarks/makemore.py --split              # names.txt -> makemore's train/test files
    python benchmarks/makemore.py --who charrnn --minutes 2 --seed 0
    python benchmarks/makemore.py --who gru --minutes 2 --makemore PATH/makemore.py
    python benchmarks/makemore.py --table              # the table of all rows so far

The data: ../shared/data/names.txt (32,033 names, makemore's). The split is makemore's own:
its create_datasets() after torch.manual_seed(3407) -- torch.randperm over the lines, the last
1,000 for test -- read from makemore.py itself; the two sides are written to files (in --work,
not committed; duplicate names fall as they fall, for both sides alike).

charrnn: `charrnn train names-train.txt --time T --seed S` with nothing else: the default, the
recipe choosing everything (it reads the file as a list). Its wall time is the whole command's.
Scored by `charrnn eval BEST names-test.txt --json`: nats per character, each name's end
included.

makemore: its model classes and its optimiser settings at their defaults (`--type transformer`,
`gru` or `rnn`: n_embd 64, n_embd2 64, 4 layers and 4 heads for the transformer; AdamW lr 5e-4,
weight decay 0.01, betas (0.9, 0.99); batch 32), torch on 2 threads, its data loader without
worker processes (its default of 4 workers would take cores from the training on this 2-core
machine), trained until the time limit -- makemore itself saves only at its evaluations every 500
steps; here it is scored from the weights it has at the limit. Scored as charrnn is: the loss
over every test name's characters and end (makemore's own evaluate() averages batch means; the
difference is in the fourth decimal).

Both: 1,000 samples (charrnn sample --num-samples 1000 --seed S; makemore's generate(), as its
print_samples does), and the share that are new: in neither side of the split.
Each result is appended to benchmarks/results/makemore.jsonl; --table prints the markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import types

from provenance import provenance

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAMES = ROOT.parent / "shared" / "data" / "names.txt"
RESULTS = ROOT / "benchmarks" / "results" / "makemore.jsonl"
WORK = pathlib.Path(tempfile.gettempdir()) / "charrnn-makemore"
SPLIT_SEED = 3407  # makemore's default --seed, set before it splits
SAMPLES = 1000


def load_makemore(path: str):
    """makemore.py as a module (its command line does not run: it sits under __main__). Its
    TensorBoard writer, which only its command line uses, is stood in for where TensorBoard is
    not installed."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        sys.modules["torch.utils.tensorboard"] = types.SimpleNamespace(SummaryWriter=None)
    if not pathlib.Path(path).is_file():
        raise SystemExit(f"{path}: no makemore.py; git clone https://github.com/karpathy/makemore and pass "
                         f"--makemore makemore/makemore.py")
    spec = importlib.util.spec_from_file_location("makemore", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split(makemore_path: str, work: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """names-train.txt and names-test.txt, by makemore's create_datasets after its seeding."""
    import torch

    mm = load_makemore(makemore_path)
    torch.manual_seed(SPLIT_SEED)
    train, test = mm.create_datasets(str(NAMES))
    work.mkdir(parents=True, exist_ok=True)
    paths = work / "names-train.txt", work / "names-test.txt"
    for path, dataset in zip(paths, (train, test)):
        path.write_text("".join(w + "\n" for w in dataset.words), encoding="utf-8")
    return paths


def new_share(samples: list[str], known: set) -> float:
    return sum(s not in known for s in samples) / len(samples)


def run_charrnn(minutes: float, seed: int, work: pathlib.Path, known: set, extra: list[str]) -> dict:
    train, test = work / "names-train.txt", work / "names-test.txt"
    out = work / f"charrnn-{minutes:g}m-{seed}-{int(time.time())}"
    cmd = ["charrnn", "train", str(train), "--time", f"{minutes * 60:g}s", "--seed", str(seed), "--out", str(out),
           "--json", "--progress", "none", *extra]
    started = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    summary = json.loads(r.stdout)
    recipe = next((line.removeprefix("recipe: ") for line in r.stderr.splitlines() if line.startswith("recipe: ")),
                  summary["recipe"])
    scored = json.loads(subprocess.run(["charrnn", "eval", summary["best_checkpoint"], str(test), "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    sampled = json.loads(subprocess.run(["charrnn", "sample", summary["best_checkpoint"], "--num-samples",
                                         str(SAMPLES), "--seed", str(seed), "--json"],
                                        capture_output=True, text=True, check=True).stdout)
    return {"who": "charrnn", "config": recipe, "test": scored["loss"], "wall": wall, "steps": summary["steps"],
            "new": new_share([row["item"] for row in sampled["items"]], known), "command": " ".join(cmd[:7] + extra)}


def run_makemore(kind: str, minutes: float, seed: int, makemore_path: str, work: pathlib.Path, known: set) -> dict:
    import torch

    torch.set_num_threads(2)
    mm = load_makemore(makemore_path)
    torch.manual_seed(SPLIT_SEED)
    train, test = mm.create_datasets(str(NAMES))  # the same split as the files charrnn reads
    torch.manual_seed(seed)
    config = mm.ModelConfig(vocab_size=train.get_vocab_size(), block_size=train.get_output_length(),
                            n_layer=4, n_head=4, n_embd=64, n_embd2=64)
    model = mm.Transformer(config) if kind == "transformer" else mm.RNN(config, cell_type=kind)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    loader = mm.InfiniteDataLoader(train, batch_size=32, pin_memory=False, num_workers=0)
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < minutes * 60:
        X, Y = loader.next()
        _, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
    wall = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        total = count = 0.0
        for X, Y in torch.utils.data.DataLoader(test, batch_size=100):
            logits, _ = model(X, Y)
            nll = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1,
                                                    reduction="sum")
            total, count = total + nll.item(), count + (Y != -1).sum().item()
        start = torch.zeros(SAMPLES, 1, dtype=torch.long)
        rows = mm.generate(model, start, train.get_output_length() - 1, do_sample=True)[:, 1:].tolist()
    samples = [train.decode(row[: row.index(0)] if 0 in row else row) for row in rows]
    params = sum(p.numel() for p in model.parameters())
    return {"who": "makemore", "config": f"{kind} (makemore defaults, {params:,} parameters)", "test": total / count,
            "wall": wall, "steps": steps, "new": new_share(samples, known),
            "command": f"python benchmarks/makemore.py --who {kind} --minutes {minutes:g} --seed {seed}"}


def table(path: pathlib.Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    out = ["| budget | who | model | seed | steps | test loss (nats/char, ends included) | new samples |",
           "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["minutes"], r["who"] != "charrnn", r["config"], r["seed"])):
        model = r["config"]
        if r["who"] == "charrnn":  # the recipe's line: its model and dropout
            model = f"{model.split(',')[0]}, dropout {re.search(r'dropout ([0-9.]+)', model).group(1)} (the default)"
        out.append(f"| {r['minutes']:g} min | {r['who']} | {model} | {r['seed']} | {r['steps']:,} | "
                   f"{r['test']:.4f} | {r['new']:.1%} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", action="store_true", help="write makemore's split of names.txt into --work")
    ap.add_argument("--who", choices=("charrnn", "transformer", "gru", "rnn"), help="what to train")
    ap.add_argument("--minutes", type=float, default=2.0, help="the time limit")
    ap.add_argument("--seed", type=int, default=None, help="charrnn's --seed (0) or makemore's torch seed (3407)")
    ap.add_argument("--makemore", default=str(ROOT.parent / "makemore" / "makemore.py"),
                    help="makemore.py, from a checkout of karpathy/makemore beside this one (not part of this project)")
    ap.add_argument("--work", default=str(WORK), help="where the split and the runs go")
    ap.add_argument("--charrnn-arg", action="append", default=[], help="an extra `charrnn train` argument (exploring)")
    ap.add_argument("--results", default=str(RESULTS), help="the JSON-lines file rows are appended to")
    ap.add_argument("--table", action="store_true", help="print the markdown table of --results")
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    if args.table:
        print(table(pathlib.Path(args.results)))
        return
    if args.split or not (work / "names-test.txt").exists():
        for path in split(args.makemore, work):
            print(f"wrote {path} ({len(path.read_text().splitlines()):,} names)", file=sys.stderr)
        if not args.who:
            return
    known = set((work / "names-train.txt").read_text().split()) | set((work / "names-test.txt").read_text().split())
    if args.who == "charrnn":
        row = run_charrnn(args.minutes, 0 if args.seed is None else args.seed, work, known, args.charrnn_arg)
    else:
        row = run_makemore(args.who, args.minutes, SPLIT_SEED if args.seed is None else args.seed, args.makemore,
                           work, known)
    row.update(minutes=args.minutes, seed=0 if args.seed is None and args.who == "charrnn" else args.seed
               if args.seed is not None else SPLIT_SEED, **provenance())
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
