"""The pictures the README and docs show, made from the current code in a real browser
(Debian's Chromium, driven by Playwright), so that none of them is older than the code.

    python benchmarks/pictures.py neurons CKPT TEXT OUT.png [--property column] [--width 1280]
        the neurons page of CKPT on TEXT (val: the run's validation split), coloured by the unit
        that best tracks the property
    python benchmarks/pictures.py gradients OUT.png [--width 1280] [-- inspect-gradients options]
        the page of `charrnn inspect-gradients --html`, from its gradient-flow chart down
    python benchmarks/pictures.py svg OUT.svg [-- inspect-gradients options]
        the terminal report of inspect-gradients as an SVG
    python benchmarks/pictures.py page CKPT OUT.png [--prime TEXT] [--length N] [--width 1280]
        the model's page (`charrnn page`) after generating from the prime, one character hovered
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile


def charrnn(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "charrnn", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"charrnn {args[0]} failed: {r.stderr.strip()[-300:]}")
    return r.stdout


def screenshot(page_file: pathlib.Path, out: pathlib.Path, width: int, act=None, height: int = 900) -> None:
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise SystemExit("no Chromium: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu",
                                                                "--disable-background-networking"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(page_file.as_uri())
        if act:
            act(page)
        page.screenshot(path=str(out))
        browser.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["neurons", "gradients", "svg", "page"])
    ap.add_argument("--prime", default="", help="page: the prime")
    ap.add_argument("--length", default="400", help="page: characters to generate")
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--property", default="column", help="neurons: colour by the best unit for this property")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--max-chars", default="1500")
    argv = sys.argv[1:]
    # what follows `--` is for inspect-gradients, not for argparse (which would take it as `rest`)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = ap.parse_args(argv[:cut]), argv[cut + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        page_file = pathlib.Path(tmp) / "page.html"
        if args.what == "neurons":
            ckpt, text, out = args.rest
            text = [] if text == "val" else [text]
            report = json.loads(charrnn("neurons", ckpt, *text, "--max-chars", args.max_chars, "--json"))
            best = next(p for p in report["ranking"] if p["property"] == args.property)["units"][0]
            unit = f"{best['layer']}:{best['kind']}:{best['index']}"
            charrnn("neurons", ckpt, *text, "--max-chars", args.max_chars, "--unit", unit, "--html", str(page_file))
            print(f"{args.property}: best unit {unit}, r = {best['r']:+.2f} ({best['low']:+.2f} .. {best['high']:+.2f})")
            screenshot(page_file, pathlib.Path(out), args.width)
        elif args.what == "gradients":
            (out,) = args.rest
            charrnn("inspect-gradients", *extra, "--html", str(page_file))
            # from the gradient-flow chart down: the check table above it is long and says less at a glance
            at_flow = lambda page: page.evaluate(  # noqa: E731
                "window.scrollTo(0, document.getElementById('flow').closest('figure').previousElementSibling"
                ".previousElementSibling.offsetTop - document.querySelector('header').offsetHeight - 12)")
            screenshot(page_file, pathlib.Path(out), args.width, act=at_flow, height=1250)
        elif args.what == "page":
            ckpt, out = args.rest
            charrnn("page", ckpt, str(page_file))

            def generate(page):
                page.fill("#prime", args.prime)
                page.fill("#length", args.length)
                page.click("#go")
                page.wait_for_function("document.getElementById('status').textContent === 'done'", timeout=120000)
                page.locator("#out span.c").nth(30).hover()

            screenshot(page_file, pathlib.Path(out), args.width, act=generate, height=700)
        else:
            (out,) = args.rest
            charrnn("inspect-gradients", *extra, "--svg", out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
