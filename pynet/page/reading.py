"""Reading a drawing: the 28x28 image, the probabilities and each hidden layer's activations."""

import numpy as np

from ..preprocess import preprocess
from ..settings import MAX_SHOWN_UNITS, N_CLASSES
from .models import current
from .state import as_bytes


def predict(pixels, width, height):
    """Read a drawing: pixels are RGBA (4 bytes per pixel) or grey (1 byte) of a width x height canvas.

    Returns {'probabilities': [10], 'digit': int or None, 'image28': [784 floats]} for the
    current model; digit is None (and probabilities zero) for an empty canvas.
    """
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
    x = preprocess(image)
    image28 = np.round(x[:, 0], 3).tolist()
    net = current()
    if not x.any():
        return {"probabilities": [0.0] * N_CLASSES, "digit": None, "image28": image28,
                "activations": _activations(net, None)}
    p = net.forward(x)[:, 0].astype(np.float64)
    return {"probabilities": [round(float(v), 5) for v in p], "digit": int(np.argmax(p)), "image28": image28,
            "activations": _activations(net, x)}


def _activations(net, x):
    """Each hidden layer's activations for the input column x (None: nothing drawn, all zero).

    [{'size': units in the layer, 'values': the first MAX_SHOWN_UNITS activations (3 decimals),
    'max': the largest activation of the layer, 'active': how many units are above zero}]
    """
    sizes = net.dimensions[1:-1]
    if x is None:
        return [{"size": n, "values": [0.0] * min(n, MAX_SHOWN_UNITS), "max": 0.0, "active": 0} for n in sizes]
    out = []
    on = 0.5 if net.hidden_activation == "sigmoid" else 1e-6
    for a in net.activations(x[:, 0])[:-1]:
        a = a.astype(np.float64)
        out.append({"size": int(a.size), "values": np.round(a[:MAX_SHOWN_UNITS], 3).tolist(),
                    "max": round(float(a.max()), 4) if a.size else 0.0,
                    "active": int(np.count_nonzero(a > on))})
    return out

