"""The page's training form checked field by field: each refusal a SettingError naming its field.

The network field takes hidden sizes ('128, 64'), a dense spec ('784,128,10') or a conv spec
('conv 8@5x5, pool 2, dense 10'): pynet.spec checks it, this module adds the page's limits (layers,
memory) and describes it as it is typed. Nothing here evaluates user text; the limits are those of
pynet/settings.py.
"""

import json
import math
import re

import numpy as np

from .. import spec
from ..augment import AUGMENTATIONS
from ..errors import SettingError
from ..model import HIDDEN_ACTIVATIONS
from ..optim import OPTIMIZERS
from ..settings import (MAX_EPOCHS, MAX_FULL_BATCH, MAX_LAYERS, MAX_SAMPLE_VALUES, MAX_TRAINING_BYTES, N_CLASSES,
                        N_INPUTS)
from ..trainer import TrainConfig
from .datasets import train_count
from .state import as_py


def whole(config, key, low, high, label):
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


NETWORK_KEYS = ("network", "hidden", "dimensions")  # "hidden": the page's older name; "dimensions": a list
LAYER_KINDS = ("input", "conv", "pool", "dense")  # the first word of each layer of a spec (pynet.spec)
EXAMPLES = "sizes such as 128 or 128, 64, or layers such as conv 8@5x5, pool 2, dense 10"


def network_plan(value, activation="relu", field="network"):
    """The network of the form's network field, checked against the page's layer limit.

    value: text, one of hidden sizes ('128' or '128, 64': the input and output layers are
    added), a dense spec ('784,128,10') or a conv spec ('conv 8@5x5, pool 2, dense 10'); or a
    list of hidden sizes. Returns a pynet.spec.Plan; raises SettingError(field) with one line.
    """
    if isinstance(value, (list, tuple)):
        text = ",".join(map(str, [N_INPUTS] + _sizes(list(value), field) + [N_CLASSES]))
    else:
        # one layer a line works too (a spec pasted from elsewhere): a line break is a comma
        text = re.sub(r"\s*,?\s*[\r\n]+\s*", ", ", "" if value is None else str(value).strip())
        if not text:
            raise SettingError(field, f"give the network: hidden {EXAMPLES}")
        if re.search(r"[a-z]", text, re.IGNORECASE):
            first_words = [item.split()[0].lower() for item in text.split(",") if item.split()]
            if not set(first_words) & set(LAYER_KINDS):
                shown = text if len(text) <= 40 else text[:37] + "..."
                raise SettingError(field, f"{shown!r} is neither layer sizes nor layers; write {EXAMPLES}")
        else:
            sizes = _sizes(re.split(r"[,;]", text), field)
            full = len(sizes) >= 2 and sizes[0] == N_INPUTS and sizes[-1] == N_CLASSES  # '784,128,10'
            text = ",".join(map(str, sizes if full else [N_INPUTS] + sizes + [N_CLASSES]))
    try:
        plan = spec.plan(text, activation)
    except ValueError as e:
        raise SettingError(field, str(e)) from None
    if plan.input_shape not in ((N_INPUTS,), spec.INPUT_SHAPE):
        raise SettingError(field, f"the page's images are {'%d@%dx%d' % spec.INPUT_SHAPE}; drop the input "
                                  f"{'%d@%dx%d' % plan.input_shape} from the spec")
    layers = len(plan.views)
    if layers > MAX_LAYERS:
        raise SettingError(field, f"the network has {layers} layers; the page trains at most {MAX_LAYERS} "
                                  f"(conv, pool and dense layers, the output layer included)")
    if plan.values > MAX_SAMPLE_VALUES:  # a model the page could not load back (models.load_model)
        raise SettingError(field, f"one image through the network would take about {_megabytes(4 * plan.values)} of "
                                  f"memory, more than the {_megabytes(4 * MAX_SAMPLE_VALUES)} a model may take in the "
                                  f"page; use fewer or smaller layers")
    return plan


def _sizes(parts, field):
    """Layer sizes, each a whole number of at least 1."""
    sizes = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise SettingError(field, f"{str(p).strip()!r} is not a layer size; write {EXAMPLES}") from None
        if not math.isfinite(v) or v != int(v):
            raise SettingError(field, f"layer sizes are whole numbers, got {str(p).strip()!r}")
        if v < 1:
            raise SettingError(field, f"layer sizes are at least 1, got {str(p).strip()}")
        sizes.append(int(v))
    if not sizes:
        raise SettingError(field, f"give the network: hidden {EXAMPLES}")
    return sizes


def check_memory(plan, batch_size, field="network"):
    """The bytes training plan on batches of batch_size takes (float32, Adam); SettingError(field)
    saying how much it would need when that is more than the page allows."""
    need = plan.training_bytes(batch_size, "float32")
    if need > MAX_TRAINING_BYTES:
        smaller = "fewer or smaller layers, or a smaller batch" if batch_size > 1 else "fewer or smaller layers"
        raise SettingError(field, f"the network would need about {_megabytes(need)} of memory to train on batches of "
                                  f"{batch_size:,} images, more than the {_megabytes(MAX_TRAINING_BYTES)} this page "
                                  f"allows; use {smaller}")
    return need


def _megabytes(n):
    return f"{math.ceil(n / 2**20):,} MB" if n < 2**30 else f"{n / 2**30:,.1f} GB"


def _network_setting(config):
    """(the key that gives the network, its value); the default network when none does."""
    given = [key for key in NETWORK_KEYS if key in config]
    if len(given) > 1:
        raise SettingError(given[0], f"give the network once, not both as {given[0]} and as {given[1]}")
    if not given:
        return "network", "128"
    return given[0], config[given[0]]


def _dimensions_plan(dims, activation):
    """The plan of a 'dimensions' list [784, ..., 10]."""
    dims = list(dims)
    if len(dims) < 3 or dims[0] != N_INPUTS or dims[-1] != N_CLASSES:
        raise SettingError("dimensions", f"dimensions must start with {N_INPUTS} and end with {N_CLASSES}, got {dims}")
    return network_plan(dims[1:-1], activation, "dimensions")


def describe_network(config):
    """What the page shows under the network field as it is typed: the network of config (the
    form's values: its network, and the activation, batch size and training-set size the memory
    estimate depends on, read leniently: the other fields are checked when training starts).

    Returns {'network': its name ('784-128-10', or the conv spec written the canonical way),
    'layers': [{'layer': 'conv 8@5x5', 'shape': [8, 24, 24], 'parameters': 208}, ...] (the
    input first), 'parameters', 'training_bytes', 'batch_size': the batch the estimate is for};
    raises SettingError (its field) for a network the page cannot train, with the same line as
    the Train button.
    """
    config = _as_dict(config)
    field, value = _network_setting(config)
    activation = config.get("activation") if config.get("activation") in HIDDEN_ACTIVATIONS else "relu"
    plan = _dimensions_plan(value, activation) if field == "dimensions" else network_plan(value, activation, field)
    batch, train_size = _count(config.get("batch_size"), 128), _count(config.get("train_size"), 0)
    if train_size and (batch == 0 or batch > train_size):
        batch = train_size  # full batch
    batch = batch or 128
    need = check_memory(plan, batch, field)
    layers = [{"layer": "input", "shape": list(plan.input_shape), "parameters": 0}]
    for i, text, shape in plan.views:
        layers.append({"layer": text, "shape": list(shape),
                       "parameters": sum(int(np.prod(s)) for s in plan.shapes[i].values())})
    return {"network": spec.label(plan.text), "layers": layers, "parameters": sum(layer["parameters"] for layer in layers),
            "training_bytes": int(need), "batch_size": batch}


def _count(value, default):
    """A whole number of at least 0 from a form's text, or default."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return int(number) if math.isfinite(number) and number == int(number) and number >= 0 else default


def _as_dict(config):
    if isinstance(config, str):
        config = json.loads(config)
    config = as_py(config)
    if not isinstance(config, dict):
        raise ValueError("training settings must be a dict")
    return config


def check_config(config):
    """Validate the page's settings; return (plan, activation, dataset, train_size, TrainConfig),
    plan being the network's pynet.spec.Plan.

    The network is given as 'network' (see network_plan; 'hidden', the page's older name, means
    the same) or as 'dimensions' ([784, ..., 10]); a refusal names the key that gave it.
    """
    config = _as_dict(config)
    known = {"network", "hidden", "dimensions", "activation", "optimizer", "learning_rate", "epochs", "batch_size",
             "train_size", "seed", "dataset", "eval_every", "schedule", "augment"}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
    activation = config.get("activation", "relu")
    if activation not in HIDDEN_ACTIVATIONS:
        raise SettingError("activation", f"activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}, got {activation!r}")
    field, value = _network_setting(config)
    plan = _dimensions_plan(value, activation) if field == "dimensions" else network_plan(value, activation, field)
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
    augment = config.get("augment", "off")
    if augment not in AUGMENTATIONS:
        raise SettingError("augment", f"augmentation must be one of {', '.join(AUGMENTATIONS)}, got {augment!r}")
    dataset = config.get("dataset", "small")
    if dataset not in ("small", "full"):
        raise SettingError("dataset", f"data set must be 'small' or 'full', got {dataset!r}")
    n_train = train_count(dataset)
    train_size = whole(config, "train_size", 1, n_train, "training-set size") if "train_size" in config else n_train
    epochs = whole(config, "epochs", 1, MAX_EPOCHS, "epochs") if "epochs" in config else 2
    batch_size = whole(config, "batch_size", 0, n_train, "batch size") if "batch_size" in config else 128
    if batch_size == 0 or batch_size >= train_size:
        if train_size > MAX_FULL_BATCH:
            raise SettingError("batch_size", f"full-batch training (batch size 0) is limited to {MAX_FULL_BATCH:,} images in the "
                             f"browser; choose a batch size such as 128")
    check_memory(plan, train_size if batch_size == 0 or batch_size >= train_size else batch_size, field)
    seed = whole(config, "seed", 0, 2**32 - 1, "seed") if "seed" in config else 0
    eval_every = whole(config, "eval_every", 1, MAX_EPOCHS, "evaluate every") if "eval_every" in config else 1
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr_value,
                     schedule=config.get("schedule", "constant"), seed=seed, eval_every=eval_every,
                     augment=augment).validated()
    return plan, activation, dataset, train_size, tc

