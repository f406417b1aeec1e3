"""The documents' tables of measured figures are made from benchmarks/results by
benchmarks/tables.py: a table that differs from its rows fails here."""

import json
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import tables  # noqa: E402


def test_every_marked_table_is_what_its_rows_make():
    assert tables.differences() == []
    marked = {m.group(2) for doc in tables.DOCUMENTS for m in tables.MARKED.finditer(doc.read_text(encoding="utf-8"))}
    assert marked == set(tables.TABLES)  # every table the script makes stands in a document


@pytest.mark.parametrize("name", ["makemore.jsonl", "makemore-explore.jsonl", "checksum.jsonl"])
def test_one_changed_number_in_a_row_fails_the_check(tmp_path, name):
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    lines = (results / name).read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[-1])
    key = next(k for k in ("test", "checksum_ms") if k in row)
    row[key] = row[key] + 0.01 if key == "test" else row[key] * 2
    (results / name).write_text("\n".join(lines[:-1] + [json.dumps(row)]) + "\n", encoding="utf-8")
    assert tables.differences(results) != []


def _recipe_rows(results, name="recipe.jsonl"):
    return [json.loads(line) for line in (results / name).read_text(encoding="utf-8").splitlines()]


def _write(results, records, name="recipe.jsonl"):
    (results / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_the_recipe_grid_follows_its_rows(tmp_path):
    """A changed loss in a current default row changes the grid; a row marked superseded leaves it,
    and the one it hid (an older run of the same corpus, budget and seed) does not come back."""
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    before = tables.recipe_grid(results)
    records = _recipe_rows(results)
    current = next(r for r in records if r["corpus"] == "numpy" and r["budget"] == "10m")
    row = next(x for x in current["rows"] if x["who"] == "charrnn")
    row["val"] += 0.01
    _write(results, records)
    assert tables.recipe_grid(results) != before and tables.differences(results) != []
    row["superseded"] = "a test"
    _write(results, records)
    assert "| numpy | 10 min |" not in tables.recipe_grid(results)


def test_the_grid_compares_only_runs_on_the_same_cpu(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    records = _recipe_rows(results)
    for r in records:
        if r["corpus"] == "numpy" and r["budget"] == "10m":
            r["machine"] = "Intel(R) Xeon(R) Processor, 2 cores"
            r["rows"] = [x for x in r["rows"] if x["who"] == "charrnn"]
    _write(results, records)
    line = next(l for l in tables.recipe_grid(results).splitlines() if l.startswith("| numpy | 10 min |"))
    assert "not run" in line and "| — |" in line


def test_every_prose_figure_is_what_its_rows_make_and_follows_them(tmp_path):
    """A figure marked in a sentence (<!-- figure: ... -->) is computed from its rows: every kind
    is used, the documents agree, and a changed row changes the figure and fails the check."""
    used = {m.group(2) for doc in tables.DOCUMENTS for m in tables.FIGURE.finditer(doc.read_text(encoding="utf-8"))}
    assert used == set(tables.FIGURES)
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    lines = (results / "sharing.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    last = max(r["windows"] for r in rows)
    before = tables.figure(results, "sharing", f" unshared {last}")
    next(r for r in rows if r["windows"] == last)["unshared_val"] += 0.05
    (results / "sharing.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert tables.figure(results, "sharing", f" unshared {last}") != before
    assert any("figure sharing unshared" in d for d in tables.differences(results))


def _raised(who, corpus, budget):
    """A change to a recipe record: its `who` rows' losses up by 0.1, for one text and budget."""
    return lambda r: [x.update(val=x["val"] + 0.1) for x in r["rows"] if x["who"] == who] \
        if r["corpus"] == corpus and r["budget"] == budget else None


@pytest.mark.parametrize("name, args, file, change", [
    # a cell of a generated table, one number of it and a difference of two columns
    ("cell", "exposure 5 1=~steps 2=0.25 #0", "exposure.jsonl", lambda r: r.update(val=r["val"] + 0.5)
     if r["p"] == 0.25 and "steps" in r["budget"] else None),
    ("networks", "margin mlstm", "networks.jsonl", lambda r: r.update(val=r["val"] - 0.2) if r["cell"] == "mlstm" else None),
    ("run", "val tinyshakespeare 30m 0 GRU", "recipe.jsonl", _raised("charrnn", "tinyshakespeare", "30m")),
    ("run", "vs-stock tinyshakespeare 10m 0 MLSTM cpu=AMD !weight_decay", "recipe.jsonl",
     _raised("pytorch", "tinyshakespeare", "10m")),
    ("stock", "val tinyshakespeare 30m 2x256_B=32", "recipe.jsonl", _raised("pytorch", "tinyshakespeare", "30m")),
    ("seeds", "5m MLSTM shakespeare-60k pydoc-80k", "recipe-seeds.jsonl", _raised("charrnn", "pydoc-80k", "5m")),
    # the quick start run again: a median over the default's runs alone
    ("cell", "quickstart-repeat 4 0=the_default 3=~runs #0", "quickstart-repeat.jsonl",
     lambda r: [x.update(val=x["val"] + 0.5) for x in r["rows"]] if r["charrnn_args"] == ["--seed", "0"] else None),
])
def test_a_figure_follows_the_row_it_reads(tmp_path, name, args, file, change):
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    before = tables.figure(results, name, args)
    rows = [json.loads(line) for line in (results / file).read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        change(r)
    (results / file).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert tables.figure(results, name, args) != before


def test_a_cell_figure_reads_the_table_as_shown():
    table = "| a | b | c |\n|---|---|---|\n| x one | **1.500** (1.4..1.6) | 1.250 |\n| y | 2.000 | 1.000 |\n"
    tables.TABLES["_probe"] = lambda results: table
    try:
        assert tables.cell_figure(tables.RESULTS, "_probe", "1", "0=~one", "#0") == "1.500"
        assert tables.cell_figure(tables.RESULTS, "_probe", "1", "0=~one", "#2") == "1.6"
        assert tables.cell_figure(tables.RESULTS, "_probe", "2") == "1.000–1.250"
        assert tables.cell_figure(tables.RESULTS, "_probe", "1-2") == "0.250–1.000"
        assert tables.cell_figure(tables.RESULTS, "_probe", "2", "0=y") == "1.000"
    finally:
        del tables.TABLES["_probe"]


def test_a_walkthrough_excerpt_is_the_newest_recorded_run(tmp_path):
    """The output a document shows of a trained model (`<!-- table: output NAME STEP ... -->`, and
    figures read from it) is what benchmarks/walkthrough.py recorded: a newer run of the
    walkthrough, with other output, fails the check until the documents are rewritten."""
    results = tmp_path / "results"
    shutil.copytree(tables.RESULTS, results)
    rows = [json.loads(line) for line in (results / "walkthroughs.jsonl").read_text(encoding="utf-8").splitlines()]
    newest = next(r for r in reversed(rows) if r["walkthrough"] == "ja")
    step = next(s for s in newest["steps"] if s["step"] == "train")
    best = tables.figure(results, "output", r"ja train best\svalidation\sloss\s+\|\s([\d.]+)")
    assert best in step["stdout"] and best in tables.output(results, "ja", "train", "lines=1-11")
    step["stdout"] = step["stdout"].replace(best, "9.8765")
    with open(results / "walkthroughs.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(newest, ensure_ascii=False) + "\n")
    assert tables.figure(results, "output", r"ja train best\svalidation\sloss\s+\|\s([\d.]+)") == "9.8765"
    changed = tables.differences(results)
    assert any("output ja train lines=1-11" in d for d in changed)
    assert any("figure output ja train best" in d for d in changed)


def test_a_walkthrough_excerpt_keeps_the_lines_asked_for(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    row = {"walkthrough": "w", "steps": [{"step": "s", "stdout": "one  \ntwo\nthree\nfour\n\n", "stderr": "recipe: x\nstep 1 (1%) best\nstep 2 (2%)\nstep 3 (3%) best\n"}]}
    (results / "walkthroughs.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert tables.output(results, "w", "s") == "```\none\ntwo\nthree\nfour\n```"
    assert tables.output(results, "w", "s", "lines=1-2,4") == "```\none\ntwo\nfour\n```"
    assert tables.output(results, "w", "s", "lines=1,-2", "...") == "```\none\n...\nfour\n```"  # -1 is the blank line
    assert tables.output(results, "w", "s", "grep=^t") == "```\ntwo\nthree\n```"
    assert tables.output(results, "w", "s", "stderr", "lines=1") == "```\nrecipe: x\n```"
    assert tables.figure(results, "output", r"w s step\s(\d+)\s\([^\n]*best stderr #-1") == "3"
    assert tables.figure(results, "output", r"w s step\s(\d+)\s\([^\n]*best stderr") == "1"
