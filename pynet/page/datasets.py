"""The MNIST data sets the page has loaded ('small', 'full'), and sample images from them."""

import numpy as np

from ..data import load_npz
from ..settings import TRAIN_IMAGES
from .state import STATE, as_bytes


def load_dataset(name, data):
    """Load a pynet data file under a name ('small' or 'full'); return its split sizes."""
    if name not in ("small", "full"):
        raise ValueError(f"unknown data set {name!r}")
    STATE["datasets"][name] = load_npz(as_bytes(data))
    return dataset_summary(name)


def dataset_summary(name):
    d = loaded_dataset(name)
    return {"name": name, "splits": {split: int(labels.shape[0]) for split, (_, labels) in d.items()}}


def has_dataset(name):
    return name in STATE["datasets"]


def loaded_dataset(name):
    if name not in STATE["datasets"]:
        raise ValueError(f"the data set {name!r} is not loaded")
    return STATE["datasets"][name]


def train_count(name):
    """How many training images the data set `name` has: the loaded set's, else those of the
    site's data file (settings.TRAIN_IMAGES), so that settings naming it are checked before it
    is downloaded."""
    if name in STATE["datasets"]:
        return int(STATE["datasets"][name]["train"][1].shape[0])
    return TRAIN_IMAGES[name]


def samples(n=24, name="small", split="train", start=0):
    """n images of a split with their labels: {'images': [[784 ints]...], 'labels': [...]}."""
    images, labels = loaded_dataset(name)[split]
    n = max(0, min(int(n), 200))
    start = max(0, int(start)) % max(1, labels.shape[0])
    idx = (start + np.arange(n)) % labels.shape[0]
    return {"images": images[idx].tolist(), "labels": labels[idx].astype(int).tolist()}

