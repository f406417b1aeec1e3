"""The documents' tables of measured figures, made from benchmarks/results, so that no table can
drift from its rows.

    python benchmarks/tables.py            # rewrite every table between its markers
    python benchmarks/tables.py --check    # exit 1, naming them, where a document's table differs

A table in README.md, README.ja.md or docs/*.md sits between two markers,

    <!-- table: makemore -->
    | ... |
    <!-- /table -->

and TABLES below says how each is made from the rows of a results file. The test
(tests/test_tables.py) runs the check, and shows that one changed number in a row fails it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = [ROOT / "README.md", ROOT / "README.ja.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKED = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


def rows(results: pathlib.Path, name: str) -> list[dict]:
    path = results / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def makemore(results: pathlib.Path, japanese: bool = False) -> str:
    """charrnn's default against makemore's three models, by budget (results/makemore.jsonl)."""
    got = rows(results, "makemore.jsonl")
    head = ("| 時間 | charrnn の既定（2 つのシード） | makemore transformer | makemore GRU | makemore RNN |" if japanese
            else "| budget | charrnn's default, 2 seeds | makemore transformer | makemore GRU | makemore RNN |")
    new = "新" if japanese else "new"
    out = [head, "|---|---|---|---|---|"]
    for minutes in sorted({r["minutes"] for r in got}):
        here = [r for r in got if r["minutes"] == minutes]
        ours = sorted((r for r in here if r["who"] == "charrnn"), key=lambda r: r["seed"])
        model = ours[0]["config"].split(",")[0].replace("MLSTM", "mLSTM").replace("x", "×")
        dropout = re.search(r"dropout ([0-9.]+)", ours[0]["config"]).group(1)
        cells = [", ".join(f"**{r['test']:.3f}** ({r['new']:.1%}{' ' + new if i == 0 else ''})" for i, r in enumerate(ours))
                 + f": {model}, dropout {dropout}"]
        for kind in ("transformer", "gru", "rnn"):
            theirs = [r for r in here if r["who"] == "makemore" and r["config"].startswith(kind)]
            cells.append(", ".join(f"{r['test']:.3f} ({r['new']:.1%})" for r in theirs) or "—")
        out.append(f"| {minutes:g} {'分' if japanese else 'min'} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def lists_explore(results: pathlib.Path) -> str:
    """Models on makemore's names at 2 and 5 minutes, one seed each (results/makemore-explore.jsonl)."""
    got = [r for r in rows(results, "makemore-explore.jsonl") if r["who"] == "charrnn"]

    def key(r):
        model = r["config"].split(",")[0]
        dropout = re.search(r"dropout ([0-9.]+)", r["config"]).group(1)
        return model, dropout, "given:" not in r["config"]

    table = {}
    for r in got:
        model, dropout, default = key(r)
        name = model.replace("MLSTM", "mLSTM").replace("x", "×")
        label = f"{name}, the rule's" if default else f"{name}, dropout {dropout}"
        passes = re.search(r"~([0-9.]+) passes", r["config"]).group(1)
        table.setdefault(label, {})[r["minutes"]] = (r["test"], passes, dropout)
    best = {m: min(v[m][0] for v in table.values() if m in v) for m in (2.0, 5.0)}
    out = ["| model | passes (2, 5 min) | 2 min | 5 min |", "|---|---:|---:|---:|"]
    for label, by in table.items():
        if label.endswith("the rule's"):
            label += f" (dropout {' at 2 min, '.join(by[m][2] for m in sorted(by))} at 5)"
        passes = ", ".join(by[m][1] if m in by else "—" for m in (2.0, 5.0))
        cells = [("—" if m not in by else f"**{by[m][0]:.3f}**" if by[m][0] == best[m] else f"{by[m][0]:.3f}")
                 for m in (2.0, 5.0)]
        out.append(f"| {label} | {passes} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def finetune(results: pathlib.Path) -> str:
    """Fine-tuned against from scratch on two small texts, two seeds (results/finetune.jsonl)."""
    got = rows(results, "finetune.jsonl")
    out = ["| small text | budget | fine-tuned, seeds 0 and 1 | from scratch, seeds 0 and 1 | fine-tuned lower by |",
           "|---|---|---|---|---|"]
    for text in dict.fromkeys(r["text"] for r in got):
        for minutes in sorted({r["minutes"] for r in got if r["text"] == text}):
            by = {who: [r["val"] for r in sorted(got, key=lambda r: r["seed"]) if r["text"] == text
                        and r["minutes"] == minutes and r["who"] == who] for who in ("fine-tuned", "from scratch")}
            ft, sc = by["fine-tuned"], by["from scratch"]
            gap = f"{min(sc) - max(ft):.3f} to {max(sc) - min(ft):.3f}" if ft and sc else "—"
            out.append(f"| {text} | {minutes:g} min | {', '.join(f'{v:.3f}' for v in ft)} | "
                       f"{', '.join(f'{v:.3f}' for v in sc)} | {gap} |")
    return "\n".join(out)


def checksum(results: pathlib.Path) -> str:
    """What the checkpoint's checksum costs (results/checksum.jsonl)."""
    out = ["| model (V = 65) | file | checksum | save | load |", "|---|---:|---:|---:|---:|"]
    for r in rows(results, "checksum.jsonl"):
        out.append(f"| {r['model']} | {r['mb']:.1f} MB | {r['checksum_ms']:.0f} ms | {r['save_ms']:.0f} ms | "
                   f"{r['load_ms']:.0f} ms |")
    return "\n".join(out)


def sharing(results: pathlib.Path) -> str:
    """One shared RNN against the same with its own weights at every step, on the same windows
    (results/sharing.jsonl)."""
    got = rows(results, "sharing.jsonl")
    seeds = sorted({r["seed"] for r in got})
    out = ["| windows trained on | shared weights, seeds " + " and ".join(map(str, seeds)) +
           " | a copy per step, seeds " + " and ".join(map(str, seeds)) + " |", "|---:|---|---|"]
    for n in sorted({r["windows"] for r in got}):
        at = sorted((r for r in got if r["windows"] == n), key=lambda r: r["seed"])
        out.append(f"| {n:,} | " + ", ".join(f"{r['shared_val']:.3f}" for r in at) + " | "
                   + ", ".join(f"{r['unshared_val']:.3f}" for r in at) + " |")
    return "\n".join(out)


def activations_trained(results: pathlib.Path) -> str:
    """The vanilla RNN with tanh, sigmoid and relu, trained for the same time (results/activations-trained.jsonl)."""
    got = rows(results, "activations-trained.jsonl")
    out = ["| `--activation` | validation loss, each seed | mean | chars/s |", "|---|---|---:|---:|"]
    for cell in dict.fromkeys(r["cell"] for r in got):
        at = sorted((r for r in got if r["cell"] == cell), key=lambda r: r["seed"])
        vals = [r["val"] for r in at]
        out.append(f"| {cell.split()[-1]} | " + ", ".join(f"{v:.3f}" for v in vals) + f" | {sum(vals) / len(vals):.3f} | "
                   f"{sum(r['chars_per_sec'] for r in at) / len(at):,.0f} |")
    return "\n".join(out)


TABLES = {
    "makemore": makemore,
    "makemore-ja": lambda results: makemore(results, japanese=True),
    "lists-explore": lists_explore,
    "finetune": finetune,
    "checksum": checksum,
    "sharing": sharing,
    "activations-trained": activations_trained,
}


def rewritten(text: str, results: pathlib.Path) -> str:
    """The document with every marked table made anew from the rows."""
    return MARKED.sub(lambda m: m.group(1) + TABLES[m.group(2)](results) + "\n" + m.group(4), text)


def differences(results: pathlib.Path = RESULTS, documents=DOCUMENTS) -> list[str]:
    """'document: table' for every marked table that differs from what its rows make."""
    out = []
    for doc in documents:
        text = doc.read_text(encoding="utf-8")
        for m in MARKED.finditer(text):
            if m.group(2) not in TABLES:
                out.append(f"{doc.relative_to(ROOT)}: {m.group(2)} (no such table)")
            elif m.group(3) != TABLES[m.group(2)](results) + "\n":
                out.append(f"{doc.relative_to(ROOT)}: {m.group(2)}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 where a document's table differs from its rows")
    args = ap.parse_args()
    if args.check:
        found = differences()
        for line in found:
            print(f"differs from benchmarks/results: {line}", file=sys.stderr)
        sys.exit(1 if found else 0)
    for doc in DOCUMENTS:
        text = doc.read_text(encoding="utf-8")
        new = rewritten(text, RESULTS)
        if new != text:
            doc.write_text(new, encoding="utf-8")
            print(f"rewrote {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
