"""What the model in use gets wrong on the test set, and what its first layer looks at."""

import math
import time

import numpy as np

from ..layers import Unflatten
from ..settings import N_CLASSES
from ..spec import INPUT_SHAPE
from .datasets import loaded_dataset
from .models import current, views
from .state import STATE


def _eval_name(name):
    # Both data files hold the same 10,000 test images: reuse the evaluation made while training.
    if name is None:
        return STATE["last_eval"][0] if STATE["last_eval"] is not None else "small"
    return name


def evaluate_test(budget_ms=40, name=None):
    """Evaluate the model in use on a data set's test images a slice at a time: about budget_ms
    of it per call, so that the worker answers drawings in between. Each slice takes as many
    images as fit the budget left at the time per image measured on the slice before (16 to
    begin with; at most ``net.chunk``): a conv model's whole chunk can take several times the
    budget in WebAssembly. Once done, misclassified and cell_images use it.

    Returns {'done': bool, 'evaluated': images so far, 'total': test images}.
    """
    name = _eval_name(name)
    if STATE["last_eval"] is not None and STATE["last_eval"][0] == name:
        total = len(STATE["last_eval"][1])
        return {"done": True, "evaluated": total, "total": total}
    net = current()
    images = loaded_dataset(name)["test"][0]
    m = images.shape[0]
    part = STATE["partial_eval"]
    if part is None or part["net"] is not net or part["name"] != name:
        part = STATE["partial_eval"] = {"net": net, "name": name, "at": 0, "predicted": np.zeros(m, np.int64),
                                        "confidence": np.zeros(m, np.float32), "per_image": None}
    start, budget = time.perf_counter(), float(budget_ms) / 1000
    while part["at"] < m:
        i = part["at"]
        left = budget - (time.perf_counter() - start)
        size = 16 if part["per_image"] is None else min(net.chunk, left / max(part["per_image"], 1e-9))
        j = min(m, i + max(1, int(min(net.chunk, size))))
        t = time.perf_counter()
        P = net.forward(images[i:j].T)
        part["per_image"] = (time.perf_counter() - t) / (j - i)
        part["predicted"][i:j], part["confidence"][i:j], part["at"] = P.argmax(axis=0), P.max(axis=0), j
        if time.perf_counter() - start >= budget:
            break
    if part["at"] == m:
        STATE["last_eval"] = (name, part["predicted"], part["confidence"])
        STATE["partial_eval"] = None
    return {"done": part["at"] == m, "evaluated": int(part["at"]), "total": int(m)}


def _test_eval(name):
    evaluate_test(math.inf, name)
    return STATE["last_eval"]


def misclassified(k=24, name=None):
    """Up to k test images the current model gets wrong: {'items': [{image, true, predicted,
    confidence}], 'errors', 'total', 'accuracy', 'confusion': 10x10 counts}."""
    name = _eval_name(name)
    images, labels = loaded_dataset(name)["test"]
    _, pred, conf = _test_eval(name)
    wrong = np.flatnonzero(pred != labels)
    k = max(0, min(int(k), 100))
    # the most confident mistakes first: they are the most telling
    chosen = wrong[np.argsort(-conf[wrong], kind="stable")[:k]]
    confusion = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(confusion, (labels.astype(np.int64), pred), 1)
    return {"items": [{"image": images[i].tolist(), "true": int(labels[i]), "predicted": int(pred[i]),
                       "confidence": round(float(conf[i]), 4)} for i in chosen],
            "errors": int(wrong.size), "total": int(labels.shape[0]),
            "accuracy": float(1 - wrong.size / labels.shape[0]), "confusion": confusion.tolist(), "dataset": name}


def cell_images(true, predicted, k=24):
    """Test images of one confusion-matrix cell (true label, predicted label), most confident first:
    {'items': [{image, true, predicted, confidence}], 'count': how many the cell holds}."""
    true, predicted = int(true), int(predicted)
    if not (0 <= true < N_CLASSES and 0 <= predicted < N_CLASSES):
        raise ValueError(f"a confusion-matrix cell has labels 0..{N_CLASSES - 1}, got ({true}, {predicted})")
    name = _eval_name(None)
    images, labels = loaded_dataset(name)["test"]
    _, pred, conf = _test_eval(name)
    members = np.flatnonzero((labels == true) & (pred == predicted))
    chosen = members[np.argsort(-conf[members], kind="stable")[: max(0, min(int(k), 100))]]
    return {"items": [{"image": images[i].tolist(), "true": true, "predicted": predicted,
                       "confidence": round(float(conf[i]), 4)} for i in chosen], "count": int(members.size)}


def first_layer(n=32):
    """What the first layer with weights looks at, as tiles of values scaled to [-1, 1] (each by
    its own largest magnitude): of the network being trained while a run is in progress, else of
    the current model.

    Returns {'tiles': up to n lists of height * width values (row by row), 'height', 'width',
    'kind': 'kernels' (a conv layer: each kernel of each input channel, F * C in all) or 'units'
    (a dense layer: each unit's weights over its input image), 'count': how many there are}.
    """
    run = STATE["run"]
    net = run["net"] if run is not None else current()
    W = net.parameters["W1"]
    if W.ndim == 4:  # conv kernels (F, C, kh, kw)
        kind, (height, width) = "kernels", W.shape[2:]
    else:  # a dense layer's rows, over the image before it: (C, H, W), its channels one above the other
        i = next(i for i, layer in enumerate(net.layers) if layer.param_names)
        before = [shape for j, _, shape in views(net) if j < i]
        C, H, Wd = before[-1] if before else _input_shape(net)
        kind, height, width = "units", C * H, Wd
    rows = W.reshape(-1, height * width)
    rows = rows[: max(0, min(int(n), rows.shape[0]))].astype(np.float64)
    scale = np.abs(rows).max(axis=1, keepdims=True)
    scale[scale == 0] = 1
    return {"tiles": np.round(rows / scale, 3).tolist(), "height": int(height), "width": int(width), "kind": kind,
            "count": int(W.size // (height * width))}


def _input_shape(net):
    """The (C, H, W) of the network's input image: MNIST's 1@28x28, or a spec's own."""
    first = net.layers[0]
    return first.shape if isinstance(first, Unflatten) else INPUT_SHAPE
