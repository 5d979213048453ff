"""The layer interface (pynet.layers): the dense layer is the seed's, dropout is one class and
its gradient check, and a Network's layer stack computes exactly what the seed's functions do."""

import numpy as np
import pytest

import pynet
from pynet import core, gradcheck
from pynet.layers import INFERENCE, Dense, Dropout, Mode, dense_stack
from pynet.trainer import Trainer


def _net(dims, activation="relu", dropout=0.0, seed=0):
    """A float64 network with weights large enough for clear gradients."""
    net = pynet.Network(dims, hidden_activation=activation, dtype="float64", dropout=dropout)
    rng = np.random.default_rng(seed)
    for name, p in net.parameters.items():
        p[...] = rng.normal(scale=0.5 if name[0] == "W" else 0.1, size=p.shape)
    return net


def _data(n, classes, m=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, m)), pynet.one_hot(rng.integers(0, classes, m), classes)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("dims", [[5, 3], [6, 4, 3], [8, 6, 5, 4]])
def test_the_layer_stack_is_the_seeds_forward_and_backward(activation, dims):
    net = _net(dims, activation)
    X, Y = _data(dims[0], dims[-1])
    HL, memories = net._forward(X)
    seed_HL, seed_memories = core.L_layer_forward(X, net.parameters, activation)
    np.testing.assert_array_equal(HL, seed_HL)
    gradients = net._backward(HL, Y, memories)
    seed_gradients = core.L_layer_backward(seed_HL, Y, seed_memories, activation)
    assert sorted(gradients) == sorted(k for k in seed_gradients if not k.startswith("dH"))
    for name, g in gradients.items():
        np.testing.assert_array_equal(g, seed_gradients[name], err_msg=name)


def test_dense_stack_and_parameter_names():
    assert [repr(layer) for layer in dense_stack([784, 128, 64, 10], "relu", 0.25)] == \
        ["Dense('relu')", "Dropout(0.25)", "Dense('relu')", "Dropout(0.25)", "Dense('softmax')"]
    net = pynet.Network([784, 128, 64, 10], dropout=0.25)
    assert net._keys == [{"W": "W1", "b": "b1"}, {}, {"W": "W2", "b": "b2"}, {}, {"W": "W3", "b": "b3"}]
    assert sorted(net.parameters) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    with pytest.raises(ValueError, match="activation must be one of"):
        Dense("tanh")


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, True, "0.5", None])
def test_dropout_refuses_a_bad_rate(rate):
    with pytest.raises(ValueError, match=r"dropout rate must be a number in \[0, 1\)"):
        Dropout(rate)


def test_dropout_keeps_units_with_probability_one_minus_rate_and_rescales():
    H = np.full((200, 500), 2.0, dtype=np.float32)
    out, mask = Dropout(0.3).forward({}, H, Mode(training=True, rng=np.random.default_rng(0)))
    assert out.dtype == np.float32 and mask.dtype == np.float32
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01  # 100,000 draws: the standard error is 0.0015
    np.testing.assert_allclose(out[kept], 2.0 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(out, H * mask)
    # the backward lets the gradient through exactly where the unit was kept, with the same scale
    dH = np.random.default_rng(1).normal(size=H.shape).astype(np.float32)
    dH_prev, grads = Dropout(0.3).backward({}, dH, mask)
    assert grads == {}
    np.testing.assert_array_equal(dH_prev, dH * mask)
    # the same generator state gives the same mask
    again, _ = Dropout(0.3).forward({}, H, Mode(training=True, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(again, out)


def test_dropout_does_nothing_at_inference():
    H = np.arange(12.0).reshape(3, 4)
    out, memory = Dropout(0.5).forward({}, H, INFERENCE)
    assert out is H and memory is None
    dH = np.ones((3, 4))
    assert Dropout(0.5).backward({}, dH, None)[0] is dH
    net = _net([6, 5, 3], dropout=0.5)
    X, _ = _data(6, 3)
    plain = pynet.Network.from_parameters(net.parameters)  # the same weights, no dropout layer
    np.testing.assert_array_equal(net.forward(X), plain.forward(X))


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_a_network_with_dropout_passes_the_gradient_check(activation):
    net = _net([6, 5, 4, 3], activation, dropout=0.4, seed=3)
    X, Y = _data(6, 3, m=9)
    # every forward pass draws the same mask: a fresh generator of the same seed
    errors = gradcheck.network_check(net, X, Y, mode=lambda: Mode(training=True, rng=np.random.default_rng(5)))
    assert sorted(errors) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert max(errors.values()) < 1e-6, errors
    # and the masks matter: the loss in training differs from the one at inference
    HL_train, memories = net._forward(X, Mode(training=True, rng=np.random.default_rng(5)))
    assert any(isinstance(layer, Dropout) and (m == 0).any() for layer, m in zip(net.layers, memories))
    assert core.compute_loss(HL_train, Y) != core.compute_loss(net.forward(X), Y)


def test_the_gradient_check_runs_at_inference_by_default_and_uses_its_step():
    """Without a mode, network_check runs the layers as at inference (dropout passes everything
    on, so its gradients check too); eps is the finite-difference step it is given."""
    net = _net([6, 5, 3], dropout=0.4, seed=3)
    X, Y = _data(6, 3, m=9)
    fine = gradcheck.network_check(net, X, Y)
    assert max(fine.values()) < 1e-6, fine
    coarse = gradcheck.network_check(net, X, Y, eps=0.5)
    assert max(coarse.values()) > 100 * max(fine.values()), (coarse, fine)


def test_the_gradient_check_notices_a_wrong_layer(monkeypatch):
    """The check must fail when a layer's backward is wrong (a pass then means something)."""
    net = _net([6, 5, 3], dropout=0.4, seed=3)
    X, Y = _data(6, 3, m=9)
    monkeypatch.setattr(Dropout, "backward", lambda self, params, dH, memory, need_dH_prev=True: (dH, {}))
    errors = gradcheck.network_check(net, X, Y, mode=lambda: Mode(training=True, rng=np.random.default_rng(5)))
    assert errors["W1"] > 1e-2


def test_training_with_dropout(blobs):
    X, y, Xv, yv = blobs
    config = pynet.TrainConfig(epochs=6, batch_size=50, learning_rate=0.01, seed=4)
    with_dropout = pynet.Network([20, 32, 3], seed=1, dropout=0.5)
    history = with_dropout.fit(X, y, config, validation=(Xv, yv))
    assert history[-1]["val_acc"] > 0.9
    without = pynet.Network([20, 32, 3], seed=1)
    without.fit(X, y, config)
    assert not np.array_equal(with_dropout.parameters["W1"], without.parameters["W1"])
    # a network trained with dropout 0 is the network without the layer, bit for bit
    zero = pynet.Network([20, 32, 3], seed=1, dropout=0.0)
    zero.fit(X, y, config)
    for name, value in without.parameters.items():
        np.testing.assert_array_equal(zero.parameters[name], value)


def test_data_parallel_training_refuses_dropout(blobs):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match="does not support dropout"):
        Trainer(pynet.Network([20, 8, 3], dropout=0.2), X, y, shards=2)
    Trainer(pynet.Network([20, 8, 3], dropout=0.2), X, y, shards=1)  # one worker: dropout is fine


def test_a_dense_layer_is_relu_unless_told_and_passes_on_need_dH_prev():
    assert Dense().activation == "relu"
    assert [repr(layer) for layer in dense_stack([4, 3, 2])] == ["Dense('relu')", "Dense('softmax')"]
    net = _net([5, 4, 3])
    X, Y = _data(5, 3)
    HL, memories = net._forward(X)
    hidden, output = net.layers
    # by default the gradient with respect to the layer's input is computed, and not when told
    assert hidden.backward(net._params(0), np.ones((4, 7)), memories[0])[0].shape == (5, 7)
    assert hidden.backward(net._params(0), np.ones((4, 7)), memories[0], need_dH_prev=False)[0] is None
    assert output.backward_from_dZ(HL - Y, memories[1])[0].shape == (4, 7)
    assert output.backward_from_dZ(HL - Y, memories[1], need_dH_prev=False)[0] is None


def test_dropout_with_rate_zero_draws_nothing_and_a_rate_of_one_is_refused():
    rng = np.random.default_rng(0)
    H = np.ones((3, 4))
    out, mask = Dropout(0.0).forward({}, H, Mode(training=True, rng=rng))
    assert out is H and mask is None
    assert rng.random() == np.random.default_rng(0).random()  # the generator was not used
    with pytest.raises(ValueError):
        Dropout(1)


def test_training_with_dropout_is_reproducible(blobs):
    X, y, _, _ = blobs
    config = pynet.TrainConfig(epochs=2, batch_size=50, learning_rate=0.01, seed=4)
    a, b = pynet.Network([20, 16, 3], seed=1, dropout=0.3), pynet.Network([20, 16, 3], seed=1, dropout=0.3)
    a.fit(X, y, config)
    b.fit(X, y, config)
    for name, value in a.parameters.items():
        np.testing.assert_array_equal(b.parameters[name], value)
