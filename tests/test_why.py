"""Why a drawing is read as it is: the gradient of a digit's score (Z_L[k], before the softmax)
with respect to the input, through each layer's own backward (Network.score_gradient), checked
against finite differences for a dense and a conv network, and through the bridge (explain)."""

import numpy as np
import pytest

from pynet import Network, bridge, serialize
from pynet.gradcheck import numerical_gradient, relative_error
from pynet.page.state import STATE
from pynet.preprocess import preprocess

CONV = "conv 4@5x5, pool 2, conv 6@3x3, pool 2, dense 16, dense 10"
NETWORKS = {"dense relu": ([784, 32, 16, 10], "relu", 0.0), "dense sigmoid": ([784, 20, 10], "sigmoid", 0.0),
            "dense with dropout": ([784, 24, 10], "relu", 0.3), "conv": (CONV, "relu", 0.0)}


def digit_like(seed):
    """A 784-pixel input in [0, 1]: a random blob of ink on a faint background.

    Not an empty one: over a flat background every conv window gives the same value, and
    max-pooling's ties (like relu at 0) have no gradient, only a one-sided slope, which a
    central difference does not measure.
    """
    rng = np.random.default_rng(seed)
    image = rng.random((28, 28)) * 0.05
    image[6:22, 8:20] = rng.random((16, 12))
    return image.ravel()


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("k", [None, 7])
def test_score_gradient_equals_finite_differences(name, k):
    dimensions, activation, dropout = NETWORKS[name]
    net = Network(dimensions, hidden_activation=activation, dropout=dropout, seed=4, dtype="float64")
    rng = np.random.default_rng(5)  # biases as after training, not the initial zeros
    for key, p in net.parameters.items():
        if key.startswith("b"):
            p[...] = rng.normal(0, 0.1, p.shape)
    x = digit_like(1)
    scores, gradient = net.score_gradient(x, k)
    assert scores.shape == (10,) and gradient.shape == (784,)
    np.testing.assert_allclose(net.forward(x.reshape(784, 1))[:, 0], np.exp(scores) / np.exp(scores).sum(), rtol=1e-12)
    target = int(np.argmax(scores)) if k is None else k
    score = lambda: net.score_gradient(x, target)[0][target]  # noqa: E731
    # a few pixels: a stretch of one row through the ink and its edges, and a column of the background
    for pixels in (slice(14 * 28 + 4, 14 * 28 + 24), slice(3 * 28, 3 * 28 + 6)):
        numeric = numerical_gradient(score, x[pixels])  # x[pixels] is a view: the input itself is perturbed
        assert relative_error(gradient[pixels], numeric) < 1e-7, (name, pixels)
        assert np.abs(numeric).max() > 1e-3, "the pixels checked do move the score"


def test_score_gradient_of_each_digit_differs_and_sums_as_the_output_layer_says():
    """With no hidden layer the score is W[k] x + b[k]: its gradient is the row W[k] itself."""
    net = Network([784, 10], seed=2, dtype="float64")
    x = digit_like(2)
    for k in range(10):
        np.testing.assert_array_equal(net.score_gradient(x, k)[1], net.parameters["W1"][k])


def canvas_of(image28, scale=10):
    """A grey canvas (280x280 bytes, ink bright) of a 28x28 image in [0, 1]."""
    return np.kron(np.rint(np.asarray(image28).reshape(28, 28) * 255), np.ones((scale, scale))).astype(np.uint8)


@pytest.fixture(params=["dense", "conv"])
def page(request):
    """Bridge state as after the worker's start-up with a default model of each kind: (bridge, that model)."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None)
    net = Network([784, 16, 10] if request.param == "dense" else CONV, seed=3)
    blob = serialize.to_bytes(net)
    bridge.load_default_model(blob)
    return bridge, serialize.from_bytes(blob)


def test_explain_is_the_score_gradient_of_the_drawing(page):
    b, net = page
    canvas = canvas_of(digit_like(3))
    x = preprocess(canvas)
    read = b.predict(canvas.tobytes(), 280, 280)
    answer = b.explain(canvas.tobytes(), 280, 280)
    assert answer["predicted"] == answer["digit"] == read["digit"]
    scores, gradient = net.score_gradient(x, read["digit"])
    np.testing.assert_array_equal(answer["gradient"], gradient.astype(np.float64))
    assert answer["max"] == float(np.abs(gradient).max()) > 0
    np.testing.assert_allclose(answer["scores"], scores, atol=0.5e-4 + 1e-6)
    assert answer["scores"] == [round(s, 4) for s in answer["scores"]]  # shown with four decimals
    why_not_7 = b.explain(canvas.tobytes(), 280, 280, 7)
    assert why_not_7["digit"] == 7 and why_not_7["predicted"] == read["digit"]
    np.testing.assert_array_equal(why_not_7["gradient"], net.score_gradient(x, 7)[1].astype(np.float64))


def test_explain_an_empty_canvas_and_refusals(page):
    b, _ = page
    assert b.explain(bytes(280 * 280 * 4), 280, 280, 4) == {"digit": 4, "predicted": None, "scores": None,
                                                            "gradient": None, "max": 0.0}
    canvas = canvas_of(digit_like(4)).tobytes()
    for bad in (10, -1, True, "7", 3.5, [7]):
        refused = b.handle("explain", canvas, 280, 280, bad)
        assert refused["error"]["message"].startswith("the digit to explain must be a whole number from 0 to 9"), bad
    assert "error" in b.handle("explain", canvas[:100], 280, 280, None)
    assert b.handle("explain", canvas, 280, 280, np.int64(2))["value"]["digit"] == 2
    for edge in (0, 9):  # the first and last digits are explained, not refused
        assert b.handle("explain", canvas, 280, 280, edge)["value"]["digit"] == edge
    assert b.handle("explain", canvas, 280, 280, np.bool_(True))["error"]["message"].startswith(
        "the digit to explain must be a whole number")
