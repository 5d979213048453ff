"""Your own samples: drawn digits with their labels, kept in a samples file, and fine-tuning on them.

A samples file is an ``.npz`` (no pickle) holding exactly two arrays::

    images   (m, 784) uint8    pixel k means k/256, as in pynet's MNIST files
    labels   (m,)     uint8    the digit each image shows, 0..9 (any integer type is read)

The page exports and imports the same file; natively ``load_samples`` reads it and
``save_samples`` writes it. Reading is hostile-safe: the archive is checked before NumPy
allocates anything (``data.check_npz_archive``), then every array; a bad file is refused with
one ValueError sentence and nothing is returned.

``finetune`` trains a copy of a model further on the samples mixed with MNIST training images
(``finetune_set``), through the one trainer, and says how it did before and after on the
samples kept apart (``split``) and on a test set.
"""

import io
import os
from pathlib import Path

import numpy as np

from .data import NPZ_ERRORS, Refused, check_npz_archive
from .model import PIXEL_SCALE, Network
from .settings import FINETUNE, MAX_SAMPLES, MAX_SAMPLES_BYTES, N_CLASSES, N_INPUTS
from .trainer import Evaluation, TrainConfig, Trainer

ARRAYS = ("images", "labels")
WHAT = "a pynet samples file"


def to_levels(image):
    """The network's input (values in [0, 1], as pynet.preprocess gives) as uint8 levels k/256:
    an array of the same shape, each value the nearest level (1 counts as 255/256)."""
    x = np.asarray(image, dtype=np.float64)
    if not np.all(np.isfinite(x)) or x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("an image's values must be numbers between 0 and 1")
    return np.clip(np.rint(x / PIXEL_SCALE), 0, 255).astype(np.uint8)


def _checked(images, labels, max_samples=MAX_SAMPLES):
    """(images (m, 784) uint8, labels (m,) uint8) of a samples file's arrays; Refused with one
    sentence naming what is wrong."""
    def refuse(why):
        raise Refused(f"not {WHAT}: {why}")

    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != N_INPUTS:
        refuse(f"its images must be uint8 of shape (m, {N_INPUTS}), got {images.dtype} {images.shape}")
    m = images.shape[0]
    if m == 0:
        refuse("it holds no samples")
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (m,):
        refuse(f"its labels must be {m} whole numbers (one per image), got {labels.dtype} {labels.shape}")
    if m > max_samples:
        refuse(f"it holds {m:,} samples, more than the {max_samples:,} allowed")
    if labels.min() < 0 or labels.max() >= N_CLASSES:
        refuse(f"its labels must lie in 0..{N_CLASSES - 1}, got {int(labels.min())}..{int(labels.max())}")
    return images, labels.astype(np.uint8)


def samples_from_bytes(data, max_samples=MAX_SAMPLES):
    """Read a samples file's bytes: (images (m, 784) uint8, labels (m,) uint8).

    Refused with ValueError (one sentence) for anything else: not a zip archive, a zip bomb or an
    array header that lies (more than MAX_SAMPLES_BYTES), pickled objects (never loaded), other
    or missing arrays, a wrong dtype or shape, labels outside 0..9, no samples or more than
    max_samples.
    """
    data = bytes(data)
    if len(data) > MAX_SAMPLES_BYTES:
        # larger, not a size: a path or file object is read only to just past the limit
        raise Refused(f"not {WHAT}: it is larger than the {MAX_SAMPLES_BYTES / 2**20:,.0f} MiB allowed")
    check_npz_archive(data, MAX_SAMPLES_BYTES, WHAT)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except NPZ_ERRORS as e:
        raise Refused(f"not {WHAT}: it is not a readable .npz archive ({e.__class__.__name__}: {e})") from None
    if sorted(arrays) != sorted(ARRAYS) or not all(isinstance(a, np.ndarray) for a in arrays.values()):
        found = ", ".join(sorted(arrays)) or "nothing"
        raise Refused(f"not {WHAT}: it must hold the arrays images and labels and nothing else, found {found}")
    return _checked(arrays["images"], arrays["labels"], max_samples)


def load_samples(source, max_samples=MAX_SAMPLES):
    """Read a samples file (a path, bytes or a binary file object); see samples_from_bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return samples_from_bytes(source, max_samples)
    if hasattr(source, "read"):
        return samples_from_bytes(source.read(MAX_SAMPLES_BYTES + 1), max_samples)
    with open(source, "rb") as f:
        return samples_from_bytes(f.read(MAX_SAMPLES_BYTES + 1), max_samples)


def samples_to_bytes(images, labels):
    """The bytes of a samples file. images: (m, 784) uint8 levels, or numbers in [0, 1] (the
    network's input, turned into levels by to_levels); labels: (m,) digits 0..9."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_levels(images)
    images, labels = _checked(images.reshape(images.shape[0], -1) if images.ndim == 3 else images,
                              np.asarray(labels))
    buf = io.BytesIO()
    np.savez_compressed(buf, images=images, labels=labels)
    return buf.getvalue()


def save_samples(path, images, labels):
    """Write a samples file; an existing file at path is replaced only by a complete new one."""
    data = samples_to_bytes(images, labels)
    path = Path(os.fspath(path))
    part = path.with_name("." + path.name + ".part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


# ---- fine-tuning ------------------------------------------------------------------------------

def split(m, recipe=FINETUNE):
    """Which of m samples (in the order kept) are trained on and which are kept apart to check
    the result: (train indices, check indices). With fewer than recipe['hold_out_from'] samples
    none is kept apart (check is empty: the result is then checked on the samples trained on);
    from there on, every recipe['hold_out_every']-th (the 5th, 10th, ... with 5)."""
    idx = np.arange(m)
    if m < recipe["hold_out_from"]:
        return idx, idx[:0]
    apart = idx % recipe["hold_out_every"] == recipe["hold_out_every"] - 1
    return idx[~apart], idx[apart]


def finetune_set(images, labels, mnist_images, mnist_labels, recipe=FINETUNE):
    """The images a fine-tuning run trains on: recipe['mnist_images'] MNIST training images and
    the samples, each repeated the same number of times so that together they make about
    recipe['share'] of the set (at least once each). Nothing is distorted: randomly distorted
    copies of a few samples taught the network their blurred shape for every digit near it, and
    cost the default model more than a point of test accuracy; plain copies, a few tenths.

    images: (k, 784) uint8 samples to train on; mnist_images (n, 784) uint8. Returns
    (X (784, N) uint8, labels (N,) int64), the samples after the MNIST images.
    """
    n = min(recipe["mnist_images"], mnist_images.shape[0])
    copies = copies_of(images.shape[0], n, recipe)
    X = np.concatenate([mnist_images[:n], np.tile(images, (copies, 1))])
    y = np.concatenate([mnist_labels[:n], np.tile(labels, copies)]).astype(np.int64)
    return np.ascontiguousarray(X.T), y


def copies_of(k, n, recipe=FINETUNE):
    """How many times each of k samples is repeated beside n MNIST images (finetune_set)."""
    return max(1, round(recipe["share"] / (1 - recipe["share"]) * n / k)) if k else 0


def finetune_config(recipe=FINETUNE):
    """The TrainConfig of a fine-tuning run: the test set is evaluated after its last epoch only."""
    return TrainConfig(epochs=recipe["epochs"], batch_size=recipe["batch_size"], optimizer=recipe["optimizer"],
                       learning_rate=recipe["learning_rate"], schedule=recipe["schedule"], seed=recipe["seed"],
                       augment=recipe["augment"], eval_every=recipe["epochs"]).validated()


def copy_network(net):
    """A network with net's layers and a copy of its parameters (net itself stays as it is)."""
    return Network.from_parameters({k: v.copy() for k, v in net.parameters.items()}, net.hidden_activation, net.spec)


def accuracy(net, images, labels):
    """The share of images (k, 784) uint8 that net reads as their labels; None for no images."""
    if images.shape[0] == 0:
        return None
    return float(np.mean(net.predict(np.ascontiguousarray(images.T)) == labels))


def finetune_trainer(net, images, labels, mnist_train, mnist_test=None, recipe=FINETUNE, eval_chunk=None):
    """A Trainer that fine-tunes a copy of net (trainer.net) on the samples (images (m, 784)
    uint8, labels (m,)) mixed with MNIST, and the samples kept apart to check on.

    mnist_train, mnist_test: (images (n, 784) uint8, labels (n,)) of MNIST's training and test
    sets (mnist_test: evaluated after the last epoch; None: not at all). Returns (trainer,
    {'train': indices of the samples trained on, 'check': of those kept apart (see split),
    'mnist': MNIST images in the set, 'copies': of each sample trained on}).
    """
    images, labels = _checked(np.asarray(images), np.asarray(labels))
    train, check = split(images.shape[0], recipe)
    X, y = finetune_set(images[train], labels[train], *mnist_train, recipe)
    test = None if mnist_test is None else (np.ascontiguousarray(mnist_test[0].T), mnist_test[1])
    trainer = Trainer(copy_network(net), X, y, finetune_config(recipe), test=test, eval_chunk=eval_chunk)
    mnist = min(recipe["mnist_images"], mnist_train[0].shape[0])
    return trainer, {"train": train, "check": check, "mnist": mnist, "copies": copies_of(train.size, mnist, recipe)}


def report(before, after, images, labels, parts, test_before=None, test_after=None):
    """How a fine-tuning did: {'samples': {'checked_on': 'kept apart' or 'trained on', 'count',
    'before', 'after'} (accuracies on the samples kept apart, or on all when none is),
    'test': {'before', 'after'} (MNIST test accuracies, as given; None where unknown)}."""
    check = parts["check"] if parts["check"].size else parts["train"]
    X, y = images[check], labels[check]
    return {"samples": {"checked_on": "kept apart" if parts["check"].size else "trained on", "count": int(check.size),
                        "before": accuracy(before, X, y), "after": accuracy(after, X, y)},
            "test": {"before": test_before, "after": test_after}}


def finetune(net, images, labels, mnist_train, mnist_test, recipe=FINETUNE):
    """Fine-tune a copy of net on the samples mixed with MNIST (see finetune_trainer); net is
    left as it was. Returns (the fine-tuned Network, report(...)); FloatingPointError if the
    run diverged."""
    trainer, parts = finetune_trainer(net, images, labels, mnist_train, mnist_test, recipe)
    done = None
    for event in trainer.run():
        if event["type"] == "done":
            done = event
    if done["reason"] == "diverged":
        raise FloatingPointError(done["message"])
    test_before = Evaluation(net, np.ascontiguousarray(mnist_test[0].T), mnist_test[1]).run().accuracy
    test_after = trainer.evaluations["test"].accuracy
    images, labels = _checked(np.asarray(images), np.asarray(labels))
    return trainer.net, report(net, trainer.net, images, labels, parts, test_before, test_after)
