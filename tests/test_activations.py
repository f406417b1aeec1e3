import numpy as np
import pytest

from charrnn.ground import activations


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_derivative_from_output_matches_finite_differences(name):
    f, df = activations.get(name)
    # stay away from the kinks of relu (0) and hard_sigmoid (+-3)
    a = np.linspace(-5.0, 5.0, 201)
    a = a[(np.abs(a) > 1e-3) & (np.abs(np.abs(a) - 3.0) > 1e-3)]
    eps = 1e-6
    numeric = (f(a + eps) - f(a - eps)) / (2 * eps)
    np.testing.assert_allclose(df(f(a)), numeric, atol=1e-8)


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_keeps_float32_and_works_in_place(name):
    f, df = activations.get(name)
    a = np.linspace(-4, 4, 9, dtype=np.float32)
    expected = f(a.astype(np.float64))
    out = f(a, out=a)
    assert out is a and out.dtype == np.float32 and df(out).dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_sigmoid_does_not_overflow_for_large_inputs():
    a = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    with np.errstate(all="raise"):
        y = activations.sigmoid(a)
    np.testing.assert_allclose(y, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)


def test_hard_sigmoid_is_pytorchs():
    a = np.array([-4.0, -3.0, 0.0, 1.5, 3.0, 4.0])
    np.testing.assert_allclose(activations.hard_sigmoid(a), [0, 0, 0.5, 0.75, 1, 1])


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="tanh"):
        activations.get("swish")
