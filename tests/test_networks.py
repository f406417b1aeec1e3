"""The registry of networks: every network through every command, each declared once, and the
multiplicative LSTM's equations checked against a direct transcription of them."""

import ast
import json
import pathlib
import re

import numpy as np
import pytest

from charrnn import networks, sampling
from charrnn.training import checkpoint
from charrnn.model import ModelConfig, init_params, param_shapes, zero_state
from charrnn.networks.jordan import History

from conftest import NETWORKS, PANGRAMS, invoke, layer_counts

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "charrnn"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small trained checkpoint per network (explicit model: no recipe), on a pangram text."""
    root = tmp_path_factory.mktemp("networks")
    corpus = root / "corpus.txt"
    corpus.write_text((PANGRAMS + "\n") * 30, encoding="utf-8")
    out = {}
    for cell in NETWORKS:
        r = invoke("train", corpus, "--cell", cell, "--num-layers", layer_counts(cell)[-1], "--hidden-size", 12,
                   "--dropout", 0.1, "--seq-len", 20, "--batch-size", 4, "--lr", 0.01, "--steps", 25,
                   "--eval-every", 25, "--quiet", "--out", root / cell)
        assert r.exit_code == 0, (cell, r.output)
        out[cell] = root / cell
    return corpus, out


@pytest.mark.parametrize("cell", NETWORKS)
def test_every_network_trains_samples_evaluates_resumes_and_is_inspected(trained, cell):
    corpus, runs = trained
    best, last = runs[cell] / "best.safetensors", runs[cell] / "last.safetensors"
    ck = checkpoint.load(best)
    assert ck.config.cell == cell and ck.train.best_val_loss < np.log(len(ck.vocab))  # it learned something

    r = invoke("sample", best, "--prime", "The quick", "--length", 40, "--seed", 1)
    assert r.exit_code == 0 and r.stdout.startswith("The quick") and len(r.stdout) == 9 + 40 + 1
    assert r.stdout == invoke("sample", best, "--prime", "The quick", "--length", 40, "--seed", 1).stdout

    ev = json.loads(invoke("eval", best, corpus, "--json").stdout)
    assert ev["loss"] < ev["unigram"]

    info = json.loads(invoke("info", best, "--json").stdout)
    assert [t["name"] for t in info["tensors"]] == list(param_shapes(ck.config))
    loads = ck.config.network.torch_module(ck.config)[0] is not None
    assert info["pytorch"]["loads"] is loads
    assert ("no PyTorch counterpart" in info["pytorch"]["module"]) is not loads

    r = invoke("train", "--resume", last, "--steps", 3, "--quiet")
    assert r.exit_code == 0, r.output
    assert checkpoint.load(last).train.step == 28

    rep = json.loads(invoke("inspect-gradients", best, "--json", "--seq-len", 12, "--check-steps", 4,
                            "--check-elements", 6).stdout)
    (m,) = rep["models"]
    assert rep["all_checks_passed"] and max(t["rel_error"] for t in m["gradient_check"]["tensors"]) < 1e-6
    gates = [b.symbol for k, b in ck.config.network.blocks(ck.config) if k == 0 and b.gate]
    assert [g["gate"] for g in m["gates_open"] if g["layer"] == 0] == gates
    assert m["model"]["label"] == ck.config.label() and m["gradient_path"]

    exp = json.loads(invoke("exposure-bias", best, "--json", "--prefixes", 4, "--warmup", 20, "--horizon", 15,
                            "--show", 1).stdout)
    assert exp["prefixes"] == 4 and len(exp["per_offset"]["free_running_loss"]) == 15


def test_the_multiplicative_lstm_says_no_torch_module_loads_it(trained):
    _, runs = trained
    info = json.loads(invoke("info", runs["mlstm"] / "best.safetensors", "--json").stdout)
    assert info["pytorch"] == {"loads": False, "module": "no PyTorch counterpart: torch.nn has no mlstm module"}
    assert [t["name"] for t in info["tensors"]][:5] == ["mlstm.weight_ih_l0", "mlstm.weight_gm_l0",
                                                        "mlstm.weight_mh_l0", "mlstm.bias_ih_l0", "mlstm.bias_gm_l0"]


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_multiplicative_lstm_step_is_the_papers_equations(rng):
    """One step of the mlstm (two layers), written out from Krause et al.'s equations with each
    weight block sliced by hand, against the network's own step."""
    V, H, B = 6, 4, 3
    config = ModelConfig(vocab_size=V, hidden_size=H, num_layers=2, cell="mlstm")
    p = init_params(config, rng, np.float64)
    for w in p.values():
        w *= 3.0
    state = rng.normal(size=(2, 2, B, H))
    x = rng.integers(0, V, size=B)
    top, new = config.network.step(p, config, x, state)
    inp = np.eye(V)[x]  # (B, V) one-hot
    for k in range(2):
        W_ih, b_ih = p[f"mlstm.weight_ih_l{k}"], p[f"mlstm.bias_ih_l{k}"]
        W_gm, b_gm, W_mh = p[f"mlstm.weight_gm_l{k}"], p[f"mlstm.bias_gm_l{k}"], p[f"mlstm.weight_mh_l{k}"]
        h_prev, c_prev = state[k, 0], state[k, 1]
        block = lambda j: slice(j * H, (j + 1) * H)  # noqa: E731
        m = (inp @ W_ih[block(4)].T + b_ih[block(4)]) * (h_prev @ W_mh.T)
        pre = [inp @ W_ih[block(j)].T + b_ih[block(j)] + m @ W_gm[block(j)].T + b_gm[block(j)] for j in range(4)]
        i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), np.tanh(pre[2]), sigmoid(pre[3])
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        np.testing.assert_allclose(new[k, 0], h, rtol=1e-12)
        np.testing.assert_allclose(new[k, 1], c, rtol=1e-12)
        inp = h
    np.testing.assert_allclose(top, inp, rtol=1e-12)


def code_names(path: pathlib.Path) -> list:
    """The identifiers and string literals (docstrings left out) of a module's code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
    return out


def networks_named(path: pathlib.Path) -> list:
    """(line, text) of each identifier or string in a module's code that names a network of the
    registry (prose in docstrings and comments may name them)."""
    word = re.compile(r"(?<![\w-])(" + "|".join(networks.NETWORKS) + r")(?![\w-])", re.IGNORECASE)
    return [(line, text) for line, text in code_names(path) if word.search(text)]


def test_no_module_outside_the_networks_names_a_network():
    """Everything outside charrnn/networks asks the registry, on every floor."""
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if "networks" not in p.relative_to(PACKAGE).parts]
    assert len(modules) > 40  # the whole package, not its top floor only
    found = [(str(path.relative_to(PACKAGE)), line, text) for path in modules for line, text in networks_named(path)]
    assert found == []


def test_the_check_finds_a_network_named_in_code(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""jordan in prose is fine."""\nif config.cell == "jordan":\n    pass\n')
    assert networks_named(bad) == [(2, "jordan")]


@pytest.mark.parametrize("cell", NETWORKS)
def test_each_declaration_is_consistent(cell):
    net = networks.get(cell)
    config = ModelConfig(vocab_size=7, hidden_size=4, num_layers=layer_counts(cell)[-1], cell=cell)
    shapes = param_shapes(config)
    for k, block in net.blocks(config):
        for _, (name, lo, hi) in block.tensors():
            assert name in shapes and 0 <= lo < hi <= shapes[name][0], (name, lo, hi)
    assert set(net.recurrent_weights(config)) <= set(shapes)
    assert net.policy.summary and net.policy.gradient_path and net.label(config)
    state = zero_state(config, 3)
    assert net.state_batch(state) == 3
    back = net.state_from_tensor(config, net.state_tensor(state))
    assert net.state_batch(back) == 3


def test_a_jordan_history_written_as_floats_before_it_had_a_type_still_loads(rng):
    """Checkpoints from before the history was its own type stored it as (1, 1, B, k) floats
    holding id + 1 (0: none)."""
    config = ModelConfig(vocab_size=5, hidden_size=3, cell="jordan", context=2)
    old = np.array([[[[0.0, 3.0], [5.0, 1.0]]]], dtype=np.float32)  # (1, 1, B=2, k=2)
    state = config.network.state_from_tensor(config, old)
    assert state == History(np.array([[-1, 2], [4, 0]]))
    with pytest.raises(ValueError, match="outside"):
        config.network.state_from_tensor(config, np.array([[0, 9]], dtype=np.int64))


def test_sampling_keeps_the_carried_state_of_the_network_it_steps(rng):
    """The test-time step never changes the state it is given (scheduled sampling and
    exposure-bias read a window's state and then the window itself)."""
    for cell in NETWORKS:
        config = ModelConfig(vocab_size=5, hidden_size=3, num_layers=layer_counts(cell)[-1], cell=cell)
        params = init_params(config, rng)
        state = sampling.read_prime(params, config, np.array([1, 2, 3]), 2)
        before = config.network.cast_state(state, np.float32)
        sampling.step(params, config, np.array([0, 4]), state)
        assert config.network.state_tensor(state).tolist() == config.network.state_tensor(before).tolist()


def test_the_help_and_the_package_description_name_every_network():
    import configparser

    from charrnn.cli import main

    first = main.help.strip().splitlines()[0] + main.help.strip().splitlines()[1]
    assert all(name in first for name in networks.NETWORKS)
    description = configparser.ConfigParser()
    description.read(PACKAGE.parent / "setup.cfg")
    summaries = description["metadata"]["description"]
    assert all(net.name in summaries.lower() or net.policy.summary.split(" (")[0].lower() in summaries.lower()
               for net in networks.NETWORKS.values()), summaries
