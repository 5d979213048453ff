"""A conv model in the page: the default model (conv, pynet/settings.py DEFAULT_MODEL) and one
uploaded. A drawing's feature maps, the first layer's kernels, the model's description, its
file out and in, and conv model files the page refuses; each checked against native pynet."""

import io

import numpy as np
import pytest

import pynet
from pynet import settings, spec
from e2e_helpers import (
    READING_CURRENT,
    assert_reading_is_native,
    default_model,
    download,
    draw_and_read,
    feature_maps,
    native_reading,
    pad_pixels,
    site_data,
    upload,
    wait_reading,
    wait_until,
)

pytestmark = pytest.mark.browser

ANALYSIS_CURRENT = "window.pynet.analysedModel === window.pynet.modelShown"
SMALL = "conv 4@3x3, pool 2, dense 10"


@pytest.fixture(scope="module")
def small_conv(tmp_path_factory):
    """A conv model trained natively here (conv 4@3x3, pool 2, dense 10; 1 epoch on 2,000 of the
    site's training images): (path of its file, the Network read back from it)."""
    X, y = site_data("train")
    net = pynet.Network(SMALL, seed=2)
    net.fit(X[:, :2000], y[:2000], pynet.TrainConfig(epochs=1, batch_size=64, learning_rate=0.003))
    path = tmp_path_factory.mktemp("conv") / "small-conv.npz"
    pynet.save(net, path)
    return path, pynet.load(path)


def expected_maps(net, page):
    """The feature maps native pynet computes for what is on the pad, as the page shows them:
    for each conv or pool layer, its first MAX_SHOWN_CHANNELS maps in grey levels (white: each
    map's own strongest value)."""
    image28, _ = native_reading(net, pad_pixels(page))
    outputs = net.outputs(image28)
    out = []
    for i, name, shape in spec.plan(net.spec).views[:-1]:
        if name.startswith(("conv", "pool")):
            maps = outputs[i][: settings.MAX_SHOWN_CHANNELS].reshape(-1, shape[1] * shape[2]).astype(np.float64)
            top = maps.max(axis=1, keepdims=True)
            out.append((name, shape, 255 * maps / np.where(top > 0, top, 1)))
    return out


def assert_maps_are_native(page, net):
    """The page's feature maps for the drawing on its pad: one group per conv or pool layer, the
    right number of tiles of the right size, each within a grey level of native pynet's."""
    wait_until(page, READING_CURRENT, timeout=10)
    shown = feature_maps(page, pixels=True)
    expected = expected_maps(net, page)
    assert len(shown) == len(expected)
    for group, (name, (C, H, W), grey) in zip(shown, expected):
        assert name in group["name"] and f"{C} map" in group["name"], group["name"]
        assert [t[:2] for t in group["tiles"]] == [[W, H]] * min(C, settings.MAX_SHOWN_CHANNELS)
        np.testing.assert_allclose(np.array(group["pixels"], dtype=np.float64), grey, rtol=0, atol=1.01, err_msg=name)
    return shown


def test_feature_maps_appear_for_a_drawing(app):
    """The default model is conv: a drawn digit shows each conv and pool layer's feature maps,
    native pynet's, lit where the stroke is; an empty pad shows them blank."""
    page, _ = app
    net = default_model()
    assert net.spec == settings.DEFAULT_MODEL["spec"]
    assert draw_and_read(page, "7") == "7"
    assert_reading_is_native(page, net)
    shown = assert_maps_are_native(page, net)
    layers = [(name, shape) for _, name, shape in spec.plan(net.spec).views[:-1] if len(shape) == 3]
    assert [len(g["tiles"]) for g in shown] == [min(C, settings.MAX_SHOWN_CHANNELS) for _, (C, _, _) in layers]
    first = shown[0]
    name, (_, H, W) = layers[0]
    assert name.startswith("conv") and name in first["name"] and f"{H}×{W}" in first["name"]
    lit = [t[2] for t in first["tiles"]]
    assert sum(lit) > len(lit) * 10 and sum(1 for n in lit if n) >= 4, lit  # a stroke lights up several maps
    assert all(0 < n < H * W for n in lit if n), "each map is scaled to itself: lit along the stroke, not everywhere"
    assert "maps active, strongest" in first["label"], first["label"]
    # another digit, other maps
    assert draw_and_read(page, "0") == "0"
    assert [g["pixels"] for g in assert_maps_are_native(page, net)] != [g["pixels"] for g in shown]
    page.click("#clear")
    blank = feature_maps(page)
    assert all(t[2] == 0 for g in blank for t in g["tiles"]) and all("nothing drawn" in g["label"] for g in blank)


def test_the_first_layers_kernels_show_as_tiles(app):
    page, _ = app
    page.click("#analysis summary")
    wait_until(page, f"{ANALYSIS_CURRENT} && document.querySelectorAll('#weights canvas').length > 0", timeout=60)
    W = default_model().parameters["W1"].astype(np.float64)  # (F, 1, kh, kw)
    F, _, kh, kw = W.shape
    caption = page.text_content("#weights-caption")
    assert caption.startswith(f"First-layer kernels: {F} of {kh}×{kw}"), caption
    tiles = page.evaluate("""[...document.querySelectorAll('#weights canvas')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const px = [];
        for (let i = 0; i < d.length; i += 4) px.push([d[i], d[i + 1], d[i + 2]]);
        return [c.width, c.height, px];
    })""")
    assert [t[:2] for t in tiles] == [[kw, kh]] * F
    # diverging colours: red where a weight is positive, blue where negative, the largest saturated
    for (_, _, px), kernel in zip(tiles, W.reshape(F, kh * kw)):
        px = np.array(px)
        positive, negative = kernel > 0, kernel < 0
        assert (px[positive, 0] == 255).all() and (px[negative, 2] == 255).all()
        strongest = np.argmax(np.abs(kernel))
        assert px[strongest].min() == 0


def test_an_uploaded_conv_model_is_described_read_analysed_and_saved(app, small_conv, tmp_path):
    page, _ = app
    path, net = small_conv
    draw_and_read(page, "7")
    asked = page.evaluate("window.pynet.predictionsAsked")
    assert upload(page, path).startswith("Loaded")
    info = page.text_content("#model-info")
    assert f"uploaded model {SMALL} (relu)" in info and f"{sum(p.size for p in net.parameters.values()):,} parameters" in info
    assert page.text_content("#model-layers") == "Layers: conv 4@3x3 (4×26×26) → pool 2 (4×13×13) → dense 10 (10)."
    wait_reading(page, asked)  # the drawing on the pad is read again, with the uploaded model
    assert_reading_is_native(page, net)
    shown = assert_maps_are_native(page, net)
    assert [len(g["tiles"]) for g in shown] == [4, 4]
    # its mistakes and confusion matrix are native pynet's on the 10,000 test images
    wait_until(page, ANALYSIS_CURRENT, timeout=60)
    X, y = site_data("test")
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (y, net.predict(X)), 1)
    cells = page.evaluate("""[...document.querySelectorAll('#confusion button.cell')].map(
        (b) => [Number(b.dataset.true), Number(b.dataset.predicted), Number(b.textContent)])""")
    shown_matrix = np.zeros((10, 10), np.int64)
    for t, p, n in cells:
        shown_matrix[t, p] = n
    np.testing.assert_array_equal(shown_matrix, matrix)
    # downloaded again: the same model
    again = pynet.load(download(page, tmp_path / "again.npz"))
    assert again.spec == SMALL
    for k, p in net.parameters.items():
        np.testing.assert_array_equal(again.parameters[k], p)


def _with_entries(path, out, **entries):
    """The model file at path, some of its entries replaced, written to out."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    arrays.update({k: np.asarray(v) for k, v in entries.items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    out.write_bytes(buf.getvalue())


@pytest.mark.parametrize("case, words", [
    ("spec of other layers than its arrays", "are not those of its spec"),
    ("garbage spec", "its spec 'conv lots; dense' is not valid"),
    ("too big for the page", "more than the 16 mb a model may take here"),
])
def test_bad_conv_model_files_are_refused_and_the_model_stays(app, small_conv, tmp_path, case, words):
    page, _ = app
    path, _ = small_conv
    bad = tmp_path / "bad-conv.npz"
    if case == "spec of other layers than its arrays":
        _with_entries(path, bad, spec="conv 6@3x3, pool 2, dense 10")
    elif case == "garbage spec":
        _with_entries(path, bad, spec="conv lots; dense")
    else:  # few parameters, but one image through its layers takes 25 MB
        pynet.save(pynet.Network("conv 1@1x1 pad 722, pool 46, dense 10", seed=0), bad)
    model = page.text_content("#model-info")
    restarts = page.evaluate("window.pynet.restarts")
    draw_and_read(page, "7")
    before = page.evaluate("[window.pynet.lastPrediction, document.getElementById('activations').innerHTML]")
    message = upload(page, bad)
    assert message.startswith("Refused bad-conv.npz: ") and words in message.lower(), message
    assert message.endswith(". The previous model is still in use.")
    assert page.text_content("#model-info") == model
    draw_and_read(page, "7")
    wait_until(page, READING_CURRENT, timeout=10)
    assert page.evaluate("[window.pynet.lastPrediction, document.getElementById('activations').innerHTML]") == before
    assert page.evaluate("window.pynet.restarts") == restarts
