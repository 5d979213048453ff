"""Model files: a network saved as ``.npz`` with its architecture and metadata, no pickle.

Arrays in the file::

    format             'pynet-model'     str
    version            1                 int
    dimensions         [784, 45, 10]     int64 (L+1,)
    hidden_activation  'relu'            str
    metadata           '{...}'           str, JSON (training settings, accuracy, ...)
    W1, b1, ..., WL, bL                  float32/float64, shapes from dimensions
    spec               'conv 8@5x5, ...' str, only for a network with conv or pooling layers
                                         (pynet.spec; its dimensions are then the flat sizes of
                                         the input and of each layer with parameters)

Files without a spec (every file saved before conv layers existed) are dense networks, read
as they always were.

The same file is written and read natively and in the browser. Loading checks every field
before anything is used, so a truncated, mismatched or hostile file is refused with a clear
ValueError and whatever model the caller already has stays as it was.
"""

import io
import json
import os

import numpy as np

from . import spec
from .core import check_dimensions
from .data import NPZ_ERRORS, Refused, check_npz_archive
from .model import HIDDEN_ACTIVATIONS, Network

FORMAT = "pynet-model"
VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # uncompressed size limit: refuses zip bombs and absurd layers
MAX_METADATA_CHARS = 1_000_000
MAX_METADATA_DEPTH = 64


def to_bytes(net, metadata=None):
    """Serialize a Network to the bytes of a .npz model file."""
    meta = dict(net.metadata)
    meta.update(metadata or {})
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "dimensions": np.array(net.dimensions, dtype=np.int64),
        "hidden_activation": np.array(net.hidden_activation),
        "metadata": np.array(json.dumps(meta, sort_keys=True)),
    }
    if net.spec != ",".join(map(str, net.dimensions)):  # a conv network: its layers are in the spec
        arrays["spec"] = np.array(net.spec)
    arrays.update(net.parameters)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def save(net, path, metadata=None):
    """Write a Network to ``path`` (a .npz model file).

    The file is written beside its destination and then renamed over it, so an existing file
    at ``path`` is replaced only by a complete new one.
    """
    data = to_bytes(net, metadata)
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".part")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _nesting(text):
    """How deeply JSON text nests its lists and objects, found without recursion (json.loads
    recurses: a deep enough file exhausts the stack, which in WebAssembly kills the runtime)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _refuse(why):
    raise Refused(f"not a valid pynet model file: {why}")


def from_bytes(data, expect_io=None, max_bytes=None, max_layers=None):
    """Read a Network from model-file bytes; ValueError with the reason if anything is off.

    expect_io: optional (n_inputs, n_classes), e.g. (784, 10) for MNIST: a model of other
    input or output size is refused. max_bytes: the most its arrays may take (default MAX_BYTES).
    max_layers: optional, the most layers (hidden and output) it may have.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("from_bytes needs bytes")
    data = bytes(data)
    check_npz_archive(data, MAX_BYTES if max_bytes is None else max_bytes, "a valid pynet model file")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        raw = sorted(name for name, a in arrays.items() if not isinstance(a, np.ndarray))
        if raw:  # np.load gives members not named *.npy as raw bytes
            _refuse(f"entries {raw} are not .npy arrays")
    except Refused:
        raise
    except ValueError as e:
        _refuse(str(e))
    except NPZ_ERRORS as e:
        _refuse(f"it is not a readable .npz archive ({e.__class__.__name__}: {e})")

    def scalar(name, kind):
        if name not in arrays:
            _refuse(f"the '{name}' entry is missing")
        a = arrays[name]
        if a.shape != () or a.dtype.kind != kind:
            _refuse(f"the '{name}' entry has the wrong type")
        return a.item()

    if scalar("format", "U") != FORMAT:
        _refuse("its format tag is not 'pynet-model'")
    version = scalar("version", "i")
    if version != VERSION:
        _refuse(f"it has format version {version}; this pynet reads version {VERSION}")
    hidden = scalar("hidden_activation", "U")
    if hidden not in HIDDEN_ACTIVATIONS:
        _refuse(f"hidden activation {hidden!r} is not one of {HIDDEN_ACTIVATIONS}")
    text = scalar("metadata", "U")
    if len(text) > MAX_METADATA_CHARS:
        _refuse(f"its metadata is {len(text):,} characters long, more than the {MAX_METADATA_CHARS:,} allowed")
    if _nesting(text) > MAX_METADATA_DEPTH:
        _refuse(f"its metadata is nested more than {MAX_METADATA_DEPTH} levels deep")
    try:
        metadata = json.loads(text)
        if not isinstance(metadata, dict):
            raise ValueError
    except ValueError:
        _refuse("its metadata is not a JSON object")
    dims = arrays.get("dimensions")
    if dims is None or dims.ndim != 1 or dims.dtype.kind not in "iu":
        _refuse("'dimensions' must be a list of whole numbers")
    try:
        dims = check_dimensions([int(d) for d in dims])
    except ValueError as e:
        _refuse(str(e))
    L = len(dims) - 1
    expected = {"format", "version", "dimensions", "hidden_activation", "metadata"}
    shapes = {}
    for l in range(1, L + 1):
        shapes["W" + str(l)], shapes["b" + str(l)] = (dims[l], dims[l - 1]), (dims[l], 1)
    spec_text = None
    if "spec" in arrays:
        spec_text = scalar("spec", "U")
        expected.add("spec")
        try:
            plan = spec.plan(spec_text, hidden)
        except ValueError as e:
            _refuse(f"its spec {spec_text!r} is not valid ({e})")
        if plan.dimensions != dims:
            _refuse(f"its dimensions {dims} are not those of its spec {spec_text!r}, {plan.dimensions}")
        shapes = plan.parameter_shapes()
    parameters = {}
    for l in range(1, L + 1):
        for name in ("W" + str(l), "b" + str(l)):
            shape = shapes[name]
            expected.add(name)
            a = arrays.get(name)
            if a is None:
                _refuse(f"parameter {name} is missing for dimensions {dims}")
            if a.dtype not in (np.float32, np.float64):
                _refuse(f"parameter {name} has dtype {a.dtype}; expected float32 or float64")
            if a.shape != shape:
                _refuse(f"parameter {name} has shape {a.shape}; dimensions {dims} need {shape}")
            if not np.all(np.isfinite(a)):
                _refuse(f"parameter {name} contains NaN or inf")
            parameters[name] = a
    extra = sorted(set(arrays) - expected)
    if extra:
        _refuse(f"unexpected entries {extra}")
    if len({a.dtype for a in parameters.values()}) != 1:
        _refuse("parameters mix float32 and float64")
    if max_layers is not None and L > max_layers:
        _refuse(f"it has {L} layers; at most {max_layers} are accepted here")
    if expect_io is not None and (dims[0], dims[-1]) != tuple(expect_io):
        _refuse(f"its layers are {dims}: it takes {dims[0]} inputs and gives {dims[-1]} classes, "
                f"not {expect_io[0]} and {expect_io[1]}")
    net = Network.from_parameters(parameters, hidden, spec_text)
    net.metadata = metadata
    return net


def load(path, expect_io=None):
    """Read a Network from a .npz model file (see from_bytes)."""
    with open(path, "rb") as f:
        return from_bytes(f.read(), expect_io)
