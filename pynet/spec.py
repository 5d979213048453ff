"""A network described in one short line, checked layer by layer before anything is built.

Two forms, shared by whatever builds a network from text::

    784,128,10                                      dense only: input size, then each layer's width
    conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10

In the second form the input is MNIST's 1@28x28 image unless the first item says otherwise
(``input 3@32x32``). ``conv F@KxK`` is F kernels of K x K (optionally ``stride S`` and
``pad P``: ``conv 8@3x3 stride 2 pad 1``), followed by the hidden activation; ``pool P``
max-pools P x P windows; ``dense N`` is N units, the last one the softmax output, which must
have one unit per class. A flatten goes in before the first dense layer after images.

``plan(text)`` returns the layers (``pynet.layers``) and the shape of every parameter, or
raises ValueError with one line naming the layer and what is wrong with it.
"""

import re
from dataclasses import dataclass, field

import numpy as np

from . import core
from .conv import conv_output_size
from .layers import Conv, Dense, Dropout, Flatten, MaxPool, Unflatten, dense_stack
from .settings import N_CLASSES

INPUT_SHAPE = (1, 28, 28)  # MNIST: one channel of 28 x 28 pixels

_NUMBER = r"(-?\d+)"
_SHAPE = re.compile(rf"{_NUMBER}\s*@\s*{_NUMBER}\s*x\s*{_NUMBER}$")


@dataclass
class Plan:
    """A checked spec: what a Network is built from.

    layers: the layer objects in order; shapes: for each layer, {name: shape} of its
    parameters ({} for none); dimensions: the flat input size, then the flat output size of each
    layer with parameters; text: the spec written the canonical way; dense_only: the '784,128,10'
    form (its weights are the seed's, from ``core.initialize_parameters``).
    """

    layers: list
    shapes: list
    dimensions: list
    text: str
    dense_only: bool = False
    activations: list = field(default_factory=list)  # each parameterised layer's activation
    window_values: int = 0  # the most values one sample has in a conv layer's windows (im2col)
    values: int = 0  # per sample, what training keeps: twice every layer's outputs, plus every conv layer's windows
    # the layers a person can look at (conv, pool, dense): (index in layers, the spec's item, the
    # output shape of one sample: (C, H, W) of images, (n,) of units)
    views: list = field(default_factory=list)

    @property
    def input_shape(self):
        """(C, H, W) of a layered spec's input images; (n,) of a dense-only spec's inputs."""
        return (self.dimensions[0],) if self.dense_only else self.layers[0].shape

    def training_bytes(self, batch_size=128, dtype="float32"):
        """About how many bytes training this network takes: the parameters, their gradients and
        Adam's two moments, plus one batch's outputs and windows and their gradients."""
        parameters = sum(int(np.prod(shape)) for shapes in self.shapes for shape in shapes.values())
        return np.dtype(dtype).itemsize * (4 * parameters + 2 * max(1, batch_size) * self.values)

    def parameter_shapes(self):
        """{'W1': shape, 'b1': shape, 'W2': ...}: the parameters dict's names and shapes."""
        layers = [shapes for shapes in self.shapes if shapes]
        return {name + str(l): shape for l, shapes in enumerate(layers, 1) for name, shape in shapes.items()}


def label(text):
    """How pynet names a network in one line, from its canonical spec (``Plan.text``,
    ``Network.spec``): '784-128-10' for a dense-only one, else the spec itself."""
    return text.replace(",", "-") if re.fullmatch(r"\d+(,\d+)*", text) else text


def plan(text, hidden_activation="relu", dropout=0.0, n_classes=N_CLASSES):
    """Parse and check a spec; return a Plan. ValueError: one line naming the layer at fault."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a network spec must be text such as '784,128,10' or "
                         f"'conv 8@5x5, pool 2, dense 128, dense {n_classes}', got {text!r}")
    items = [item.strip() for item in text.strip().lower().split(",")]
    if all(re.fullmatch(r"-?\d+", item) for item in items):
        return _dense_only([int(item) for item in items], hidden_activation, dropout, n_classes)
    return _layered(items, hidden_activation, dropout, n_classes)


def _dense_only(dims, hidden_activation, dropout, n_classes):
    try:
        dims = core.check_dimensions(dims)
    except ValueError as e:
        raise ValueError(f"{', '.join(map(str, dims))}: {e}") from None
    if dims[-1] != n_classes:
        raise ValueError(f"the output layer must have {n_classes} units (one per class), got {dims[-1]}")
    layers = dense_stack(dims, hidden_activation, dropout)
    shapes, k = [], 0
    for layer in layers:
        if layer.param_names:
            k += 1
            shapes.append({"W": (dims[k], dims[k - 1]), "b": (dims[k], 1)})
        else:
            shapes.append({})
    activations = [hidden_activation] * (len(dims) - 2) + ["softmax"]
    dense = [i for i, layer in enumerate(layers) if layer.param_names]
    views = [(i, f"dense {n}", (n,)) for i, n in zip(dense, dims[1:])]
    return Plan(layers, shapes, dims, ",".join(map(str, dims)), True, activations, values=2 * sum(dims[1:]),
                views=views)


def _layered(items, hidden_activation, dropout, n_classes):
    shape = INPUT_SHAPE  # (C, H, W) of images, or (n,) once flat
    if items[0].startswith("input"):
        shape = _input_shape(items[0])
        items = items[1:]
        if not items:
            raise ValueError("the spec has an input but no layers")
    written = [] if shape == INPUT_SHAPE else ["input %d@%dx%d" % shape]
    layers, shapes, activations = [Unflatten(shape)], [{}], []
    dimensions = [int(np.prod(shape))]
    window_values = values = 0
    views = []
    for k, item in enumerate(items, 1):
        where = f"layer {k} ({item})"
        words = item.split(None, 1)
        kind, rest = (words + [""])[:2] if words else ("", "")
        last = k == len(items)
        if kind == "conv":
            F, kh, kw, stride, pad = _conv_settings(rest, where)
            if len(shape) == 1:
                raise ValueError(f"{where}: convolutions must come before the dense layers")
            C, H, W = shape
            if kh > H + 2 * pad or kw > W + 2 * pad:
                padded = f" padded by {pad}" if pad else ""
                raise ValueError(f"{where}: its {kh}x{kw} kernel is larger than its {H}x{W} input{padded}")
            shape = (F, conv_output_size(H, kh, stride, pad), conv_output_size(W, kw, stride, pad))
            window_values = max(window_values, C * kh * kw * shape[1] * shape[2])
            values += C * kh * kw * shape[1] * shape[2]
            layers.append(Conv(stride, pad, hidden_activation))
            shapes.append({"W": (F, C, kh, kw), "b": (F, 1)})
            activations.append(hidden_activation)
            dimensions.append(int(np.prod(shape)))
            written.append(f"conv {F}@{kh}x{kw}" + (f" stride {stride}" if stride != 1 else "")
                           + (f" pad {pad}" if pad else ""))
        elif kind == "pool":
            size = _whole(rest, where, "a pooling size", 1)
            if len(shape) == 1:
                raise ValueError(f"{where}: pooling must come before the dense layers")
            C, H, W = shape
            if H % size or W % size:
                raise ValueError(f"{where}: pooling by {size} does not divide its {H}x{W} input")
            shape = (C, H // size, W // size)
            layers.append(MaxPool(size))
            shapes.append({})
            written.append(f"pool {size}")
        elif kind == "dense":
            units = _whole(rest, where, "a number of units", 1)
            if len(shape) == 3:
                layers.append(Flatten())
                shapes.append({})
                shape = (int(np.prod(shape)),)
            activation = "softmax" if last else hidden_activation
            layers.append(Dense(activation))
            shapes.append({"W": (units, shape[0]), "b": (units, 1)})
            activations.append(activation)
            shape = (units,)
            dimensions.append(units)
            written.append(f"dense {units}")
            if dropout and not last:
                layers.append(Dropout(dropout))
                shapes.append({})
        else:
            raise ValueError(f"{where}: unknown layer; write conv F@KxK, pool P or dense N")
        views.append((len(layers) - (2 if isinstance(layers[-1], Dropout) else 1), written[-1], shape))
        values += 2 * int(np.prod(shape))
    if len(shape) != 1 or not isinstance(layers[-1], Dense):
        raise ValueError(f"the last layer must be dense {n_classes} (one unit per class), got {items[-1]!r}")
    if shape[0] != n_classes:
        raise ValueError(f"the last layer must be dense {n_classes} (one unit per class), got dense {shape[0]}")
    return Plan(layers, shapes, dimensions, ", ".join(written), False, activations, window_values, values, views)


def _input_shape(item):
    match = _SHAPE.match(item[len("input"):].strip())
    if not match:
        raise ValueError(f"{item}: write the input as input C@HxW, such as input 1@28x28")
    shape = tuple(int(n) for n in match.groups())
    if min(shape) < 1:
        raise ValueError(f"{item}: the input's channels, rows and columns must be at least 1")
    return shape


def _conv_settings(rest, where):
    """(F, kh, kw, stride, pad) from 'F@KxK [stride S] [pad P]'."""
    words = rest.split()
    if not words:
        raise ValueError(f"{where}: write a convolution as conv F@KxK, such as conv 8@5x5")
    match = _SHAPE.match(words[0])
    if not match:
        raise ValueError(f"{where}: write a convolution as conv F@KxK, such as conv 8@5x5")
    F, kh, kw = (int(n) for n in match.groups())
    if F < 1:
        raise ValueError(f"{where}: the number of channels must be at least 1, got {F}")
    if min(kh, kw) < 1:
        raise ValueError(f"{where}: the kernel must be at least 1x1, got {kh}x{kw}")
    options = {"stride": 1, "pad": 0}
    rest = words[1:]
    if len(rest) % 2:
        raise ValueError(f"{where}: after the kernel, write stride S and pad P")
    for name, value in zip(rest[::2], rest[1::2]):
        if name not in options:
            raise ValueError(f"{where}: unknown setting {name!r}; a convolution takes stride and pad")
        options[name] = _whole(value, where, f"the {name}", 1 if name == "stride" else 0)
    return F, kh, kw, options["stride"], options["pad"]


def _whole(text, where, what, least):
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ValueError(f"{where}: {what} must be a whole number, got {text.strip()!r}")
    value = int(text)
    if value < least:
        raise ValueError(f"{where}: {what} must be at least {least}, got {value}")
    return value


def initialize(plan, seed=0, dtype=np.float32):
    """Parameters for a layered plan: He-normal weights for relu layers (variance 2 / fan-in),
    variance 1 / fan-in for the others (sigmoid, the softmax output); zero biases.

    Returns: dict W1, b1, W2, ... in layer order, numbered over the layers with parameters.
    """
    rng = np.random.default_rng(seed)
    parameters, l = {}, 0
    for shapes in plan.shapes:
        if not shapes:
            continue
        activation = plan.activations[l]
        l += 1
        W_shape = shapes["W"]
        fan_in = int(np.prod(W_shape[1:]))
        scale = np.sqrt((2.0 if activation == "relu" else 1.0) / fan_in)
        parameters["W" + str(l)] = (rng.standard_normal(W_shape) * scale).astype(dtype)
        parameters["b" + str(l)] = np.zeros(shapes["b"], dtype=dtype)
    return parameters
