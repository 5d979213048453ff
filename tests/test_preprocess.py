"""preprocess: canvases of any size and colour scheme become MNIST-style 28x28 inputs."""

import numpy as np
import pytest

import pynet
from pynet import Network, TrainConfig
from pynet.preprocess import preprocess


def ink(h, w, segments, thickness):
    """A 0..1 ink map of thick line segments, given in fractions of the canvas ((y0, x0), (y1, x1))."""
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    out = np.zeros((h, w))
    for (y0, x0), (y1, x1) in segments:
        y0, y1, x0, x1 = y0 * h, y1 * h, x0 * w, x1 * w
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((ys - y0) * dy + (xs - x0) * dx) / max(dy * dy + dx * dx, 1e-12), 0, 1)
        d = np.hypot(ys - (y0 + t * dy), xs - (x0 + t * dx))
        out = np.maximum(out, np.clip(thickness / 2 - d + 0.5, 0, 1))  # anti-aliased edge
    return out


SEVEN = [((0.2, 0.25), (0.2, 0.75)), ((0.2, 0.75), (0.8, 0.45))]
ONE = [((0.15, 0.5), (0.85, 0.52))]  # tall and thin: the aspect ratio must be kept
L_SHAPE = [((0.3, 0.2), (0.7, 0.2)), ((0.7, 0.2), (0.7, 0.9))]  # wide: the width is the long side


def check_mnist_like(x):
    assert x.shape == (784, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    img = x.reshape(28, 28)
    rows = np.flatnonzero(img.max(axis=1) > 0)
    cols = np.flatnonzero(img.max(axis=0) > 0)
    h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert abs(max(h, w) - 20) <= 1, (h, w)
    ys, xs = np.indices(img.shape)
    cy, cx = (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1, (cy, cx)
    # more precisely, where MNIST puts it: pixel (14, 14), up to the integer shift, unless the
    # shift had to stop at the frame (a lopsided shape)
    if rows[0] > 0 and cols[0] > 0 and rows[-1] < 27 and cols[-1] < 27:
        assert abs(cy - 14) <= 0.5 + 1e-9 and abs(cx - 14) <= 0.5 + 1e-9, (cy, cx)
    return img, h, w


def variants(a):
    """The same drawing as the browser and other programs might hand it over."""
    yield "white on black 0..1", a, None
    yield "white on black 0..255 uint8", np.round(a * 255).astype(np.uint8), None
    yield "black on white 0..1", 1.0 - a, None
    yield "black on white 0..255", (1.0 - a) * 255, None
    yield "black on white explicit invert", 1.0 - a, True
    rgba = np.zeros(a.shape + (4,))
    rgba[..., 3] = a * 255  # black ink on a transparent canvas (what a browser canvas gives)
    yield "RGBA transparent background", rgba, None
    rgb = np.repeat(((1.0 - a) * 255)[..., None], 3, axis=2)
    yield "RGB black on white", rgb, None
    opaque = np.concatenate([rgb, np.full(a.shape + (1,), 255.0)], axis=2)
    yield "RGBA opaque black on white", opaque, None


@pytest.mark.parametrize("size", [(280, 280), (100, 60), (60, 100), (28, 28), (500, 330)], ids=str)
@pytest.mark.parametrize("strokes", [SEVEN, ONE, L_SHAPE], ids=["seven", "one", "L"])
def test_strokes_become_mnist_like_images(size, strokes):
    h, w = size
    a = ink(h, w, strokes, thickness=max(2, min(h, w) // 15))
    reference = preprocess(a)
    _, rh, rw = check_mnist_like(reference)
    for name, image, invert in variants(a):
        x = preprocess(image, invert=invert)
        check_mnist_like(x)
        # every representation of the same drawing gives (nearly) the same input
        np.testing.assert_allclose(x, reference, rtol=0, atol=0.01, err_msg=name)
    if strokes is ONE:
        assert rh > 3 * rw  # a one stays tall and thin


def test_aspect_ratio_is_kept():
    a = np.zeros((200, 200))
    a[50:150, 80:130] = 1.0  # a 100 x 50 block
    img, h, w = check_mnist_like(preprocess(a))
    assert (h, w) == (20, 10)
    np.testing.assert_allclose(img[img > 0], 1.0, rtol=0, atol=1e-12)  # a solid block stays solid


@pytest.mark.parametrize("canvas", [np.zeros((280, 280)), np.ones((280, 280)), np.full((50, 80), 255.0),
                                    np.zeros((100, 60, 4)), np.full((100, 60, 3), 255.0)], ids=range(5))
def test_empty_canvas_gives_zeros(canvas):
    x = preprocess(canvas)
    assert x.shape == (784, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, 0.0)


def test_a_single_dot_is_centred():
    a = np.zeros((280, 280))
    a[10:14, 250:254] = 1.0  # in a corner
    img = preprocess(a).reshape(28, 28)
    ys, xs = np.indices(img.shape)
    assert abs((ys * img).sum() / img.sum() - 14) <= 0.5 and abs((xs * img).sum() / img.sum() - 14) <= 0.5


def test_mnist_digits_are_fixed_points(mnist):
    """An MNIST digit is already size-normalised and centred: preprocess leaves it (nearly) as is."""
    X = mnist[2][:, :50]
    out = np.hstack([preprocess(X[:, i].reshape(28, 28)) for i in range(50)])
    assert np.abs(out - X).max(axis=0).mean() < 0.05


@pytest.mark.parametrize("bad, fragment", [
    (np.zeros(10), "must be 2-D"),
    (np.zeros((2, 3, 4, 5)), "must be 2-D"),
    (np.zeros((0, 5)), "must be 2-D"),
    (np.full((5, 5), np.nan), "NaN or inf"),
    (np.array([[0.0, np.inf]]), "NaN or inf"),
])
def test_bad_images_are_refused(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        preprocess(bad)


@pytest.fixture(scope="module")
def quick_model(mnist):
    train_x, train_y, _, _ = mnist
    net = Network([784, 64, 10], seed=2)
    net.fit(train_x[:, :5000], train_y[:, :5000], TrainConfig(epochs=3, optimizer="adam", learning_rate=0.001))
    return net


def test_upscaled_mnist_digits_keep_their_prediction(quick_model, mnist):
    _, _, test_x, test_y = mnist
    net = quick_model
    X = test_x[:, :200]
    assert net.evaluate(X, test_y[:, :200])["accuracy"] > 0.8  # the model is a real, if quick, one
    direct = net.predict(X)
    processed = np.hstack([preprocess(np.kron(X[:, i].reshape(28, 28), np.ones((10, 10)))) for i in range(200)])
    assert processed.shape == (784, 200)
    kept = np.mean(net.predict(processed) == direct)
    assert kept >= 0.9, kept


def test_preprocess_feeds_a_network_directly(quick_model):
    a = ink(280, 280, SEVEN, thickness=20)
    x = preprocess(1 - a)
    probs = quick_model.forward(x)
    assert probs.shape == (10, 1)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert pynet.preprocess is preprocess
