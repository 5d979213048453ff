"""The page's "why": the heat map of a digit's score gradient over what the network sees, for the
digit read and for one the user picks ("why not a 7?"), checked against native pynet's
Network.score_gradient on the same pad pixels, for the site's default conv model and for a dense
model trained in the page."""

import numpy as np
import pytest

import pynet
from e2e_helpers import (READING_CURRENT, default_model, download, draw_and_read, pad_pixels, short_run,
                         wait_until)

EXPLANATION_CURRENT = (f"{READING_CURRENT} && window.pynet.explanation"
                       " && window.pynet.explanationAnswered === window.pynet.explanationsAsked")


def wait_explanation(page, digit=None):
    """The explanation shown once it is that of the reading shown (and of digit, when given)."""
    expected = "" if digit is None else f" && window.pynet.explanation.digit === {digit}"
    wait_until(page, EXPLANATION_CURRENT + expected, timeout=20)
    return page.evaluate("window.pynet.explanation")


def map_pixels(page):
    """The heat map's canvas: (28, 28, 3) RGB."""
    data = page.evaluate("""(() => {
        const c = document.getElementById('why-map');
        return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data);
    })()""")
    return np.array(data, dtype=np.int64).reshape(28, 28, 4)[..., :3]


def assert_shown_is_native(page, net, digit):
    """The gradient the page received and the map it drew are those of native pynet's
    score_gradient for that digit on the pad's pixels."""
    shown = wait_explanation(page, digit)
    rgba = pad_pixels(page)
    x = pynet.preprocess(rgba[..., 3] if rgba[..., 3].max() == 0 else rgba)
    scores, gradient = net.score_gradient(x, digit)
    assert shown["predicted"] == int(np.argmax(scores)) == int(page.text_content("#prediction"))
    # float32 arithmetic in another order (einsum in wasm, BLAS natively)
    top = np.abs(gradient).max()
    np.testing.assert_allclose(shown["gradient"], gradient, rtol=0, atol=2e-4 * top)
    assert shown["max"] == pytest.approx(top, rel=1e-3)
    # what is drawn: red where the score rises with ink, blue where it falls, by the largest (a
    # pixel with ink is drawn up to half as bright: at least 0.3 * 255 * 0.55 between red and blue)
    rgb = map_pixels(page).reshape(784, 3)
    strong = np.abs(gradient) > 0.3 * top
    assert strong.sum() >= 3
    up, down = strong & (gradient > 0), strong & (gradient < 0)
    assert (rgb[up, 0] > rgb[up, 2] + 40).all() and (rgb[down, 2] > rgb[down, 0] + 40).all()
    faint = np.abs(gradient) < 0.02 * top
    assert (np.abs(rgb[faint, 0] - rgb[faint, 2]) <= 15).all(), "a pixel with no say is neither red nor blue"
    pressed = page.evaluate("[...document.querySelectorAll('#why-digits button')]"
                            ".map((b) => b.getAttribute('aria-pressed'))")
    assert pressed == ["true" if d == digit else "false" for d in range(10)]
    return shown


def test_why_it_reads_a_digit_and_why_not_a_7_with_the_default_conv_model(app):
    page, _ = app
    read = draw_and_read(page, "1")
    net = default_model()
    shown = assert_shown_is_native(page, net, int(read))
    assert page.text_content("#why-caption").startswith(f"Why a {read}?")
    # "why not a 7?", by keyboard
    page.focus("#why-digits button:nth-child(8)")
    page.keyboard.press("Enter")
    why_not = assert_shown_is_native(page, net, 7)
    assert why_not["gradient"] != shown["gradient"]
    assert page.text_content("#why-caption").startswith(f"Why not a 7 (it reads a {read})?")
    # the digit read, chosen again, follows the reading; Clear empties the map
    page.click(f"#why-digits button:nth-child({int(read) + 1})")
    assert_shown_is_native(page, net, int(read))
    page.click("#clear")
    wait_until(page, "window.pynet.explanation === null")
    assert (map_pixels(page) == 255).all()
    assert "nothing drawn" in page.get_attribute("#why-map", "aria-label")


def test_why_with_a_dense_model_trained_in_the_page(app, tmp_path):
    page, _ = app
    short_run(page)  # the Fast preset: a dense 784-128-10
    net = pynet.load(download(page, tmp_path / "trained.npz"))
    assert net.spec == "784,128,10"
    read = int(draw_and_read(page, "7"))
    assert_shown_is_native(page, net, read)
    other = (read + 3) % 10
    page.click(f"#why-digits button:nth-child({other + 1})")
    assert_shown_is_native(page, net, other)
    label = page.get_attribute("#why-map", "aria-label")
    assert label.startswith(f"Heat map of the score for {other}: ")
