"""One training iteration of the model in use, step by step, for the page's step-through view.

``step_through(options)`` runs one small batch (a few training images, or the drawing with the
label the user gives) through ``Network._forward_backward``, the very call training makes, with
traces that keep what each layer computed; then one plain gradient-descent step
(``core.update_parameters``, which returns new arrays: the model in use never changes). Each step
is what the page shows: a title, the formula, the shapes, the arrays (heat maps at most
MAX_STEP_CELLS cells a side, their min and max, a few exact values with their indices) and the
source of the pynet function that computed it, read from the package that runs.

The steps are made once and kept (STATE['steps']); the page asks for them one at a time
(``step_detail``), so that no answer of the worker is large.
"""

import copy
import functools
import inspect
import textwrap

import numpy as np

from .. import conv, core, spec
from ..errors import SettingError
from ..layers import Conv, Dense, Dropout, Flatten, MaxPool, Mode, Unflatten
from ..model import Network
from ..optim import check_learning_rate
from ..settings import MAX_SHOWN_CHANNELS, MAX_STEP_BATCH, MAX_STEP_CELLS, N_CLASSES, N_INPUTS, SEED_RECIPE, STEP_BATCH
from .datasets import loaded_dataset
from .form import whole
from .models import current
from .state import STATE, as_py

OPTIONS = {"source": "batch", "start": 0, "size": STEP_BATCH, "pixels": None, "label": None,
           "learning_rate": SEED_RECIPE["learning_rate"], "seed": 0}
SIDE = 28  # MNIST images are 28 x 28: the input's columns are drawn as such
EXACT = 4  # exact values shown per array
DIGITS = f"digits 0–{N_CLASSES - 1}"  # what the output layer's rows are


def step_through(options=None):
    """Run one training iteration of the model in use and keep its steps.

    options (all optional): 'source': 'batch' (training images 'start'.. 'start' + 'size' - 1 of
    the small data set) or 'drawing' ('pixels': the drawing's 784 grey levels in 0..1, 'label':
    its digit); 'learning_rate' of the update; 'seed' of a dropout layer's mask.
    Returns {'count', 'titles': [each step's title], 'phases', 'batch': {'labels', 'what'},
    'learning_rate', 'model', 'step': the first step (see step_detail)}. Refused (SettingError,
    nothing kept) when an option is wrong.
    """
    options = as_py(options) if options is not None else {}
    if not isinstance(options, dict):
        raise SettingError("options", "the step-through options must be a set of named values")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SettingError(unknown[0], f"the step-through view has no option {unknown[0]!r}")
    options = {**OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    try:
        learning_rate = check_learning_rate(options["learning_rate"])
    except ValueError as e:
        raise SettingError("learning_rate", str(e)) from None
    seed = whole(options, "seed", 0, 2**32 - 1, "the seed")
    if options["source"] == "drawing":
        X, labels, what = _drawing(options)
    elif options["source"] == "batch":
        X, labels, what = _training_images(options)
    else:
        raise SettingError("source", "step through a 'batch' of training images or a 'drawing', "
                                     f"not {options['source']!r}")
    net = current()
    steps = Iteration(net, X, labels, learning_rate, seed).steps()
    for k, step in enumerate(steps):
        step["index"] = k
    STATE["steps"] = steps
    return {"count": len(steps), "titles": [s["title"] for s in steps], "phases": [s["phase"] for s in steps],
            "batch": {"labels": labels.tolist(), "what": what}, "learning_rate": learning_rate,
            "model": net.spec, "step": steps[0]}


def step_detail(index):
    """Step number index (0-based) of the iteration step_through made: {'index', 'title', 'phase',
    'formula', 'shapes', 'note', 'scalars': [{'name', 'value'}], 'arrays': [see _array],
    'source': {'name', 'file', 'line', 'text', 'via'}}."""
    steps = STATE.get("steps")
    if not steps:
        raise ValueError("no iteration has been run yet: start stepping first")
    k = whole({"step": index}, "step", 0, len(steps) - 1, "the step")
    return steps[k]


# ---- the batch --------------------------------------------------------------------------------


def _training_images(options):
    images, labels = loaded_dataset("small")["train"]
    size = whole(options, "size", 1, MAX_STEP_BATCH, "the number of images")
    start = whole(options, "start", 0, labels.shape[0] - 1, "the first image")
    idx = (start + np.arange(size)) % labels.shape[0]
    what = f"training image{'s' if size > 1 else ''} no. {start:,}" + (f"–{start + size - 1:,}" if size > 1 else "")
    return images[idx].T, labels[idx].astype(np.int64), what  # (784, size) uint8: k means k/256


def _drawing(options):
    pixels = options["pixels"]
    try:
        x = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError):
        raise SettingError("pixels", f"the drawing must be {N_INPUTS} numbers (28×28 grey levels)") from None
    if x.shape != (N_INPUTS,):
        raise SettingError("pixels", f"the drawing must be {N_INPUTS} numbers (28×28 grey levels), got {x.size:,}")
    if not np.all(np.isfinite(x)):
        raise SettingError("pixels", "the drawing's grey levels must be numbers, not NaN or infinity")
    if x.min() < 0 or x.max() > 1:
        raise SettingError("pixels", "the drawing's grey levels must lie between 0 and 1")
    if not x.any():
        raise SettingError("pixels", "the pad is empty: draw a digit first")
    if options["label"] is None:
        raise SettingError("label", f"say which digit the drawing is (0 to {N_CLASSES - 1})")
    label = whole(options, "label", 0, N_CLASSES - 1, "the label")
    return x.reshape(N_INPUTS, 1), np.array([label]), f"your drawing, labelled {label}"


# ---- the iteration ----------------------------------------------------------------------------


class Iteration:
    """One iteration of net on the batch (X, labels), and the steps that show it."""

    def __init__(self, net, X, labels, learning_rate, seed):
        self.net, self.labels, self.learning_rate, self.seed = net, labels, learning_rate, seed
        self.pixels = X.dtype  # uint8 (k meaning k/256) for training images, float for a drawing
        self.X = net._batch(X)
        self.eye = np.eye(net.dimensions[-1], dtype=net.dtype)
        self.forward, self.backward = [], []
        self.HL, self.loss, self.gradients = net._forward_backward(
            self.X, labels, self.eye, self._mode(), lambda *seen: self.forward.append(seen),
            lambda *seen: self.backward.append(seen))
        # the seed's plain gradient descent; it returns new arrays and leaves net.parameters alone
        self.updated = core.update_parameters(net.parameters, self.gradients, learning_rate)
        # each layer's name as in its spec ('conv 8@5x5'), by its index in net.layers (dropout layers counted)
        self.names = {i: name for i, name, _ in spec.plan(net.spec, net.hidden_activation, net.dropout).views}
        number = 0
        self.numbers = {}  # layer index -> its number among the layers with parameters
        for i, layer in enumerate(net.layers):
            if layer.param_names:
                number += 1
                self.numbers[i] = number

    def _mode(self):
        # the trainer's kind of generator: a dropout layer draws its mask from it
        return Mode(training=True, rng=np.random.default_rng([self.seed, 1]))

    def steps(self):
        steps = [self._input()]
        H_prev = self.X
        for i, H, memory in self.forward:
            steps += self._layer_forward(i, H_prev, H, memory)
            H_prev = H
        steps.append(self._loss())
        for i, received, dH_prev, grads in self.backward:
            steps += self._layer_backward(i, received, dH_prev, grads)
        steps += [self._update(i) for i in self.numbers]
        steps.append(self._after())
        return steps

    def _name(self, i):
        """'layer 2 (conv 32@5x5)' for a layer with parameters; 'pool 2 after layer 1' for one without."""
        layer = self.net.layers[i]
        if i in self.numbers:
            return f"layer {self.numbers[i]} ({self.names[i]})"
        if isinstance(layer, Unflatten):
            return "input as images"
        before = max((n for j, n in self.numbers.items() if j < i), default=None)
        name = self.names.get(i) or ("flatten" if isinstance(layer, Flatten) else f"dropout {layer.rate:g}")
        return name if before is None else f"{name} after layer {before}"

    def _title(self, i, phase, what=""):
        return f"{phase}, {self._name(i)}" + (f": {what}" if what else "")

    # ---- forward ----

    def _input(self):
        m = self.X.shape[1]
        labels = ", ".join(map(str, self.labels))
        formula = ("X = each pixel's grey level k (0..255) / 256, one image per column" if self.pixels == np.uint8
                   else "X = the drawing's grey levels (0..1), as one column")
        return _step(
            "Input: the batch", "forward", formula,
            f"X {_shape(self.X)}: {self.X.shape[0]} pixels × {m} image{'s' if m > 1 else ''} (labels {labels})",
            [_array("X", self.X, "pixels", labels=self.labels)], Network._batch,
            "Network._batch", note="Training works on a batch of images at once: each column of X is one image.")

    def _layer_forward(self, i, H_prev, H, memory):
        layer = self.net.layers[i]
        p = self.net._params(i)
        l = self.numbers.get(i)
        if isinstance(layer, Dense):
            Z = memory[1]
            linear = _step(
                self._title(i, "Forward", "Z"), "forward", "Z = W · H_prev + b",
                f"W{l} {_shape(p['W'])} · H_prev {_shape(H_prev)} + b{l} {_shape(p['b'])} → Z {_shape(Z)}",
                [_array(f"W{l}", p["W"], "matrix"), _array(f"b{l}", p["b"], "matrix"),
                 _array("Z", Z, "columns", rows=DIGITS if layer.activation == "softmax" else "units")],
                core.layer_forward, "Network._forward → Dense.forward → core.layer_forward",
                note="Each unit adds up the previous layer's outputs, each times its weight, plus its bias.")
            return [linear, self._activation(i, layer.activation, Z, H, "columns")]
        if isinstance(layer, Conv):
            Z = memory[1]
            F, C, kh, kw = p["W"].shape
            linear = _step(
                self._title(i, "Forward", "Z"), "forward", "Z = W ⊛ H_prev + b",
                f"W{l} {_shape(p['W'])} ⊛ H_prev {_shape(H_prev)} + b{l} {_shape(p['b'])} → Z {_shape(Z)}",
                [_array(f"W{l}", p["W"], "kernels"), _array(f"b{l}", p["b"], "matrix"), _array("Z", Z, "images")],
                conv.conv_forward, "Network._forward → Conv.forward → conv.conv_forward",
                note=(f"Each of the {F} kernels ({C} channel{'s' if C > 1 else ''} of {kh}×{kw}) slides over the "
                      f"images: at each place, the window's pixels times the kernel's weights, summed, plus the "
                      f"kernel's bias. pynet does it as one matrix product: every window as a column (im2col)."))
            return [linear, self._activation(i, layer.activation, Z, H, "images")]
        if isinstance(layer, MaxPool):
            s = layer.size
            return [_step(self._title(i, "Forward"), "forward", f"H = the largest value of each {s}×{s} window",
                          f"H_prev {_shape(H_prev)} → H {_shape(H)}",
                          [_array("H_prev", H_prev, "images"), _array("H", H, "images")], conv.pool_forward,
                          "Network._forward → MaxPool.forward → conv.pool_forward",
                          note=f"Each map shrinks {s} times in each direction, keeping its strongest responses.")]
        if isinstance(layer, Flatten):
            return [_step(self._title(i, "Forward"), "forward",
                          "H = H_prev with each image's maps laid out as one column",
                          f"H_prev {_shape(H_prev)} → H {_shape(H)}", [_array("H", H, "columns")],
                          conv.flatten_forward, "Network._forward → Flatten.forward → conv.flatten_forward",
                          note="A reshape: the same numbers, now one column per image for the dense layers.")]
        if isinstance(layer, Unflatten):
            return [_step(self._title(i, "Forward"), "forward",
                          "H = each column of X as an image (channels, rows, columns)",
                          f"X {_shape(H_prev)} → H {_shape(H)}", [_array("H", H, "images")],
                          Unflatten.forward, "Network._forward → Unflatten.forward",
                          note="A reshape: the convolutions work on images, with the samples last.")]
        if isinstance(layer, Dropout):
            arrays = [_array("H", H, "columns")] if memory is None else [_array("mask", memory, "columns"),
                                                                         _array("H", H, "columns")]
            return [_step(self._title(i, "Forward"), "forward",
                          f"H = H_prev ⊙ mask: each value kept with probability {1 - layer.rate:g} and then "
                          f"divided by it, else 0", f"H_prev {_shape(H_prev)} → H {_shape(H)}", arrays,
                          Dropout.forward, "Network._forward → Dropout.forward",
                          note="Only while training: some units are switched off at random, a new mask each batch.")]
        raise TypeError(f"the step-through view does not know the layer {layer!r}")

    def _activation(self, i, activation, Z, H, kind):
        formula, function = {
            "relu": ("H = max(0, Z)", core.relu),
            "sigmoid": ("H = 1 / (1 + e^(−Z))", core.sigmoid),
            "softmax": ("H = e^Z / Σ e^Z, each column (its largest Z subtracted first)", core.softmax),
        }[activation]
        notes = {"relu": "Negative values become 0; the others pass unchanged.",
                 "sigmoid": "Every value is squashed into 0..1.",
                 "softmax": "Each column becomes ten probabilities that add up to 1: the network's answer."}
        # the output: each image's probability of its right digit among the exact values
        at, rows = (self._truth(), DIGITS) if activation == "softmax" else (None, "units")
        arrays = [_array("H", H, kind)] if kind == "images" else [_array("Z", Z, kind, rows=rows),
                                                                  _array("H", H, kind, at=at, rows=rows)]
        return _step(self._title(i, "Forward", activation), "forward", formula, f"Z {_shape(Z)} → H {_shape(H)}",
                     arrays, function, f"{type(self.net.layers[i]).__name__}.forward → core.{function.__name__}",
                     note=notes[activation])

    def _truth(self):
        """The indices (label, sample) of each sample's right digit (the first EXACT samples)."""
        return [(int(y), j) for j, y in enumerate(self.labels[:EXACT])]

    def _loss(self):
        Y = self.eye[:, self.labels]
        m = Y.shape[1]
        return _step("Loss", "loss",
                     "loss = −(1/m) Σ Y ⊙ log(HL): the mean of −log(probability of the right digit)",
                     f"HL {_shape(self.HL)}, Y {_shape(Y)} → loss (a number), m = {m}",
                     [_array("HL", self.HL, "columns", at=self._truth(), rows=DIGITS),
                      _array("Y", Y, "columns", at=self._truth(), rows=DIGITS)],
                     core.compute_loss, "Network._forward_backward → core.compute_loss",
                     scalars=[("loss", self.loss)],
                     note="Y is the right answer, one-hot: 1 for the right digit, 0 elsewhere. The loss is small "
                          "when the network gives the right digit a high probability.")

    # ---- backward ----

    def _layer_backward(self, i, received, dH_prev, grads):
        layer = self.net.layers[i]
        title = functools.partial(self._title, i, "Backward")
        skipped = ("dH_prev is not computed: no layer before this one has anything to learn, so training "
                   "skips it.")
        if isinstance(layer, (Dense, Conv)):
            l = self.numbers[i]
            kind = "columns" if isinstance(layer, Dense) else "images"
            memory = self.forward[i][2]
            if i == len(self.net.layers) - 1:
                first = _step(title("dZ"), "backward", "dZ = HL − Y",
                              f"HL {_shape(self.HL)} − Y {_shape(received)} → dZ {_shape(received)}",
                              [_array("dZ", received, kind, at=self._truth(), rows=DIGITS)], Network._backward,
                              "Network._forward_backward → Network._backward",
                              note="The gradient of the loss with respect to Z, for softmax with the cross-entropy "
                                   "loss: the probabilities minus the right answers.")
                dZ = received
            else:
                backward = core._BACKWARD[layer.activation]
                dZ = backward(received, memory[1])  # what layer.backward computed first, to be shown
                formula = "dZ = dH ⊙ (Z > 0)" if layer.activation == "relu" else "dZ = dH ⊙ H ⊙ (1 − H)"
                via = "Dense.backward → core.layer_backward → " if isinstance(layer, Dense) else "Conv.backward → "
                shapes = f"dH {_shape(received)}, Z {_shape(memory[1])} → dZ {_shape(dZ)}"
                first = _step(title("dZ"), "backward", formula, shapes,
                              [_array("dH", received, kind), _array("dZ", dZ, kind)], backward,
                              via + f"core.{backward.__name__}",
                              note=("The gradient passes back only where the unit was active (Z > 0)."
                                    if layer.activation == "relu" else
                                    "The gradient is scaled by the sigmoid's slope at Z."))
            W = self.net._params(i)["W"]
            if isinstance(layer, Dense):
                formula = "dW = dZ · H_prevᵀ / m\ndb = Σ dZ / m (over the samples)\ndH_prev = Wᵀ · dZ"
                function = core.linear_backward
                via = ("Dense.backward_from_dZ → core.linear_backward" if i == len(self.net.layers) - 1
                       else "Dense.backward → core.layer_backward → core.linear_backward")
                H_prev = memory[0][0]
            else:
                formula = ("dW = dZ ⊛ H_prev / m\ndb = Σ dZ / m (over the samples and places)\n"
                           "dH_prev = Wᵀ · dZ, each window's share added back onto its pixels")
                function, via = conv.conv_backward, "Conv.backward → conv.conv_backward"
                H_prev = None
            arrays = [_array(f"dW{l}", grads["W"], "matrix" if W.ndim == 2 else "kernels"),
                      _array(f"db{l}", grads["b"], "matrix")]
            shapes = f"dZ {_shape(dZ)}" + (f", H_prev {_shape(H_prev)}" if H_prev is not None else "")
            shapes += f" → dW{l} {_shape(grads['W'])}, db{l} {_shape(grads['b'])}"
            if dH_prev is not None:
                arrays.append(_array("dH_prev", dH_prev, kind))
                shapes += f", dH_prev {_shape(dH_prev)}"
            note = ("dW and db say how each weight and bias should change to lower the loss (averaged over the "
                    "batch); dH_prev passes the gradient on to the layer before.")
            what = "dW, db" + (", dH_prev" if dH_prev is not None else "")
            second = _step(title(what), "backward", formula, shapes, arrays, function, via,
                           note=note if dH_prev is not None else note.split(";")[0] + ". " + skipped)
            return [first, second]
        if isinstance(layer, MaxPool):
            return [_step(title(), "backward", "dH_prev = dH at each window's largest value, 0 elsewhere",
                          f"dH {_shape(received)} → dH_prev {_shape(dH_prev)}",
                          [_array("dH", received, "images"), _array("dH_prev", dH_prev, "images")], conv.pool_backward,
                          "MaxPool.backward → conv.pool_backward",
                          note="Only the value that won each window had an effect, so only it gets the gradient.")]
        if isinstance(layer, Flatten):
            return [_step(title(), "backward", "dH_prev = dH with each column laid out as the images' maps again",
                          f"dH {_shape(received)} → dH_prev {_shape(dH_prev)}",
                          [_array("dH_prev", dH_prev, "images")], conv.flatten_backward,
                          "Flatten.backward → conv.flatten_backward", note="The reshape, undone.")]
        if isinstance(layer, Dropout):
            return [_step(title(), "backward", "dH_prev = dH ⊙ mask",
                          f"dH {_shape(received)} → dH_prev {_shape(dH_prev)}",
                          [_array("dH", received, "columns"), _array("dH_prev", dH_prev, "columns")], Dropout.backward,
                          "Dropout.backward", note="Units switched off in the forward pass get no gradient.")]
        raise TypeError(f"the step-through view does not know the layer {layer!r}")

    # ---- the update ----

    def _update(self, i):
        l = self.numbers[i]
        W, b = self.net.parameters[f"W{l}"], self.net.parameters[f"b{l}"]
        dW, db = self.gradients[f"dW{l}"], self.gradients[f"db{l}"]
        W_new, b_new = self.updated[f"W{l}"], self.updated[f"b{l}"]
        kind = "matrix" if W.ndim == 2 else "kernels"
        at_W = _spread(dW)
        at_b = _spread(db)
        a = f"{self.learning_rate:g}"
        return _step(
            self._title(i, "Update"), "update", f"W ← W − α · dW\nb ← b − α · db\nα = {a}",
            f"W{l} {_shape(W)}, dW{l} {_shape(dW)} → W{l} {_shape(W_new)}; b{l} {_shape(b)}",
            [_array(f"W{l}", W, kind, at=at_W), _array(f"dW{l}", dW, kind, at=at_W),
             _array(f"W{l} after", W_new, kind, at=at_W), _array(f"b{l}", b, "matrix", at=at_b),
             _array(f"db{l}", db, "matrix", at=at_b), _array(f"b{l} after", b_new, "matrix", at=at_b)],
            core.update_parameters, "core.update_parameters",
            scalars=[("learning rate α", self.learning_rate)],
            note=("One step of plain gradient descent (the seed's), on a copy: the model in use does not change. "
                  "Each weight moves against its gradient; the exact values are at the same places in W, dW and "
                  "W after, so you can check W − α·dW yourself."))

    def _after(self):
        after = copy.copy(self.net)
        after.parameters = self.updated
        HL, _ = after._forward(self.X, self._mode())
        loss = core.compute_loss(HL, self.eye[:, self.labels])
        return _step("After one step", "update", "loss = −(1/m) Σ Y ⊙ log(HL), with the updated weights",
                     f"HL {_shape(HL)} → loss", [_array("HL after", HL, "columns", at=self._truth(), rows=DIGITS)],
                     core.compute_loss, "Network._forward, then core.compute_loss",
                     scalars=[("loss before", self.loss), ("loss after", loss)],
                     note="The same batch through the updated copy: one step moves the loss on this batch "
                          "(usually down). The model in use has not changed.")


# ---- what the page receives -----------------------------------------------------------------


def _step(title, phase, formula, shapes, arrays, function, via, note="", scalars=()):
    return {"title": title, "phase": phase, "formula": formula, "shapes": shapes, "note": note,
            "scalars": [{"name": name, "value": _text(value)} for name, value in scalars],
            "arrays": arrays, "source": {**source_of(function), "via": via}}


def _shape(a):
    return "(" + ", ".join(map(str, np.shape(a))) + ")"


@functools.cache
def source_of(function):
    """The source of a pynet function, read from the package that runs: {'name': its module and
    qualified name, 'file': 'pynet/core.py', 'line': its first line, 'text'}."""
    function = inspect.unwrap(function)
    lines, first = inspect.getsourcelines(function)
    module = function.__module__
    return {"name": f"{module}.{function.__qualname__}", "file": module.replace(".", "/") + ".py", "line": first,
            "text": textwrap.dedent("".join(lines)).rstrip() + "\n"}


def _text(value):
    """A number as the shortest text that reads back as the same value of its own type."""
    return str(value) if isinstance(value, np.generic) else repr(float(value))


def _spread(a):
    """Where to show exact values: the entry of largest magnitude, and the first."""
    big = np.unravel_index(int(np.argmax(np.abs(a))), a.shape)
    return [tuple(int(k) for k in big), (0,) * a.ndim]


def _array(name, a, kind, at=None, labels=None, rows="units"):
    """An array as the page shows it.

    kind: 'columns' ((n, m), samples as columns: one heat map), 'matrix' (a 2-D parameter: one),
    'pixels' (the input (784, m): each sample's 28×28 image), 'images' ((C, H, W, m): the first
    sample's maps, at most MAX_SHOWN_CHANNELS), 'kernels' ((F, C, kh, kw): each of the first
    MAX_SHOWN_CHANNELS kernels' first channel).
    Returns {'name', 'kind', 'shape', 'min', 'max', 'signed', 'shown': which part the heat maps show,
    'tiles': [{'label', 'rows', 'cols', 'block': [rows, cols] of values each cell averages,
    'cells': rows * cols levels, -255..255 of max |value| (signed) or 0..255 of max}],
    'values': [{'index', 'value'}] exact values (the first, the largest and the smallest, or at)}.
    """
    values = np.asarray(a, dtype=np.float64)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    signed = lo < 0
    scale = max(-lo, hi) if signed else hi
    tiles, shown = _tiles(values, kind, labels, rows)
    out = []
    for label, t in tiles:
        t, block = _blocks(np.nan_to_num(t, nan=0.0, posinf=hi, neginf=lo))
        cells = np.round(255 * t / scale) if scale > 0 else np.zeros_like(t)
        out.append({"label": label, "rows": t.shape[0], "cols": t.shape[1], "block": list(block),
                    "cells": np.clip(cells, -255, 255).astype(int).ravel().tolist()})
    if at is None:  # the first, the largest and the smallest of what the heat maps show
        part, where = _shown_part(values, kind)
        at = [where((0,) * part.ndim), where(np.unravel_index(int(np.nanargmax(part)), part.shape)),
              where(np.unravel_index(int(np.nanargmin(part)), part.shape))]
    seen, exact = set(), []
    for index in at:
        index = tuple(int(k) for k in index)
        if index not in seen and len(exact) < EXACT:
            seen.add(index)
            exact.append({"index": list(index), "value": _text(np.asarray(a)[index])})
    return {"name": name, "kind": kind, "shape": list(values.shape), "min": lo, "max": hi, "signed": signed,
            "shown": shown,
            "tiles": out, "values": exact}


def _tiles(a, kind, labels, rows):
    """[(label, 2-D array)] to draw, and a few words on which part of a they are."""
    if kind == "pixels":
        m = a.shape[1]
        return [(f"label {labels[j]}", a[:, j].reshape(SIDE, SIDE)) for j in range(m)], \
            "each column as its 28×28 image"
    if kind == "images":
        C, m = a.shape[0], a.shape[-1]
        k = min(C, MAX_SHOWN_CHANNELS)
        channels = f"channels 1–{k} of {C}" if k < C else f"all {C} channel{'s' if C > 1 else ''}"
        return [(f"ch {c + 1}", a[c, :, :, 0]) for c in range(k)], \
            f"the first image of {m}, {channels}" if m > 1 else channels
    if kind == "kernels":
        F, C = a.shape[:2]
        k = min(F, MAX_SHOWN_CHANNELS)
        kernels = f"kernels 1–{k} of {F}" if k < F else f"all {F} kernels"
        return [(f"k {f + 1}", a[f, 0]) for f in range(k)], kernels + (f", input channel 1 of {C}" if C > 1 else "")
    if kind == "columns":
        return [("", a)], f"rows: {rows}; " + ("columns: images" if a.shape[1] > 1 else "one column: the image")
    return [("", a)], ""


def _shown_part(a, kind):
    """The part of a that its heat maps show (see _tiles), and the map from its indices to a's."""
    if kind == "images":
        return a[:MAX_SHOWN_CHANNELS, :, :, 0], lambda index: (*index, 0)
    if kind == "kernels":
        return a[:MAX_SHOWN_CHANNELS, 0], lambda index: (index[0], 0, *index[1:])
    return a, tuple


def _blocks(t):
    """t (rows, cols) as at most MAX_STEP_CELLS a side, each cell the mean of a block: (cells, block)."""
    rows, cols = t.shape
    br, bc = -(-rows // MAX_STEP_CELLS), -(-cols // MAX_STEP_CELLS)
    if br == bc == 1:
        return t, (1, 1)
    R, C = -(-rows // br), -(-cols // bc)
    padded = np.full((R * br, C * bc), np.nan)
    padded[:rows, :cols] = t
    return np.nanmean(padded.reshape(R, br, C, bc), axis=(1, 3)), (br, bc)
