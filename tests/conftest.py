import hashlib
import http.server
import threading

import numpy as np
import pytest

from charrnn import networks
from charrnn.ground import activations

# a ~200 character string with no repeated 3-gram structure worth speaking of
PANGRAMS = (
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
    "How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow. "
    "Waltz, bad nymph, for quick jigs vex."
)


def float_state(cell: str) -> bool:
    """Whether the network carries a float state of its own, which has a gradient (dL/d(state0)):
    stacked cells do; a state that is text (the jordan network's history) has none."""
    from charrnn.model import ModelConfig, zero_state

    return isinstance(zero_state(ModelConfig(vocab_size=3, hidden_size=2, cell=cell), 1), np.ndarray)


# every network of the registry; those whose carried state is a float state of their own, and every
# variant its options allow
NETWORKS = list(networks.NETWORKS)
STATE_CARRYING = [n for n in NETWORKS if float_state(n)]
VARIANTS = [(n, act, gate) for n, net in networks.NETWORKS.items()
            for act in (net.activation_choices if "activation" in net.policy.takes else ("tanh",))
            for gate in (activations.GATE_ACTIVATIONS if "gate_activation" in net.policy.takes else ("sigmoid",))]


def layer_counts(cell: str) -> list:
    """1 and 2 layers, or 1 for a network that has only one."""
    return [1] if networks.get(cell).policy.max_layers == 1 else [1, 2]


def random_state(config, B: int, rng):
    """A carried state with something in it: normal values in a float state, random characters
    (some 'before the text') in a history."""
    from charrnn.model import zero_state

    zero = zero_state(config, B, np.float64)
    if isinstance(zero, np.ndarray):
        return rng.normal(scale=0.5, size=zero.shape)
    zero.ids[...] = rng.integers(-1, config.vocab_size, size=zero.ids.shape)
    return zero


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def corpus_file(tmp_path):
    """A 6,000-character English corpus in a temporary file."""
    f = tmp_path / "corpus.txt"
    f.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    return f


@pytest.fixture
def runs(tmp_path, monkeypatch):
    d = tmp_path / "runs"
    monkeypatch.setenv("CHARRNN_RUNS", str(d))
    return d


def invoke(*args):
    from click.testing import CliRunner

    from charrnn.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(r, *needles):
    """The CLI refused with one line on stderr naming the problem: no traceback, no stdout."""
    assert r.exit_code != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


# an explicit model (cell, layers, size, dropout): a change of the recipe cannot change what these tests train
MODEL = ["--cell", "lstm", "--num-layers", "1", "--hidden-size", "16", "--dropout", "0"]
SMALL = [*MODEL, "--seq-len", "20", "--batch-size", "4", "--quiet"]


class Server:
    """A local HTTP server on 127.0.0.1 serving `body` (optionally cut short) at any path."""

    def __init__(self, body: bytes, truncate_to: int | None = None):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                # Counted before the first byte goes out: counted after, the client can have the
                # whole body and return before this thread counts (CI saw requests == 0).
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))  # announces the full size
                self.end_headers()
                self.wfile.write(body if truncate_to is None else body[:truncate_to])
                self.wfile.flush()

            def log_message(self, *a):
                pass

        self.requests = 0
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/input.txt"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)  # shutdown waits one poll

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def made_up_download(monkeypatch):
    """A made-up 'tinyshakespeare' (speaker names, verse) registered as the download, with its
    own size and SHA-256: the real download code runs, on text made here. Returns its bytes."""
    from charrnn.corpus import corpora

    rng = np.random.default_rng(0)
    words = PANGRAMS.replace(";", "").replace("!", "").replace(",", "").split()
    lines = []
    for i in range(400):
        lines.append(("ROMEO:" if i % 3 else "JULIET:") + "\n" + " ".join(rng.choice(words, 9)) + ".\n")
    body = "\n".join(lines).encode()
    real = corpora.DOWNLOADS["tinyshakespeare"]
    made_up = corpora.Download(real.filename, real.url, hashlib.sha256(body).hexdigest(), len(body))
    monkeypatch.setitem(corpora.DOWNLOADS, "tinyshakespeare", made_up)
    return body


def resealed(data: bytes) -> bytes:
    """A checkpoint file's bytes with its checksum recomputed over what it now holds (a hostile
    file made with care): what the checks field by field must still refuse. Bytes whose tensors
    safetensors cannot read are returned as they are."""
    import json
    import struct

    from safetensors.numpy import load

    from charrnn.training.checkpoint import CHECKSUM, checksum

    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__")
    try:
        tensors = load(data)
    except Exception:  # safetensors refuses it: nothing to seal
        return data
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        return data
    meta[CHECKSUM] = checksum(tensors, meta)
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def checkpoint_with_training_state(cell="lstm", hidden_size=6, num_layers=2, batch_size=3, stepped=True,
                                   with_plan=False):
    """A checkpoint as the trainer writes it (TrainState.to_checkpoint), with a complete
    training state, the optimiser state of one Adam step and a carried state with something in
    it (of whatever form the network keeps), built in memory. A network with fewer layers than
    asked gets as many as it can have. `stepped=False`: as a run writes it when its budget ended
    before its first step (no optimiser state yet). `with_plan`: (checkpoint, plan)."""
    from charrnn.corpus.streams import Corpus
    from charrnn.model import ModelConfig
    from charrnn.training.budget import Budget
    from charrnn.training.options import TrainOptions
    from charrnn.training.plan import RunPlan
    from charrnn.training.state import TrainState

    corpus = Corpus.from_text(PANGRAMS * 3)
    config = ModelConfig(vocab_size=len(corpus.vocab), hidden_size=hidden_size, cell=cell,
                         num_layers=min(num_layers, layer_counts(cell)[-1]))
    plan = RunPlan(corpus_arg="c.txt", notes=[], corpus_info={"name": "c.txt", "path": None, "encoding": "utf-8",
                                                              "normalize": "none"},
                   corpus=corpus, config=config, options=TrainOptions(batch_size=batch_size, seq_len=10),
                   budget=Budget(end_step=5), batch_size=batch_size, out_dir="unused", prior=None, val_unigram=1.5)
    state = TrainState.fresh(plan)
    if stepped:
        state.optimizer.step(state.params, {k: np.ones_like(v) for k, v in state.params.items()})
        state.step, state.history = 1, [{"step": 1, "elapsed": 0.5, "train_loss": 3.0, "val_loss": 2.0}]
        state.carried = config.network.cast_state(random_state(config, batch_size, np.random.default_rng(7)), np.float32)
    return (state.to_checkpoint(plan), plan) if with_plan else state.to_checkpoint(plan)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), driven by Playwright. It skips where there is none, except
    where $CHARRNN_REQUIRE_BROWSER is set (.ci/run sets it): there a missing browser fails."""
    import os
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CHARRNN_REQUIRE_BROWSER"):
            pytest.fail("no Chromium, and $CHARRNN_REQUIRE_BROWSER asks for the browser tests to run")
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu",
                                                          "--disable-background-networking"])
        yield b
        b.close()
