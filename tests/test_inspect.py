"""`charrnn inspect-gradients`: the report, its JSON, and that its checks can fail."""

import json

import numpy as np

import pytest

from charrnn.model import ModelConfig, param_shapes
from charrnn import networks
from charrnn.networks.lstm import LSTMCell

from conftest import SMALL, float_state, invoke

FAST = ["--seq-len", "100", "--hidden-size", "16", "--check-steps", "6", "--check-elements", "6", "--batch-size", "2"]


def by_name(report):
    """Each model by its network and the option it varies: "rnn-tanh", "lstm-hard_sigmoid"."""
    out = {}
    for m in report["models"]:
        c = m["model"]
        takes = networks.get(c["cell"]).policy.takes
        key = c["cell"] + "-" + (c["gate_activation"] if "gate_activation" in takes else c["activation"])
        out[key] = m
    return out


@pytest.fixture(scope="module")
def fresh_report():
    r = invoke("inspect-gradients", "--json", *FAST)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_fresh_models_of_every_kind_side_by_side(fresh_report):
    """Every network of the registry, in each variant its policy lists, in the registry's order."""
    expected = []
    for name, net in networks.NETWORKS.items():
        for variant in net.policy.fresh_variants:
            config = ModelConfig(vocab_size=3, cell=name, **variant)
            varied = "gate_activation" if "gate_activation" in net.policy.takes else "activation"
            expected.append(f"{name}-{getattr(config, varied)}")
    assert list(by_name(fresh_report)) == expected
    # the comparisons the documents describe (docs/inspect-gradients.md)
    assert {"rnn-tanh", "rnn-sigmoid", "rnn-relu", "lstm-sigmoid", "lstm-hard_sigmoid"} <= set(expected)
    assert fresh_report["window"]["seq_len"] == 100
    assert fresh_report["all_checks_passed"] is True


def test_json_holds_every_section(fresh_report):
    for m in fresh_report["models"]:
        assert {"gradient_check", "gradient_flow", "parameter_sharing", "gates", "clipping", "loss"} <= set(m)
        names = [t["name"] for t in m["gradient_check"]["tensors"]]
        config = dict(m["model"])
        config.pop("parameters"), config.pop("label")
        shapes = param_shapes(ModelConfig(**config))
        initial = ["initial_state"] if float_state(config["cell"]) else []
        assert names == list(shapes) + initial
        assert all(t["rel_error"] < fresh_report["tolerance"] for t in m["gradient_check"]["tensors"])
        assert len(m["gradient_flow"]["norms"]) == 100
        assert {"global_norm", "clip", "would_clip"} <= set(m["clipping"])
    lstm = by_name(fresh_report)["lstm-sigmoid"]
    gates = [(g["gate"], g["nonlinearity"]) for g in lstm["gates"] if g["layer"] == 0]
    assert gates == [("i", "sigmoid"), ("f", "sigmoid"), ("g", "tanh"), ("o", "sigmoid")]
    assert lstm["gates"][1]["tensors"][2]["name"] == "rnn.bias_ih_l0[16:32]"


def test_contributions_add_up(fresh_report):
    for m in fresh_report["models"]:
        for s in m["parameter_sharing"]:
            assert s["sum_matches_full"], (m["model"], s["name"])
            assert len(s["step_norms"]) == 100


def test_sigmoid_rnn_gradient_vanishes_faster_than_lstm(fresh_report):
    models = by_name(fresh_report)
    sig, tanh, lstm = (models[k]["gradient_flow"] for k in ("rnn-sigmoid", "rnn-tanh", "lstm-sigmoid"))
    assert sig["vanish_steps"] is not None
    assert lstm["vanish_steps"] is None or sig["vanish_steps"] < lstm["vanish_steps"]
    assert sig["vanish_steps"] < tanh["vanish_steps"]
    # after 20 steps back, the sigmoid RNN keeps far less of the gradient than the LSTM
    assert sig["norms"][20] / sig["norms"][0] < 1e-3 * lstm["norms"][20] / lstm["norms"][0]


def test_a_planted_backward_bug_fails_the_check(monkeypatch):
    real = LSTMCell.step_backward

    def wrong(self, dstate, cache, W, dax_out, dout):
        dh_prev, dc_prev = real(self, dstate, cache, W, dax_out, dout)
        return dh_prev, dc_prev * 1.1  # dc_{t-1} = dc * f, off by 10%

    monkeypatch.setattr(LSTMCell, "step_backward", wrong)
    r = invoke("inspect-gradients", "--json", *FAST)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    models = by_name(report)
    assert not models["lstm-sigmoid"]["gradient_check"]["passed"]
    assert models["gru-sigmoid"]["gradient_check"]["passed"]
    assert "gradient check failed" in r.stderr


def test_with_a_checkpoint_and_rendered_report(corpus_file, tmp_path, runs):
    assert invoke("train", corpus_file, *SMALL, "--steps", "3", "--out", tmp_path / "r").exit_code == 0
    ck = tmp_path / "r" / "best.safetensors"
    r = invoke("inspect-gradients", ck, "--seq-len", "30", "--svg", tmp_path / "report.svg")
    assert r.exit_code == 0, r.output
    for heading in ("1. Gradient check", "2. Gradient flow", "3. Parameter sharing", "4. Biases", "5. Clipping"):
        assert heading in r.stdout
    assert "lstm (sigmoid gates) 1x16" in r.stdout
    assert (tmp_path / "report.svg").read_text().startswith("<svg")
    r = invoke("inspect-gradients", ck, "--seq-len", "30", "--json", "--corpus", corpus_file)
    report = json.loads(r.stdout)
    assert len(report["models"]) == 1 and report["models"][0]["model"]["hidden_size"] == 16


def test_checkpoint_without_its_corpus_is_one_line(corpus_file, tmp_path, runs):
    assert invoke("train", corpus_file, *SMALL, "--steps", "2", "--out", tmp_path / "r").exit_code == 0
    corpus_file.unlink()
    r = invoke("inspect-gradients", tmp_path / "r" / "best.safetensors")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "--corpus" in r.stderr


def test_html_report(tmp_path):
    r = invoke("inspect-gradients", *FAST, "--html", tmp_path / "report.html")
    assert r.exit_code == 0, r.output
    html = (tmp_path / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html>") and "2. Gradient flow" in html


def test_per_step_norms_match_an_independent_computation(rng):
    """The report's per-step contribution norms are those of dL/dW_t for a network whose W is
    unshared at step t, by finite differences (see tests/test_teacher_forcing.py)."""
    from charrnn.reports.gradients import numerical_gradient
    from charrnn.reports.inspect import inspect
    from charrnn.model import ModelConfig, init_params, zero_state
    from test_teacher_forcing import loss_unshared_at

    config = ModelConfig(vocab_size=5, hidden_size=3, cell="gru")
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, 5, size=(6, 2))
    report = inspect(params, config, ids, check_steps=2, check_elements=4)
    state0 = zero_state(config, 2, np.float64)
    for row in report["parameter_sharing"]:
        for t, norm in enumerate(row["step_norms"]):
            value = params[row["name"]].copy()
            numeric = numerical_gradient(lambda: loss_unshared_at(params, config, ids, state0, t, row["name"], value),
                                         value)
            assert norm == pytest.approx(np.linalg.norm(numeric), rel=1e-6, abs=1e-10), (row["name"], t)


def test_recurrent_scale_makes_gradients_explode_and_clipping_fire():
    args = ["inspect-gradients", "--json", "--seq-len", "60", "--hidden-size", "16", "--check-steps", "2",
            "--check-elements", "2", "--batch-size", "2"]
    normal = by_name(json.loads(invoke(*args).stdout))
    scaled = json.loads(invoke(*args, "--recurrent-scale", "6").stdout)
    assert scaled["window"]["recurrent_scale"] == 6.0 and scaled["all_checks_passed"]
    scaled = by_name(scaled)
    assert normal["rnn-tanh"]["gradient_flow"]["explode_steps"] is None
    assert scaled["rnn-tanh"]["gradient_flow"]["explode_steps"] is not None
    assert scaled["rnn-tanh"]["clipping"]["would_clip"] and not normal["rnn-tanh"]["clipping"]["would_clip"]


def test_at_the_scale_the_docs_name_the_tanh_and_relu_rnns_explode_and_the_check_still_passes():
    """`inspect-gradients --recurrent-scale 4` (docs/inspect-gradients.md): both explode within the window,
    the sigmoid one still vanishes, and the gradient check passes -- where the centred difference is
    too coarse for gradients this steep, Richardson extrapolation refines it (gradients.py)."""
    r = json.loads(invoke("inspect-gradients", "--json", "--recurrent-scale", "4", "--seq-len", "50",
                          "--hidden-size", "16", "--check-steps", "12", "--check-elements", "6").stdout)
    models = by_name(r)
    for name in ("rnn-tanh", "rnn-relu"):
        assert models[name]["gradient_flow"]["explode_steps"] is not None, name
        assert models[name]["clipping"]["would_clip"], name
    assert models["rnn-sigmoid"]["gradient_flow"]["vanish_steps"] is not None
    assert r["all_checks_passed"], [(m["model"]["label"], t["name"], t["rel_error"]) for m in r["models"]
                                    for t in m["gradient_check"]["tensors"] if not t["passed"]]


def test_the_parameter_count_line_of_a_20_step_window(corpus_file):
    """The line the docs quote: the parameters serve all 20 steps; unrolled with separate weights
    they would be 20 times as many."""
    r = invoke("inspect-gradients", "--seq-len", "20", "--hidden-size", "8", "--check-steps", "2",
               "--check-elements", "2", "--corpus", corpus_file)
    line = next(l for l in r.stdout.splitlines() if l.startswith("lstm (sigmoid gates) 1x8:"))
    assert "parameters serve all 20 steps" in line and "(20 times as many)" in line


@pytest.mark.parametrize("forget_bias,open_", [(10.0, True), (-10.0, False)])
def test_gate_openness_and_the_lstm_cell_path(rng, forget_bias, open_):
    """A forget gate held open (bias +10) keeps the cell path's gradient over the whole window;
    held shut (-10), the cell path carries nothing back."""
    from charrnn.reports.inspect import inspect
    from charrnn.model import ModelConfig, init_params

    config = ModelConfig(vocab_size=7, hidden_size=5)
    params = init_params(config, rng, np.float64)
    params["rnn.bias_hh_l0"][5:10] = forget_bias  # rows H..2H: the forget gate
    r = inspect(params, config, rng.integers(0, 7, size=(41, 3)), check_steps=2, check_elements=2)
    gates = {g["gate"]: g for g in r["gates_open"]}
    assert set(gates) == {"i", "f", "o"}
    assert gates["f"]["above_0.9" if open_ else "below_0.1"] == 1.0
    assert 0.0 < gates["i"]["mean"] < 1.0
    cell_path = np.array(r["cell_path_flow"])
    assert cell_path[0] == 0.0 and len(cell_path) == 40  # nothing arrives at c_T from after the window
    if open_:
        assert cell_path[-1] > 1e-3 * cell_path[1]  # still there 40 steps back
    else:
        assert cell_path[-1] < 1e-30
    assert r["parameters"]["unrolled_with_separate_weights"] == 40 * r["parameters"]["shared"]


def test_a_gated_cell_takes_relu_or_elu_but_not_sigmoid_for_its_candidate(corpus_file, runs, tmp_path):
    from conftest import one_line_error

    one_line_error(invoke("train", corpus_file, *SMALL, "--cell", "lstm", "--activation", "sigmoid"),
                   "lstm candidate activation", "must be one of tanh, relu, elu")
    r = invoke("train", corpus_file, *SMALL, "--cell", "gru", "--activation", "elu", "--steps", "2", "--out", tmp_path / "e")
    assert r.exit_code == 0, r.output
    info = json.loads(invoke("info", tmp_path / "e" / "best.safetensors", "--json").stdout)
    assert info["pytorch"]["loads"] is False and "candidate is tanh, not elu" in info["pytorch"]["module"]


def test_info_says_whether_pytorch_can_load_the_weights(corpus_file, tmp_path, runs):
    for name, extra, loads in (("a", [], True), ("b", ["--gate-activation", "hard_sigmoid"], False)):
        assert invoke("train", corpus_file, *SMALL, *extra, "--steps", "1", "--out", tmp_path / name).exit_code == 0
        r = json.loads(invoke("info", tmp_path / name / "best.safetensors", "--json").stdout)
        assert r["pytorch"]["loads"] is loads
        assert ("torch.nn.LSTM(" in r["pytorch"]["module"]) is loads
