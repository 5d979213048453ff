"""Reading a drawing: the 28x28 image, the probabilities, and what each hidden layer gives
(a dense layer's activations, a conv or pooling layer's feature maps)."""

import numpy as np

from ..preprocess import preprocess
from ..settings import MAX_SHOWN_CHANNELS, MAX_SHOWN_UNITS, N_CLASSES
from .models import current, views
from .state import as_bytes


def predict(pixels, width, height):
    """Read a drawing: pixels are RGBA (4 bytes per pixel) or grey (1 byte) of a width x height canvas.

    Returns {'probabilities': [10], 'digit': int or None, 'image28': [784 floats],
    'activations': each hidden layer's (see _activations)} for the current model; digit is
    None (and probabilities zero) for an empty canvas.
    """
    x = drawing(pixels, width, height)
    image28 = np.round(x[:, 0], 3).tolist()
    net = current()
    if not x.any():
        return {"probabilities": [0.0] * N_CLASSES, "digit": None, "image28": image28,
                "activations": _activations(net, None)}
    outputs = net.outputs(x)
    p = outputs[-1].astype(np.float64)
    return {"probabilities": [round(float(v), 5) for v in p], "digit": int(np.argmax(p)), "image28": image28,
            "activations": _activations(net, outputs)}


def drawing(pixels, width, height):
    """The network's input (784, 1) for a drawing's pixels, as predict takes them; ValueError
    for a size out of range or a number of bytes that does not fit it."""
    width, height = int(width), int(height)
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise ValueError(f"canvas size {width}x{height} is out of range")
    a = np.frombuffer(as_bytes(pixels), dtype=np.uint8)
    if a.size == width * height * 4:
        image = a.reshape(height, width, 4)
        if image[..., 3].max() == 0:  # an empty transparent canvas
            image = image[..., 3]
    elif a.size == width * height:
        image = a.reshape(height, width)
    else:
        raise ValueError(f"expected {width * height * 4} RGBA or {width * height} grey bytes, got {a.size}")
    return preprocess(image)


def _activations(net, outputs):
    """What each hidden layer (every shown layer but the output) gives for a drawing, from
    net.outputs (None: nothing drawn, all zero), as the page draws it.

    A dense layer: {'kind': 'dense', 'name', 'size': its units, 'values': the first
    MAX_SHOWN_UNITS activations (3 decimals), 'max': the largest, 'active': units above zero}.
    A conv or pooling layer, its feature maps: {'kind': 'conv' or 'pool', 'name', 'shape':
    [C, H, W], 'maps': the first MAX_SHOWN_CHANNELS channels, each H * W grey levels 0..255
    (row by row) scaled to its own strongest value (255), 'scales': each map's strongest value,
    'max', 'active': channels with any value above zero}.
    """
    on = 0.5 if net.hidden_activation == "sigmoid" else 1e-6
    out = []
    for i, name, shape in views(net)[:-1]:
        kind = name.split()[0]
        a = np.zeros(shape) if outputs is None else outputs[i].astype(np.float64)
        top = round(float(a.max()), 4) if a.size else 0.0
        if kind == "dense":
            out.append({"kind": kind, "name": name, "size": int(a.size), "values": np.round(a[:MAX_SHOWN_UNITS], 3).tolist(),
                        "max": top, "active": int(np.count_nonzero(a > on))})
            continue
        maps = a[:MAX_SHOWN_CHANNELS].reshape(-1, shape[1] * shape[2])
        scales = maps.max(axis=1, initial=0.0)
        grey = np.round(255 * np.clip(maps, 0, None) / np.where(scales > 0, scales, 1)[:, None]).astype(np.uint8)
        out.append({"kind": kind, "name": name, "shape": list(shape), "maps": grey.tolist(),
                    "scales": np.round(scales, 4).tolist(), "max": top,
                    "active": int(np.count_nonzero((a > on).any(axis=(1, 2))))})
    return out
