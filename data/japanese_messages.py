"""Make data/ja-messages.txt: Japanese text from the package registry (PyPI), for trying charrnn
on Japanese without committing any text.

    python data/japanese_messages.py            # pip-downloads two wheels, writes the text

The text is the Japanese translations (the msgstr strings of the `ja` gettext catalogues) of
Sphinx 9.0.4 (BSD-2-Clause) and Django 5.2.19 (BSD-3-Clause), in file order: 33,358
characters of modern Japanese sentences (error messages, help texts, UI labels) with
placeholders such as %s and {name} left in, 668 distinct characters. See data/README.md.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEELS = ("sphinx==9.0.4", "django==5.2.19")
OUT = pathlib.Path(__file__).resolve().parent / "ja-messages.txt"


def msgstrs(po: str) -> list[str]:
    """The translated strings of a .po catalogue (msgstr and msgstr[n], continuation lines
    joined), without the header entry (the translation of the empty msgid)."""
    entries, current = [], None  # entries: [kind, parts]
    for line in po.splitlines():
        if line.startswith(("msgid ", "msgid_plural ", "msgstr")):
            kind, literal = line.split(" ", 1)
            current = [kind, [ast.literal_eval(literal)]]
            entries.append(current)
        elif line.startswith('"') and current is not None:
            current[1].append(ast.literal_eval(line))
        else:
            current = None
    out, msgid = [], None
    for kind, parts in entries:
        if kind == "msgid":
            msgid = "".join(parts)
        elif kind.startswith("msgstr") and msgid:
            out.append("".join(parts))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", d, *WHEELS], check=True)
        texts = []
        for wheel in sorted(pathlib.Path(d).glob("*.whl")):
            with zipfile.ZipFile(wheel) as z:
                for name in sorted(n for n in z.namelist() if "/locale/ja/LC_MESSAGES/" in n and n.endswith(".po")):
                    texts += [s for s in msgstrs(z.read(name).decode("utf-8")) if s.strip()]
    OUT.write_text("\n".join(texts) + "\n", encoding="utf-8")
    text = OUT.read_text(encoding="utf-8")
    print(f"wrote {OUT}: {len(text):,} characters, {len(set(text))} distinct")


if __name__ == "__main__":
    main()
