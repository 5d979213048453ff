"""Augmentation: pynet.augment's distortions against exact references (np.rot90, known moves,
bilinear means, Simard's full-resolution elastic field), their seeding, and the trainer
training on them (one worker or several) while evaluating on the images as they are."""

import numpy as np
import pytest

from pynet import augment
from pynet.augment import distort, random_parameters, smooth_field, transform, uniform
from pynet.errors import SettingError
from pynet.model import Network, TrainConfig
from pynet.trainer import Trainer, shard_gradients


def images(m=6, seed=0, dtype=np.uint8):
    """m random 28x28 images as columns (784, m), blank along the border as MNIST's are."""
    rng = np.random.default_rng(seed)
    X = np.zeros((m, 28, 28))
    X[:, 4:24, 4:24] = rng.integers(0, 256, size=(m, 20, 20))
    X = X.reshape(m, 784).T
    return X.astype(dtype) if dtype == np.uint8 else (X / 256).astype(dtype)


def square(X, j):
    return X[:, j].reshape(28, 28)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_zero_distortion_is_the_identity(dtype):
    X = images(5, dtype=dtype)
    out = transform(X, angle=0.0, scale=1.0, shift=(0.0, 0.0))
    assert out.shape == X.shape and out.dtype == X.dtype
    np.testing.assert_array_equal(out, X)
    zero_field = np.zeros((2, 5, 28, 28))
    np.testing.assert_array_equal(transform(X, np.zeros(5), np.ones(5), np.zeros((2, 5)), zero_field), X)


def test_a_shift_moves_a_pixel_right_and_down():
    X = np.zeros((784, 2), np.uint8)
    X[5 * 28 + 7, 0] = 200  # row 5, column 7
    X[20 * 28 + 20, 1] = 90
    out = transform(X, shift=np.array([[2.0, -30.0], [-3.0, 0.0]]))  # (x, y) of each image
    assert np.argwhere(square(out, 0)).tolist() == [[2, 9]] and square(out, 0)[2, 9] == 200
    assert not out[:, 1].any()  # moved out of the image: what comes in is background


def test_a_half_pixel_shift_is_the_mean_of_neighbours():
    X = images(3, dtype=np.float64)
    out = transform(X, shift=(0.5, 0.0))
    for j in range(3):
        img = square(X, j)
        expected = np.zeros_like(img)
        expected[:, 1:] = (img[:, 1:] + img[:, :-1]) / 2
        expected[:, 0] = img[:, 0] / 2  # half of it read from outside, which is 0
        np.testing.assert_allclose(square(out, j), expected, atol=1e-6)


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_rotation_by_right_angles_is_rot90(angle, k):
    X = images(4)
    out = transform(X, angle=angle)
    for j in range(4):
        np.testing.assert_array_equal(square(out, j), np.rot90(square(X, j), k))  # counterclockwise as shown


def test_scale_about_the_centre():
    X = np.zeros((784, 1), np.float64)
    X[14 * 28 + 14] = 1.0  # half a pixel below and right of the centre (13.5, 13.5)
    out = square(transform(X, scale=3.0), 0)
    # output pixel r reads the source at (r - 13.5) / 3 + 13.5
    assert out[15, 15] == pytest.approx(1.0)  # reads (14, 14)
    assert out[14, 14] == pytest.approx((2 / 3) ** 2)  # reads (13.67, 13.67)
    assert out[16, 14] == pytest.approx(2 / 3 * 2 / 3)  # reads (14.33, 13.67)
    assert np.argwhere(out > 1e-9).min() == 13 and np.argwhere(out > 1e-9).max() == 17


def test_dtypes_shapes_and_range_are_kept():
    for dtype, expected in ((np.uint8, np.uint8), (np.float32, np.float32), (np.float64, np.float64),
                            (np.int64, np.float64)):
        X = images(7, dtype=np.uint8).astype(dtype)
        for kind in ("affine", "elastic"):
            out = distort(X, kind, seed=3, step=0, index=np.arange(7))
            assert out.shape == (784, 7) and out.dtype == expected
            assert out.min() >= 0 and out.max() <= 255
            assert not np.array_equal(out, X)
    Xf = images(50, dtype=np.float32)  # pixels in [0, 1): bilinear means stay there
    out = distort(Xf, "elastic", 1, 2, np.arange(50))
    assert 0 <= out.min() and out.max() <= Xf.max()
    # each image keeps most of its ink: the digit moved, not lost
    ink = images(50).astype(float).sum(axis=0)
    moved = distort(images(50), "affine", 1, 2, np.arange(50)).astype(float).sum(axis=0)
    assert np.all(np.abs(moved / ink - 1) < 0.3)


def test_off_returns_the_images():
    X = images(3)
    assert distort(X, "off", 0, 0, np.arange(3)) is X


def test_random_parameters_lie_in_their_ranges_and_spread_over_them():
    p = random_parameters("affine", seed=0, step=0, index=np.arange(5000))
    assert p["displacement"] is None
    for values, low, high in ((p["angle"], -augment.MAX_ANGLE, augment.MAX_ANGLE), (p["scale"], *augment.SCALE_RANGE),
                              (p["shift"], -augment.MAX_SHIFT, augment.MAX_SHIFT)):
        assert low <= values.min() < low + 0.02 * (high - low) and high - 0.02 * (high - low) < values.max() <= high
        assert values.mean() == pytest.approx((low + high) / 2, abs=0.02 * (high - low))


def test_seeded_by_seed_step_and_index_alone():
    X = images(8)
    index = np.arange(100, 108)
    a = distort(X, "elastic", seed=4, step=9, index=index)
    np.testing.assert_array_equal(a, distort(X, "elastic", seed=4, step=9, index=index))
    for other in ({"seed": 5, "step": 9}, {"seed": 4, "step": 10}):
        b = distort(X, "elastic", index=index, **other)
        assert all(not np.array_equal(a[:, j], b[:, j]) for j in range(8))
    # any part of a batch, anywhere, is distorted as in the whole batch: a shard reproduces its own
    part = [6, 1, 3]
    np.testing.assert_array_equal(distort(X[:, part], "elastic", 4, 9, index[part]), a[:, part])
    # the same image at another index is distorted otherwise
    same = distort(X[:, [0, 0]], "affine", 4, 9, np.array([1, 2]))
    assert not np.array_equal(same[:, 0], same[:, 1])


def test_uniform_numbers():
    u = uniform(seed=0, step=0, index=np.arange(20_000), count=3)
    assert u.shape == (3, 20_000) and 0 <= u.min() and u.max() < 1
    assert np.histogram(u, bins=10, range=(0, 1))[0] == pytest.approx([6000] * 10, rel=0.05)
    assert abs(np.corrcoef(u)[0, 1]) < 0.03 and abs(np.corrcoef(u[0, :-1], u[0, 1:])[0, 1]) < 0.03
    big = uniform(seed=2**70, step=2**64 + 1, index=np.array([0, 2**40]), count=1)  # any whole numbers
    assert big.shape == (1, 2)


def simard_field(noise, alpha=34.0, sigma=4.0):
    """Simard et al.'s field: noise at every pixel (m, 28 + 2r, 28 + 2r), convolved with a
    normalised Gaussian of radius r = 4 sigma, times alpha: (m, 28, 28)."""
    r = int(4 * sigma)
    g = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma**2))
    g /= g.sum()
    windows = np.lib.stride_tricks.sliding_window_view
    rows = np.einsum("mjxk,k->mjx", windows(noise, 2 * r + 1, axis=2), g)  # (m, 28 + 2r, 28)
    return alpha * np.einsum("myxk,k->myx", windows(rows, 2 * r + 1, axis=1), g)


def test_elastic_field_is_simards_smooth_and_bounded():
    field = random_parameters("elastic", seed=0, step=0, index=np.arange(3000))["displacement"]
    assert field.shape == (2, 3000, 28, 28) and field.dtype == np.float32
    rng = np.random.default_rng(0)
    reference = simard_field(rng.uniform(-1, 1, size=(3000, 28 + 32, 28 + 32)))
    # the same spread, and neighbouring pixels move alike as much as in Simard's field
    assert field.std() == pytest.approx(reference.std(), rel=0.05)
    for axis in (-1, -2):
        assert np.diff(field, axis=axis).std() == pytest.approx(np.diff(reference, axis=axis).std(), rel=0.15)
    assert np.diff(field, axis=-1).std() < 0.2 * field.std() * np.sqrt(2)  # white noise would give 1
    assert np.abs(field).max() < 8  # pixels: the digit stays in the frame
    assert abs(field.mean()) < 0.05
    # a field's two directions and two images are unrelated
    assert abs(np.corrcoef(field[0].ravel(), field[1].ravel())[0, 1]) < 0.05


def test_smooth_field_of_a_single_lattice_point_is_a_gaussian():
    n = augment.lattice_size()
    noise = np.zeros((n, n))
    noise[n // 2, n // 2] = 1.0
    field = smooth_field(noise, alpha=2.0, sigma=3.0)
    peak = np.unravel_index(field.argmax(), field.shape)
    profile = field[peak[0]]
    # separable: every row is the peak row's profile scaled; the profile is a Gaussian of sigma 3
    np.testing.assert_allclose(field / profile.max(), np.outer(field[:, peak[1]], profile) / profile.max() ** 2,
                               rtol=1e-5, atol=1e-7)
    x = np.arange(28)
    centre = (x * profile).sum() / profile.sum()
    assert np.sqrt(((x - centre) ** 2 * profile).sum() / profile.sum()) == pytest.approx(3.0, rel=0.02)


def test_only_square_images():
    with pytest.raises(ValueError, match="square images; an input of 780 values"):
        distort(np.zeros((780, 2), np.uint8), "affine", 0, 0, np.arange(2))
    with pytest.raises(ValueError, match="square images"):
        Trainer(Network([780, 4, 10]), np.zeros((780, 3)), np.zeros(3, int), TrainConfig(augment="affine"))


def test_the_setting_is_checked():
    with pytest.raises(SettingError) as e:
        TrainConfig(augment="rotate").validated()
    assert e.value.field == "augment"
    assert str(e.value) == "augment must be one of ('off', 'affine', 'elastic'), got 'rotate'"
    assert TrainConfig(augment="elastic").validated().augment == "elastic"
    assert TrainConfig().augment == "off"


def shapes(m=400, seed=1):
    """Digits' stand-ins: a blob of 10 shapes each, 784 uint8 pixels, classes as labels."""
    rng = np.random.default_rng(seed)
    shapes = np.zeros((10, 28, 28))
    for c in range(10):
        shapes[c, 6 + c : 12 + c, 4 + 2 * c % 16 : 10 + 2 * c % 16] = 255
    y = rng.integers(0, 10, m)
    X = np.clip(shapes[y] + rng.normal(0, 30, (m, 28, 28)), 0, 255).astype(np.uint8).reshape(m, 784).T
    return X, y


def test_the_trainer_trains_on_the_distorted_batch_of_each_step():
    """A full batch of SGD: the step is the gradient of distort(X, seed, step 0, every index)."""
    X, y = shapes(64)
    config = TrainConfig(epochs=1, batch_size=0, optimizer="sgd", learning_rate=0.1, seed=7, augment="elastic")
    net = Network([784, 16, 10], seed=7, dtype="float64")
    before = {k: v.copy() for k, v in net.parameters.items()}
    _, _, expected = Network([784, 16, 10], seed=7, dtype="float64").gradients(
        distort(X, "elastic", 7, 0, np.arange(64)), y)
    list(Trainer(net, X, y, config).run())
    for k, p in before.items():
        np.testing.assert_allclose(net.parameters[k], p - 0.1 * expected["d" + k], rtol=1e-12, atol=1e-14)


def run(X, y, config, test=None, dims=(784, 16, 10)):
    net = Network(list(dims), seed=config.seed)
    events = list(Trainer(net, X, y, config, test=test).run())
    return net, events


def test_augmented_runs_are_reproducible_learn_and_are_evaluated_undistorted():
    X, y = shapes(400)
    Xt, yt = shapes(200, seed=2)
    config = TrainConfig(epochs=3, batch_size=50, learning_rate=0.003, seed=3, augment="affine")
    net, events = run(X, y, config, test=(Xt, yt))
    again, events_again = run(X, y, config, test=(Xt, yt))
    losses = [e["loss"] for e in events if e["type"] == "batch"]
    assert losses == [e["loss"] for e in events_again if e["type"] == "batch"]
    plain = [e["loss"] for e in run(X, y, TrainConfig(**{**config.to_dict(), "augment": "off"}))[1] if e["type"] == "batch"]
    assert losses[0] != plain[0] and len(losses) == len(plain)  # the same batches, distorted from the first
    last = [e for e in events if e["type"] == "epoch"][-1]
    assert last["test_acc"] == net.evaluate(Xt, yt)["accuracy"] > 0.5  # the test set as it is
    assert events[0]["config"]["augment"] == "affine"


def test_a_shard_is_distorted_by_its_step():
    """A helper distorts its shard as the trainer does at that step (tests/test_parallel.py
    trains whole runs that way); one that did not would compute another gradient."""
    X, y = shapes(100)
    config = TrainConfig(seed=5, augment="affine")
    net = Network([784, 16, 10], seed=5, dtype="float64")
    idx = np.array([3, 70, 12])
    n, loss_sum, correct, flat = shard_gradients(net, X, y, idx, config, step=4)
    ref_loss, _, ref = net.gradients(distort(X[:, idx], "affine", 5, 4, idx), y[idx])
    assert n == 3 and loss_sum == pytest.approx(ref_loss)
    np.testing.assert_allclose(flat, net.flatten_gradients(ref) * 3, rtol=1e-12)
    assert not np.allclose(flat, shard_gradients(net, X, y, idx)[3])
    assert not np.allclose(flat, shard_gradients(net, X, y, idx, config, step=5)[3])


def test_a_conv_network_trains_on_distorted_images_in_two_shards_as_in_one():
    X, y = shapes(90)
    config = TrainConfig(epochs=1, batch_size=30, optimizer="adam", learning_rate=0.003, seed=2, augment="elastic")
    text = "conv 3@5x5, pool 4, dense 10"
    one = Network(text, seed=2, dtype="float64")
    list(Trainer(one, X, y, config).run())
    two, helper = Network(text, seed=2, dtype="float64"), Network(text, seed=8, dtype="float64")
    gen = Trainer(two, X, y, config, shards=2).run()
    event = next(gen)
    while event["type"] != "done":
        if event["type"] == "gradients":
            helper.load_flat_parameters(event["parameters"])
            answers = [shard_gradients(helper, X, y, event["shards"][0], config, event["step"])]
        event = gen.send(answers if event["type"] == "awaiting" else None)
    plain = Network(text, seed=2, dtype="float64")
    list(Trainer(plain, X, y, TrainConfig(**{**config.to_dict(), "augment": "off"})).run())
    for k, p in one.parameters.items():
        np.testing.assert_allclose(two.parameters[k], p, rtol=1e-7, atol=1e-9, err_msg=k)
        assert not np.allclose(plain.parameters[k], p)
