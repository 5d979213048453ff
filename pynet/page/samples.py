"""The user's own samples in the page: kept as levels, written to and read from a samples file,
and a fine-tuning run on them (pynet.samples), stepped like any run (runs.step).

The samples themselves live in the browser (IndexedDB): the page sends them with each request,
images as bytes (784 levels a sample, pixel k meaning k/256) and labels as bytes, one a sample.
"""

import numpy as np

from .. import spec
from ..samples import finetune_trainer, load_samples, report, samples_to_bytes, to_levels
from ..settings import N_INPUTS
from ..trainer import Evaluation
from .datasets import loaded_dataset
from .models import current
from .runs import _eval_chunk_size, begin_run
from .state import STATE, as_bytes, as_py


def sample_levels(image28):
    """A reading's image (predict's 'image28': 784 numbers in [0, 1]) as the bytes of its 784
    levels, as the page keeps a sample."""
    x = np.asarray(as_py(image28), dtype=np.float64).ravel()
    if x.shape != (N_INPUTS,):
        raise ValueError(f"a sample is {N_INPUTS} pixels, got {x.size}")
    return to_levels(x).tobytes()


def _arrays(images, labels):
    """(images (m, 784) uint8, labels (m,) uint8) from the page's bytes."""
    pixels = np.frombuffer(as_bytes(images), dtype=np.uint8)
    labels = np.frombuffer(as_bytes(labels), dtype=np.uint8)
    if pixels.size != labels.size * N_INPUTS:
        raise ValueError(f"{labels.size} samples need {labels.size * N_INPUTS:,} pixels, got {pixels.size:,}")
    return pixels.reshape(-1, N_INPUTS), labels


def samples_file(images, labels):
    """The bytes of a samples file (pynet.samples) of the page's samples."""
    return samples_to_bytes(*_arrays(images, labels))


def read_samples(data):
    """Read a samples file's bytes (refused with one sentence if it is not one): {'images':
    bytes of m * 784 levels, 'labels': bytes of m digits, 'count': m}."""
    images, labels = load_samples(as_bytes(data))
    return {"images": images.tobytes(), "labels": labels.tobytes(), "count": int(labels.size)}


def start_finetune(images, labels):
    """Start fine-tuning the model in use on the page's samples mixed with the small data set's
    training images (pynet.samples.finetune_trainer); its MNIST test accuracy before comes from
    the page's analysis when it has it, else is measured in slices before the first batch.

    The run is stepped and stopped as any (runs.step, runs.stop_training); it ends with the
    fine-tuned network on offer, never in use until the user takes it, with its 'report'
    (pynet.samples.report). Returns the run's summary.
    """
    if STATE["run"] is not None:
        raise ValueError("a training run is already in progress; stop it first")
    images, labels = _arrays(images, labels)
    net = current()
    d = loaded_dataset("small")
    trainer, parts = finetune_trainer(net, images, labels, d["train"], d["test"], eval_chunk=_eval_chunk_size(net))
    test_images, test_labels = d["test"]
    before = {"test": _known_test_accuracy(test_labels)}
    evaluation = None
    if before["test"] is None:
        evaluation = Evaluation(net, np.ascontiguousarray(test_images.T), test_labels, chunk=_eval_chunk_size(net))

    def evaluate_before():
        while not evaluation.step():
            yield {"type": "evaluating", "epoch": 0, "set": "test", "done": evaluation.pos, "of": evaluation.m}
        before["test"] = evaluation.accuracy

    def finished(tuned, test_after):
        return report(net, tuned, images, labels, parts, before["test"], test_after)

    batches = begin_run(trainer, "small", trainer.m, evaluate_before() if evaluation is not None else None,
                        offer_only=True, report=finished)
    tc = trainer.config
    return {"dimensions": net.dimensions, "network": spec.label(net.spec), "activation": net.hidden_activation,
            "dataset": "small", "train_size": trainer.m, "batches": batches, "total_steps": batches * tc.epochs,
            "config": tc.to_dict(), "workers": 1,
            "finetune": {"samples": int(labels.size), "trained_on": int(parts["train"].size),
                         "kept_apart": int(parts["check"].size), "mnist_images": parts["mnist"],
                         "copies": parts["copies"]}}


def _known_test_accuracy(labels):
    """The model in use's accuracy on the test images, from the page's analysis (analysis.py) if
    it has evaluated them all; None otherwise."""
    last = STATE["last_eval"]
    if last is None or last[1].shape != labels.shape:
        return None
    return float(np.mean(last[1] == labels))
