"""Analytic gradients against central finite differences (float64), and numerical safety."""

import warnings

import numpy as np
import pytest

import pynet
from pynet import core, gradcheck

TOL = 1e-6


def test_sigmoid_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    Z = rng.normal(scale=3, size=(4, 6))
    dH = rng.normal(size=(4, 6))
    assert gradcheck.activation_check("sigmoid", Z, dH) < TOL


def test_relu_backward_matches_finite_differences_away_from_zero():
    rng = np.random.default_rng(1)
    Z = rng.choice([-1.0, 1.0], size=(5, 7)) * rng.uniform(0.1, 3.0, size=(5, 7))
    dH = rng.normal(size=(5, 7))
    assert (Z > 0).any() and (Z < 0).any()
    assert gradcheck.activation_check("relu", Z, dH) < TOL
    # and the derivative is exactly dH on the positive side, 0 on the negative side (and at 0)
    np.testing.assert_array_equal(core.relu_backward(dH, Z), np.where(Z > 0, dH, 0.0))
    np.testing.assert_array_equal(core.relu_backward(np.ones(3), np.array([-1.0, 0.0, 2.0])), [0, 0, 1])


def test_sigmoid_backward_hand_value():
    # sigmoid'(0) = 1/4
    np.testing.assert_allclose(core.sigmoid_backward(np.array([[2.0]]), np.array([[0.0]])), [[0.5]], rtol=0, atol=1e-15)


def test_gradcheck_detects_a_wrong_gradient():
    """The checker itself must fail on a wrong derivative (so a pass means something)."""
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(3, 4))
    dH = rng.normal(size=(3, 4))
    forward = lambda: float(np.sum(dH * core.sigmoid(Z)[0]))  # noqa: E731
    numeric = gradcheck.numerical_gradient(forward, Z)
    wrong = dH * core.sigmoid(Z)[0]  # forgot the (1 - H) factor
    assert gradcheck.relative_error(wrong, numeric) > 1e-2
    assert gradcheck.relative_error(core.sigmoid_backward(dH, Z), numeric) < TOL
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0


def _problem(dims, seed, scale=0.5, m=6):
    """float64 parameters with weights large enough for clear gradients, inputs and one-hot targets."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params["W" + str(l)] = rng.normal(scale=scale, size=(dims[l], dims[l - 1]))
        params["b" + str(l)] = rng.normal(scale=0.1, size=(dims[l], 1))
    X = rng.normal(size=(dims[0], m))
    Y = pynet.one_hot(rng.integers(0, dims[-1], m), dims[-1])
    return params, X, Y


def _min_abs_hidden_Z(params, X, hidden):
    _, memories = core.L_layer_forward(X, params, hidden)
    return min(np.abs(Z).min() for _, Z in memories[:-1]) if len(memories) > 1 else np.inf


@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
@pytest.mark.parametrize("dims", [[5, 4, 3], [5, 4, 6, 3], [5, 6, 4, 5, 3]], ids=["1hidden", "2hidden", "3hidden"])
def test_L_layer_gradients_match_finite_differences(dims, hidden):
    # Softmax + cross-entropy is checked through the output layer of every network.
    seed = 0
    params, X, Y = _problem(dims, seed)
    if hidden == "relu":  # finite differences are wrong across the kink at 0: pick inputs away from it
        while _min_abs_hidden_Z(params, X, hidden) < 1e-3:
            seed += 1
            params, X, Y = _problem(dims, seed)
    errors = gradcheck.gradient_check(params, X, Y, hidden)
    assert set(errors) == set(params)
    assert max(errors.values()) < TOL, errors


def test_softmax_output_only_network_gradient():
    """No hidden layer: [n0, nL] is softmax regression, dZ = HL - Y."""
    params, X, Y = _problem([4, 3], 3)
    errors = gradcheck.gradient_check(params, X, Y)
    assert max(errors.values()) < TOL, errors


def test_gradient_with_respect_to_the_input():
    params, X, Y = _problem([5, 4, 3], 4)
    assert _min_abs_hidden_Z(params, X, "relu") > 1e-3
    HL, memories = core.L_layer_forward(X, params)
    dH0 = core.L_layer_backward(HL, Y, memories)["dH0"]
    numeric = gradcheck.numerical_gradient(lambda: core.compute_loss(core.L_layer_forward(X, params)[0], Y), X)
    # compute_loss averages over the batch while dH0 is per sample: dH0 / m is the loss gradient
    assert gradcheck.relative_error(dH0 / X.shape[1], numeric) < TOL


def test_need_dH0_false_gives_the_same_parameter_gradients():
    params, X, Y = _problem([5, 4, 6, 3], 5)
    HL, memories = core.L_layer_forward(X, params)
    full = core.L_layer_backward(HL, Y, memories)
    lean = core.L_layer_backward(HL, Y, memories, need_dH0=False)
    assert "dH0" not in lean
    for k in params:
        np.testing.assert_array_equal(lean["d" + k], full["d" + k])


# ---- numerical safety ---------------------------------------------------------------------


def test_softmax_of_huge_values_is_finite_and_stable():
    Z = np.array([[1000.0, -1000.0, 1000.0, 0.0], [-1000.0, -1000.0, 999.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", over="raise", invalid="raise"):  # numpy ignores underflow by default
            H, memory = core.softmax(Z)
    assert memory is Z or np.array_equal(memory, Z)
    assert np.all(np.isfinite(H))
    e = 1 / (1 + np.exp(-1.0))
    expected = np.array([[1.0, 0.5, e, 0.5], [0.0, 0.5, 1 - e, 0.5]])
    np.testing.assert_allclose(H, expected, rtol=0, atol=1e-15)
    # the stable formula on moderate values equals the textbook one
    Zm = np.random.default_rng(0).normal(size=(10, 7))
    np.testing.assert_allclose(core.softmax(Zm)[0], np.exp(Zm) / np.exp(Zm).sum(axis=0), rtol=1e-14, atol=0)


def test_sigmoid_of_extremes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", over="raise", invalid="raise"):  # numpy ignores underflow by default
            H, _ = core.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
            dZ = core.sigmoid_backward(np.ones(3), np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(H, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(dZ, [0.0, 0.25, 0.0])


def test_compute_loss_with_a_zero_probability_is_finite():
    HL = np.array([[0.0, 0.5], [1.0, 0.5]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = core.compute_loss(HL, Y)
    assert np.isfinite(loss)
    # -log(tiny) for the zero, -log(0.5) for the other, averaged over 2 samples
    assert loss == pytest.approx((-np.log(np.finfo(np.float64).tiny) + np.log(2)) / 2, rel=1e-12)
    # a zero where the label is 0 does not change the loss at all
    assert core.compute_loss(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]])) == 0.0


def test_compute_loss_float32():
    HL = np.array([[0.0, 0.25], [1.0, 0.75]], dtype=np.float32)
    Y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    loss = core.compute_loss(HL, Y)
    assert np.isfinite(loss)
    assert loss == pytest.approx((-np.log(np.finfo(np.float32).tiny) - np.log(0.75)) / 2, rel=1e-6)


def test_L_layer_forward_of_huge_inputs_is_finite():
    params = pynet.initialize_parameters([4, 3, 2])
    X = np.full((4, 3), 1e6)
    HL, _ = core.L_layer_forward(X, params)
    assert np.all(np.isfinite(HL))
    np.testing.assert_allclose(HL.sum(axis=0), 1.0, rtol=0, atol=1e-12)


# ---- the checker's own pieces ---------------------------------------------------------------


def test_relative_error_by_hand():
    assert gradcheck.relative_error(np.array([3.0, 4.0]), np.zeros(2)) == 1.0  # |a - b| = |a| + |b| = 5
    assert gradcheck.relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(np.sqrt(2) / 2)
    assert gradcheck.relative_error(np.array([2.0]), np.array([2.0])) == 0.0


def test_numerical_gradient_is_float64_and_uses_its_step():
    x = np.array([0.5, -1.0], dtype=np.float32)
    grad = gradcheck.numerical_gradient(lambda: float(np.sum(x.astype(np.float64) ** 3)), x, eps=1e-2)
    assert grad.dtype == np.float64
    # central difference of x^3 with step h: 3x^2 + h^2 exactly (up to rounding), h = 1e-2
    np.testing.assert_allclose(grad, 3 * x.astype(np.float64) ** 2 + 1e-4, rtol=1e-5)
    np.testing.assert_array_equal(x, np.array([0.5, -1.0], dtype=np.float32))  # restored


def test_checks_pass_their_step_on():
    """A coarse step shows as truncation error: the step given is the step used."""
    rng = np.random.default_rng(5)
    Z, dH = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert gradcheck.activation_check("sigmoid", Z, dH, eps=0.5) > 1e-4
    assert gradcheck.activation_check("sigmoid", Z, dH) < TOL
    params, X, Y = _problem([4, 3, 2], 6)
    assert max(gradcheck.gradient_check(params, X, Y, "sigmoid", eps=0.5).values()) > 1e-5
    assert max(gradcheck.gradient_check(params, X, Y, "sigmoid").values()) < TOL


def test_gradient_check_defaults_to_relu_hidden_layers():
    params, X, Y = _problem([5, 4, 3], 4)
    assert _min_abs_hidden_Z(params, X, "relu") > 1e-3
    assert gradcheck.gradient_check(params, X, Y) == gradcheck.gradient_check(params, X, Y, "relu")
    assert max(gradcheck.gradient_check(params, X, Y).values()) < TOL
