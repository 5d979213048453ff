"""Bad inputs are refused with a ValueError that says what is wrong."""

import numpy as np
import pytest

import pynet
from pynet import Network, TrainConfig
from pynet.optim import Schedule, check_learning_rate, make_optimizer

BAD_DIMENSIONS = [
    ([784], "needs an input size and at least one layer"),
    ([], "needs an input size and at least one layer"),
    ([784, 0, 10], r"dimensions\[1\] must be at least 1"),
    ([784, -3, 10], r"dimensions\[1\] must be at least 1"),
    ([784, "a", 10], r"dimensions\[1\] must be a whole number"),
    ([784, 2.5, 10], r"dimensions\[1\] must be a whole number"),
    ([784, None, 10], r"dimensions\[1\] must be a whole number"),
    ([784, True, 10], r"dimensions\[1\] must be a whole number"),
    ([784, float("nan"), 10], r"dimensions\[1\] must be a whole number"),
    (784, "must be a list of layer sizes"),
    (2.5, "must be a list of layer sizes"),
    (None, "must be a list of layer sizes"),
]


@pytest.mark.parametrize("dims, fragment", BAD_DIMENSIONS, ids=repr)
def test_bad_dimensions(dims, fragment):
    with pytest.raises(ValueError, match=fragment):
        pynet.initialize_parameters(dims)
    with pytest.raises(ValueError, match=fragment):
        Network(dims)
    with pytest.raises(ValueError, match=fragment):
        pynet.L_layer_model(np.zeros((784, 2)), np.eye(10)[:, :2], dims, 0.1, 1)


def test_whole_floats_and_numpy_ints_are_accepted_as_dimensions():
    assert Network([np.int64(4), 3.0, 2]).dimensions == [4, 3, 2]
    assert Network((4, 2)).dimensions == [4, 2]


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "abc", None, [0.1], True, np.True_], ids=repr)
def test_bad_learning_rates(lr):
    with pytest.raises(ValueError, match="learning rate must be a"):
        check_learning_rate(lr)
    with pytest.raises(ValueError, match="learning rate must be a"):
        TrainConfig(learning_rate=lr).validated()
    with pytest.raises(ValueError, match="learning rate must be a"):
        pynet.L_layer_model(np.zeros((4, 2)), np.eye(2), [4, 2], lr, 1)
    with pytest.raises(ValueError, match="learning rate must be a"):
        Schedule(lr)


def test_good_learning_rates():
    assert check_learning_rate("0.5") == 0.5
    assert check_learning_rate(np.float32(0.25)) == 0.25


@pytest.mark.parametrize("settings, fragment", [
    (dict(epochs=0), "epochs must be a whole number of at least 1"),
    (dict(epochs=2.5), "epochs must be a whole number"),
    (dict(epochs="x"), "epochs must be a whole number"),
    (dict(epochs=None), "epochs must be a whole number"),
    (dict(epochs=True), "epochs must be a whole number"),
    (dict(batch_size=-1), "batch_size must be a whole number of at least 0"),
    (dict(optimizer="foo"), "optimizer must be one of"),
    (dict(schedule="sometimes"), "schedule must be one of"),
    (dict(l2=-1), r"l2 must be a number in \[0.0, inf\)"),
    (dict(l2="much"), "l2 must be a number"),
    (dict(momentum=1.0), r"momentum must be a number in \[0.0, 1.0\)"),
    (dict(momentum=float("nan")), "momentum must be a number"),
    (dict(seed=-1), "seed must be a whole number of at least 0"),
    (dict(patience=-2), "patience must be a whole number of at least 0"),
    (dict(eval_every=0), "eval_every must be a whole number of at least 1"),
])
def test_bad_train_config(settings, fragment):
    with pytest.raises(ValueError, match=fragment):
        TrainConfig(**settings).validated()
    with pytest.raises(ValueError, match=fragment):
        TrainConfig.from_dict(settings)
    X, y = np.zeros((4, 3)), np.array([0, 1, 0])
    with pytest.raises(ValueError, match=fragment):  # train refuses before doing anything
        next(Network([4, 2]).train(X, y, TrainConfig(**settings)))


def test_train_config_from_dict():
    config = TrainConfig.from_dict({"epochs": "3", "batch_size": 0, "learning_rate": "0.01", "optimizer": "sgd"})
    assert (config.epochs, config.batch_size, config.learning_rate, config.optimizer) == (3, 0, 0.01, "sgd")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown training settings: bogus, lr"):
        TrainConfig.from_dict({"lr": 0.1, "bogus": 1, "epochs": 2})


def test_unknown_optimizer_and_activations():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("foo")
    with pytest.raises(ValueError, match="hidden activation must be one of"):
        Network([4, 2], hidden_activation="tanh")
    with pytest.raises(ValueError, match="dtype must be one of"):
        Network([4, 2], dtype="int32")
    with pytest.raises(ValueError, match="activation must be one of"):
        pynet.layer_forward(np.zeros((2, 1)), np.zeros((1, 2)), np.zeros((1, 1)), "tanh")
    with pytest.raises(ValueError, match="layer_backward activation must be 'sigmoid' or 'relu'"):
        _, memory = pynet.layer_forward(np.zeros((2, 1)), np.zeros((1, 2)), np.zeros((1, 1)), "softmax")
        pynet.layer_backward(np.zeros((1, 1)), memory, "softmax")


@pytest.fixture
def net():
    return Network([4, 3, 2])


@pytest.mark.parametrize("X, fragment", [
    (np.zeros((5, 3)), r"X must have shape \(4, m\)"),
    (np.zeros(4), r"X must have shape \(4, m\)"),
    (np.zeros((3, 4)), r"X must have shape \(4, m\)"),
    (np.zeros((4, 3, 1)), r"X must have shape \(4, m\)"),
    (np.array([[np.nan] * 3] * 4), "NaN or inf"),
    (np.array([[np.inf] * 3] * 4), "NaN or inf"),
    (np.array([["a"] * 3] * 4), "numeric"),
])
def test_bad_X(net, X, fragment):
    with pytest.raises(ValueError, match=fragment):
        net.predict(X)
    if X.ndim == 2 and X.shape[1] == 3:
        y = np.array([0, 1, 0])
        with pytest.raises(ValueError, match=fragment):
            net.evaluate(X, y)
        with pytest.raises(ValueError, match=fragment):
            net.fit(X, y)


def test_X_without_samples(net):
    with pytest.raises(ValueError, match="X has no samples"):
        net.fit(np.zeros((4, 0)), np.zeros(0, dtype=int))
    X, y, empty = np.zeros((4, 3)), np.array([0, 1, 0]), (np.zeros((4, 0)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="the validation set has no samples"):
        net.fit(X, y, TrainConfig(epochs=2, patience=1), validation=empty)
    with pytest.raises(ValueError, match="the test set has no samples"):
        net.fit(X, y, test=empty)


@pytest.mark.parametrize("y, fragment", [
    (np.array([0, 1, 2]), r"labels must lie in 0..1"),
    (np.array([0, -1, 1]), r"labels must lie in 0..1"),
    (np.array([0, 1]), "labels must have 3 entries"),
    (np.array([0, 1, 0, 1]), "labels must have 3 entries"),
    (np.array([0, 0.5, 1]), "whole numbers"),
    (np.array([0, np.nan, 1]), "whole numbers"),
    (np.zeros((3, 3)), r"Y must be one-hot of shape \(2, 3\)"),
    (np.array([[0, 1, np.nan], [1, 0, 0]]), "Y contains NaN or inf"),
    (np.zeros((2, 3, 1)), "Y must be one-hot"),
])
def test_bad_labels(net, y, fragment):
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match=fragment):
        net.fit(X, y)
    with pytest.raises(ValueError, match=fragment):
        net.evaluate(X, y)


def test_one_hot_refuses_bad_labels():
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        pynet.one_hot(np.array([3, 10]))
    with pytest.raises(ValueError, match="must be a 1-D array"):
        pynet.one_hot(np.zeros((2, 2), dtype=int))
    np.testing.assert_array_equal(pynet.one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])


@pytest.mark.parametrize("X, Y, fragment", [
    (np.zeros((5, 2)), np.eye(2), r"X must have shape \(4, m\)"),
    (np.full((4, 2), np.nan), np.eye(2), "X contains NaN or inf"),
    (np.zeros((4, 2)), np.eye(3)[:, :2], r"Y must be one-hot of shape \(2, 2\)"),
    (np.zeros((4, 2)), np.eye(2)[:, :1], r"Y must be one-hot of shape \(2, 2\)"),
    (np.zeros((4, 2)), np.array([[np.nan, 0], [0, 1]]), "Y contains NaN or inf"),
])
def test_L_layer_model_refuses_bad_data(X, Y, fragment):
    with pytest.raises(ValueError, match=fragment):
        pynet.L_layer_model(X, Y, [4, 2], 0.1, 1)


def test_a_failed_call_leaves_the_model_unchanged(net):
    before = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(ValueError):
        net.fit(np.zeros((4, 3)), np.array([0, 1, 5]))
    for k in before:
        np.testing.assert_array_equal(net.parameters[k], before[k])
