import numpy as np
import pytest

from charrnn.ground.optim import OPTIMIZERS, average_into, clip_by_global_norm, global_norm, make_optimizer


def quadratic_run(name, steps, lr, optimizer=None):
    """Minimise 0.5*||p - target||^2 from p = 0; returns (params, optimizer)."""
    target = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    params = {"w": np.zeros(3, dtype=np.float32)}
    opt = optimizer or make_optimizer(name, lr)
    for _ in range(steps):
        opt.step(params, {"w": params["w"] - target})
    return params, opt, target


@pytest.mark.parametrize("name,lr", [("adam", 0.1), ("adagrad", 0.5), ("rmsprop", 0.05), ("sgd", 0.05)])
def test_each_optimizer_minimises_a_quadratic(name, lr):
    params, _, target = quadratic_run(name, 400, lr)
    np.testing.assert_allclose(params["w"], target, atol=0.05)
    assert params["w"].dtype == np.float32


def test_adam_first_steps_match_the_formula():
    g = np.array([0.5, -1.0], dtype=np.float64)
    p = {"w": np.zeros(2)}
    opt = make_optimizer("adam", 0.01)
    m = v = np.zeros(2)
    ref = np.zeros(2)
    for n in range(1, 4):
        opt.step(p, {"w": g})
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.01 * (m / (1 - 0.9**n)) / (np.sqrt(v / (1 - 0.999**n)) + 1e-8)
    np.testing.assert_allclose(p["w"], ref, rtol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_saved_by_name_restores_the_same_trajectory(name):
    target = np.array([1.0, -2.0, 3.0], dtype=np.float32)

    def run(opt, params, steps):
        for _ in range(steps):
            opt.step(params, {"w": params["w"] - target})

    params = {"w": np.zeros(3, dtype=np.float32)}
    opt = make_optimizer(name, 0.05)
    run(opt, params, 5)
    saved = {k: v.copy() for k, v in opt.state_arrays().items()}
    assert sorted(saved) == sorted(f"w/{s}" for s in opt.slots)
    resumed_params = {"w": params["w"].copy()}
    run(opt, params, 5)

    fresh = make_optimizer(name, 0.05)
    fresh.load_state_arrays(saved, 5)
    run(fresh, resumed_params, 5)
    np.testing.assert_array_equal(resumed_params["w"], params["w"])


def test_clip_by_global_norm():
    grads = {"a": np.full(4, 3.0, dtype=np.float32), "b": np.full(9, 4.0 / 3, dtype=np.float32)}
    norm = global_norm(grads)
    assert norm == pytest.approx(np.sqrt(36 + 16))
    before, fired = clip_by_global_norm(grads, 1.0)
    assert fired and before == pytest.approx(norm)
    assert global_norm(grads) == pytest.approx(1.0, rel=1e-5)
    assert grads["a"].dtype == np.float32
    _, fired = clip_by_global_norm(grads, 5.0)
    assert not fired
    _, fired = clip_by_global_norm(grads, None)
    assert not fired


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_weight_decay_shrinks_the_weight_matrices_apart_from_the_gradient(name):
    """Decoupled (AdamW) decay: with a zero gradient, a step multiplies each weight matrix by
    exactly 1 - lr wd (the optimiser's own update of a zero gradient is zero) and leaves the
    biases; with wd = 0 the step is the plain optimiser's, bit for bit."""
    rng = np.random.default_rng(0)
    params = {"rnn.weight_hh_l0": rng.normal(size=(4, 3)), "rnn.bias_hh_l0": rng.normal(size=4),
              "decoder.weight": rng.normal(size=(5, 4)), "decoder.bias": rng.normal(size=5)}
    before = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name, 0.01, weight_decay=0.5)
    opt.step(params, {k: np.zeros_like(v) for k, v in params.items()})
    for k in params:
        want = before[k] * (1 - 0.01 * 0.5) if "weight" in k else before[k]
        np.testing.assert_allclose(params[k], want, rtol=1e-15)
    grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
    plain, off = ({k: v.copy() for k, v in before.items()} for _ in range(2))
    make_optimizer(name, 0.01).step(plain, grads)
    make_optimizer(name, 0.01, weight_decay=0.0).step(off, grads)
    assert all(np.array_equal(plain[k], off[k]) for k in plain)


def test_weight_averaging_matches_the_formula():
    """avg <- b avg + (1 - b) p with b = min(decay, (1 + t) / (10 + t)): a constant weight is its
    own average, and a sequence of weights gives the formula's average step by step."""
    rng = np.random.default_rng(1)
    seq = [rng.normal(size=(3, 2)) for _ in range(40)]
    avg = {"w": seq[0].copy()}
    ref = seq[0].copy()
    for t, w in enumerate(seq, start=1):
        average_into(avg, {"w": w}, 0.95, t)
        b = min(0.95, (1 + t) / (10 + t))
        ref = b * ref + (1 - b) * w
    np.testing.assert_allclose(avg["w"], ref, rtol=1e-13)
    still = {"w": np.full((2, 2), 3.0, dtype=np.float32)}
    same = {"w": still["w"].copy()}
    for t in range(1, 5):
        average_into(same, still, 0.999, t)
    np.testing.assert_allclose(same["w"], still["w"], rtol=1e-6)
    assert same["w"].dtype == np.float32


def test_adamw_matches_the_formula():
    """p <- p (1 - lr wd), then Adam's update: PyTorch's AdamW, step by step."""
    g = np.array([0.5, -1.0])
    p = {"w.weight": np.array([1.0, 2.0])}
    opt = make_optimizer("adam", 0.01, weight_decay=0.1)
    m = v = np.zeros(2)
    ref = np.array([1.0, 2.0])
    for n in range(1, 4):
        opt.step(p, {"w.weight": g})
        ref = ref * (1 - 0.01 * 0.1)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.01 * (m / (1 - 0.9**n)) / (np.sqrt(v / (1 - 0.999**n)) + 1e-8)
    np.testing.assert_allclose(p["w.weight"], ref, rtol=1e-12)
