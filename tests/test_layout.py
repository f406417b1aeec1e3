"""The house has floors and the folders show them: a module imports only from its own floor or
below (imports inside functions included), and every path the documents name exists."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "charrnn"

# bottom up; "" is the top of the package: the files a learner reads first
FLOORS = ("ground", "corpus", "networks", "", "training", "reports", "views", "api", "cli")
LEARNER_FILES = {"model.py", "teacher_forcing.py", "sampling.py", "scheduled_sampling.py"}
EXEMPT = {"__init__.py", "__main__.py"}  # the package's front door and `python -m charrnn`


def floor_of(module: str) -> int | None:
    """The floor of a module named charrnn.a.b (None for the package itself, which is exempt)."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    return FLOORS.index(parts[0]) if parts[0] in FLOORS else FLOORS.index("")


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every charrnn module a source imports, anywhere in it. `from charrnn
    import x` names the module charrnn.x where x is one, else the package itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "charrnn"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "charrnn":
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                is_module = (ROOT / sub.replace(".", "/")).is_dir() or (ROOT / (sub.replace(".", "/") + ".py")).is_file()
                found.append((node.lineno, sub if is_module else node.module))
    return found


def violations(sources: dict) -> list[str]:
    """'path:line: module (floor) imports target (floor)' for every import that goes up a floor."""
    out = []
    for path, source in sources.items():
        if path.name in EXEMPT and path.parent == PACKAGE:
            continue
        importer = module_name(path)
        mine = floor_of(importer)
        for line, target in imported_modules(source):
            theirs = floor_of(target)
            if theirs is not None and theirs > mine:
                out.append(f"{path.relative_to(ROOT)}:{line}: {importer} (floor {FLOORS[mine] or 'top'}) imports "
                           f"{target} (floor {FLOORS[theirs] or 'top'})")
    return out


def package_sources() -> dict:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_import_stays_on_its_floor_or_goes_down():
    assert violations(package_sources()) == []


def test_an_upward_import_is_caught_even_inside_a_function():
    sources = package_sources()
    ops = PACKAGE / "ground" / "ops.py"
    sources[ops] += "\n\ndef planted():\n    from charrnn.training import loop\n"
    found = violations(sources)
    assert len(found) == 1 and "charrnn.ground.ops (floor ground) imports charrnn.training.loop" in found[0]
    learner = PACKAGE / "sampling.py"
    sources = package_sources()
    sources[learner] = "from charrnn import reports\n" + sources[learner]
    assert len(violations(sources)) == 1


def test_ls_shows_the_floors():
    """`ls charrnn/` draws the house: one folder a floor, and at the top only what a learner
    reads first."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {f for f in FLOORS if f}
    assert {p.name for p in PACKAGE.glob("*.py")} == LEARNER_FILES | EXEMPT
    for folder in folders:
        assert (PACKAGE / folder / "__init__.py").read_text(encoding="utf-8").startswith('"""'), folder


DOCUMENTS = [ROOT / "README.md", ROOT / "README.ja.md", ROOT / "data" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAMED_PATH = re.compile(r"(?<![\w./-])((?:charrnn|benchmarks|tests|docs|data)/[\w./-]*\w)")


GENERATED = [line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines() if "/" in line.strip("/")]


def missing_paths(text: str) -> list[str]:
    """The paths of this checkout that a document names and that do not exist (a file the
    documents tell the user to make, which .gitignore keeps out of the repository, excepted)."""
    return sorted({p for p in NAMED_PATH.findall(text)
                   if not (ROOT / p).exists() and not any(pathlib.PurePath(p).match(g) for g in GENERATED)})


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(doc):
    assert missing_paths(doc.read_text(encoding="utf-8")) == []


def test_a_stale_path_is_caught():
    assert missing_paths("see `charrnn/trainer.py` and charrnn/training/loop.py") == ["charrnn/trainer.py"]
    assert missing_paths("made by data/japanese_messages.py: data/ja-messages.txt") == []
