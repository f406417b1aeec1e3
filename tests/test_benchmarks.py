"""The benchmark scripts run (on tiny configurations; their numbers are not asserted)."""

import importlib
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args):
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300)


def test_throughput_script_runs():
    r = run("throughput.py", "--tiny")
    assert r.returncode == 0, r.stderr
    assert "| LSTM 1x16 B=4 |" in r.stdout


def test_throughput_of_the_candidates_reports_the_share_of_the_peak():
    r = run("throughput.py", "--tiny", "--candidates")
    assert r.returncode == 0, r.stderr
    assert "float32 peak of this machine" in r.stdout and "of peak" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("| LSTM 1x16 B=4 |"))
    P = int(row.split("|")[4].replace(",", ""))
    assert P == 4 * 16 * 16 + 65 * 16  # weight_hh and the decoder; weight_ih_l0 is a gather


def test_throughput_threads_comparison_runs_beside_a_busy_core():
    r = run("throughput.py", "--tiny", "--threads-compare", "--busy", "1")
    assert r.returncode == 0, r.stderr
    assert "1 core(s) kept busy" in r.stdout and "| LSTM 1x16 B=4 |" in r.stdout


def test_the_bound_replays_every_matrix_product_of_a_step():
    """The products-alone replay does the step's 6 N P flops (plus layer 0's one-hot gradient),
    for every stacked network at one and two layers: a product left out or counted twice would
    make the bound too high or too low."""
    sys.path.insert(0, str(BENCH))
    try:
        import throughput
    finally:
        sys.path.remove(str(BENCH))
    from charrnn.networks.stacked import StackedCells
    from charrnn import networks

    T, B, H, V = 7, 3, 8, 65
    checked = []
    for net in networks.NETWORKS.values():
        if not isinstance(net, StackedCells):
            continue
        for layers in (1, 2):
            run = throughput.Run(net.name, layers, H, B, T=T, V=V)
            pairs = throughput.matrix_products(run, T)
            flops = [2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs]
            onehot = 2 * net.cell_class.gates * H * T * B * V
            assert sum(flops) - onehot == 6 * T * B * throughput.dense_weights(run), (net.name, layers)
            assert all(a.dtype == b.dtype == np.float32 for a, b in pairs)
            checked.append(net.name)
    assert {"rnn", "gru", "lstm", "mlstm"} <= set(checked)


def test_the_bound_script_runs():
    r = run("throughput.py", "--tiny", "--bound")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| LSTM 1x16 B=4 |"))
    assert row.split("|")[5].strip().endswith("x")


def test_the_product_orders_script_times_every_per_step_product():
    r = run("throughput.py", "--tiny", "--orders")
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| LSTM 1x16 B=4 |")]
    assert [line.split("|")[2:4] for line in rows] == [[" weight_hh ", " forward "], [" weight_hh ", " backward "]]


def test_alternation_runs_the_old_and_the_new_code_side_by_side():
    if not (BENCH.parent / ".git").exists():
        pytest.skip("not a git checkout: the old code is taken from git")
    r = run("alternate.py", "--old", "HEAD", "--tiny")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| GRU 1x16 B=4 |"))
    assert row.split("|")[4].strip().endswith("x")


def test_alternation_of_the_sampling_loop_checks_both_versions_write_the_same_text():
    if not (BENCH.parent / ".git").exists():
        pytest.skip("not a git checkout: the old code is taken from git")
    r = run("alternate.py", "--old", "HEAD", "--tiny", "--sample")
    assert r.returncode == 0, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines() if line.startswith("| LSTM 1x16 |")]
    assert [row[2].strip() for row in rows] == ["1", "32"]
    assert all(row[6].strip() == "yes" for row in rows)  # HEAD and the working tree: the same model, the same text


def test_compare_torch_script_runs():
    pytest.importorskip("torch")
    r = run("compare_torch.py", "--tiny")
    assert r.returncode == 0, r.stderr
    assert "| LSTM 1x16 B=4 |" in r.stdout and "sampling" in r.stdout


def test_recipe_benchmark_table_from_results(tmp_path):
    rows = [{"who": "charrnn", "config": "GRU 1x256, B=32, T=100 ...", "wall": 121.5, "val": 1.70, "monitored": 1.71},
            {"who": "pytorch", "config": "LSTM 1x512 B=32", "steps": 400, "val": 1.90},
            {"who": "pytorch", "config": "LSTM 2x256 B=32", "steps": 500, "val": 1.80}]
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps({"corpus": "pydoc", "chars": 464970, "budget": "2m", "seconds": 120.0,
                             "machine": "x", "date": "2026-11-28", "rows": rows}) + "\n")
    r = run("recipe.py", "--table", "--results", str(f))
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("| pydoc"))
    assert "**1.700** GRU 1x256" in line and "(+1.2%)" in line and "| 1.900 | 1.800 |  |" in line
    assert line.endswith("| -0.100 |")


def test_recipe_benchmark_table_shows_a_stock_scripts_only_record(tmp_path):
    """--no-charrnn-run records (a stock script's second seed) have no charrnn row: the table
    shows the stock losses and no margin, rather than failing."""
    rows = [{"who": "pytorch", "config": "LSTM 2x512 B=64", "steps": 746, "val": 1.767}]
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps({"corpus": "shakespeare-60k", "chars": 60000, "budget": "10m", "seconds": 600.0,
                             "machine": "x", "date": "2026-12-01", "torch_seed": 1, "rows": rows}) + "\n")
    r = run("recipe.py", "--table", "--results", str(f))
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("| shakespeare-60k"))
    assert "not run" in line and "| 1.767 |" in line


def test_recipe_benchmark_runs():
    pytest.importorskip("torch")
    r = run("recipe.py", "--tiny")
    assert r.returncode == 0, r.stderr
    assert "| pydoc-80k |" in r.stdout and "GRU" in r.stdout


def test_recipe_benchmark_refuses_an_unknown_torch_config(tmp_path):
    r = run("recipe.py", "--torch-config", "3x300 B=8", "--results", str(tmp_path / "r.jsonl"))
    assert r.returncode == 2 and "2x256 B=32" in r.stderr and not (tmp_path / "r.jsonl").exists()


def test_the_old_code_is_really_the_old_package(tmp_path):
    """alternate.py must compare two packages: an import of the old one that reached the new
    `charrnn` would time the working tree against itself."""
    if not (BENCH.parent / ".git").exists():
        pytest.skip("not a git checkout: the old code is taken from git")
    sys.path.insert(0, str(BENCH))
    try:
        import alternate
        old = alternate.load_old("HEAD", tmp_path)
        import importlib
        step = alternate.module(old, "step")  # whichever the revision's layout
        assert pathlib.Path(step.__file__).is_relative_to(tmp_path)
        assert step.loss_and_grads.__module__ == "charrnn_old.teacher_forcing"
        assert importlib.import_module("charrnn_old.networks").get("gru").__module__.startswith("charrnn_old")
    finally:
        sys.path.remove(str(BENCH))  # the one copy put there: tests/test_tables.py's stays
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "charrnn_old" or m.startswith("charrnn_old.")]:
            del sys.modules[name]
    assert old.__name__ == "charrnn_old"


def test_alternating_train_processes_run_the_old_revision(tmp_path):
    """--train times `python -m charrnn` processes: the old one must import the extracted old
    package, not the working tree that a caller's directory or an editable install would give."""
    if not (BENCH.parent / ".git").exists():
        pytest.skip("not a git checkout: the old code is taken from git")
    r = subprocess.run([sys.executable, str(BENCH / "alternate.py"), "--old", "HEAD", "--train", "--tiny"],
                       capture_output=True, text=True, timeout=300, cwd=BENCH.parent)  # a directory holding charrnn/
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| GRU 1x16 B=4 |"))
    assert row.split("|")[4].strip().endswith("x")
    sys.path.insert(0, str(BENCH))
    try:
        import os

        import alternate
        alternate.extract("HEAD", tmp_path)
        ran = alternate.package_run({**os.environ, "PYTHONPATH": str(tmp_path)}, str(tmp_path))
        assert ran.is_relative_to(tmp_path.resolve())
    finally:
        sys.path.remove(str(BENCH))


def bench_module(name: str):
    """A benchmark script imported as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("copies", [1, 5])
def test_the_sharing_benchmarks_bptt_is_the_numerical_gradient(copies):
    """The shared RNN (one copy of the weights) and the unrolled one (a copy per step) both learn by
    the script's own BPTT: its gradient must be the loss's, element by element, or the comparison
    would measure a bug."""
    sharing = bench_module("sharing")
    T, B, V, H = 5, 3, 7, 4
    rng = np.random.default_rng(0)
    p = sharing.init(copies, V, H, rng)
    p["b_h"] += rng.normal(0, 0.1, p["b_h"].shape)
    ids = rng.integers(0, V, (T + 1, B))
    _, g = sharing.loss_and_grads(p, ids)
    eps = 1e-6
    for name, w in p.items():
        flat = w.reshape(-1)
        for i in rng.choice(flat.size, min(12, flat.size), replace=False):
            keep = flat[i]
            flat[i] = keep + eps
            up = sharing.loss_and_grads(p, ids, False)[0]
            flat[i] = keep - eps
            down = sharing.loss_and_grads(p, ids, False)[0]
            flat[i] = keep
            assert abs((up - down) / (2 * eps) - g[name].reshape(-1)[i]) < 1e-7, (name, i)
    if copies > 1:  # the unrolled copies are separate weights: the last step's W_hh[T-1] gets one contribution
        assert np.abs(g["W_hh"][T - 1]).sum() > 0 and np.abs(g["W_xh"][copies - 1:]).sum() > 0


def test_the_sharing_benchmark_writes_its_rows(tmp_path):
    out = tmp_path / "sharing.jsonl"
    r = run("sharing.py", "--T", "4", "--H", "8", "--B", "4", "--steps", "4", "--every", "2", "--results", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["windows"] for row in rows] == [2, 4]
    assert rows[0]["unshared_params"] == 4 * rows[0]["shared_params"]  # a copy per step
    assert {"date", "cpu", "commit", "command"} <= set(rows[0])


@pytest.mark.parametrize("chunk", [4, 10])
@pytest.mark.parametrize("kind", ["mingru", "qrnn1", "qrnn2"])
def test_the_elementwise_prototypes_backward_is_the_numerical_gradient(kind, chunk):
    """The prototypes learn by their own BPTT (the element-wise scan backward, a width-2 filter's
    step back, the one-hot gather's gradient): it must be the loss's gradient, with a carried
    state and a carried previous input, or their measured losses would measure a bug."""
    ew = bench_module("elementwise")
    T, B, V, H = 6, 3, 7, 5
    p = ew.Proto(kind, 2, H, V, seed=1, dtype=np.float64, chunk=chunk)  # 4: the window in two chunks
    rng = np.random.default_rng(2)
    for v in p.params.values():
        v += rng.normal(0, 0.3, v.shape)
    state = p.zero_state(B)
    state[0]["x"] = rng.integers(0, V, B)
    state[1]["x"] = rng.normal(0, 0.5, (B, H))
    for s in state:
        s["c"] = rng.normal(0, 0.5, (B, H))
    ids = rng.integers(0, V, (T + 1, B))
    _, g, _ = p.window(ids, state)
    eps = 1e-6
    for name, w in p.params.items():
        flat = w.reshape(-1)
        for i in rng.choice(flat.size, min(10, flat.size), replace=False):
            keep = flat[i]
            flat[i] = keep + eps
            up = p.window(ids, state, grads=False)[0]
            flat[i] = keep - eps
            down = p.window(ids, state, grads=False)[0]
            flat[i] = keep
            num, ana = (up - down) / (2 * eps), g[name].reshape(-1)[i]
            assert abs(num - ana) <= 1e-6 * max(1.0, abs(num)), (name, i, num, ana)


def test_the_elementwise_prototypes_are_sized_to_the_gru():
    ew = bench_module("elementwise")
    gru_1x128 = 3 * 128 * (65 + 128) + 6 * 128 + 65 * 129
    for kind, layers in ew.LAYERS.items():
        H = ew.width_for(kind, layers, gru_1x128, 65)
        assert abs(ew.param_count(kind, layers, H, 65) - gru_1x128) / gru_1x128 < 0.03


def test_trained_views_records_the_units_and_the_loss_by_position(tmp_path):
    """A tiny run of the script behind the neurons and by-position figures: one row, with each
    property's best units (r inside its interval) and the by-position buckets; --table reads it."""
    results = tmp_path / "r.jsonl"
    r = run("trained_views.py", "--corpus", "pydoc-80k", "--budget", "3s", "--by-position",
            "--work", str(tmp_path / "work"), "--results", str(results))
    assert r.returncode == 0, r.stderr
    row = json.loads(results.read_text())
    assert row["corpus"] == "pydoc-80k" and row["steps"] >= 0 and "commit" in row
    assert "column" in row["ranking"] and "brackets" in row["ranking"]
    for units in row["ranking"].values():
        assert all(u["low"] <= u["r"] <= u["high"] for u in units)
    assert (tmp_path / "work" / "pydoc-80k" / "best.safetensors").exists()
    r = run("trained_views.py", "--table", "--results", str(results))
    assert r.returncode == 0 and r.stdout.count("\n| ") == len(row["by_position"]["buckets"])


def test_a_walkthrough_records_what_each_command_printed(tmp_path, monkeypatch):
    """benchmarks/walkthrough.py runs a document's commands in one fresh directory, in order, and
    keeps each one's output as printed there (paths as the document writes them); a command that
    fails stops it with that command named."""
    walkthrough = bench_module("walkthrough")
    monkeypatch.setitem(walkthrough.WALKTHROUGHS, "tiny", [
        ("train", "charrnn train --steps 2 --eval-every 1 --hidden-size 8 --out runs/t --ascii"),
        ("info", "charrnn info runs/t/best.safetensors"),
    ])
    work = tmp_path / "work"
    work.mkdir()
    row = walkthrough.run("tiny", work)
    assert [s["step"] for s in row["steps"]] == ["train", "info"] and all(s["rc"] == 0 for s in row["steps"])
    assert "runs/t/best.safetensors" in row["steps"][0]["stdout"] and row["steps"][0]["stderr"].startswith("recipe: ")
    assert row["walkthrough"] == "tiny" and row["cpu"] and row["date"]
    monkeypatch.setitem(walkthrough.WALKTHROUGHS, "broken", [("eval", "charrnn eval runs/none.safetensors x.txt")])
    again = tmp_path / "again"
    again.mkdir()
    with pytest.raises(SystemExit, match="broken/eval failed"):
        walkthrough.run("broken", again)
