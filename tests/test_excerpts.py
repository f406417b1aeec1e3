"""Every excerpt of a command's output in the documents is checked against what the current code
prints: a document marks one with `<!-- excerpt: charrnn ... -->` before its ```text block, the
command is run (fresh models, fixed seeds), and each line of the excerpt must match a line of the
output: words and table rules exactly, numbers within 10% (counts within 1), sparklines in any
shape (they draw the numbers beside them)."""

import pathlib
import re
import shlex

import pytest

from conftest import invoke

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "README.ja.md", *sorted((ROOT / "docs").glob("*.md"))]
EXCERPT = re.compile(r"<!-- excerpt: (charrnn [^>]*?) -->\n```text\n(.*?)```", re.S)
NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?%?")
SPARK = set(" .:-=+*#")


def excerpts():
    return [(doc.name, cmd, body) for doc in DOCUMENTS for cmd, body in EXCERPT.findall(doc.read_text(encoding="utf-8"))]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("|")]


def same_number(a: str, b: str) -> bool:
    x, y = (float(s.rstrip("%").replace(",", "")) for s in (a, b))
    if re.fullmatch(r"[\d,]+", a) and re.fullmatch(r"[\d,]+", b):
        return abs(x - y) <= max(1, 0.1 * abs(y))
    return x == y or abs(x - y) <= 0.1 * max(abs(x), abs(y))


def same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    if a and b and set(a) <= SPARK and set(b) <= SPARK:
        return True
    na, nb = NUMBER.findall(a), NUMBER.findall(b)
    if len(na) != len(nb) or NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    return all(same_number(x, y) for x, y in zip(na, nb))


def matches(line: str, output: list[str]) -> bool:
    want = cells(line)
    return any(len(cells(o)) == len(want) and all(same_cell(w, g) for w, g in zip(want, cells(o))) for o in output)


_outputs = {}


def output_of(cmd: str) -> list[str]:
    if cmd not in _outputs:
        r = invoke(*shlex.split(cmd)[1:])
        assert r.exit_code == 0, r.output
        _outputs[cmd] = r.stdout.splitlines()
    return _outputs[cmd]


def test_the_documents_hold_excerpts():
    assert len(excerpts()) >= 4


@pytest.mark.parametrize("doc, cmd, body", excerpts(), ids=lambda v: v[:40] if isinstance(v, str) else v)
def test_every_excerpt_is_the_current_output(doc, cmd, body):
    output = output_of(cmd)
    for line in body.strip("\n").splitlines():
        assert matches(line, output), f"{doc}: not in the output of `{cmd}`:\n{line}"


def test_a_changed_number_is_caught():
    assert same_cell("1.2e-02", "1.25e-02") and not same_cell("1.2e-02", "1.2e-03")
    assert same_cell("13 steps", "12 steps") and not same_cell("13 steps", "15 steps")
    assert not matches("| rnn tanh 1x32 | 4.6254 |", ["| rnn tanh 1x32 | 9.1 |"])
