"""Convolution, max-pooling and flatten (pynet.conv, the Conv/MaxPool/Flatten layers): against a
direct loop over the windows, and against central finite differences in float64."""

import numpy as np
import pytest

import pynet
from pynet import conv, core, gradcheck
from pynet.layers import Conv, Flatten, MaxPool, Mode
from pynet.model import TrainConfig

TOL = 1e-6
SETTINGS = [(stride, pad, C, F) for stride in (1, 2) for pad in (0, 1) for C, F in ((1, 1), (2, 3), (3, 2))]


def _direct_conv(X, W, b, stride, pad):
    """Z[f, y, x, :] = sum over c, i, j of W[f, c, i, j] X_padded[c, y s + i, x s + j, :] + b[f]."""
    C, H, Wd, m = X.shape
    F, _, kh, kw = W.shape
    Xp = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    OH, OW = (H + 2 * pad - kh) // stride + 1, (Wd + 2 * pad - kw) // stride + 1
    Z = np.zeros((F, OH, OW, m))
    for f in range(F):
        for y in range(OH):
            for x in range(OW):
                window = Xp[:, y * stride : y * stride + kh, x * stride : x * stride + kw]
                Z[f, y, x] = np.einsum("cij,cijm->m", W[f], window) + b[f, 0]
    return Z


def _conv_case(stride, pad, C, F, seed=0, kh=3, kw=2, size=(6, 5), m=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(C, *size, m))
    W = rng.normal(size=(F, C, kh, kw))
    b = rng.normal(size=(F, 1))
    return X, W, b


@pytest.mark.parametrize("stride,pad,C,F", SETTINGS)
def test_conv_forward_is_the_direct_sum_over_windows(stride, pad, C, F):
    X, W, b = _conv_case(stride, pad, C, F)
    Z, _ = conv.conv_forward(X, W, b, stride, pad)
    np.testing.assert_allclose(Z, _direct_conv(X, W, b, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,pad,C,F", SETTINGS)
def test_conv_backward_matches_finite_differences(stride, pad, C, F):
    X, W, b = _conv_case(stride, pad, C, F, seed=stride * 100 + pad * 10 + C)
    Z, memory = conv.conv_forward(X, W, b, stride, pad)
    m = X.shape[-1]
    G = np.random.default_rng(7).normal(size=Z.shape)  # the loss is sum(G * Z) / m

    def loss():
        return float(np.sum(G * conv.conv_forward(X, W, b, stride, pad)[0])) / m

    dX, dW, db = conv.conv_backward(G, memory)
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == b.shape
    # conv_backward averages dW and db over the samples; dX is per sample, so its loss is sum(G * Z)
    assert gradcheck.relative_error(dW, gradcheck.numerical_gradient(loss, W)) < TOL
    assert gradcheck.relative_error(db, gradcheck.numerical_gradient(loss, b)) < TOL
    assert gradcheck.relative_error(dX / m, gradcheck.numerical_gradient(loss, X)) < TOL
    assert conv.conv_backward(G, memory, need_dH_prev=False)[0] is None


def test_im2col_and_col2im_are_adjoint():
    # <im2col(X), D> == <X, col2im(D)> for any X and D: col2im is im2col's transpose
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 7, 6, 3))
    for stride, pad in ((1, 0), (2, 1), (3, 2)):
        cols = conv.im2col(X, 3, 2, stride, pad)
        D = rng.normal(size=cols.shape)
        np.testing.assert_allclose(np.sum(cols * D), np.sum(X * conv.col2im(D, X.shape, 3, 2, stride, pad)))


def test_im2col_of_a_transposed_view_equals_that_of_a_copy():
    # a trainer's batch of columns is a transposed view: im2col must read it right
    rows = np.random.default_rng(4).normal(size=(5, 2 * 4 * 4))
    view = rows.T.reshape(2, 4, 4, 5)
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(conv.im2col(view, 3, 3), conv.im2col(np.ascontiguousarray(view), 3, 3))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_max_pool_forward_and_its_gradient(size):
    rng = np.random.default_rng(size)
    X = rng.normal(size=(2, 6, 6, 3))  # distinct values: the maximum of each window is unique
    H, memory = conv.pool_forward(X, size)
    direct = X.reshape(2, 6 // size, size, 6 // size, size, 3).max(axis=(2, 4))
    np.testing.assert_array_equal(H, direct)
    G = rng.normal(size=H.shape)
    numeric = gradcheck.numerical_gradient(lambda: float(np.sum(G * conv.pool_forward(X, size)[0])), X)
    assert gradcheck.relative_error(conv.pool_backward(G, memory), numeric) < TOL


def test_max_pool_gives_a_tied_windows_gradient_to_its_first_maximum_only():
    X = np.zeros((1, 2, 2, 2))
    X[0, :, :, 1] = [[1.0, 3.0], [3.0, 2.0]]
    H, memory = conv.pool_forward(X, 2)
    dX = conv.pool_backward(np.array([[[[5.0, 7.0]]]]), memory)
    np.testing.assert_array_equal(dX[0, :, :, 0], [[5.0, 0.0], [0.0, 0.0]])  # all four tie at 0
    np.testing.assert_array_equal(dX[0, :, :, 1], [[0.0, 7.0], [0.0, 0.0]])  # two tie at 3


def test_max_pool_refuses_a_size_that_does_not_divide():
    with pytest.raises(ValueError, match="pooling by 2 does not divide a 5x4 input"):
        conv.pool_forward(np.zeros((1, 5, 4, 2)), 2)


def test_flatten_is_the_dense_layers_columns_and_back():
    X = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    H, memory = conv.flatten_forward(X)
    np.testing.assert_array_equal(H[:, 2], X[..., 2].ravel())  # each sample's image is one column
    np.testing.assert_array_equal(conv.flatten_backward(H, memory), X)


def test_the_layers_run_the_math_with_their_settings():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 6, 6, 4))
    params = {"W": rng.normal(size=(3, 2, 3, 3)), "b": rng.normal(size=(3, 1))}
    layer = Conv(stride=2, pad=1, activation="relu")
    H, memory = layer.forward(params, X)
    Z, _ = conv.conv_forward(X, params["W"], params["b"], 2, 1)
    np.testing.assert_array_equal(H, np.maximum(Z, 0))
    dH = rng.normal(size=H.shape)
    dX, grads = layer.backward(params, dH, memory)
    expected = conv.conv_backward(dH * (Z > 0), conv.conv_forward(X, params["W"], params["b"], 2, 1)[1])
    for got, want in zip((dX, grads["W"], grads["b"]), expected):
        np.testing.assert_array_equal(got, want)
    assert MaxPool(3).forward({}, X)[0].shape == (2, 2, 2, 4)
    assert Flatten().forward({}, X)[0].shape == (72, 4)
    assert repr(layer) == "Conv(stride=2, pad=1, activation='relu')"
    for bad in (lambda: Conv(stride=0), lambda: Conv(pad=-1), lambda: Conv(activation="softmax"),
                lambda: MaxPool(0), lambda: MaxPool(1.5)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize("text", [
    "input 1@6x6, conv 2@3x3, pool 2, dense 10",
    "input 2@7x7, conv 3@3x3 stride 2 pad 1, dense 5, dense 10",
    "input 3@8x8, conv 2@3x3 pad 1, pool 2, conv 4@2x2 stride 2, dense 10",
    "input 2@5x5, conv 3@2x2 stride 2, conv 2@1x1, pool 2, dense 10",
])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_a_conv_networks_gradients_match_finite_differences(text, activation):
    net = pynet.Network(text, hidden_activation=activation, dtype="float64", seed=1)
    rng = np.random.default_rng(2)
    for name, p in net.parameters.items():
        p[...] = rng.normal(scale=0.5 if name[0] == "W" else 0.1, size=p.shape)
    X = rng.normal(size=(net.dimensions[0], 4))
    Y = pynet.one_hot(rng.integers(0, 10, 4))
    errors = gradcheck.network_check(net, X, Y)
    assert sorted(errors) == sorted(net.parameters)
    assert max(errors.values()) < TOL, errors


def test_a_conv_network_with_dropout_checks_with_a_fixed_mask():
    net = pynet.Network("input 1@6x6, conv 2@3x3, pool 2, dense 6, dense 10", dtype="float64", dropout=0.3, seed=1)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(36, 5)), pynet.one_hot(rng.integers(0, 10, 5))
    errors = gradcheck.network_check(net, X, Y, mode=lambda: Mode(training=True, rng=np.random.default_rng(9)))
    assert max(errors.values()) < TOL, errors


def test_the_first_conv_layer_computes_no_input_gradient(monkeypatch):
    net = pynet.Network("input 1@6x6, conv 2@3x3, pool 2, conv 3@2x2, dense 10", dtype="float64")
    asked = []
    real = conv.conv_backward
    monkeypatch.setattr(conv, "conv_backward", lambda dZ, memory, need=True: asked.append(need) or real(dZ, memory, need))
    X, Y = np.random.default_rng(0).normal(size=(36, 3)), pynet.one_hot([1, 2, 3])
    HL, memories = net._forward(X)
    net._backward(HL, Y, memories)
    assert asked == [True, False]  # the second conv layer's input gradient, not the first's


def test_the_trainer_trains_a_small_conv_network_on_made_up_data():
    # ten classes of 8x8 images, each a bright square at its own place plus noise
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 10
    images = rng.normal(scale=0.3, size=(200, 8, 8))
    for k, label in enumerate(labels):
        y, x = divmod(int(label), 5)
        images[k, 4 * y : 4 * y + 3, x : x + 3] += 2.0
    X = images.reshape(200, 64).T
    net = pynet.Network("input 1@8x8, conv 4@3x3 pad 1, pool 2, dense 16, dense 10", seed=0)
    config = TrainConfig(epochs=8, batch_size=20, optimizer="adam", learning_rate=0.01, seed=0)
    losses = [e["loss"] for e in net.train(X, labels, config) if e["type"] == "epoch"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(b < a for a, b in zip(losses[:3], losses[1:4])), losses
    assert net.evaluate(X, labels)["accuracy"] > 0.9
    assert all(p.dtype == np.float32 for p in net.parameters.values())


def test_inference_in_chunks_equals_one_pass():
    net = pynet.Network("input 1@8x8, conv 3@3x3, pool 2, dense 10", dtype="float64", seed=0)
    X = np.random.default_rng(1).normal(size=(64, 50))
    np.testing.assert_allclose(net.forward(X, chunk=7), net._forward(X)[0], rtol=1e-12)
    lenet = pynet.Network("conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10")
    assert 1 <= lenet.chunk < 4096 and pynet.Network([784, 10]).chunk == 4096


def test_the_einsum_path_in_blocks_gives_the_same_convolution(monkeypatch):
    # in Pyodide an im2col product past 2**31 - 1 is computed in blocks: the same Z and gradients
    X, W, b = _conv_case(1, 1, 3, 4, seed=11, size=(9, 8), m=5)
    Z, memory = conv.conv_forward(X, W, b, 1, 1)
    G = np.random.default_rng(12).normal(size=Z.shape)
    expected = conv.conv_backward(G, memory)
    monkeypatch.setattr(core, "_NO_BLAS", True)
    monkeypatch.setattr(core, "_EINSUM_LIMIT", 500)
    Z2, memory2 = conv.conv_forward(X, W, b, 1, 1)
    np.testing.assert_allclose(Z2, Z, rtol=1e-12, atol=1e-12)
    for got, want in zip(conv.conv_backward(G, memory2), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_tie_with_the_last_entry_of_a_window_goes_to_the_first_maximum():
    X = np.zeros((1, 2, 2, 2))
    X[0, :, :, 0] = [[0.0, 1.0], [2.0, 2.0]]  # ties at the last two entries
    X[0, :, :, 1] = [[4.0, 1.0], [2.0, 4.0]]  # ties at the first and the last
    H, memory = conv.pool_forward(X, 2)
    np.testing.assert_array_equal(H[0, 0, 0], [2.0, 4.0])
    dX = conv.pool_backward(np.array([[[[5.0, 7.0]]]]), memory)
    np.testing.assert_array_equal(dX[0, :, :, 0], [[0.0, 0.0], [5.0, 0.0]])
    np.testing.assert_array_equal(dX[0, :, :, 1], [[7.0, 0.0], [0.0, 0.0]])


def test_pooling_of_three_by_three_windows_with_ties_keeps_the_sum_of_the_gradient():
    X = np.random.default_rng(6).integers(0, 3, size=(2, 6, 6, 4)).astype(np.float32)  # many ties
    H, memory = conv.pool_forward(X, 3)
    G = np.random.default_rng(7).normal(size=H.shape).astype(np.float32)
    dX = conv.pool_backward(G, memory)
    assert dX.dtype == np.float32 and H.dtype == np.float32
    windows = dX.reshape(2, 2, 3, 2, 3, 4)
    np.testing.assert_allclose(windows.sum(axis=(2, 4)), G, rtol=1e-6)
    assert np.all(np.count_nonzero(windows, axis=(2, 4)) <= 1)  # one entry per window
    first = X.reshape(2, 2, 3, 2, 3, 4).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 2, 4, 9).argmax(axis=-1)
    got = windows.transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 2, 4, 9).argmax(axis=-1)
    np.testing.assert_array_equal(np.where(G > 0, got, first), first)  # at argmax's (first) maximum


def test_conv_forward_refuses_kernels_that_do_not_fit_the_images():
    with pytest.raises(ValueError, match=r"kernels of shape \(4, 3, 3, 3\) need 3 input channels, got 2"):
        conv.conv_forward(np.zeros((2, 5, 5, 1)), np.zeros((4, 3, 3, 3)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="a 5x4 kernel does not fit a 3x6 input padded by 0"):
        conv.conv_forward(np.zeros((1, 3, 6, 1)), np.zeros((2, 1, 5, 4)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="a 6x6 kernel does not fit a 3x3 input padded by 1"):
        conv.conv_forward(np.zeros((1, 3, 3, 1)), np.zeros((2, 1, 6, 6)), np.zeros((2, 1)), pad=1)


def test_a_float32_convolution_stays_float32():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    W, b = rng.normal(size=(4, 2, 3, 3)).astype(np.float32), np.zeros((4, 1), np.float32)
    Z, memory = conv.conv_forward(X, W, b, stride=1, pad=1)
    dX, dW, db = conv.conv_backward(np.ones_like(Z), memory)
    assert [a.dtype for a in (Z, dX, dW, db)] == [np.float32] * 4
    assert Z.shape == (4, 6, 6, 3) and dX.shape == X.shape


def test_col2im_with_its_defaults_is_im2cols_adjoint_with_its_defaults():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(2, 5, 4, 3))
    cols = conv.im2col(X, 2, 3)
    D = rng.normal(size=cols.shape)
    np.testing.assert_allclose(np.sum(cols * D), np.sum(X * conv.col2im(D, X.shape, 2, 3)))


def test_a_convolution_by_default_has_stride_1_and_no_padding():
    X, W, b = _conv_case(1, 0, 2, 3)
    Z, memory = conv.conv_forward(X, W, b)
    assert Z.shape == (3, 4, 4, 3) and memory[2:] == (1, 0)
    np.testing.assert_allclose(Z, _direct_conv(X, W, b, 1, 0), rtol=1e-12, atol=1e-12)


def test_the_output_size_by_default_has_stride_1_and_no_padding():
    assert conv.conv_output_size(28, 5) == 24 and conv.conv_output_size(28, 5, 2, 2) == 14
