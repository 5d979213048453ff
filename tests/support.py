"""Helpers shared by the native test files (imported by name: tests/ is on sys.path)."""

import io
import zipfile

import numpy as np

from pynet import serialize
from pynet.page.state import STATE


def same_model(a, b):
    """Two model files hold the same model: parameters, layers and metadata (their bytes differ
    with the zip members' timestamps)."""
    a, b = serialize.from_bytes(a), serialize.from_bytes(b)
    assert (a.dimensions, a.hidden_activation, a.metadata) == (b.dimensions, b.hidden_activation, b.metadata)
    assert sorted(a.parameters) == sorted(b.parameters)
    return all(a.parameters[k].dtype == b.parameters[k].dtype and np.array_equal(a.parameters[k], b.parameters[k])
               for k in a.parameters)


def pickled_object(marker):
    """An object array whose unpickling would create the file marker: loading it must never happen."""

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    obj = np.empty(1, dtype=object)
    obj[0] = Payload()
    return obj


def training():
    """Whether the page's worker (pynet.page) has a training run in progress."""
    return STATE["run"] is not None


def zip_bytes(members, compression=zipfile.ZIP_STORED):
    """A zip archive's bytes holding members {name: bytes}, for hand-made (hostile) .npz files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, payload in members.items():
            z.writestr(name, payload)
    return buf.getvalue()
