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
