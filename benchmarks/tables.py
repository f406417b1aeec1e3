"""The documents' tables of measured figures, made from benchmarks/results, so that no table can
drift from its rows.

    python benchmarks/tables.py            # rewrite every table between its markers
    python benchmarks/tables.py --check    # exit 1, naming them, where a document's table differs

A table in README.md, README.ja.md or docs/*.md sits between two markers,

    <!-- table: makemore -->
    | ... |
    <!-- /table -->

and TABLES below says how each is made from the rows of a results file. A figure in prose is
marked the same way inside its sentence, `<!-- figure: NAME ARG... -->1.994–2.007<!-- /figure -->`,
and FIGURES says how it is computed. The test (tests/test_tables.py) runs the check, and shows
that one changed number in a row fails it.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import re
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import networks  # noqa: E402  (the networks grid's own --table)
import exposure  # noqa: E402  (the exposure grid's own --table)
import recipe as recipe_bench  # noqa: E402  (the recipe grid's own --table, for a day's runs)
import trained_views  # noqa: E402  (the by-position table's own reading of its row)

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = [ROOT / "README.md", ROOT / "README.ja.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKED = re.compile(r"(<!-- table: ([\w-]+)((?: [^ >]+)*) -->\n)(.*?)(<!-- /table -->)", re.S)
FIGURE = re.compile(r"(<!-- figure: ([\w-]+)((?: [^ >]+)*) -->)([^<\n]*)(<!-- /figure -->)")


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


def finetune(results: pathlib.Path, name: str = "finetune.jsonl") -> str:
    """Fine-tuned against from scratch on two small texts, two seeds (results/finetune.jsonl)."""
    got = rows(results, name)
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


def sharing(results: pathlib.Path, japanese: bool = False) -> str:
    """One shared RNN against the same with its own weights at every step, on the same windows
    (results/sharing.jsonl)."""
    got = rows(results, "sharing.jsonl")
    seeds = sorted({r["seed"] for r in got})
    named = " と ".join(map(str, seeds)) if japanese else " and ".join(map(str, seeds))
    out = [f"| 学習した窓の数 | 重みを共有（シード {named}） | ステップごとに別の重み（シード {named}） |" if japanese
           else f"| windows trained on | shared weights, seeds {named} | a copy per step, seeds {named} |", "|---:|---|---|"]
    for n in sorted({r["windows"] for r in got}):
        at = sorted((r for r in got if r["windows"] == n), key=lambda r: r["seed"])
        out.append(f"| {n:,} | " + ", ".join(f"{r['shared_val']:.3f}" for r in at) + " | "
                   + ", ".join(f"{r['unshared_val']:.3f}" for r in at) + " |")
    return "\n".join(out)


def activations_trained(results: pathlib.Path, japanese: bool = False) -> str:
    """The vanilla RNN with tanh, sigmoid and relu, trained for the same time (results/activations-trained.jsonl)."""
    got = rows(results, "activations-trained.jsonl")
    out = ["| `--activation` | 検証損失（シードごと） | 平均 | 文字/秒 |" if japanese
           else "| `--activation` | validation loss, each seed | mean | chars/s |", "|---|---|---:|---:|"]
    for cell in dict.fromkeys(r["cell"] for r in got):
        at = sorted((r for r in got if r["cell"] == cell), key=lambda r: r["seed"])
        vals = [r["val"] for r in at]
        out.append(f"| {cell.split()[-1]} | " + ", ".join(f"{v:.3f}" for v in vals) + f" | {sum(vals) / len(vals):.3f} | "
                   f"{sum(r['chars_per_sec'] for r in at) / len(at):,.0f} |")
    return "\n".join(out)


RECIPE_FILES = ("recipe.jsonl", "recipe-seeds.jsonl", "recipe-explore.jsonl")
CORPUS_ORDER = ("tinyshakespeare", "pydoc", "numpy", "shakespeare-60k", "pydoc-80k", "numpy-50k")


def cpu_of(record: dict) -> str:
    """The CPU a record was measured on, as far as it knows ('unrecorded' for the oldest rows)."""
    cpu = record.get("cpu") or record.get("machine", "").split(",")[0]
    return "AMD EPYC" if "AMD" in cpu else "Intel Xeon" if "Intel" in cpu else "unrecorded"


def seed_of(record: dict) -> int:
    args = record.get("charrnn_args") or []
    return int(args[args.index("--seed") + 1]) if "--seed" in args else 0  # train's --seed defaults to 0


def recipe_records(results: pathlib.Path) -> list[dict]:
    """Every record of the recipe grid's files, oldest first (by date, then by place in the files)."""
    got = [r for name in RECIPE_FILES for r in rows(results, name)]
    return sorted(got, key=lambda r: r.get("date", ""))  # stable: the files' order within a day


def options_of(record: dict) -> tuple:
    """charrnn's options in a record besides --seed."""
    args = list(record.get("charrnn_args") or [])
    if "--seed" in args:
        del args[args.index("--seed") : args.index("--seed") + 2]
    return tuple(args)


def default_runs(results: pathlib.Path) -> dict:
    """(corpus, budget, CPU) -> {seed: (record, row)}: charrnn's default (no model option given),
    the newest run of each seed on each CPU (runs on two CPUs are not one setting: their steps
    differ); a row that a change to the recipe made stale carries "superseded" and is left out.
    Seeds are one setting only if they trained with the same regularisation: where the recipe
    took one up, an older seed without it leaves the row until it is run again."""
    out, newest = {}, {}
    for record in recipe_records(results):
        for row in record["rows"]:
            if row["who"] == "charrnn" and not options_of(record) and "given:" not in row["config"] and not row.get("superseded"):
                key = (record["corpus"], record["budget"], cpu_of(record))
                out.setdefault(key, {})[seed_of(record)] = (record, row)
                newest[key] = regularisers(record, row)
    return {key: {seed: run for seed, run in seeds.items() if regularisers(*run) == newest[key]}
            for key, seeds in out.items()}


def best_stock(results: pathlib.Path, corpus: str, budget: str, cpu: str):
    """The best of the stock PyTorch scripts (each one's newest seed-0 run) for (corpus, budget)
    measured on `cpu`: (val, config, how many scripts) or None."""
    newest = {}
    for record in recipe_records(results):
        if (record["corpus"], record["budget"]) == (corpus, budget) and cpu_of(record) == cpu \
                and record.get("torch_seed", 0) == 0:
            newest.update({r["config"]: r for r in record["rows"] if r["who"] == "pytorch"})
    if not newest:
        return None
    best = min(newest.values(), key=lambda r: r["val"])
    return best["val"], best["config"].replace("LSTM ", "").replace("x", "×"), len(newest)


def recipe_grid(results: pathlib.Path, japanese: bool = False) -> str:
    """charrnn's default today against the best stock PyTorch script measured beside it
    (results/recipe*.jsonl; the validation split read as one stream)."""
    runs = default_runs(results)
    minutes = lambda b: float(b.rstrip("m"))  # noqa: E731
    out = ["| テキスト | 時間 | charrnn の既定 | シード 0 | シード 1 | PyTorch の最良 | charrnn が低い差 | CPU、日付 |" if japanese
           else "| text | budget | charrnn's default | seed 0 | seed 1 | best stock PyTorch | charrnn lower by | CPU, date |",
           "|---|---:|---|---:|---:|---|---:|---|"]
    for corpus, budget, cpu in sorted(runs, key=lambda k: (CORPUS_ORDER.index(k[0]), minutes(k[1]), k[2])):
        seeds = runs[(corpus, budget, cpu)]
        record, row = seeds.get(0) or next(iter(seeds.values()))
        model = row["config"].split(",")[0].replace("MLSTM", "mLSTM").replace("x", "×")
        dropout = re.search(r"dropout ([0-9.]+)", row["config"]).group(1)
        passes = re.search(r"~([0-9.]+) passes(, then ends)?", row["config"])
        count = "10" if passes.group(2) else "~" + passes.group(1)
        names = {"weight decay": "重み減衰", "average": "平均"} if japanese else {"weight decay": "weight decay", "average": "average"}
        regularised = "".join(f", {names[name]} {value}" for name, value in regularisers(record, row).items()
                              if name in names)  # the recipe's own, where the line names them
        how = f"{model}, dropout {dropout}{regularised}, " + (f"{count} 周" if japanese else f"{count} passes")
        vals = {s: r["val"] for s, (_, r) in seeds.items()}
        cells = [f"{vals[s]:.3f}" if s in vals else "—" for s in (0, 1)]
        stock = best_stock(results, corpus, budget, cpu)
        if stock:
            of = "" if stock[2] == 3 else "（これだけ実行）" if japanese else " (the only one run)"
            gap = f"{stock[0] - max(vals.values()):.3f}"
            stock_cell = f"{stock[0]:.3f}, {stock[1]}{of}"
        else:
            elsewhere = any(best_stock(results, corpus, budget, c) for c in ("AMD EPYC", "Intel Xeon", "unrecorded"))
            stock_cell = (("他の CPU でのみ実行" if japanese else "run on another CPU only") if elsewhere
                          else ("未実行" if japanese else "not run"))
            gap = "—"
        dates = sorted({r.get("date", "?") for r, _ in seeds.values()})
        shown_cpu = "記録なし" if japanese and cpu == "unrecorded" else cpu
        out.append(f"| {corpus} | {budget.replace('m', ' 分' if japanese else ' min')} | {how} | {cells[0]} | {cells[1]} | {stock_cell} | "
                   f"{gap} | {shown_cpu}, {', '.join(dates)} |")
    return "\n".join(out)


def recipe_grid_reading(results: pathlib.Path, japanese: bool = False) -> str:
    """The recipe grid's reading, in numbers its rows give: where the default is lower than the
    stock scripts, and how far apart its two seeds land."""
    runs = default_runs(results)
    margins, behind, spreads = [], [], []
    for (corpus, budget, cpu), seeds in runs.items():
        vals = {s: r["val"] for s, (_, r) in seeds.items()}
        if len(vals) > 1:
            spreads.append(max(vals.values()) - min(vals.values()))
        stock = best_stock(results, corpus, budget, cpu)
        if stock:
            margin = stock[0] - max(vals.values())
            (margins if margin > 0 else behind).append(margin)
    if japanese:
        lines = [f"PyTorch のスクリプトを実行した {len(margins) + len(behind)} 行のうち {len(margins)} 行で、既定の学習は"
                 f"最良のスクリプトより {min(margins):.3f}〜{max(margins):.3f} nats/文字 低くなりました。"]
        if spreads:
            lines.append(f"シードが二つある行では、二つの差は {min(spreads):.3f}〜{max(spreads):.3f} です。")
        return "\n".join(lines)
    lines = [f"The default is lower than the best stock script in {len(margins)} of the {len(margins) + len(behind)} "
             f"rows where one was run, by {min(margins):.3f} to {max(margins):.3f} nats/char."]
    if spreads:
        lines.append(f"Where a row has two seeds, they land {min(spreads):.3f} to {max(spreads):.3f} apart.")
    return "\n".join(lines)


def longer(results: pathlib.Path) -> str:
    """The GRU 1x512 the rule chose against the mLSTM 1x512, 10 minutes on tinyshakespeare
    (results/longer.jsonl; the runs' own monitored validation loss)."""
    out = ["| 10 minutes, tinyshakespeare | steps | chars/s | best validation loss |", "|---|---|---|---|"]
    for r in rows(results, "longer.jsonl"):
        model = r["recipe"].split(",")[0].replace("MLSTM", "mLSTM").replace("x", "×")
        how = (f"{model}, given (`--cell`, `--hidden-size`), seed {r['seed']}" if "given:" in r["recipe"]
               else f"{model}, chosen by the recipe, seed {r['seed']}")
        out.append(f"| {how} | {r['steps']:,} | {r['chars_per_sec']:,.0f} | {r['val']:.3f} |")
    return "\n".join(out)


def recipe_line(results: pathlib.Path) -> str:
    """The line the recipe printed for the newest default run of tinyshakespeare at 10 minutes."""
    runs = [run for key, seeds in default_runs(results).items() if key[:2] == ("tinyshakespeare", "10m")
            for run in seeds.values()]
    record, row = max(runs, key=lambda run: run[0].get("date", ""))
    return f"```\nrecipe: {row['config']}\n```"


def gru_activations(results: pathlib.Path) -> str:
    """The GRU's gate and candidate functions trained for the same time (results/activations.jsonl)."""
    got = rows(results, "activations.jsonl")
    names = {"gru": "sigmoid / tanh (the default)", "gru --gate-activation hard_sigmoid": "hard sigmoid / tanh",
             "gru --activation relu": "sigmoid / relu", "gru --activation elu": "sigmoid / elu"}
    out = ["| gates / candidate | best validation loss | chars/s |", "|---|---|---|"]
    means = {}
    for cell in dict.fromkeys(r["cell"] for r in got):
        vals = [r["val"] for r in got if r["cell"] == cell]
        means[cell] = (sum(vals) / len(vals), min(vals), max(vals),
                       statistics.median(r["chars_per_sec"] for r in got if r["cell"] == cell))
    best = min(m[0] for m in means.values())
    for cell, (mean, lo, hi, speed) in means.items():
        shown = f"**{mean:.3f}**" if mean == best else f"{mean:.3f}"
        out.append(f"| {names.get(cell, cell)} | {shown} ({lo:.3f}..{hi:.3f}) | {speed:,.0f} |")
    return "\n".join(out)


def elementwise_speed(results: pathlib.Path) -> str:
    """The element-wise prototypes' training speed against the GRU at equal parameters, each run's
    ratio (results/elementwise.jsonl, the 10-steps-at-a-time version)."""
    got = [r for r in rows(results, "elementwise.jsonl")  # the default 10 steps at a time only
           if r["what"] == "speed" and r.get("version") is None and "--chunk" not in r.get("command", "")]
    out = ["| matched to | network | layers × width | parameters | chars/s, each run | against the GRU, each run |",
           "|---|---|---|---:|---:|---:|"]
    for target in dict.fromkeys(r["target"] for r in got):
        for kind in dict.fromkeys(r["kind"] for r in got if r["target"] == target):
            at = [r for r in got if r["target"] == target and r["kind"] == kind]
            name = {"gru": "GRU (charrnn's)", "mingru": "minGRU", "qrnn1": "QRNN, width 1", "qrnn2": "QRNN, width 2"}[kind]
            out.append(f"| {target.replace('x', '×')} | {name} | {at[0]['layers']}×{at[0]['hidden']} | {at[0]['params']:,} | "
                       + ", ".join(f"{r['chars_per_sec']:,.0f}" for r in at) + " | "
                       + ", ".join(f"{r['ratio']:.2f}×" for r in at) + " |")
    return "\n".join(out)


def elementwise_equal_time(results: pathlib.Path) -> str:
    """The prototypes trained as long as the recipe's own run, scored alike (results/elementwise.jsonl)."""
    got = [r for r in rows(results, "elementwise.jsonl") if r["what"] == "equal-time"]
    out = ["| text, budget | network | layers × width | parameters | validation loss, seeds 0 and 1 |",
           "|---|---|---|---:|---|"]
    for corpus, budget in dict.fromkeys((r["corpus"], r["budget"]) for r in got):
        here = [r for r in got if (r["corpus"], r["budget"]) == (corpus, budget)]
        for kind in dict.fromkeys(r["kind"] for r in here):
            at = sorted((r for r in here if r["kind"] == kind), key=lambda r: r["seed"])
            name = {"mingru": "minGRU", "qrnn1": "QRNN, width 1", "qrnn2": "QRNN, width 2"}.get(
                kind, f"{kind.upper()} (the recipe's)")
            out.append(f"| {corpus}, {budget.replace('m', ' min')} | {name} | {at[0]['layers']}×{at[0]['hidden']} | "
                       f"{at[0]['params']:,} | " + ", ".join(f"{r['val']:.3f}" for r in at) + " |")
    return "\n".join(out)


def charrnn_run(results: pathlib.Path, corpus: str, budget: str, args=(), model: str = "", seed: int = 0,
                ends: bool | None = None, passes: str | None = None, cpu: str | None = None, lacks=(), holds=()):
    """The newest charrnn run of the recipe files with these options (`args`, besides --seed), its
    model line starting with `model`; `ends`: whether it ended at the 10-pass limit; `passes`: its
    planned passes; `cpu`: measured on one whose name starts so; `lacks`, `holds`: texts its line
    must not, must hold. (record, row) or None."""
    found = None
    for record in recipe_records(results):
        if (record["corpus"], record["budget"], options_of(record), seed_of(record)) != (corpus, budget, tuple(args), seed) \
                or not cpu_of(record).startswith(cpu or ""):
            continue
        for row in record["rows"]:
            planned = re.search(r"~([0-9.]+) passes(, then ends)?", row.get("config", ""))
            if row["who"] == "charrnn" and row["config"].startswith(model) and planned \
                    and (ends is None or bool(planned.group(2)) == ends) and passes in (None, planned.group(1)) \
                    and not any(t in row["config"] for t in lacks) and all(t in row["config"] for t in holds):
                found = (record, row)
    return found


def cli_options(written) -> tuple:
    """Options as a marker writes them (an HTML comment may not hold "--"): weight-decay=0.1 ->
    ("--weight-decay", "0.1")."""
    return tuple(part for o in written for part in (f"--{o.split('=')[0]}", o.split("=")[1]))


def passes_of(row: dict) -> str:
    return re.search(r"~([0-9.]+) passes", row["config"]).group(1)


def small_pieces(results: pathlib.Path) -> str:
    """The rule's GRU 1x128 against a larger GRU and the mLSTM, both with dropout 0.5, on the three
    pieces (results/recipe*.jsonl)."""
    larger = ("--hidden-size", "512", "--dropout", "0.5")
    out = ["| piece | budget | GRU 1×128 (the rule's choice) | GRU 1×512, dropout 0.5 (passes) | "
           "mLSTM 1×512, dropout 0.5 (passes) |", "|---|---:|---:|---:|---:|"]
    for piece in ("shakespeare-60k", "pydoc-80k", "numpy-50k"):
        for i, budget in enumerate(("5m", "10m")):
            rule = charrnn_run(results, piece, budget, model="GRU 1x128")
            runs = [charrnn_run(results, piece, budget, ("--cell", cell, *larger)) for cell in ("gru", "mlstm")]
            best = min(r[1]["val"] for r in [rule, *runs] if r)
            cells = [("—" if r is None else (f"**{r[1]['val']:.3f}**" if r[1]["val"] == best else f"{r[1]['val']:.3f}")
                      + ("" if r is None or r is rule else f" ({float(passes_of(r[1])):.0f})")) for r in [rule, *runs]]
            out.append(f"| {piece if i == 0 else ''} | {budget.replace('m', ' min')} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def longer_budgets(results: pathlib.Path) -> str:
    """Large texts at a shorter and a longer budget, before the 10-pass limit (results/recipe*.jsonl):
    each cell the budget, then each run's loss (passes), the lowest of the row in bold."""
    MLSTM = ("--cell", "mlstm", "--hidden-size", "512")
    # text, model, CPU, (budget, [(name, charrnn_run's query)]) at the shorter and the longer budget
    cases = [("tinyshakespeare", "mLSTM 1×512", "AMD EPYC", ("10m", [("", dict(model="MLSTM"))]),
              ("30m", [("", dict(args=MLSTM)), ("dropout 0.5: ", dict(args=MLSTM + ("--dropout", "0.5")))])),
             ("tinyshakespeare", "GRU 1×512", "Intel Xeon", ("10m", [("", dict(model="GRU 1x512"))]), None),
             ("tinyshakespeare", "GRU 1×512", "AMD EPYC", None, ("30m", [("", dict(model="GRU 1x512"))])),
             ("pydoc", "GRU 1×384", "AMD EPYC", ("5m", [("", dict(ends=False, passes="16"))]),
              ("10m", [("seed 0: ", dict(ends=False)), ("seed 1: ", dict(ends=False, seed=1))]))]
    out = ["| text | model | shorter budget: loss (passes) | longer budget: loss (passes) | CPU |", "|---|---|---:|---:|---|"]
    for corpus, label, cpu, *budgets in cases:
        found = [[(name, charrnn_run(results, corpus, b[0], cpu=cpu, **q)[1]) for name, q in b[1]] if b else []
                 for b in budgets]
        everyone = [row["val"] for runs in found for _, row in runs]
        best = min(everyone) if len(everyone) > 1 else None  # a row of one run has nothing to be lowest of
        cells_ = []
        for b, runs in zip(budgets, found):
            loss = [f"**{row['val']:.3f}**" if row["val"] == best else f"{row['val']:.3f}" for _, row in runs]
            cells_.append("—" if not b else f"{b[0].replace('m', ' min')}: " + ", ".join(
                f"{name}{shown_loss} ({float(passes_of(row)):.2g})" for (name, row), shown_loss in zip(runs, loss)))
        out.append(f"| {corpus} | {label} | {cells_[0]} | {cells_[1]} | {cpu} |")
    return "\n".join(out)


def pass_limit(results: pathlib.Path) -> str:
    """Long budgets on large texts before and with the 10-pass limit (results/recipe*.jsonl)."""
    def shown(found, bold=False):
        if found is None:
            return "—"
        record, row = found
        model = row["config"].split(",")[0].replace("MLSTM", "mLSTM").replace("x", "×")
        loss = f"**{row['val']:.4f}**" if bold else f"{row['val']:.4f}"
        if re.search(r"then ends", row["config"]):
            return f"{loss} {model}, ended at {row['wall']:.0f} s"
        return f"{loss} {model} ({float(passes_of(row)):.0f})"
    out = ["| text | budget | before the limit (passes) | with the limit: 10 passes, then ends |", "|---|---:|---:|---:|"]
    cases = [("tinyshakespeare", "30m", 0, "30 min", dict(model="GRU 1x512")),
             ("tinyshakespeare", "60m", 0, "60 min (the hour-long run)", None),
             ("tinyshakespeare", "30m", 1, "30 min, seed 1", None),
             ("pydoc", "5m", 0, "5 min", dict(ends=False, passes="19"))]
    for corpus, budget, seed, label, before in cases:
        # the limit's own runs, all on the AMD EPYC: a later run on another CPU is not one of them
        b = charrnn_run(results, corpus, budget, seed=seed, cpu="AMD EPYC", **before) if before else None
        w = charrnn_run(results, corpus, budget, seed=seed, ends=True, cpu="AMD EPYC")
        better = b is not None and b[1]["val"] < w[1]["val"]
        out.append(f"| {corpus} | {label} | {shown(b, better)} | {shown(w, not better)} |")
    return "\n".join(out)


# each regularisation option, and how the recipe line names it when the recipe chose it
REGULARISERS = {"--weight-decay": "weight decay", "--average": "average", "--dropout-mask": "dropout mask",
                "--weight-drop": "weight drop", "--input-dropout": "input dropout"}


def regularisers(record: dict, row: dict) -> dict:
    """name -> value of the regularisation a run trained with, other than the default: what its
    recipe line names (the recipe's own choices) and the options given (older lines name none)."""
    def value(v: str) -> str:
        try:
            return f"{float(v):g}"
        except ValueError:
            return v

    found = {name: value(v) for name in REGULARISERS.values()
             for v in re.findall(rf"{name} ([0-9.e-]+)", row.get("config", ""))}
    args = options_of(record)
    found.update({REGULARISERS[a]: value(args[i + 1]) for i, a in enumerate(args) if a in REGULARISERS})
    return {k: v for k, v in found.items() if v not in ("0", "step")}


def screening_baseline(results: pathlib.Path, record: dict, row: dict):
    """The run a screening run is measured against: the newest run of the same text, budget, seed
    and CPU that trained with the screening run's regularisation less what it gave, and with no
    other option: charrnn's default of that day (superseded rows too: they were the default of their
    time), or a run given only regularisation options. (record, row) or None."""
    args = options_of(record)
    if any(a in REGULARISERS and args[i + 1] in ("0", "step") for i, a in enumerate(args)):
        return None  # a control that turns one of the recipe's own off: its prose names what it is read against
    given = {REGULARISERS[a] for a in args if a in REGULARISERS}
    wanted = {k: v for k, v in regularisers(record, row).items() if k not in given}
    found = None
    everyone = sorted([*recipe_records(results), *rows(results, "regularisation.jsonl")], key=lambda r: r.get("date", ""))
    for other in everyone:
        flags = {a for a in options_of(other) if a.startswith("--")}
        if other is record or not flags <= set(REGULARISERS) or \
                (other["corpus"], other["budget"], cpu_of(other), seed_of(other)) != \
                (record["corpus"], record["budget"], cpu_of(record), seed_of(record)):
            continue
        for r in other["rows"]:
            if r["who"] == "charrnn" and (flags or "given:" not in r["config"]) and regularisers(other, r) == wanted:
                found = (other, r)
    return found


def regularisation(results: pathlib.Path) -> str:
    """Each regularisation technique's screening run against the default it was screened on: the
    same text, budget, seed and CPU (screening_baseline; results/regularisation.jsonl, in
    benchmarks/recipe.py's format)."""
    out = ["| text, budget | options given | seed | passes | validation loss | without them (same seed, CPU) | difference | CPU, date |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for record in sorted(rows(results, "regularisation.jsonl"), key=lambda r: r.get("date", "")):
        row = next(r for r in record["rows"] if r["who"] == "charrnn")
        seed, cpu = seed_of(record), cpu_of(record)
        base = screening_baseline(results, record, row)
        same = base is not None
        ref = f"{base[1]['val']:.3f}" if same else "—"
        diff = f"{row['val'] - base[1]['val']:+.3f}" if same else "—"
        out.append(f"| {record['corpus']}, {record['budget'].replace('m', ' min')} | `{' '.join(options_of(record))}` | "
                   f"{seed} | {passes_of(row)} | {row['val']:.3f} | {ref} | {diff} | {cpu}, {record.get('date', '?')} |")
    return "\n".join(out)


# ---------------------------------------------------------------- tables printed by the speed scripts
def md_tables(path: pathlib.Path) -> list[list[list[str]]]:
    """Each markdown table of a results .md file (what throughput.py, compare_torch.py and
    alternate.py print), as its rows of cells, header first, in the file's order."""
    tables, current = [], None
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        starts = line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---")
        if starts:
            current = [cells(line)]
            tables.append(current)
        elif line.startswith("|---"):
            continue
        elif line.startswith("|") and current is not None:
            current.append(cells(line))
        elif not line.startswith("#"):  # a script's "#" note inside a table does not end it
            current = None
    return tables


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def shown(cell: str) -> str:
    """A script's ASCII cell as the documents write it: 1x512 -> 1×512, 1.36x -> 1.36×."""
    return re.sub(r"(\d)x\b", r"\1×", re.sub(r"(\d)x(\d)", r"\1×\2", cell))


def md_table(header: str, body: list[list[str]]) -> str:
    columns = header.count("|") - 1
    return "\n".join([header, "|" + "---|" * columns] + ["| " + " | ".join(shown(c) for c in row) + " |" for row in body])


def compare_torch_candidates(results: pathlib.Path) -> str:
    """The recipe's candidates against PyTorch (compare_torch.py --candidates), the first run kept."""
    rows_ = md_tables(results / "compare-torch-candidates.md")[0][1:]
    return md_table("| config | charrnn chars/s (p10..p90) | PyTorch chars/s (p10..p90) | ratio |", [r[:4] for r in rows_])


def throughput_candidates(results: pathlib.Path) -> str:
    rows_ = md_tables(results / "throughput-candidates.md")[0][1:]
    return md_table("| config | chars/s (median) | GFLOP/s | of peak |", [[r[0], r[1], r[4], r[5]] for r in rows_])


def throughput_bound(results: pathlib.Path) -> str:
    """The step against its matrix products alone (throughput.py --candidates --bound), newest run."""
    rows_ = md_tables(results / "throughput-bound.md")[0][1:]
    return md_table("| config | whole step: chars/s (p10 .. p90) | matrix products alone | products' share of the step | "
                    "the most a free gate arithmetic could give |",
                    [[r[0], r[1], r[2].split(" (")[0], r[3], r[4]] for r in rows_])


def keep_freed_memory(results: pathlib.Path) -> str:
    """Whole training processes before and after keeping freed memory (alternate.py --train), with
    the second run's ratio beside the first's."""
    first, second = md_tables(results / "alternate-keep-freed-memory.md")[:2]
    again = {r[0]: r[3] for r in second[1:]}
    return md_table("| config | before, chars/s (p10 .. p90) | after | after / before | second run |",
                    [[r[0], r[1], r[2], r[3], again[r[0]]] for r in first[1:]])


def product_order(results: pathlib.Path) -> str:
    """Each per-step product in both orders, forward and backward (throughput.py --orders), in µs."""
    found = {}
    for config, product, direction, plain, times, ratio in md_tables(results / "alternate-product-order.md")[0][1:]:
        found.setdefault((config.replace(" B=32", ""), product), {})[direction] = [plain, times, ratio]
    return md_table("| product (B = 32) | forward `in_t @ W.T`, µs | `ops.times`, µs | ratio | backward `d_t @ W`, µs | "
                    "`ops.times`, µs | ratio |",
                    [[f"{c} {p}", *d["forward"], *d["backward"]] for (c, p), d in found.items()])


def train_10m(results: pathlib.Path) -> str:
    """The evaluations of the old default's ten-minute run (its metrics.jsonl), the best in bold."""
    evals = [r for r in rows(results, "train-10m-metrics.jsonl") if "val_loss" in r]
    best = min(evals, key=lambda r: r["val_loss"])
    out = ["| step | elapsed | validation loss (nats/char) | bits/char |", "|---|---|---|---|"]
    for r in evals:
        minutes, seconds = divmod(int(round(r["elapsed"])), 60)
        cells_ = [f"{r['step']}" + (" (end)" if r is evals[-1] else ""), f"{minutes} min {seconds:02d} s",
                  f"{r['val_loss']:.4f}", f"{r['val_loss'] / math.log(2):.3f}"]
        if r is best:
            cells_ = [f"**{c}**" for c in cells_]
            cells_[2] = cells_[2] + " (best)"
        out.append("| " + " | ".join(cells_) + " |")
    return "\n".join(out)


def inspect_after_training(results: pathlib.Path) -> str:
    """How far back the gradient reaches in fresh models trained 300 steps (the newest run of
    `charrnn inspect-gradients --train-steps 300 --seq-len 150 --json`, results/inspect-after-training.jsonl)."""
    record = rows(results, "inspect-after-training.jsonl")[-1]
    out = ["| model (after 300 steps) | vanishes (<1e-3) after | 40 steps back | 100 steps back |", "|---|---|---|---|"]
    for m in record["models"]:
        out.append(f"| {m['label'].rsplit(' ', 1)[0]} | {m['vanish_steps']} step{'s' if m['vanish_steps'] != 1 else ''} | "
                   f"{m['back_40']:.1e} | {m['back_100']:.1e} |")
    return "\n".join(out)


def compare_torch_training(results: pathlib.Path) -> str:
    """charrnn's step against PyTorch's, the default six configurations (compare_torch.py)."""
    table = md_tables(results / "compare-torch.md")[0]
    return md_table("| " + " | ".join(table[0]) + " |", table[1:])


def compare_torch_sampling(results: pathlib.Path) -> str:
    """charrnn's sampling loop against the same loop in PyTorch (compare_torch.py)."""
    table = md_tables(results / "compare-torch.md")[1]
    body = [[r[0].replace("1 sample(s)", "1 sample").replace("32 sample(s)", "32 samples"), *r[1:]] for r in table[1:]]
    return md_table("| sampling | charrnn chars/s | PyTorch chars/s | ratio |", body)


def throughput(results: pathlib.Path) -> str:
    """charrnn's training step alone (throughput.py)."""
    table = md_tables(results / "throughput.md")[0]
    return md_table("| config | chars/s (median) | p10 .. p90 |", table[1:])


def threads(results: pathlib.Path) -> str:
    """All cores against one BLAS thread, with one core kept busy and idle (throughput.py --threads-compare)."""
    busy, idle = md_tables(results / "threads.md")[:2]
    alone = {r[0]: r for r in idle[1:]}

    def median(cell: str) -> str:
        return cell.split(" (")[0]

    return md_table("| config | one core busy: all cores | one core busy: 1 thread | 1 thread / all | idle: all cores | "
                    "idle: 1 thread | 1 thread / all |",
                    [[r[0], median(r[1]), median(r[2]), r[3], median(alone[r[0]][1]), median(alone[r[0]][2]), alone[r[0]][3]]
                     for r in busy[1:]])


def by_position(results: pathlib.Path) -> str:
    """The loss by position in a stream from a zero state, past the trained length (the newest
    row of results/trained-views.jsonl that has one; trained_views.py --by-position)."""
    return trained_views.by_position_table([r for r in rows(results, "trained-views.jsonl") if "by_position" in r][-1])


def views_figure(results: pathlib.Path, what: str, corpus: str, prop: str = "") -> str:
    """The newest trained_views.py row of a corpus: 'unit|r|interval PROPERTY' its best unit for a
    property, that unit's r ("+0.71") or interval ("+0.70 .. +0.72"); 'steps', 'val', 'unigram'
    the run's; 'span-from POSITION' the span of the by-position losses from that bucket on."""
    row = [r for r in rows(results, "trained-views.jsonl") if r["corpus"] == corpus][-1]
    if what in ("unit", "r", "interval"):
        u = row["ranking"][prop][0]
        signed = lambda x: f"{x:+.2f}".replace("-", "−")  # noqa: E731
        return {"unit": u["unit"], "r": signed(u["r"]), "interval": f"{signed(u['low'])} .. {signed(u['high'])}"}[what]
    if what == "steps":
        return f"{row['steps']:,}"
    if what in ("val", "unigram"):
        return f"{row['val' if what == 'val' else 'val_unigram']:.2f}"
    return span([b["loss"] for b in row["by_position"]["buckets"] if b["positions"][0] >= int(prop)], 2)


JORDAN_LABELS = {"jordan": "jordan, k = 1 (the document's network: one character back)",
                 "jordan --context 8": "jordan, k = 8 (a fixed window of 8 characters)", "rnn": "rnn (tanh)"}


def jordan(results: pathlib.Path) -> str:
    """The output-recurrent network against the hidden-state ones, at equal time, one seed
    (networks.py --results results/jordan.jsonl): the newest run of each, the lowest in bold."""
    newest = {r["cell"]: r for r in rows(results, "jordan.jsonl")}
    best = min(r["val"] for r in newest.values())
    out = ["| model | steps | chars/s | passes | best validation loss (nats/char) |", "|---|---:|---:|---|---:|"]
    for variant, r in newest.items():
        label = JORDAN_LABELS.get(variant, JORDAN_LABELS.get(variant.split()[0], variant.split()[0]))
        val = f"**{r['val']:.3f}**" if r["val"] == best else f"{r['val']:.3f}"
        planned = re.search(r"~([0-9.]+) passes(, then ends)?", r["recipe"])
        passes = f"{planned.group(1)}, then ends" if planned.group(2) else f"~{planned.group(1)} in the budget"
        out.append(f"| {label} | {r['steps']:,} | {r['chars_per_sec']:,.0f} | {passes} | {val} |")
    out.append(f"| counting characters (the unigram baseline) | | | | {next(iter(newest.values()))['val_unigram']:.3f} |")
    return "\n".join(out)


def quickstart_repeat(results: pathlib.Path) -> str:
    """The quick start's run (pydoc, 2 minutes, seed 0) made again with one command, one run after
    another, as the default and with options given (results/quickstart-repeat.jsonl): how far runs
    of one seed land apart, each setting's runs in the order they ran, then their median and span."""
    got = rows(results, "quickstart-repeat.jsonl")
    body = []
    for options in dict.fromkeys(options_of(r) for r in got):
        runs = [r for r in got if options_of(r) == options]
        given = f"`{' '.join(options)}`" if options else "the default"
        body += [[given, f"{cpu_of(r)}, {r['date']}", r["commit"], passes_of(r["rows"][0]),
                  f"{r['rows'][0]['val']:.3f}"] for r in runs]
        vals = [r["rows"][0]["val"] for r in runs]
        body.append([given, "", "", f"{len(runs)} runs", f"**{statistics.median(vals):.3f}** median, {span(vals)}"])
    return md_table("| options given | CPU, date | commit | passes planned | validation loss (one stream) |", body)


def walkthrough_step(results: pathlib.Path, name: str, step: str) -> dict:
    """Step STEP of the newest recorded run of walkthrough NAME (results/walkthroughs.jsonl,
    benchmarks/walkthrough.py)."""
    row = [r for r in rows(results, "walkthroughs.jsonl") if r["walkthrough"] == name][-1]
    return next(s for s in row["steps"] if s["step"] == step)


def output(results: pathlib.Path, name: str, step: str, *options: str) -> str:
    """What step STEP of walkthrough NAME printed, as a code block: its stdout, or with
    'stderr' its stderr; 'lines=1-7,12,-1' keeps those lines (from 1; -1 the last), with '...' a
    line '...' where lines were left out between them; 'grep=REGEX' the lines
    REGEX finds (\\s for a space); each line's trailing spaces and the blank lines at the end dropped."""
    got = walkthrough_step(results, name, step)
    lines = got["stderr" if "stderr" in options else "stdout"].splitlines()
    for option in options:
        if option.startswith("lines="):
            spans = [(len(lines) + 1 + int(part),) * 2 if part.startswith("-") else tuple(int(n) for n in part.split("-"))
                     for part in option[6:].split(",")]
            kept = [i for i in range(1, len(lines) + 1) if any(s[0] <= i <= s[-1] for s in spans)]
            gap = "..." in options  # a line '...' where lines were left out between the spans
            lines = [out for k, i in enumerate(kept)
                     for out in ((["..."] if gap and k and i != kept[k - 1] + 1 else []) + [lines[i - 1]])]
        elif option.startswith("grep="):
            lines = [line for line in lines if re.search(option[5:], line)]
    return "```\n" + "\n".join(line.rstrip() for line in lines).strip("\n") + "\n```"


def output_figure(results: pathlib.Path, name: str, step: str, pattern: str, *options: str) -> str:
    """A figure from what step STEP of walkthrough NAME printed: the first group of PATTERN's
    first match in its stdout ('stderr': its stderr; '#N': the N-th match, -1 the last)."""
    got = walkthrough_step(results, name, step)
    found = re.findall(pattern, got["stderr" if "stderr" in options else "stdout"])
    pick = next((int(o[1:]) for o in options if o.startswith("#")), 0)
    return found[pick]


TABLES = {
    "output": output,
    "quickstart-repeat": quickstart_repeat,
    "jordan": jordan,
    "by-position": by_position,
    "makemore": makemore,
    "makemore-ja": lambda results: makemore(results, japanese=True),
    "lists-explore": lists_explore,
    "finetune": finetune,
    "checksum": checksum,
    "sharing": sharing,
    "sharing-ja": lambda results: sharing(results, japanese=True),
    "activations-trained": activations_trained,
    "activations-trained-ja": lambda results: activations_trained(results, japanese=True),
    "recipe-grid": recipe_grid,
    "longer": longer,
    "small-pieces": small_pieces,
    "pass-limit": pass_limit,
    "longer-budgets": longer_budgets,
    "inspect-after-training": inspect_after_training,
    "regularisation": regularisation,
    "gru-activations": gru_activations,
    "exposure": lambda results: exposure.table(results / "exposure.jsonl"),
    "elementwise-speed": elementwise_speed,
    "elementwise-equal-time": elementwise_equal_time,
    "recipe-line": recipe_line,
    "recipe-2026-11-28": lambda results: recipe_bench.table(results / "recipe.jsonl", date="2026-11-28"),
    "recipe-grid-reading": recipe_grid_reading,
    "recipe-grid-ja": lambda results: recipe_grid(results, japanese=True),
    "recipe-grid-reading-ja": lambda results: recipe_grid_reading(results, japanese=True),
    "networks": lambda results: networks.table(results / "networks.jsonl"),
    "compare-torch-candidates": compare_torch_candidates,
    "throughput-candidates": throughput_candidates,
    "throughput-bound": throughput_bound,
    "keep-freed-memory": keep_freed_memory,
    "product-order": product_order,
    "train-10m": train_10m,
    "compare-torch-training": compare_torch_training,
    "compare-torch-sampling": compare_torch_sampling,
    "throughput": throughput,
    "threads": threads,
}


# ----------------------------------------------------------------------------- figures in prose
def span(values, digits: int = 3) -> str:
    """'1.994–2.007', or one value where they are all the same as shown."""
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"


def one_digit(x: float) -> str:
    """A small difference to one significant digit, without an exponent: 0.00012 -> 0.0001."""
    return f"{float(f'{x:.1g}'):f}".rstrip("0").rstrip(".")


def sharing_figure(results: pathlib.Path, which: str, *windows: str) -> str:
    """The shared or unshared network's losses over both seeds at these windows: at one, their
    span; at two, the first's highest and the second's lowest ('between 500 and 750 windows')."""
    got = rows(results, "sharing.jsonl")
    key = "shared_val" if which == "shared" else "unshared_val"
    at = [[r[key] for r in got if r["windows"] == int(n)] for n in windows]
    return span(at[0]) if len(at) == 1 else f"{max(at[0]):.3f}–{min(at[1]):.3f}"


def activation_figure(results: pathlib.Path, what: str, a: str, b: str | None = None) -> str:
    """'span relu': the seeds' span of one activation; 'mean-gap tanh sigmoid': b's mean less a's."""
    got = rows(results, "activations-trained.jsonl")
    vals = {c: [r["val"] for r in got if r["cell"].split()[-1] == c] for c in (a, b) if c}
    if what == "span":
        return span(vals[a])
    return f"{sum(vals[b]) / len(vals[b]) - sum(vals[a]) / len(vals[a]):.2f}"


def makemore_figure(results: pathlib.Path, what: str, minutes: str = "") -> str:
    """'gap M': how far charrnn's seeds lie below the best makemore model at M minutes; 'spread M':
    between charrnn's two seeds; 'new charrnn|makemore': the share of new samples over both budgets."""
    got = rows(results, "makemore.jsonl")
    if what == "new":
        return span([100 * r["new"] for r in got if r["who"] == minutes], 0) + "%"
    here = [r for r in got if r["minutes"] == float(minutes)]
    ours = [r["test"] for r in here if r["who"] == "charrnn"]
    best = min(r["test"] for r in here if r["who"] == "makemore")
    return span([best - v for v in ours]) if what == "gap" else one_digit(max(ours) - min(ours))


def finetune_figure(results: pathlib.Path, what: str, text: str = "", minutes: str = "", who: str = "") -> str:
    """'gap': the least and most by which fine-tuning was lower over every pair; 'spread': the
    largest distance between two seeds; 'span TEXT MINUTES WHO': the seeds' span of one cell;
    'parent': the parent's own best validation loss, as its run monitored it (finetune-parent.jsonl)."""
    if what == "parent":
        return f"{rows(results, 'finetune-parent.jsonl')[-1]['best_val_loss']:.3f}"
    got = rows(results, "finetune.jsonl")
    cells_ = {}
    for r in got:
        cells_.setdefault((r["text"], r["minutes"], r["who"]), []).append(r["val"])
    if what == "span":
        return span(cells_[(text, float(minutes), who)])
    if what == "spread":
        return f"{max(max(v) - min(v) for v in cells_.values()):.2f}"
    gaps = [s - f for (t, m, who_), fs in cells_.items() if who_ == "fine-tuned"
            for f in fs for s in cells_[(t, m, "from scratch")]]
    return f"{min(gaps):.2f} to {max(gaps):.2f}"


def screening_figure(results: pathlib.Path, what: str, corpus: str, budget: str, seed: str, *options: str) -> str:
    """A screening run of results/regularisation.jsonl (the newest with these options and seed,
    written weight-decay=0.1: an HTML comment may not hold "--"): 'val' its loss, 'diff' its
    difference from the run without its options (screening_baseline), 'passes' its planned passes."""
    options = cli_options(options)
    found = None
    for record in rows(results, "regularisation.jsonl"):
        if (record["corpus"], record["budget"], seed_of(record), options_of(record)) == (corpus, budget, int(seed), options):
            found = (record, next(r for r in record["rows"] if r["who"] == "charrnn"))
    record, row = found
    if what == "val":
        return f"{row['val']:.3f}"
    if what == "passes":
        return passes_of(row)
    base = screening_baseline(results, record, row)
    return f"{row['val'] - base[1]['val']:+.3f}".replace("-", "−")


def default_figure(results: pathlib.Path, what: str, corpus: str, budget: str, seed: str, cpu: str) -> str:
    """The newest run of charrnn's default (default_runs) on a CPU ("Intel", "AMD"): 'val' its
    loss, 'passes' its planned passes."""
    found = default_runs(results)[(corpus, budget, {"Intel": "Intel Xeon", "AMD": "AMD EPYC"}[cpu])].get(int(seed))
    if found is None:
        return "not run yet"
    record, row = found
    if what == "val":
        return f"{row['val']:.3f}"
    return passes_of(row)


def run_figure(results: pathlib.Path, what: str, corpus: str, budget: str, seed: str, model: str, *options: str) -> str:
    """The newest charrnn run of the recipe files with these options (written cell=mlstm, as
    screening's) and a model line starting with MODEL ("GRU", "MLSTM", "*" for any); among OPTIONS,
    "cpu=AMD" (or Intel) keeps runs on that CPU, "!weight_decay" those whose line lacks "weight
    decay" and "~then_ends" those whose line holds "then ends". WHAT: 'val' the validation split
    read as one stream ('val4' to four decimals), 'monitored' the loss the
    run monitored, 'wall' its seconds, 'passes' its planned passes, 'stock' the best stock script's loss for
    its text, budget and CPU and 'vs-stock' its own less that, 'LSTM_2x256_B=32' that stock PyTorch script's loss beside it."""
    record, row = charrnn_run(
        results, corpus, budget, cli_options(o for o in options if not o.startswith(("cpu=", "!", "~"))),
        "" if model == "*" else model.replace("_", " "), int(seed),
        cpu=next((o.split("=")[1] for o in options if o.startswith("cpu=")), None),
        lacks=[o[1:].replace("_", " ") for o in options if o.startswith("!")],
        holds=[o[1:].replace("_", " ") for o in options if o.startswith("~")])
    if what in ("val", "monitored", "val4"):
        return f"{row[what[:3] if what == 'val4' else what]:.{4 if what == 'val4' else 3}f}"
    if what == "wall":
        return f"{row['wall']:.1f}"
    if what == "passes":
        return passes_of(row)
    if what in ("stock", "vs-stock"):  # the best stock script of this text, budget and CPU, from any run
        stock = best_stock(results, corpus, budget, cpu_of(record))[0]
        return f"{stock:.3f}" if what == "stock" else f"{row['val'] - stock:+.3f}".replace("-", "−")
    return f"{next(r['val'] for r in record['rows'] if r['config'] == what.replace('_', ' ')):.3f}"


def seeds_figure(results: pathlib.Path, budget: str, model: str, *corpora: str) -> str:
    """How far apart the default's seeds 0 and 1 (run_figure's newest, no options given, line
    without "given") land at BUDGET, the span over CORPORA."""
    gaps = [abs(float(run_figure(results, "val4", c, budget, "1", model, "!given"))
                - float(run_figure(results, "val4", c, budget, "0", model, "!given"))) for c in corpora]
    return span(gaps)


def stock_figure(results: pathlib.Path, what: str, corpus: str, budget: str, config: str, *options: str) -> str:
    """The newest run of one stock PyTorch script (CONFIG "2x256_B=32") for a text and budget in
    the recipe files; OPTIONS "seed=1" (its torch seed, 0 if not given) and "cpu=AMD". WHAT: 'val'
    its loss, 'steps' its steps."""
    seed = int(next((o.split("=")[1] for o in options if o.startswith("seed=")), 0))
    cpu = next((o.split("=")[1] for o in options if o.startswith("cpu=")), None)
    found = None
    for record in recipe_records(results):
        if (record["corpus"], record["budget"], record.get("torch_seed", 0)) == (corpus, budget, seed) \
                and (cpu is None or cpu_of(record).startswith(cpu)):
            found = next((r for r in record["rows"] if r["config"] == "LSTM " + config.replace("_", " ")), found)
    return f"{found['val']:.3f}" if what == "val" else f"{found['steps']:,}"


def md_figure(results: pathlib.Path, name: str, table: str, config: str, column: str, *where: str) -> str:
    """A cell of a table a speed script printed (results/NAME, its TABLE-th table): the row whose
    first cell is CONFIG (spaces written _), column COLUMN; with WHERE ("2=forward"), the span of
    that column over every row whose other cells match, CONFIG "*" for any. TABLE and CONFIG may
    name several, "0,1": the span over all of them."""
    tables_ = md_tables(results / name)
    body = [r for t in table.split(",") for r in tables_[int(t)][1:]]
    configs = config.replace("_", " ").split(",")
    wanted = [r for r in body if (configs == ["*"] or r[0] in configs)
              and all(r[int(w.split("=", 1)[0])] == w.split("=", 1)[1].replace("_", " ") for w in where)]
    cells_ = [r[int(column)] for r in wanted]
    if len(cells_) == 1:
        return shown(cells_[0])
    if all(c.endswith("%") for c in cells_):
        return span([float(c.rstrip("%")) for c in cells_], 0) + "%"
    values = sorted(float(c.rstrip("x")) for c in cells_)
    return f"{values[0]:.2f}–{values[-1]:.2f}×"


def note_figure(results: pathlib.Path, name: str, after: str, n: str) -> str:
    """A number a speed script printed in a "#" note of results/NAME: the N-th (from 0) after the
    first occurrence of AFTER (spaces written _) in such a line, with its "x" shown as ×."""
    after = after.replace("_", " ")
    line = next(line for line in (results / name).read_text(encoding="utf-8").splitlines()
                if line.startswith("#") and after in line)
    rest = line[line.index(after) + len(after):]
    found = re.findall(r"\d[\d,]*(?:\.\d+)?x?", rest)[int(n)]
    return found[:-1] + "×" if found.endswith("x") else found


def bound_cut_figure(results: pathlib.Path, config: str, faster: str = "1.3") -> str:
    """How much of the time outside the matrix products a step must lose to run FASTER times as
    fast, from the products' share of the step in the newest throughput-bound run: a step of
    time 1 = s + (1 - s) needs (1 - 1/FASTER) / (1 - s) of the part 1 - s cut."""
    body = md_tables(results / "throughput-bound.md")[0][1:]
    share = float(next(r for r in body if r[0] == config.replace("_", " "))[3].rstrip("%")) / 100
    return f"{100 * (1 - 1 / float(faster)) / (1 - share):.0f}%"


NUMBER = re.compile(r"[−-]?\d[\d,]*(?:\.\d+)?")


def holds(cell: str, wanted: str) -> bool:
    cell, wanted = cell.replace("**", ""), wanted.replace("_", " ")
    return wanted[1:] in cell if wanted.startswith("~") else cell == wanted


def cell_figure(results: pathlib.Path, table: str, column: str, *where: str) -> str:
    """A cell of one of TABLES, as the table shows it: column COLUMN (from 0) of the row whose cells
    hold what WHERE says ("2=0": cell 2 is "0"; "1=~steps_1500": it contains "steps 1500"; bold
    ignored); COLUMN "3-4" gives column 3's first number less column 4's, the span over the rows
    (those with both); a last "#N" keeps only the
    cell's N-th number (from 0). Where several rows match, the span of that number over them."""
    *where, pick = where if where and where[-1].startswith("#") else (*where, None)
    body = [cells(line) for line in TABLES[table](results).splitlines()[2:]]
    wanted = [r for r in body if all(holds(r[int(w.split("=", 1)[0])], w.split("=", 1)[1]) for w in where)]
    if "-" in column:  # "3-4": column 3's first number less column 4's, the span over the rows
        a, b = (int(c) for c in column.split("-"))
        first = lambda cell: float(NUMBER.findall(cell.replace("**", ""))[0].replace(",", ""))  # noqa: E731
        return span([first(r[a]) - first(r[b]) for r in wanted if NUMBER.findall(r[a]) and NUMBER.findall(r[b])])
    got = [r[int(column)].replace("**", "") for r in wanted]
    if pick is not None:
        got = [NUMBER.findall(c)[int(pick[1:])] for c in got]
    if len(got) == 1:
        return got[0]
    numbers = sorted(got, key=lambda c: float(c.replace(",", "").replace("−", "-")))
    return numbers[0] if numbers[0] == numbers[-1] else f"{numbers[0]}–{numbers[-1]}"


def elementwise_figure(results: pathlib.Path, what: str, kind: str, *where: str) -> str:
    """The element-wise prototypes (results/elementwise.jsonl): 'ratios KIND TARGET' each speed
    run's ratio to the GRU ("1.21× and 1.23×", TARGET with _ for spaces); 'ratio-span KIND' their
    span over every target; 'gap KIND [CORPUS]' the span over seeds (and corpora) of its loss less
    the recipe's GRU's of the same seed; 'spread gru CORPUS' the GRU's two seeds' distance."""
    got = rows(results, "elementwise.jsonl")
    speed = [r for r in got if r["what"] == "speed" and r.get("version") is None and "--chunk" not in r.get("command", "")]
    if what == "ratios":
        return " and ".join(f"{r['ratio']:.2f}×" for r in speed if r["kind"] == kind and r["target"] == where[0].replace("_", " "))
    if what == "ratio-span":
        return span([r["ratio"] for r in speed if r["kind"] == kind], 2) + "×"
    equal = [r for r in got if r["what"] == "equal-time" and (not where or r["corpus"] == where[0])]
    gru = {(r["corpus"], r["seed"]): r["val"] for r in equal if r["kind"] not in ("mingru", "qrnn1", "qrnn2")}
    if what == "spread":
        vals = [v for (c, _), v in gru.items()]
        return one_digit(max(vals) - min(vals)) if max(vals) - min(vals) < 0.001 else f"{max(vals) - min(vals):.3f}"
    return span([r["val"] - gru[(r["corpus"], r["seed"])] for r in equal if r["kind"] == kind], 2 if not where else 3)


def networks_figure(results: pathlib.Path, what: str, *args: str) -> str:
    """The networks grid (results/networks.jsonl): 'margin CELL' how far CELL's mean lies below the
    nearest other cell's, the span over the rows; 'share CELL OTHER' CELL's chars/s as a
    share of OTHER's (medians), the span over the rows; 'spread CORPUS [BUDGET CELL]' how far apart
    one cell's seeds land, the span over the cells; 'run CORPUS BUDGET CELL SEED FIELD' one
    run's field."""
    got = [r for r in rows(results, "networks.jsonl") if r.get("val") is not None]
    if what == "run":
        corpus, budget, cell, seed, field = args
        r = next(r for r in got if (r["corpus"], r["budget"], r["cell"], r["seed"]) == (corpus, budget, cell, int(seed)))
        return f"{r[field]:,.0f}" if isinstance(r[field], float) and r[field] > 100 else f"{r[field]:,}" if isinstance(r[field], int) else f"{r[field]:.3f}"
    groups = {}
    for r in got:
        groups.setdefault((r["corpus"], r["budget"], r["hidden"]), {}).setdefault(r["cell"], []).append(r)
    if what == "spread":  # 'spread CORPUS [BUDGET CELL]': the distance between seeds of one cell, the span over cells
        spreads = [max(v["val"] for v in runs) - min(v["val"] for v in runs) for (c, b, _), g in groups.items()
                   for cell, runs in g.items() if c == args[0] and len(runs) > 1 and args[1:] in ((), (b, cell))]
        return span(spreads)
    if what == "margin":
        mean = statistics.mean
        gaps = [min(mean(v["val"] for v in g[c]) for c in g if c != args[0]) - mean(v["val"] for v in g[args[0]])
                for g in groups.values()]
        return f"{min(gaps):.2f} to {max(gaps):.2f}"
    shares = [statistics.median(v["chars_per_sec"] for v in g[args[0]]) / statistics.median(v["chars_per_sec"] for v in g[args[1]])
              for g in groups.values()]
    return f"{100 * min(shares):.0f}–{100 * max(shares):.0f}%"


FIGURES = {
    "output": output_figure,
    "views": views_figure,
    "seeds": seeds_figure,
    "stock": stock_figure,
    "note": note_figure,
    "bound-cut": bound_cut_figure,
    "run": run_figure,
    "networks": networks_figure,
    "cell": cell_figure,
    "elementwise": elementwise_figure,
    "md": md_figure,
    "default": default_figure,
    "screening": screening_figure,
    "sharing": sharing_figure,
    "activation": activation_figure,
    "makemore": makemore_figure,
    "finetune": finetune_figure,
}


def figure(results: pathlib.Path, name: str, args: str) -> str:
    """FIGURES[name] of the marker's arguments; a last argument "ja" writes a span as Japanese
    text does (1.994〜2.007)."""
    args_ = args.split()
    if args_[-1:] == ["ja"]:
        return FIGURES[name](results, *args_[:-1]).replace("–", "〜").replace(" to ", "〜")
    return FIGURES[name](results, *args_)


def marked_table(results: pathlib.Path, name: str, args: str) -> str:
    """TABLES[name] of the marker's arguments (most tables take none)."""
    return TABLES[name](results, *args.split())


def rewritten(text: str, results: pathlib.Path) -> str:
    """The document with every marked table and figure made anew from the rows."""
    text = MARKED.sub(lambda m: m.group(1) + marked_table(results, m.group(2), m.group(3)) + "\n" + m.group(5), text)
    return FIGURE.sub(lambda m: m.group(1) + figure(results, m.group(2), m.group(3)) + m.group(5), text)


def differences(results: pathlib.Path = RESULTS, documents=DOCUMENTS) -> list[str]:
    """'document: table' for every marked table or figure that differs from what its rows make."""
    out = []
    for doc in documents:
        text = doc.read_text(encoding="utf-8")
        for m in MARKED.finditer(text):
            if m.group(2) not in TABLES:
                out.append(f"{doc.relative_to(ROOT)}: {m.group(2)} (no such table)")
            elif m.group(4) != marked_table(results, m.group(2), m.group(3)) + "\n":
                out.append(f"{doc.relative_to(ROOT)}: {m.group(2)}{m.group(3)}")
        for m in FIGURE.finditer(text):
            if m.group(2) not in FIGURES:
                out.append(f"{doc.relative_to(ROOT)}: figure {m.group(2)} (no such figure)")
            elif m.group(4) != figure(results, m.group(2), m.group(3)):
                out.append(f"{doc.relative_to(ROOT)}: figure {m.group(2)}{m.group(3)} ({m.group(4)!r})")
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
