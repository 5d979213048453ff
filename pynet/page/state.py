"""The state of one page's worker, and the conversion of what the worker passes in.

One dict, shared by the page modules: the model in use and the one on offer (models.py), the
data sets (datasets.py), the run in progress or a helper's part of one (runs.py), the
evaluation the analysis reuses (analysis.py). Values from JavaScript arrive as Pyodide proxies
or as plain Python; ``as_bytes`` and ``as_py`` take either.
"""

import math

STATE = {
    "model": None,        # Network used for predictions
    "default": None,      # the default model, kept to go back to
    "model_info": {},     # what the page shows about the current model
    "datasets": {},       # name -> {split: (images (m, 784) uint8, labels (m,) uint8)}
    "run": None,          # the training run in progress, see runs.start_training
    "last_eval": None,    # (dataset name, predictions, probabilities max) of the current model on test
    "partial_eval": None,  # an evaluation of the current model on test in progress, see analysis.evaluate_test
    "offer": None,        # a trained model the user may take instead of the current one, see models.trained
    "helper": None,       # in a helper worker: the network and data of its shards, see runs.helper_start
    "steps": None,        # the steps of the iteration the step-through view shows, see stepper.step_through
}


def as_bytes(data):
    """bytes from bytes, a memoryview or a Pyodide JsProxy of a typed array."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "to_bytes"):  # pyodide.ffi.JsBuffer (Uint8Array, Uint8ClampedArray)
        return data.to_bytes()
    return bytes(as_py(data))


def as_py(value):
    """A Pyodide JsProxy converted to Python (a JS object becomes a dict); anything else as is."""
    return value.to_py() if hasattr(value, "to_py") else value


def finite(x):
    return None if x is None or not math.isfinite(x) else float(x)

