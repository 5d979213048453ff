"""Model files: exact round trips, and a clear ValueError for every malformed or hostile file."""

import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import pynet
from pynet import Network, TrainConfig, serialize
from support import pickled_object


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(3)
    X = rng.random((784, 300))
    y = rng.integers(0, 10, 300)
    net = Network([784, 12, 10], seed=5)
    net.fit(X, y, TrainConfig(epochs=2, batch_size=50, learning_rate=0.01))
    net.metadata = {"name": "unit", "test_acc": 0.5}
    return net, X


def entries(net, **changes):
    """The arrays of net's model file, with entries replaced (value None: removed)."""
    with np.load(io.BytesIO(serialize.to_bytes(net)), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    return arrays


def npz(arrays, allow_pickle=False):
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=allow_pickle, **arrays) if allow_pickle else np.savez(buf, **arrays)
    return buf.getvalue()


def test_round_trip_bytes(trained):
    net, X = trained
    blob = serialize.to_bytes(net, {"extra": [1, 2]})
    back = serialize.from_bytes(blob, expect_io=(784, 10))
    assert back.dimensions == [784, 12, 10]
    assert back.hidden_activation == "relu"
    assert back.dtype == np.float32
    assert back.metadata == {"name": "unit", "test_acc": 0.5, "extra": [1, 2]}
    assert net.metadata == {"name": "unit", "test_acc": 0.5}  # the caller's dict is not changed
    for k in net.parameters:
        assert back.parameters[k].dtype == net.parameters[k].dtype
        np.testing.assert_array_equal(back.parameters[k], net.parameters[k])
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_round_trip_file_float64_sigmoid(tmp_path):
    net = Network([6, 5, 4, 3], hidden_activation="sigmoid", seed=8, dtype="float64")
    path = tmp_path / "model.npz"
    serialize.save(net, path, {"note": "hi"})
    back = serialize.load(path)
    assert back.hidden_activation == "sigmoid" and back.dtype == np.float64
    assert back.dimensions == [6, 5, 4, 3] and back.metadata == {"note": "hi"}
    X = np.random.default_rng(0).normal(size=(6, 9))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    # the file holds no pickle: it loads with allow_pickle=False and has exactly these entries
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(["format", "version", "dimensions", "hidden_activation", "metadata",
                                          "W1", "b1", "W2", "b2", "W3", "b3"])
        assert str(z["format"]) == "pynet-model" and int(z["version"]) == 1
        assert json.loads(str(z["metadata"])) == {"note": "hi"}


def test_a_loaded_model_keeps_training(trained):
    net, X = trained
    back = serialize.from_bytes(serialize.to_bytes(net))
    y = net.predict(X)
    before = back.evaluate(X, y)["loss"]
    back.fit(X, y, TrainConfig(epochs=2, batch_size=50, learning_rate=0.01))
    assert back.evaluate(X, y)["loss"] < before


def _zip_bomb_declared(blob, name="W1.npy", size=0xFFFFFFF0):
    """Patch the declared uncompressed size of one member (central directory and local header)."""
    data = bytearray(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        info = z.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)  # local file header
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        assert pos >= 0
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46: pos + 46 + n]).decode() == name:
            struct.pack_into("<I", data, pos + 24, size)  # central directory entry
            return bytes(data)
        pos += 4


def _real_zip_bomb(net, megabytes):
    arrays = entries(net)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays, padding=np.zeros(megabytes << 20, np.uint8))
    return buf.getvalue()


def test_declared_zip_bomb_is_refused_before_unpacking(trained):
    net, _ = trained
    bomb = _zip_bomb_declared(serialize.to_bytes(net))
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        assert z.getinfo("W1.npy").file_size == 0xFFFFFFF0
    with pytest.raises(ValueError, match="would unpack to .* MiB"):
        serialize.from_bytes(bomb)


def test_real_zip_bomb_is_refused(trained, monkeypatch):
    net, _ = trained
    bomb = _real_zip_bomb(net, 8)
    assert len(bomb) < 100_000  # 8 MiB of zeros compress to a few kB
    monkeypatch.setattr(serialize, "MAX_BYTES", 4 << 20)  # same check, smaller limit: keeps the test fast
    with pytest.raises(ValueError, match="would unpack to 8 MiB, more than the 4 MiB allowed"):
        serialize.from_bytes(bomb)


CASES = {
    "wrong format tag": (dict(format=np.array("other-model")), "format tag"),
    "format tag not a string": (dict(format=np.array(7)), "'format' entry has the wrong type"),
    "missing format": (dict(format=None), "'format' entry is missing"),
    "wrong version": (dict(version=np.array(2)), "format version 2"),
    "version as text": (dict(version=np.array("1")), "'version' entry has the wrong type"),
    "unknown activation": (dict(hidden_activation=np.array("tanh")), "hidden activation 'tanh'"),
    "metadata not JSON": (dict(metadata=np.array("{oops")), "metadata is not a JSON object"),
    "metadata a list": (dict(metadata=np.array("[1, 2]")), "metadata is not a JSON object"),
    "missing parameter": (dict(W2=None), "parameter W2 is missing"),
    "missing bias": (dict(b1=None), "parameter b1 is missing"),
    "wrong shape": (dict(W1=np.zeros((12, 783), np.float32)), "parameter W1 has shape"),
    "bias as a vector": (dict(b2=np.zeros(10, np.float32)), "parameter b2 has shape"),
    "NaN weights": (dict(W2=np.full((10, 12), np.nan, np.float32)), "W2 contains NaN or inf"),
    "inf bias": (dict(b1=np.full((12, 1), np.inf, np.float32)), "b1 contains NaN or inf"),
    "integer weights": (dict(W1=np.zeros((12, 784), np.int64)), "W1 has dtype int64"),
    "mixed dtypes": (dict(W1=np.zeros((12, 784), np.float64)), "mix float32 and float64"),
    "extra entry": (dict(hidden=np.zeros(3)), "unexpected entries \\['hidden'\\]"),
    "extra layer weights": (dict(W3=np.zeros((10, 10), np.float32)), "unexpected entries \\['W3'\\]"),
    "dimensions too short": (dict(dimensions=np.array([784])), "needs an input size"),
    "zero width": (dict(dimensions=np.array([784, 0, 10])), "must be at least 1"),
    "dimensions float": (dict(dimensions=np.array([784.0, 12.0, 10.0])), "'dimensions' must be a list of whole numbers"),
    "dimensions missing": (dict(dimensions=None), "'dimensions' must be a list of whole numbers"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_entries_are_refused(trained, case):
    net, _ = trained
    changes, fragment = CASES[case]
    blob = npz(entries(net, **changes))
    with pytest.raises(ValueError, match="not a valid pynet model file: .*" + fragment):
        serialize.from_bytes(blob)


def test_an_untouched_rebuild_is_accepted(trained):
    """The helpers above build valid files when nothing is changed (so the refusals are specific)."""
    net, X = trained
    back = serialize.from_bytes(npz(entries(net)))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_object_arrays_and_pickles_are_refused(trained, tmp_path):
    net, _ = trained
    marker = tmp_path / "pwned"

    obj = pickled_object(marker)
    for blob in (
        npz(entries(net, W1=obj), allow_pickle=True),
        npz(entries(net, metadata=np.array([{"a": 1}], dtype=object)), allow_pickle=True),
        pickle.dumps(net),
        pickle.dumps(obj[0]),
    ):
        with pytest.raises(ValueError, match="not a valid pynet model file"):
            serialize.from_bytes(blob)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 10, 100, 0.5, -30])
def test_truncated_files_are_refused(trained, cut):
    net, _ = trained
    blob = serialize.to_bytes(net)
    n = int(len(blob) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(blob) + cut)
    with pytest.raises(ValueError, match="not a valid pynet model file"):
        serialize.from_bytes(blob[:n])


def test_random_bytes_are_refused():
    rng = np.random.default_rng(0)
    for size in (1, 64, 5000):
        with pytest.raises(ValueError, match="not a valid pynet model file"):
            serialize.from_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    # random bytes behind a zip signature
    with pytest.raises(ValueError, match="not a valid pynet model file"):
        serialize.from_bytes(b"PK\x03\x04" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())


def _rewritten(net, replace):
    """The model file of net with some members replaced: replace(name, data) -> (name, data)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(serialize.to_bytes(net))) as zin, zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            zout.writestr(*replace(name, zin.read(name)))
    return buf.getvalue()


def test_zip_members_that_are_not_arrays_are_refused(trained):
    net, _ = trained
    # a .npy member without the .npy magic
    blob = _rewritten(net, lambda name, data: (name, b"pynet-model" if name == "format.npy" else data))
    with pytest.raises(ValueError, match="not a valid pynet model file: the entry 'format.npy' is not a .npy array"):
        serialize.from_bytes(blob)
    # a member not named .npy: numpy would hand it over as raw bytes
    blob = _rewritten(net, lambda name, data: ("format.txt", b"pynet-model") if name == "format.npy" else (name, data))
    with pytest.raises(ValueError, match="not a valid pynet model file: entries \\['format.txt'\\] are not .npy arrays"):
        serialize.from_bytes(blob)


def test_corrupted_member_is_refused(trained):
    net, _ = trained
    blob = bytearray(serialize.to_bytes(net))
    with zipfile.ZipFile(io.BytesIO(bytes(blob))) as z:
        info = z.getinfo("W1.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 20, start + 60):
        blob[i] ^= 0xFF
    with pytest.raises(ValueError, match="not a valid pynet model file"):
        serialize.from_bytes(bytes(blob))


def test_expect_io(trained):
    net, _ = trained
    assert serialize.from_bytes(serialize.to_bytes(net), expect_io=(784, 10)).dimensions == [784, 12, 10]
    for dims in ([100, 12, 10], [784, 12, 5]):
        other = serialize.to_bytes(Network(dims))
        with pytest.raises(ValueError, match="not 784 and 10"):
            serialize.from_bytes(other, expect_io=(784, 10))
        assert serialize.from_bytes(other).dimensions == dims  # without expect_io it loads


def test_from_bytes_needs_bytes():
    with pytest.raises(TypeError, match="^from_bytes needs bytes$"):
        serialize.from_bytes("a string")
    assert serialize.from_bytes(bytearray(serialize.to_bytes(Network([3, 2])))).dimensions == [3, 2]
    assert serialize.from_bytes(memoryview(serialize.to_bytes(Network([3, 2])))).dimensions == [3, 2]


def test_public_names():
    assert pynet.save is serialize.save and pynet.load is serialize.load
    assert pynet.to_bytes is serialize.to_bytes and pynet.from_bytes is serialize.from_bytes


# The whole sentence the page and the command line show for each refusal.
MESSAGES = {
    "wrong format tag": "its format tag is not 'pynet-model'",
    "format tag not a string": "the 'format' entry has the wrong type",
    "missing format": "the 'format' entry is missing",
    "wrong version": "it has format version 2; this pynet reads version 1",
    "version as text": "the 'version' entry has the wrong type",
    "unknown activation": "hidden activation 'tanh' is not one of ('relu', 'sigmoid')",
    "metadata not JSON": "its metadata is not a JSON object",
    "metadata a list": "its metadata is not a JSON object",
    "missing parameter": "parameter W2 is missing for dimensions [784, 12, 10]",
    "missing bias": "parameter b1 is missing for dimensions [784, 12, 10]",
    "wrong shape": "parameter W1 has shape (12, 783); dimensions [784, 12, 10] need (12, 784)",
    "bias as a vector": "parameter b2 has shape (10,); dimensions [784, 12, 10] need (10, 1)",
    "NaN weights": "parameter W2 contains NaN or inf",
    "inf bias": "parameter b1 contains NaN or inf",
    "integer weights": "parameter W1 has dtype int64; expected float32 or float64",
    "mixed dtypes": "parameters mix float32 and float64",
    "extra entry": "unexpected entries ['hidden']",
    "extra layer weights": "unexpected entries ['W3']",
    "dimensions too short": "dimensions needs an input size and at least one layer, such as [784, 45, 10]; got [784]",
    "zero width": "dimensions[1] must be at least 1, got 0",
    "dimensions float": "'dimensions' must be a list of whole numbers",
    "dimensions missing": "'dimensions' must be a list of whole numbers",
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_is_one_whole_sentence(trained, case):
    net, _ = trained
    with pytest.raises(ValueError) as e:
        serialize.from_bytes(npz(entries(net, **CASES[case][0])))
    assert str(e.value) == "not a valid pynet model file: " + MESSAGES[case]


@pytest.mark.parametrize("changes, message", [
    (dict(format=np.array(["pynet-model"])), "the 'format' entry has the wrong type"),
    (dict(version=np.array([1])), "the 'version' entry has the wrong type"),
    (dict(version=np.array(1.0)), "the 'version' entry has the wrong type"),
    (dict(metadata=np.array("null")), "its metadata is not a JSON object"),
    (dict(metadata=np.array(3)), "the 'metadata' entry has the wrong type"),
    (dict(hidden_activation=None), "the 'hidden_activation' entry is missing"),
    (dict(dimensions=np.array([[784, 12, 10]])), "'dimensions' must be a list of whole numbers"),
    (dict(W1=np.zeros((12, 784), np.float16)), "parameter W1 has dtype float16; expected float32 or float64"),
])
def test_more_refusals(trained, changes, message):
    net, _ = trained
    with pytest.raises(ValueError) as e:
        serialize.from_bytes(npz(entries(net, **changes)))
    assert str(e.value) == "not a valid pynet model file: " + message


def test_unsigned_dimensions_and_no_metadata_entries_are_fine(trained):
    net, X = trained
    back = serialize.from_bytes(npz(entries(net, dimensions=np.array([784, 12, 10], np.uint16),
                                            metadata=np.array("{}"))))
    assert back.dimensions == [784, 12, 10] and back.metadata == {}
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_to_bytes_without_metadata_keeps_the_networks(trained):
    net, _ = trained
    assert serialize.from_bytes(serialize.to_bytes(net)).metadata == {"name": "unit", "test_acc": 0.5}
    assert serialize.from_bytes(serialize.to_bytes(net, {"name": "other"})).metadata == {"name": "other",
                                                                                       "test_acc": 0.5}


def test_max_bytes_is_the_callers_limit(trained):
    net, _ = trained
    blob = serialize.to_bytes(net)
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        total = sum(info.file_size for info in z.infolist())
    assert serialize.from_bytes(blob, max_bytes=total).dimensions == [784, 12, 10]
    with pytest.raises(ValueError, match=r"^not a valid pynet model file: it would unpack to 0 MiB, more than the "
                                         r"0 MiB allowed$"):
        serialize.from_bytes(blob, max_bytes=total - 1)
    assert serialize.MAX_BYTES == 256 * 2**20


def test_load_checks_inputs_and_classes(tmp_path):
    path = tmp_path / "m.npz"
    serialize.save(Network([100, 8, 10]), path)
    assert serialize.load(path).dimensions == [100, 8, 10]
    with pytest.raises(ValueError) as e:
        serialize.load(str(path), expect_io=(784, 10))
    assert str(e.value) == ("not a valid pynet model file: its layers are [100, 8, 10]: it takes 100 inputs and "
                            "gives 10 classes, not 784 and 10")


def test_an_unreadable_archive_names_the_error():
    blob = zipfile_with_broken_member()
    with pytest.raises(ValueError, match=r"^not a valid pynet model file: it is not a readable \.npz archive \("):
        serialize.from_bytes(blob)


def zipfile_with_broken_member():
    """A zip whose only .npy member passes the header checks but whose deflate stream is cut."""
    arr = np.arange(5000, dtype=np.float32)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        b = io.BytesIO()
        np.save(b, arr)
        z.writestr("W1.npy", b.getvalue())
    data = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("W1.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 200, start + info.compress_size - 10):
        data[i] = 0x55
    return bytes(data)


def test_the_metadata_text_does_not_depend_on_the_order_of_its_keys():
    """The same model and metadata give the same file content whatever order the keys were set in."""
    texts = []
    for meta in ({"b": 1, "a": {"y": 2, "x": 3}}, {"a": {"x": 3, "y": 2}, "b": 1}):
        net = Network([3, 2], seed=1)
        net.metadata = meta
        with np.load(io.BytesIO(serialize.to_bytes(net))) as z:
            texts.append(str(z["metadata"]))
    assert texts[0] == texts[1] == json.dumps({"a": {"x": 3, "y": 2}, "b": 1}, sort_keys=True)


def test_numpys_own_refusal_is_passed_on_once():
    """A member whose header claims exactly its own size passes the archive checks; NumPy then
    finds the data short, and its message is given after the one prefix."""
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (1000,), }"
    header += b" " * ((-(10 + len(header) + 1)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    member += bytes(1000 - len(member))
    blob = _rewritten(Network([3, 2], seed=1), lambda name, data: (name, member if name == "b1.npy" else data))
    with pytest.raises(ValueError) as e:
        serialize.from_bytes(blob)
    assert str(e.value) == f"not a valid pynet model file: EOF: reading array data, expected 1000 bytes got {1000 - 128}"
    # and a refusal of pynet's own, from inside the same block, is not prefixed twice
    blob = _rewritten(Network([3, 2], seed=1),
                      lambda name, data: ("format.txt", b"pynet-model") if name == "format.npy" else (name, data))
    with pytest.raises(ValueError) as e:
        serialize.from_bytes(blob)
    assert str(e.value) == "not a valid pynet model file: entries ['format.txt'] are not .npy arrays"


def test_the_file_holds_int64_dimensions_on_every_platform():
    """As the format says (NumPy's default integer is 32-bit on wasm32, where the page runs)."""
    with np.load(io.BytesIO(serialize.to_bytes(Network([5, 3, 2])))) as z:
        assert z["dimensions"].dtype == np.int64 and z["dimensions"].tolist() == [5, 3, 2]


def test_from_bytes_never_unpickles_even_past_the_archive_check(trained, tmp_path, monkeypatch):
    """Defence in depth: with the archive check out of the way, np.load still refuses pickles."""
    net, _ = trained
    marker = tmp_path / "pwned-past-check"

    obj = pickled_object(marker)
    monkeypatch.setattr(serialize, "check_npz_archive", lambda *args: None)
    with pytest.raises(ValueError, match="^not a valid pynet model file: Object arrays cannot be loaded"):
        serialize.from_bytes(npz(entries(net, W1=obj), allow_pickle=True))
    assert not marker.exists()


def test_save_writes_beside_the_destination_and_renames(tmp_path, monkeypatch):
    """The partial file is in the destination's folder (a rename is only atomic within one file
    system), whatever the working directory, and nothing is left behind."""
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    renames = []
    real = serialize.os.replace
    monkeypatch.setattr(serialize.os, "replace", lambda src, dst: (renames.append((src, dst)), real(src, dst))[1])
    dest = tmp_path / "models" / "m.npz"
    dest.parent.mkdir()
    serialize.save(pynet.Network([784, 4, 10], seed=0), dest)
    [(src, dst)] = renames
    assert os.path.dirname(src) == str(dest.parent) and dst == str(dest)
    assert sorted(os.listdir(dest.parent)) == ["m.npz"] and os.listdir(elsewhere) == []
