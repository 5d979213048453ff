"""The page's training form checked field by field: each refusal a SettingError naming its field.

Nothing here evaluates user text; the limits are those of pynet/settings.py.
"""

import json
import math

from ..augment import AUGMENTATIONS
from ..errors import SettingError
from ..model import HIDDEN_ACTIVATIONS, training_bytes
from ..optim import OPTIMIZERS
from ..settings import MAX_EPOCHS, MAX_FULL_BATCH, MAX_HIDDEN_LAYERS, MAX_WIDTH, N_CLASSES, N_INPUTS
from ..trainer import TrainConfig
from .datasets import loaded_dataset
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
    config = as_py(config)
    if not isinstance(config, dict):
        raise ValueError("training settings must be a dict")
    known = {"hidden", "dimensions", "activation", "optimizer", "learning_rate", "epochs", "batch_size",
             "train_size", "seed", "dataset", "eval_every", "schedule", "augment"}
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
    augment = config.get("augment", "off")
    if augment not in AUGMENTATIONS:
        raise SettingError("augment", f"augmentation must be one of {', '.join(AUGMENTATIONS)}, got {augment!r}")
    dataset = config.get("dataset", "small")
    if dataset not in ("small", "full"):
        raise SettingError("dataset", f"data set must be 'small' or 'full', got {dataset!r}")
    n_train = loaded_dataset(dataset)["train"][1].shape[0]
    train_size = whole(config, "train_size", 1, n_train, "training-set size") if "train_size" in config else n_train
    epochs = whole(config, "epochs", 1, MAX_EPOCHS, "epochs") if "epochs" in config else 2
    batch_size = whole(config, "batch_size", 0, n_train, "batch size") if "batch_size" in config else 128
    if batch_size == 0 or batch_size >= train_size:
        if train_size > MAX_FULL_BATCH:
            raise SettingError("batch_size", f"full-batch training (batch size 0) is limited to {MAX_FULL_BATCH:,} images in the "
                             f"browser; choose a batch size such as 128")
    seed = whole(config, "seed", 0, 2**32 - 1, "seed") if "seed" in config else 0
    eval_every = whole(config, "eval_every", 1, MAX_EPOCHS, "evaluate every") if "eval_every" in config else 1
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr_value,
                     schedule=config.get("schedule", "constant"), seed=seed, eval_every=eval_every,
                     augment=augment).validated()
    return dims, activation, dataset, train_size, tc

