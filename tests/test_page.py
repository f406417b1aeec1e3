"""`charrnn page`: a model as one self-contained HTML file that runs it in the browser. In headless
Chromium, for every network of the registry: after the same prime the page's next-character
distribution is NumPy's on the page's own weights, and greedy generation writes NumPy's text."""

import json
import re

import numpy as np
import pytest

import mgu as mgu_module
from charrnn import networks, sampling
from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, init_params
from charrnn.reports import page as page_report
from charrnn.training import checkpoint

from conftest import NETWORKS, PANGRAMS, invoke, layer_counts, one_line_error

VOCAB = Vocab(sorted(set(PANGRAMS + "\n")))
PRIME = "The quick"


def saved_model(tmp_path, cell, scale=1.0, **kw):
    """A fresh model of `cell` over VOCAB (weights scaled, so that it is not near uniform), saved."""
    layers = layer_counts(cell)[-1]
    config = ModelConfig(vocab_size=len(VOCAB), hidden_size=12, num_layers=layers, cell=cell,
                         **({"context": 3} if cell == "jordan" else {}), **kw)
    params = {n: p * scale for n, p in init_params(config, np.random.default_rng(3)).items()}
    path = tmp_path / f"{cell}.safetensors"
    checkpoint.save(checkpoint.Checkpoint(config=config, vocab=VOCAB, params=params,
                                          corpus={"name": "pangrams"}), path)
    return path


def numpy_reference(path, prime, n):
    """NumPy's next-character distribution after the prime, and its greedy text, on the weights
    as the page holds them."""
    ck = checkpoint.load(path)
    vocab = ck.vocab
    params = page_report.dequantised(page_report.page_data(ck))
    config = ck.config
    start = ("\n" if config.item_start is not None else "") + prime
    state = sampling.read_prime(params, config, vocab.encode(start[:-1]), 1)
    logits, _ = sampling.step(params, config, np.array([vocab.index[start[-1]]]), state)
    settings = sampling.SampleSettings(length=n, greedy=True, stop="\n" if config.item_start is not None else None)
    text = "".join(c[0] for c in sampling.generate(params, config, vocab, settings, sampling.sample_seeds(0, 1), start))
    return sampling.sampling_distribution(logits)[0], text


def opened(browser, page_file, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    fetched = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(page_file.as_uri())
    assert [u for u in fetched if not u.startswith("file:")] == []  # nothing but the file itself
    return page


def trained_model(tmp_path, cell):
    """A model of `cell` trained a little on the pangrams: its greedy text is a text."""
    corpus = tmp_path / "pangrams.txt"
    corpus.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    args = ["--cell", cell, "--hidden-size", "24", "--num-layers", str(layer_counts(cell)[-1]), "--dropout", "0",
            "--steps", "120", "--lr", "0.02", "--seq-len", "40", "--batch-size", "8", "--eval-every", "0", "--quiet"]
    assert invoke("train", corpus, *args, *(["--context", "6"] if cell == "jordan" else []),
                  "--out", tmp_path / "run").exit_code == 0
    return tmp_path / "run" / "last.safetensors"


@pytest.mark.slow
@pytest.mark.parametrize("cell", NETWORKS)
def test_the_page_runs_the_model_as_numpy_does(tmp_path, browser, cell):
    path = trained_model(tmp_path, cell)
    page_file = tmp_path / f"{cell}.html"
    r = invoke("page", path, page_file)
    assert r.exit_code == 0, r.output
    expected_p, expected_text = numpy_reference(path, PRIME, 200)
    page = opened(browser, page_file)
    got = np.array(page.evaluate(f"charrnnPage.distribution({json.dumps(PRIME)})"))
    np.testing.assert_allclose(got, expected_p, rtol=0, atol=1e-9)
    assert page.evaluate(f"charrnnPage.greedy({json.dumps(PRIME)}, 200)") == expected_text
    assert len(expected_text) == 200 and len(set(expected_text)) > 8  # a text, not one character over and over
    page.close()


@pytest.mark.slow
def test_a_list_models_page_writes_whole_items(tmp_path, browser):
    path = saved_model(tmp_path, "gru", scale=4.0, item_start=VOCAB.index["\n"])
    page_file = tmp_path / "list.html"
    assert invoke("page", path, page_file).exit_code == 0
    expected_p, expected_text = numpy_reference(path, "qu", 60)
    page = opened(browser, page_file)
    np.testing.assert_allclose(np.array(page.evaluate("charrnnPage.distribution('qu')")), expected_p, atol=1e-9)
    assert page.evaluate("charrnnPage.greedy('qu', 60)") == expected_text


def test_float16_keeps_the_probabilities_within_the_tolerance_or_float32_is_used(tmp_path):
    small = checkpoint.load(saved_model(tmp_path, "lstm"))
    data = page_report.page_data(small)
    assert data["precision"] == "float16" and data["probe"]["max_diff"] <= page_report.TOLERANCE
    full = {n: p.astype(np.float64) for n, p in small.params.items()}
    assert page_report.probe(full, page_report.dequantised(data), small) == pytest.approx(data["probe"]["max_diff"])
    large = checkpoint.load(saved_model(tmp_path, "gru", scale=3e5))  # beyond float16's range
    assert page_report.page_data(large)["precision"] == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_at_a_phones_width_and_by_keyboard(tmp_path, browser, width):
    path = saved_model(tmp_path, "mlstm", scale=3.0)
    page_file = tmp_path / "m.html"
    assert invoke("page", path, page_file).exit_code == 0
    html = page_file.read_text(encoding="utf-8")
    assert "src=" not in html and "http://" not in html and "https://" not in html and "@import" not in html
    page = opened(browser, page_file, width)
    page.fill("#prime", "The ")
    page.fill("#length", "120")
    page.focus("#go")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#out span.c').length >= 120", timeout=20000)
    page.wait_for_function("document.getElementById('status').textContent === 'done'")
    assert page.inner_text("#out").startswith("The ")
    page.locator("#out span.c").nth(5).focus()
    assert page.locator("#tip").is_visible()
    probs = [float(p) for p in page.eval_on_selector_all("#tip tr.pred", "els => els.map(e => e.dataset.p)")]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    assert "mlstm" in page.inner_text("h1")
    shot = tmp_path / f"page-{width}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_a_page_too_large_or_for_a_network_without_one_is_one_line(tmp_path, monkeypatch):
    path = saved_model(tmp_path, "gru")
    monkeypatch.setattr(page_report, "LIMIT_BYTES", 1000)
    one_line_error(invoke("page", path, tmp_path / "p.html"), "a page holds at most")
    assert not (tmp_path / "p.html").exists()
    networks.register(mgu_module.NETWORK)
    try:
        config = ModelConfig(vocab_size=len(VOCAB), hidden_size=4, cell="mgu")
        mgu_path = tmp_path / "mgu.safetensors"
        checkpoint.save(checkpoint.Checkpoint(config=config, vocab=VOCAB,
                                              params=init_params(config, np.random.default_rng(0))), mgu_path)
        one_line_error(invoke("page", mgu_path, tmp_path / "q.html"), "no page")
    finally:
        networks.unregister("mgu")


def test_the_page_says_what_it_holds(tmp_path):
    path = saved_model(tmp_path, "rnn")
    r = invoke("page", path, tmp_path / "p.html")
    assert re.search(r"wrote .*p\.html: [0-9.]+ MiB, weights in float16; float16 moved a probability by at most", r.stderr)
