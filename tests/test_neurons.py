"""`charrnn neurons`: the properties of a text, the ranking of units on a model built so that a
unit must track one, the terminal views, and the page in a real browser."""

import json

import numpy as np
import pytest

from charrnn.reports import neurons

from conftest import invoke, one_line_error


def test_properties_of_a_text():
    text = 'say "hi (x[1])" # not\nab'
    assert neurons.quotes(text).tolist() == [0, 0, 0, 0] + [1] * 11 + [0] * 9
    assert neurons.brackets(text)[8:16].tolist() == [1, 1, 2, 2, 1, 0, 0, 0]
    assert neurons.column(text).tolist()[-3:] == [0, 1, 2]
    assert neurons.word_start("ab cd1 e").tolist() == [1, 0, 0, 1, 0, 0, 0, 1]
    code = 'x = "a#b"  # c\ny = 1'
    assert neurons.code(code).tolist() == [0, 0, 0, 0] + [1] * 5 + [0, 0] + [1] * 3 + [0] * 6
    assert neurons.script(0x3041, 0x309F)("あア亜").tolist() == [1, 0, 0]
    jp = "「はい」と言った。"
    assert neurons.quotes(jp).tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0]


def test_properties_absent_from_a_text_are_not_measured():
    names = [p.name for p, _ in neurons.properties_of("plain words only\nand more words\n" * 5)]
    assert names == ["column", "word_start"]


def test_the_interval_is_wide_for_noise_and_narrow_for_a_real_link():
    rng = np.random.default_rng(0)
    n, sums = 4000, neurons.Sums(2, 1)
    y = np.repeat(rng.integers(0, 2, size=n // 40), 40).astype(float)[:, None]  # long runs, as in text
    X = np.stack([y[:, 0] + rng.normal(scale=0.5, size=n), rng.normal(size=n)], axis=1)
    sums.add(np.arange(n) * neurons.BLOCKS // n, X, y)
    r, lo, hi = sums.correlations()
    assert r[0, 0] > 0.6 and lo[0, 0] > 0.5  # tracks it, and the interval says so
    assert lo[1, 0] < 0 < hi[1, 0]  # noise: the interval holds 0


def nested_brackets(rng, n):
    out = []
    depth = 0
    while len(out) < n:
        if depth and (depth >= 4 or rng.random() < 0.45):
            out.append(")")
            depth -= 1
        elif rng.random() < 0.5:
            out.append("(")
            depth += 1
        else:
            out.append("ab"[rng.integers(2)])
        if depth == 0 and rng.random() < 0.1:
            out.append("\n")
    return "".join(out)


@pytest.fixture(scope="module")
def bracket_model(tmp_path_factory):
    """A small LSTM trained on text of nested brackets, up to depth 4: to predict a ')' it must
    count the depth, so some unit must track it."""
    d = tmp_path_factory.mktemp("brackets")
    corpus = d / "brackets.txt"
    corpus.write_text(nested_brackets(np.random.default_rng(0), 30_000))
    r = invoke("train", corpus, "--cell", "lstm", "--num-layers", 1, "--hidden-size", 16, "--dropout", 0,
               "--seq-len", 50, "--batch-size", 16, "--lr", 0.01, "--steps", 400, "--eval-every", 0, "--quiet",
               "--out", d / "run")
    assert r.exit_code == 0, r.output
    return d / "run" / "best.safetensors", corpus


def report(*args):
    r = invoke("neurons", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_a_unit_tracks_bracket_depth_in_a_model_that_must_count(bracket_model):
    ckpt, corpus = bracket_model
    r = report(ckpt, corpus, "--max-chars", 2000, "--max-units", 40)
    depth = next(p for p in r["ranking"] if p["property"] == "brackets")
    best = depth["units"][0]
    assert abs(best["r"]) > 0.8 and best["clear"], best
    # the same text with its brackets shuffled among the other characters: no unit can track depth
    shuffled = np.random.default_rng(1).permutation(list(corpus.read_text()[:20000]))
    f = corpus.parent / "shuffled.txt"
    f.write_text("".join(shuffled))
    noise = next(p for p in report(ckpt, f, "--max-chars", 500)["ranking"] if p["property"] == "brackets")
    assert abs(noise["units"][0]["r"]) < abs(best["r"]) - 0.3


def test_json_holds_the_page_data_and_respects_the_bounds(bracket_model):
    ckpt, corpus = bracket_model
    r = report(ckpt, corpus, "--max-chars", 300, "--max-units", 12)
    assert r["shown_characters"] == 300 and len(r["text"]) == 301 and len(r["units"]) == 12
    assert all(len(u["values"]) == 300 and max(map(abs, u["values"])) <= 127 for u in r["units"])
    assert r["units_total"] == 16 * 6  # h, c and the four gate and candidate blocks of an LSTM 1x16
    P = r["predictions"]
    assert len(P["top_ids"]) == 300 and all(sum(p) <= 1.0 + 1e-9 for p in P["top_p"])
    gates = {s["gate"] for s in r["saturation"]}
    assert gates == {"i", "f", "o"} and all(len(s["below_0.1"]) == 16 for s in r["saturation"])


def test_terminal_table_and_a_unit_coloured(bracket_model):
    ckpt, corpus = bracket_model
    r = invoke("neurons", ckpt, corpus, "--top", 2, "--unit", "0:c:3", "--max-chars", 200)
    assert r.exit_code == 0, r.output
    assert "bracket depth" in r.stdout and "the text coloured by 0:c:3" in r.stdout
    gate = invoke("neurons", ckpt, corpus, "--top", 40, "--unit", "0:o:3", "--max-chars", 200).stdout
    assert "0:o:3" in gate and "\u2b55" not in gate  # the output gate's name, not rich's emoji for ":o:"
    one_line_error(invoke("neurons", ckpt, corpus, "--unit", "0:q:3"), "no unit 0:q:3")
    one_line_error(invoke("neurons", ckpt, corpus, "--unit", "zero"), "LAYER:INDEX")


def test_every_network_goes_through(tmp_path, corpus_file):
    from conftest import NETWORKS, SMALL, layer_counts

    for cell in NETWORKS:
        out = tmp_path / cell
        args = [a for a in SMALL if a not in ("lstm",)]
        args[args.index("--cell") + 1:args.index("--cell") + 1] = [cell]
        args[args.index("--num-layers") + 1] = str(layer_counts(cell)[-1])
        assert invoke("train", corpus_file, *args, "--steps", 2, "--out", out).exit_code == 0
        r = report(out / "best.safetensors", corpus_file, "--max-chars", 100)
        assert r["units"] and r["model"]["cell"] == cell


def test_the_page_is_one_file_with_nothing_to_fetch(bracket_model, tmp_path):
    ckpt, corpus = bracket_model
    page = tmp_path / "n.html"
    r = invoke("neurons", ckpt, corpus, "--html", page, "--max-chars", 400)
    assert r.exit_code == 0, r.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<script type="application/json" id="data">' in html
    assert "src=" not in html and "http://" not in html and "https://" not in html and "@import" not in html


# ------------------------------------------------------------------------- in a real browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_in_a_real_browser(bracket_model, tmp_path, browser, width):
    ckpt, corpus = bracket_model
    page_file = tmp_path / "neurons.html"
    assert invoke("neurons", ckpt, corpus, "--html", page_file, "--max-chars", 600).exit_code == 0
    data = json.loads(invoke("neurons", ckpt, corpus, "--max-chars", 600, "--json").stdout)
    page = browser.new_page(viewport={"width": width, "height": 900})
    fetched = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(page_file.as_uri())
    assert [u for u in fetched if not u.startswith("file:")] == []  # nothing from the network
    spans = page.locator("#text span.c")
    assert spans.count() == data["shown_characters"]
    shown = "".join(page.eval_on_selector_all("#text span.c", "els => els.map(e => e.textContent)"))
    assert shown.replace("\u21b5\n", "\n") == data["text"][: data["shown_characters"]]  # every character
    colours = lambda: page.eval_on_selector_all("#text span.c", "els => els.map(e => e.style.backgroundColor)")  # noqa: E731
    before = colours()
    page.select_option("#unit", index=3)
    after = colours()
    assert before != after and len(set(after)) > 5  # another unit, other colours
    page.check("#by-loss")
    assert colours() != after
    page.uncheck("#by-loss")
    spans.nth(10).hover()
    tip = page.locator("#tip")
    assert tip.is_visible()
    probs = [float(p) for p in page.eval_on_selector_all("#tip tr.pred", "els => els.map(e => e.dataset.p)")]
    assert len(probs) == 5 and sum(probs) <= 1.0 + 1e-6 and probs == sorted(probs, reverse=True)
    spans.nth(20).focus()  # the keyboard shows it too
    assert tip.is_visible() and "loss" in tip.inner_text()
    assert page.locator("#key").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    shot = tmp_path / f"neurons-{width}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a picture, not a blank (the README's: benchmarks/pictures.py)


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_the_gradient_report_page_in_a_real_browser(tmp_path, browser, corpus_file, width):
    """`inspect-gradients --html`: a page with charts, not a terminal dump -- the flow as a
    log-scale line per model (and per cell path), bars per step against the whole gradient,
    gate-openness histograms, tables that fit the width."""
    page_file = tmp_path / "report.html"
    r = invoke("inspect-gradients", "--corpus", corpus_file, "--seq-len", 30, "--hidden-size", 8, "--check-steps", 3,
               "--check-elements", 4, "--html", page_file, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    page = browser.new_page(viewport={"width": width, "height": 900})
    fetched = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(page_file.as_uri())
    assert [u for u in fetched if not u.startswith("file:")] == []
    lines = sum(1 + (m["cell_path_flow"] is not None) for m in report["models"])
    assert page.locator("#flow polyline").count() == lines
    first = report["models"][0]
    assert page.locator("#share figure").count() == len(first["parameter_sharing"])
    assert page.locator("#share figure").first.locator("rect").count() == 30  # one bar per step
    page.select_option("#share-model", index=len(report["models"]) - 1)
    assert page.locator("#share figure").count() == len(report["models"][-1]["parameter_sharing"])
    gated = sum(len(m["gates_open"]) for m in report["models"])
    assert page.locator("#openness figure").count() == gated
    rows = sum(len(m["gradient_check"]["tensors"]) for m in report["models"])
    assert page.locator("#check tbody tr").count() == rows
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    shot = tmp_path / f"report-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_page_that_cannot_be_written_is_one_line(bracket_model, tmp_path):
    ckpt, corpus = bracket_model
    where = tmp_path / "no-such-dir" / "page.html"
    one_line_error(invoke("neurons", ckpt, corpus, "--max-chars", 50, "--html", where), "cannot write")
    r = invoke("inspect-gradients", ckpt, "--corpus", corpus, "--seq-len", 10, "--html", where)
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "cannot write" in r.stderr  # was a traceback
