"""What the model in use gets wrong on the test set, and what its first layer looks at."""

import numpy as np

from ..settings import N_CLASSES
from .datasets import loaded_dataset
from .models import current
from .state import STATE


def _test_eval(name):
    if STATE["last_eval"] is not None and STATE["last_eval"][0] == name:
        return STATE["last_eval"]
    images, labels = loaded_dataset(name)["test"]
    P = current().forward(images.T)
    te = (name, P.argmax(axis=0), P.max(axis=0))
    STATE["last_eval"] = te
    return te


def misclassified(k=24, name=None):
    """Up to k test images the current model gets wrong: {'items': [{image, true, predicted,
    confidence}], 'errors', 'total', 'accuracy', 'confusion': 10x10 counts}."""
    # Both data files hold the same 10,000 test images: reuse the evaluation made while training.
    if name is None:
        name = STATE["last_eval"][0] if STATE["last_eval"] is not None else "small"
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
    name = STATE["last_eval"][0] if STATE["last_eval"] is not None else "small"
    images, labels = loaded_dataset(name)["test"]
    _, pred, conf = _test_eval(name)
    members = np.flatnonzero((labels == true) & (pred == predicted))
    chosen = members[np.argsort(-conf[members], kind="stable")[: max(0, min(int(k), 100))]]
    return {"items": [{"image": images[i].tolist(), "true": true, "predicted": predicted,
                       "confidence": round(float(conf[i]), 4)} for i in chosen], "count": int(members.size)}


def first_layer(n=32):
    """Up to n first-layer weight rows as 784 values scaled to [-1, 1] (for weight tiles): of the
    network being trained while a run is in progress, else of the current model."""
    run = STATE["run"]
    W = (run["net"] if run is not None else current()).parameters["W1"]
    rows = W[: max(0, min(int(n), W.shape[0]))].astype(np.float64)
    scale = np.abs(rows).max(axis=1, keepdims=True)
    scale[scale == 0] = 1
    return {"tiles": np.round(rows / scale, 3).tolist()}

