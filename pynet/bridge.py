"""The browser's entry points: the only Python that the page's Web Worker calls.

Small named functions with plain inputs (numbers, strings, dicts, bytes) and JSON-able
outputs (dicts of numbers, strings and lists). The module keeps the state of one page:

* the *current* model, used for predictions: the default model until a training run ends
  (completed, stopped or diverged), then the trained one;
* the data sets loaded so far ('small', 'full');
* the training run in progress: its own Network and the event generator of its Trainer,
  run in small time slices (``step``) so that pause and stop answer between two of them;
  with helper workers, ``step`` also hands out the other shards of each batch;
* in a helper worker, the network and data that ``helper_gradients`` computes shards with.

Nothing here evaluates user text: settings are checked field by field and a bad value raises
ValueError with a message meant for the page, leaving every existing state as it was.
"""

import json
import math
import time

import numpy as np

from . import serialize
from .data import load_npz
from .errors import SettingError
from .model import HIDDEN_ACTIVATIONS, Network, training_bytes
from .trainer import TrainConfig, Trainer, shard_gradients
from .optim import OPTIMIZERS
from .preprocess import preprocess
from .settings import (MAX_EPOCHS, MAX_FULL_BATCH, MAX_HIDDEN_LAYERS, MAX_MODEL_BYTES, MAX_MODEL_LAYERS,
                       MAX_SHOWN_UNITS, MAX_WIDTH, MAX_WORKERS, N_CLASSES, N_INPUTS)

EVAL_MACS = 60e6  # multiply-adds per evaluation slice: a slice stays within a step's time budget

_state = {
    "model": None,        # Network used for predictions
    "default": None,      # the default model, kept to go back to
    "model_info": {},     # what the page shows about the current model
    "datasets": {},       # name -> {split: (images (m, 784) uint8, labels (m,) uint8)}
    "run": None,          # the training run in progress, see start_training
    "last_eval": None,    # (dataset name, predictions, probabilities max) of the current model on test
    "offer": None,        # a trained model the user may take instead of the current one, see _finish
    "helper": None,       # in a helper worker: the network and data of its shards, see helper_start
}


def _bytes(data):
    """bytes from bytes, a memoryview or a Pyodide JsProxy of a typed array."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "to_bytes"):  # pyodide.ffi.JsBuffer (Uint8Array, Uint8ClampedArray)
        return data.to_bytes()
    return bytes(_py(data))


def _py(value):
    """A Pyodide JsProxy converted to Python (a JS object becomes a dict); anything else as is."""
    return value.to_py() if hasattr(value, "to_py") else value


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


# ---- models ---------------------------------------------------------------------------------


def _describe(net, name):
    """What the page shows of a model. Its metadata comes from a file: only an accuracy that is
    a number between 0 and 1 is shown."""
    acc = net.metadata.get("test_acc")
    if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 1:
        acc = None
    return {"name": name, "dimensions": list(net.dimensions), "hidden_activation": net.hidden_activation,
            "test_acc": None if acc is None else float(acc)}


def _set_model(net, name):
    """Make net the current model; everything about it is worked out before anything changes."""
    info = _describe(net, name)
    _state["model"] = net
    _state["model_info"] = info
    _state["last_eval"] = None
    return info


def load_default_model(data):
    """Load the site's default model (bytes of a .npz model file); it becomes the current model."""
    net = serialize.from_bytes(_bytes(data), expect_io=(N_INPUTS, N_CLASSES))
    _state["default"] = net
    return _set_model(net, "default")


def load_model(data, name="uploaded"):
    """Load a model file (uploaded or saved in the browser); refused with ValueError (the
    current model kept) if invalid."""
    net = serialize.from_bytes(_bytes(data), expect_io=(N_INPUTS, N_CLASSES), max_bytes=MAX_MODEL_BYTES,
                               max_layers=MAX_MODEL_LAYERS)
    return _set_model(net, str(name)[:40])


def save_model():
    """The current model as the bytes of a .npz model file."""
    net = _current()
    return serialize.to_bytes(net, {"saved_from": "pynet browser"})


def model_info():
    return dict(_state["model_info"])


def _current():
    if _state["model"] is None:
        raise ValueError("no model is loaded yet")
    return _state["model"]


# ---- data -----------------------------------------------------------------------------------


def load_dataset(name, data):
    """Load a pynet data file under a name ('small' or 'full'); return its split sizes."""
    if name not in ("small", "full"):
        raise ValueError(f"unknown data set {name!r}")
    _state["datasets"][name] = load_npz(_bytes(data))
    return dataset_summary(name)


def dataset_summary(name):
    d = _dataset(name)
    return {"name": name, "splits": {split: int(labels.shape[0]) for split, (_, labels) in d.items()}}


def has_dataset(name):
    return name in _state["datasets"]


def _dataset(name):
    if name not in _state["datasets"]:
        raise ValueError(f"the data set {name!r} is not loaded")
    return _state["datasets"][name]


def samples(n=24, name="small", split="train", start=0):
    """n images of a split with their labels: {'images': [[784 ints]...], 'labels': [...]}."""
    images, labels = _dataset(name)[split]
    n = max(0, min(int(n), 200))
    start = max(0, int(start)) % max(1, labels.shape[0])
    idx = (start + np.arange(n)) % labels.shape[0]
    return {"images": images[idx].tolist(), "labels": labels[idx].astype(int).tolist()}


# ---- prediction -----------------------------------------------------------------------------


def predict(pixels, width, height):
    """Read a drawing: pixels are RGBA (4 bytes per pixel) or grey (1 byte) of a width x height canvas.

    Returns {'probabilities': [10], 'digit': int or None, 'image28': [784 floats]} for the
    current model; digit is None (and probabilities zero) for an empty canvas.
    """
    width, height = int(width), int(height)
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise ValueError(f"canvas size {width}x{height} is out of range")
    a = np.frombuffer(_bytes(pixels), dtype=np.uint8)
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
    net = _current()
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


# ---- training -------------------------------------------------------------------------------


def _whole(config, key, low, high, label):
    value = config.get(key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingError(key, f"{label} must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number != int(number):
        raise SettingError(key, f"{label} must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise SettingError(key, f"{label} must be between {low:,} and {high:,}, got {int(number):,}")
    return int(number)


def parse_hidden(text):
    """'128' or '128, 64' -> [128, 64]; ValueError with a clear message otherwise."""
    if isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        text = str(text).strip()
        parts = [p.strip() for p in text.replace(";", ",").split(",")] if text else []
    if not parts or parts == [""]:
        raise SettingError("hidden", "hidden layers: give at least one layer size, such as 128 or 128, 64")
    if len(parts) > MAX_HIDDEN_LAYERS:
        raise SettingError("hidden", f"hidden layers: at most {MAX_HIDDEN_LAYERS} layers, got {len(parts)}")
    sizes = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise SettingError("hidden", f"hidden layers: {p!r} is not a number; write sizes like 128 or 128, 64") from None
        if not math.isfinite(v) or v != int(v):
            raise SettingError("hidden", f"hidden layers: {p!r} is not a whole number")
        if v > MAX_WIDTH:
            raise SettingError("hidden", f"hidden layers: a layer of {int(v):,} units would need about "
                             f"{_memory_estimate_mb(int(v)):,} MB of memory for its weights and their training "
                             f"state, more than this page can use; each size must be between 1 and {MAX_WIDTH}")
        if v < 1:
            raise SettingError("hidden", f"hidden layers: each size must be between 1 and {MAX_WIDTH}, got {p}")
        sizes.append(int(v))
    if not isinstance(text, (list, tuple)) and len(sizes) >= 3 and sizes[0] == N_INPUTS and sizes[-1] == N_CLASSES:
        raise SettingError("hidden", f"hidden layers: give only the hidden sizes, such as {', '.join(map(str, sizes[1:-1]))}; "
                         f"the input ({N_INPUTS}) and output ({N_CLASSES}) layers are added for you")
    return sizes


def _memory_estimate_mb(width):
    """About how much memory one hidden layer of this width takes to train (float32, Adam, batch 128)."""
    return math.ceil(training_bytes([N_INPUTS, width, N_CLASSES]) / 2**20)


def check_config(config):
    """Validate the page's settings; return (dimensions, activation, dataset, train_size, TrainConfig)."""
    if isinstance(config, str):
        config = json.loads(config)
    config = _py(config)
    if not isinstance(config, dict):
        raise ValueError("training settings must be a dict")
    known = {"hidden", "dimensions", "activation", "optimizer", "learning_rate", "epochs", "batch_size",
             "train_size", "seed", "dataset", "eval_every", "schedule"}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
    if "dimensions" in config:
        dims = list(config["dimensions"])
        if len(dims) < 3 or dims[0] != N_INPUTS or dims[-1] != N_CLASSES:
            raise SettingError("hidden", f"dimensions must start with {N_INPUTS} and end with {N_CLASSES}, got {dims}")
        hidden = parse_hidden(dims[1:-1])
    else:
        hidden = parse_hidden(config.get("hidden", "128"))
    dims = [N_INPUTS] + hidden + [N_CLASSES]
    activation = config.get("activation", "relu")
    if activation not in HIDDEN_ACTIVATIONS:
        raise SettingError("activation", f"activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}, got {activation!r}")
    optimizer = config.get("optimizer", "adam")
    if optimizer not in OPTIMIZERS:
        raise SettingError("optimizer", f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    lr = config.get("learning_rate", 0.001)
    try:
        lr_value = float(lr)
    except (TypeError, ValueError):
        raise SettingError("learning_rate", f"learning rate must be a number, got {lr!r}") from None
    if not math.isfinite(lr_value) or not 0 < lr_value <= 100:
        raise SettingError("learning_rate", f"learning rate must be a number above 0 and at most 100, got {lr!r}")
    dataset = config.get("dataset", "small")
    if dataset not in ("small", "full"):
        raise SettingError("dataset", f"data set must be 'small' or 'full', got {dataset!r}")
    n_train = _dataset(dataset)["train"][1].shape[0]
    train_size = _whole(config, "train_size", 1, n_train, "training-set size") if "train_size" in config else n_train
    epochs = _whole(config, "epochs", 1, MAX_EPOCHS, "epochs") if "epochs" in config else 2
    batch_size = _whole(config, "batch_size", 0, n_train, "batch size") if "batch_size" in config else 128
    if batch_size == 0 or batch_size >= train_size:
        if train_size > MAX_FULL_BATCH:
            raise SettingError("batch_size", f"full-batch training (batch size 0) is limited to {MAX_FULL_BATCH:,} images in the "
                             f"browser; choose a batch size such as 128")
    seed = _whole(config, "seed", 0, 2**32 - 1, "seed") if "seed" in config else 0
    eval_every = _whole(config, "eval_every", 1, MAX_EPOCHS, "evaluate every") if "eval_every" in config else 1
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr_value,
                     schedule=config.get("schedule", "constant"), seed=seed, eval_every=eval_every).validated()
    return dims, activation, dataset, train_size, tc


def start_training(config, workers=1):
    """Check the settings and start a run (any run in progress is dropped); return its summary.

    config: {'hidden': '128' | [128], 'activation', 'optimizer', 'learning_rate', 'epochs',
    'batch_size' (0: full batch), 'train_size', 'seed', 'dataset', 'eval_every'}.
    workers: how many workers share each batch (data-parallel, see helper_start); this one
    computes the first shard and ``step`` hands out the others.
    Raises ValueError on a bad value; nothing is changed then.
    """
    dims, activation, dataset, train_size, tc = check_config(config)
    workers = _whole({"workers": workers}, "workers", 1, MAX_WORKERS, "workers")
    d = _dataset(dataset)
    images, labels = d["train"]
    X, y = images[:train_size].T, labels[:train_size]
    net = Network(dims, hidden_activation=activation, seed=tc.seed, dtype="float32")
    # evaluation in slices, each answered by an 'evaluating' event: pause and stop answer between two
    trainer = Trainer(net, X, y, tc, validation=_eval_set(d, "validation"), test=_eval_set(d, "test"),
                      eval_chunk=_eval_chunk_size(dims), shards=workers)
    gen = trainer.run()
    start = next(gen)
    batches = start["batches"]
    _state["offer"] = None  # a new run: an offer left untaken goes
    _state["run"] = {
        "net": net, "gen": gen, "trainer": trainer, "config": tc, "dataset": dataset, "train_size": train_size,
        "dims": dims, "activation": activation, "batches": batches, "total_steps": batches * tc.epochs,
        "step": 0, "epoch": 0, "evaluating": False, "awaiting": False,
        "started": time.perf_counter(), "samples_per_s": 0.0, "last_epoch": None, "base": _state["model"],
    }
    return {"dimensions": dims, "activation": activation, "dataset": dataset, "train_size": train_size,
            "batches": batches, "total_steps": batches * tc.epochs, "config": tc.to_dict(), "workers": workers}


def _eval_chunk_size(dims):
    macs = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return max(100, int(EVAL_MACS / macs))


def _eval_set(d, split):
    """(X (784, m), labels) of a split of a loaded data set, or None where it has none."""
    if split not in d:
        return None
    images, labels = d[split]
    return images.T, labels


def _epoch_out(run, event):
    e = {k: event.get(k) for k in ("epoch", "epochs", "loss", "train_acc", "val_acc", "val_loss", "test_acc", "test_loss")}
    for k in ("loss", "train_acc", "val_acc", "val_loss", "test_acc", "test_loss"):
        e[k] = _finite(e[k]) if e[k] is not None else None
    e["step"] = run["step"]
    run["last_epoch"] = e
    return e


def _finish(run, done):
    """End of a run; returns the current model's info.

    A completed run's network becomes the current model, unless the model in use changed during
    the run (an upload, a restore, the default again). Then, as for a stopped run or one that
    diverged after an epoch had finished, the network is only offered (``use_offered``): the
    model in use stays until the user takes the other one.
    """
    _state["run"] = None
    last = run["last_epoch"] or {}
    if done["reason"] == "diverged" and not last:
        # diverged before its first epoch ended: nothing good was learned, keep the previous model
        done["message"] = (f"{done['cause']} {done['where']}: the learning rate {run['config'].learning_rate:g} "
                           f"is too high; no epoch finished, so the previous model is still in use")
        return model_info()
    # the accuracy of the network as it is: none after batches that no evaluation has seen
    evaluated = last.get("step") == run["step"] and done["reason"] != "diverged"
    test_acc = last.get("test_acc") if evaluated else None
    net = run["net"]
    net.metadata = {"name": "trained", "dimensions": run["dims"], "hidden_activation": run["activation"],
                    "config": run["config"].to_dict(), "dataset": run["dataset"], "train_size": run["train_size"],
                    "epochs_run": last.get("epoch", 0), "steps_run": run["step"], "test_acc": test_acc,
                    "end": done["reason"]}
    test_eval = run.get("test_eval") if test_acc is not None else None
    if done["reason"] in ("completed", "early_stop") and _state["model"] is run["base"]:
        info = _set_model(net, "trained")
        _state["last_eval"] = test_eval
        return info
    info = _describe(net, "trained")
    info.update(reason=done["reason"], epochs_run=last.get("epoch", 0), steps_run=run["step"])
    _state["offer"] = {"net": net, "info": info, "last_eval": test_eval}
    return model_info()


def offer_info():
    """The trained model on offer (see _finish): its info, with the run's end ('reason'),
    epochs_run and steps_run; None when there is none."""
    offer = _state["offer"]
    return None if offer is None else dict(offer["info"])


def use_offered():
    """Make the model on offer the current one; returns its info."""
    offer = _state["offer"]
    if offer is None:
        raise ValueError("no trained model is waiting to be used")
    info = _set_model(offer["net"], "trained")
    _state["last_eval"] = offer["last_eval"]
    _state["offer"] = None
    return info


def discard_offer():
    """Keep the current model and drop the one on offer; returns the current model's info."""
    _state["offer"] = None
    return model_info()


def step(budget_ms=60, replies=None):
    """Run the training for about budget_ms milliseconds; see _step. Overflow warnings of a
    diverging run are silenced: divergence is reported in the result instead."""
    with np.errstate(all="ignore"):
        return _step(budget_ms, replies)


def _step(budget_ms, replies):
    """Run the training for about budget_ms milliseconds (at least one batch or one evaluation chunk).

    Returns {'losses': [[step, loss], ...], 'epochs': [epoch events], 'done': None or
    {'reason', 'message', 'model', 'offer'}, 'step', 'total_steps', 'epoch', 'samples_per_s',
    'elapsed_s', 'evaluating': bool, 'request', 'awaiting'}.
    A run with helpers (start_training's workers) also stops early, at each batch:
    'request' is then {'parameters': bytes of float32, 'shards': [bytes of int32 sample indices]}
    for the helpers (helper_gradients); the next call computes this worker's own shard and
    returns 'awaiting': True; the call after that gives the helpers' results as replies.
    """
    run = _state["run"]
    if run is None:
        raise ValueError("no training run is in progress")
    if run["awaiting"] != (replies is not None):
        raise ValueError("the run is waiting for the helpers' gradients" if run["awaiting"]
                         else "no helper gradients were asked for")
    deadline = time.perf_counter() + max(1.0, float(budget_ms)) / 1000.0
    out = {"losses": [], "epochs": [], "done": None, "request": None, "awaiting": False}
    event = run["gen"].send(_helper_results(replies)) if run["awaiting"] else next(run["gen"])
    run["awaiting"] = False
    while True:  # the run's last event is 'done', after which it is dropped
        kind = event["type"]
        run["evaluating"] = kind == "evaluating"
        if kind == "batch":
            run["step"] = event["step"]
            run["epoch"] = event["epoch"]
            run["samples_per_s"] = event["samples_per_s"]
            out["losses"].append([event["step"], _finite(event["loss"])])
        elif kind == "epoch":
            run["samples_per_s"] = event["samples_per_s"]
            test = run["trainer"].evaluations.get("test")
            if event["test_acc"] is not None and test is not None:
                run["test_eval"] = (run["dataset"], test.predictions, test.confidence)
            out["epochs"].append(_epoch_out(run, event))
        elif kind == "gradients":
            out["request"] = {"parameters": event["parameters"].astype(np.float32).tobytes(),
                              "shards": [idx.astype(np.int32).tobytes() for idx in event["shards"]]}
        elif kind == "awaiting":
            run["awaiting"] = out["awaiting"] = True
        elif kind == "done":
            info = _finish(run, event)
            out["done"] = {"reason": event["reason"], "message": event["message"], "model": info, "offer": offer_info()}
        if kind in ("gradients", "awaiting", "done") or time.perf_counter() >= deadline:
            break
        event = next(run["gen"])
    out.update(step=run["step"], total_steps=run["total_steps"], epoch=run["epoch"], epochs_total=run["config"].epochs,
               batches=run["batches"], samples_per_s=run["samples_per_s"], elapsed_s=time.perf_counter() - run["started"],
               evaluating=run["evaluating"] and out["done"] is None)
    return out


def _helper_results(replies):
    """The helpers' replies (a list of helper_gradients results) as the trainer takes them."""
    results = []
    for reply in _py(replies):
        reply = _py(reply)
        results.append((int(reply["n"]), float(reply["loss_sum"]), int(reply["correct"]),
                        np.frombuffer(_bytes(reply["grad"]), dtype=np.float32)))
    return results


def helper_start(config):
    """Make this worker a helper of data-parallel runs with these settings (the same as the
    run's): it keeps a network of the run's shape and the run's training images."""
    dims, activation, dataset, train_size, tc = check_config(config)
    images, labels = _dataset(dataset)["train"]
    net = Network(dims, hidden_activation=activation, seed=tc.seed, dtype="float32")
    _state["helper"] = {"net": net, "X": images[:train_size].T, "labels": labels[:train_size]}
    return {"dimensions": dims, "train_size": train_size}


def helper_gradients(parameters, shard):
    """A helper's part of a batch: the run's parameters (bytes of float32) and the sample indices
    of its shard (bytes of int32). Returns {'n', 'loss_sum', 'correct', 'grad': bytes of the
    float32 summed gradient (n times the shard's mean)}."""
    helper = _state["helper"]
    if helper is None:
        raise ValueError("this worker is not a helper of a data-parallel run")
    idx = np.frombuffer(_bytes(shard), dtype=np.int32)
    if idx.size and not (0 <= idx.min() and idx.max() < helper["labels"].shape[0]):
        raise ValueError("a shard names images outside the run's training set")
    net = helper["net"]
    net.load_flat_parameters(np.frombuffer(_bytes(parameters), dtype=np.float32))
    with np.errstate(all="ignore"):
        n, loss_sum, correct, flat = shard_gradients(net, helper["X"], helper["labels"], idx)
    return {"n": int(n), "loss_sum": float(loss_sum), "correct": int(correct),
            "grad": np.ascontiguousarray(flat, dtype=np.float32).tobytes()}


def warm_up(budget_ms=50):
    """Train a throwaway 784-128-10 network for about budget_ms on the small data set.

    The browser compiles WebAssembly lazily and optimizes hot code later: the first training
    run of a page was measured at half the speed of the next ones. The page calls this for
    about a second after start-up, so the user's first run is fast too. Nothing of it is
    kept (its own network and random generator); returns False when it has had enough.
    """
    warm = _state.get("warm")
    if warm is None:
        images, labels = _dataset("small")["train"]
        net = Network([N_INPUTS, 128, N_CLASSES], seed=0, dtype="float32")
        X, y = images[:2048].T, labels[:2048]
        warm = _state["warm"] = {"net": net, "gen": net.train(X, y, TrainConfig(epochs=50, batch_size=128, seed=0)),
                                 "eval": images[:1000].T}
    deadline = time.perf_counter() + max(1.0, float(budget_ms)) / 1000.0
    with np.errstate(all="ignore"):
        while time.perf_counter() < deadline:
            event = next(warm["gen"], None)
            if event is None or event["type"] == "done":
                warm_up_done()
                return False
            if event["type"] == "epoch":
                warm["net"].forward(warm["eval"])  # the evaluation path too
    return True


def warm_up_done():
    """Drop the warm-up network."""
    warm = _state.pop("warm", None)
    if warm is not None:
        warm["gen"].close()


def stop_training():
    """Stop the run in progress; the model trained so far is offered (see _finish), the model in
    use stays. Returns {'model': the current model's info, 'offer': the offer's, 'stopped': bool}.
    """
    run = _state["run"]
    if run is None:
        return {"model": model_info(), "stopped": False}
    net = run["net"]
    run["gen"].close()
    if not all(np.all(np.isfinite(p)) for p in net.parameters.values()):
        _state["run"] = None
        return {"model": model_info(), "stopped": True, "message": "the run had diverged; the previous model was kept"}
    info = _finish(run, {"reason": "stopped", "message": "stopped"})
    return {"model": info, "offer": offer_info(), "stopped": True}


def training():
    return _state["run"] is not None


# ---- analysis -------------------------------------------------------------------------------


def _test_eval(name):
    if _state["last_eval"] is not None and _state["last_eval"][0] == name:
        return _state["last_eval"]
    images, labels = _dataset(name)["test"]
    P = _current().forward(images.T)
    te = (name, P.argmax(axis=0), P.max(axis=0))
    _state["last_eval"] = te
    return te


def misclassified(k=24, name=None):
    """Up to k test images the current model gets wrong: {'items': [{image, true, predicted,
    confidence}], 'errors', 'total', 'accuracy', 'confusion': 10x10 counts}."""
    # Both data files hold the same 10,000 test images: reuse the evaluation made while training.
    if name is None:
        name = _state["last_eval"][0] if _state["last_eval"] is not None else "small"
    images, labels = _dataset(name)["test"]
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
    name = _state["last_eval"][0] if _state["last_eval"] is not None else "small"
    images, labels = _dataset(name)["test"]
    _, pred, conf = _test_eval(name)
    members = np.flatnonzero((labels == true) & (pred == predicted))
    chosen = members[np.argsort(-conf[members], kind="stable")[: max(0, min(int(k), 100))]]
    return {"items": [{"image": images[i].tolist(), "true": true, "predicted": predicted,
                       "confidence": round(float(conf[i]), 4)} for i in chosen], "count": int(members.size)}


def first_layer(n=32):
    """Up to n first-layer weight rows as 784 values scaled to [-1, 1] (for weight tiles): of the
    network being trained while a run is in progress, else of the current model."""
    run = _state["run"]
    W = (run["net"] if run is not None else _current()).parameters["W1"]
    rows = W[: max(0, min(int(n), W.shape[0]))].astype(np.float64)
    scale = np.abs(rows).max(axis=1, keepdims=True)
    scale[scale == 0] = 1
    return {"tiles": np.round(rows / scale, 3).tolist()}


def use_default_model():
    """Make the site's default model the current one again."""
    if _state["default"] is None:
        raise ValueError("the default model is not loaded")
    return _set_model(_state["default"], "default")


# ---- the worker's one way in ----------------------------------------------------------------

_CALLS = {f.__name__: f for f in (
    cell_images, dataset_summary, discard_offer, first_layer, has_dataset, helper_gradients, helper_start,
    load_dataset, load_default_model, load_model, misclassified, model_info, offer_info, predict, samples,
    save_model, start_training, step, stop_training, use_default_model, use_offered, warm_up, warm_up_done)}


def handle(name, *args):
    """Call the bridge function `name` with args; a refusal comes back as data, never as text
    to be parsed: {'value': its result} or {'error': {'message': one sentence for a person,
    'field': the setting it is about (SettingError) or None}}. Any other exception is a bug and
    propagates, with its traceback."""
    try:
        return {"value": _CALLS[name](*args)}
    except ValueError as e:
        return {"error": {"message": _sentence(e), "field": getattr(e, "field", None)}}


def _sentence(error):
    """A refusal's message as one line of reasonable length (NumPy's own texts can be long)."""
    text = " ".join(str(error).split()) or error.__class__.__name__
    return text if len(text) <= 300 else text[:297] + "..."
