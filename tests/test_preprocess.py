"""preprocess: canvases of any size and colour scheme become MNIST-style 28x28 inputs."""

import re

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


# ---- exact results, computed by hand ---------------------------------------------------------


def blank():
    return np.zeros((28, 28), np.float32)


def test_a_block_lands_where_mnist_puts_it():
    """A solid 100 x 25 block: scaled by 20/100 to 20 x 5, placed at row (28-20)//2 = 4 and
    column (28-5)//2 = 11; its centre of mass (13.5, 13) moves by round(14-13.5) = 0 rows and
    round(14-13) = 1 column."""
    a = np.zeros((200, 200))
    a[50:150, 80:105] = 1.0
    expected = blank()
    expected[4:24, 12:17] = 1.0
    np.testing.assert_array_equal(preprocess(a).reshape(28, 28), expected)


def test_a_one_pixel_line_keeps_one_column():
    """A line 100 pixels tall and 1 wide: 0.2 pixels wide once scaled, so one column (never
    zero) holding 0.2 of ink, at column 13 + 1 (the centre-of-mass shift)."""
    a = np.zeros((200, 200))
    a[50:150, 100] = 1.0
    expected = blank()
    expected[4:24, 14] = np.float32(0.2)
    np.testing.assert_allclose(preprocess(a).reshape(28, 28), expected, rtol=0, atol=1e-7)
    wide = np.zeros((200, 200))
    wide[100, 50:150] = 1.0  # the same line lying down
    np.testing.assert_allclose(preprocess(wide).reshape(28, 28), expected.T, rtol=0, atol=1e-7)


def block_means(a, up, down):
    """Area averaging done another way: each pixel repeated up x up times, then means of
    down x down blocks (a scale of up/down)."""
    big = np.kron(a, np.ones((up, up)))
    h, w = big.shape[0] // down, big.shape[1] // down
    return big[: h * down, : w * down].reshape(h, down, w, down).mean(axis=(1, 3))


@pytest.mark.parametrize("size, up, down", [(30, 2, 3), (10, 2, 1), (40, 1, 2), (25, 4, 5)])
def test_area_averaging_against_repeated_pixels(size, up, down):
    """The 20 x 20 image is the area average of the drawing, placed at (4, 4) and then moved by
    the whole-pixel shift that brings its centre of mass nearest to (14, 14)."""
    rng = np.random.default_rng(size)
    a = rng.random((size, size))
    a[0, 0] = a[-1, -1] = 1.0  # ink up to the edges: the crop is the whole canvas
    canvas = np.zeros((size + 10, size + 10))
    canvas[5:-5, 5:-5] = a
    small = block_means(a, up, down)
    ys, xs = np.indices(small.shape)
    com = np.array([(ys * small).sum(), (xs * small).sum()]) / small.sum() + 4
    assert np.all(np.abs((14 - com) % 1 - 0.5) > 0.01)  # no rounding tie: the shift is clear
    dy, dx = np.round(14 - com).astype(int)
    expected = blank()
    expected[4 + dy : 24 + dy, 4 + dx : 24 + dx] = small
    np.testing.assert_allclose(preprocess(canvas).reshape(28, 28), expected, rtol=0, atol=1e-6)


def test_area_weights_rows_sum_to_one():
    from pynet.preprocess import _area_weights
    for n_in, n_out in ((30, 20), (7, 20), (100, 20), (20, 20)):
        w = _area_weights(n_in, n_out, n_out / n_in)
        assert w.shape == (n_out, n_in)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(w.sum(axis=0), n_out / n_in, rtol=0, atol=1e-12)  # each input pixel counted once
    np.testing.assert_array_equal(_area_weights(3, 3, 1.0), np.eye(3))


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_the_centring_shift_stops_at_the_frame(corner):
    """A 20 x 20 shape (scale 1) with its mass in one corner: its centre of mass asks for a
    shift of 6 pixels, but the shape may move only 4 before leaving the 28 x 28 frame."""
    shape = np.zeros((20, 20))
    shape[0, 0] = shape[-1, -1] = 1.0
    if corner == "top-left":
        shape[:5, :5] = 1.0
    else:
        shape[-5:, -5:] = 1.0
    canvas = np.zeros((40, 40))
    canvas[10:30, 10:30] = shape
    expected = blank()
    if corner == "top-left":
        expected[8:28, 8:28] = shape  # moved down and right by 4: against the bottom-right edges
    else:
        expected[0:20, 0:20] = shape
    np.testing.assert_array_equal(preprocess(canvas).reshape(28, 28), expected)


def test_faint_marks_below_the_ink_threshold_do_not_count():
    """Pixels of exactly 0.05 are not ink (the crop ignores them); above it they are."""
    a = np.zeros((200, 200))
    a[50:150, 80:105] = 1.0
    for level, moves in ((0.05, False), (0.0501, True)):
        b = a.copy()
        b[190, 5] = level  # a faint mark far from the block
        x = preprocess(b).reshape(28, 28)
        assert (x[4:24, 12:17] == 1.0).all() != moves


def test_values_in_0_1_are_not_rescaled_and_values_above_are():
    a = np.zeros((200, 200))
    a[50:150, 80:105] = 1.0
    expected = preprocess(a)
    np.testing.assert_array_equal(preprocess(a * 255), expected)
    np.testing.assert_array_equal(preprocess(a * 0.5), expected * np.float32(0.5))  # max 0.5: kept as is
    # just above 1: read as 0..255 levels, so 1.0001 is faint grey, under the ink threshold
    np.testing.assert_array_equal(preprocess(a * 1.0001), 0.0)


def test_levels_outside_black_and_white_are_clipped():
    """Stripes of 300 and 0 (out of 255) average to what stripes of 255 and 0 give, and a
    negative level inside the drawing counts as no ink."""
    a = np.zeros((60, 60))
    a[10:50, 20:30] = 1.0
    a[10:50, 20:30:2] = 0.0  # stripes one pixel wide: each output pixel averages two of them
    np.testing.assert_array_equal(preprocess(a * 300), preprocess(a * 255))
    b = np.zeros((60, 60))
    b[10:50, 20:30] = 1.0
    holes = b.copy()
    holes[20:40, 25] = -0.5  # each shares an output pixel with an inked neighbour
    zeros = b.copy()
    zeros[20:40, 25] = 0.0
    np.testing.assert_array_equal(preprocess(holes), preprocess(zeros))
    assert preprocess(zeros).min() == 0.0


def test_inversion_is_guessed_from_the_border_median():
    """A border more than half light means dark ink on light paper; exactly half does not."""
    a = np.zeros((60, 60))
    a[10:50, 20:30] = 1.0
    light = 1.0 - a
    np.testing.assert_array_equal(preprocess(light), preprocess(a))
    half = np.where(a > 0, 1.0, 0.5)  # the border is exactly 0.5: not inverted
    np.testing.assert_array_equal(preprocess(half), preprocess(half, invert=False))
    assert not np.array_equal(preprocess(half), preprocess(half, invert=True))
    np.testing.assert_array_equal(preprocess(light, invert=False), preprocess(a, invert=True))
    assert not np.array_equal(preprocess(light, invert=False), preprocess(light))


def test_transparent_canvas_ink_is_never_inverted_unless_asked():
    """Ink in the alpha channel of a transparent canvas is bright ink, even where the drawing
    covers most of the border (which would make a grey image look inverted)."""
    alpha = np.zeros((60, 60))
    alpha[:, :] = 1.0
    alpha[20:40, 20:40] = 0.0  # a frame of ink around a hole
    rgba = np.zeros((60, 60, 4))
    rgba[..., 3] = alpha * 255
    np.testing.assert_array_equal(preprocess(rgba), preprocess(alpha, invert=False))
    np.testing.assert_array_equal(preprocess(rgba, invert=True), preprocess(alpha, invert=True))
    assert not np.array_equal(preprocess(alpha, invert=False), preprocess(alpha, invert=True))


def test_an_opaque_rgba_canvas_is_read_from_its_colours():
    a = np.zeros((60, 60))
    a[10:50, 20:30] = 1.0
    rgba = np.zeros((60, 60, 4))
    rgba[..., 0] = a * 255  # red ink only: the grey level is the mean of R, G, B
    rgba[..., 3] = 255
    np.testing.assert_allclose(preprocess(rgba), preprocess(a / 3), rtol=0, atol=1e-7)
    floats = np.zeros((60, 60, 4))  # alpha as 0..1 floats: still the ink
    floats[..., 3] = a * 0.8
    np.testing.assert_array_equal(preprocess(floats), preprocess(a * 0.8))
    uniform = np.zeros((60, 60, 4))  # alpha 0 everywhere: nothing drawn
    uniform[..., :3] = 255
    np.testing.assert_array_equal(preprocess(uniform), 0)


@pytest.mark.parametrize("shape", [(5, 0), (0, 0), (3, 3, 4, 1)])
def test_empty_or_odd_shapes_are_refused(shape):
    with pytest.raises(ValueError, match=r"^image must be 2-D \(height, width\) or \(height, width, 3 or 4\), "
                                         rf"got shape {re.escape(str(shape))}$"):
        preprocess(np.zeros(shape))


def test_nan_is_refused_with_its_message():
    with pytest.raises(ValueError, match="^image contains NaN or inf$"):
        preprocess(np.array([[0.5, np.nan]]))


def test_the_arithmetic_is_float64_whatever_the_input_type():
    """A float32, float16 or boolean canvas gives exactly what the same values as float64 give."""
    rng = np.random.default_rng(3)
    a = np.zeros((50, 70))
    a[5:45, 10:60] = rng.random((40, 50)) / 3
    for dtype, scale in ((np.float32, 1), (np.float16, 1), (np.float16, 255)):
        low = (a * scale).astype(dtype)
        np.testing.assert_array_equal(preprocess(low), preprocess(low.astype(np.float64)))
    mask = a > 0.2
    np.testing.assert_array_equal(preprocess(mask), preprocess(mask.astype(np.float64)))
