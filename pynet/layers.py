"""The layers of a Network, each behind one small interface: forward with a memory, backward from it.

A layer holds its settings, never its arrays: the parameters stay in the network's dict in the
seed's layout (``W1, b1, W2, ...``), and each call gets the layer's own entries as
``{'W': ..., 'b': ...}`` (an empty dict for a layer without parameters). Samples are columns,
as everywhere in pynet: ``H_prev`` is ``(n_in, m)`` and ``H`` is ``(n_out, m)``; images (between
``Unflatten`` and ``Flatten``) are ``(C, H, W, m)``, samples last (``pynet.conv``).

    param_names                          names of its parameters, e.g. ('W', 'b'); () for none
    forward(params, H_prev, mode)        -> (H, memory)
    backward(params, dH, memory, need_dH_prev=True)
                                         -> (dH_prev, {name: gradient averaged over the m samples})

``mode`` is a ``Mode``: whether the network is training, and the random generator a layer such
as ``Dropout`` draws from. A new kind of layer is one class here and its gradient check.
"""

from dataclasses import dataclass

import numpy as np

from . import conv, core


@dataclass(frozen=True)
class Mode:
    """How a forward pass runs: training (dropout on) or inference, and the random generator."""

    training: bool = False
    rng: np.random.Generator | None = None


INFERENCE = Mode()


class Dense:
    """Z = W H_prev + b, then the activation: the seed's ``layer_forward`` and ``layer_backward``.

    With ``activation='softmax'`` it is the output layer: trained with the cross-entropy loss,
    its backward starts from dZ = HL - Y (``backward_from_dZ``), as the seed's L_layer_backward.
    """

    param_names = ("W", "b")

    def __init__(self, activation="relu"):
        if activation not in core.ACTIVATIONS:
            raise ValueError(f"activation must be one of {core.ACTIVATIONS}, got {activation!r}")
        self.activation = activation

    def forward(self, params, H_prev, mode=INFERENCE):
        return core.layer_forward(H_prev, params["W"], params["b"], self.activation)

    def backward(self, params, dH, memory, need_dH_prev=True):
        dH_prev, dW, db = core.layer_backward(dH, memory, self.activation, need_dH_prev)
        return dH_prev, {"W": dW, "b": db}

    def backward_from_dZ(self, dZ, memory, need_dH_prev=True):
        """Backward from the gradient of Z itself (the output layer: dZ = HL - Y)."""
        dH_prev, dW, db = core.linear_backward(dZ, memory[0], need_dH_prev)
        return dH_prev, {"W": dW, "b": db}

    def __repr__(self):
        return f"Dense({self.activation!r})"


class Dropout:
    """Inverted dropout: while training, each unit is kept with probability 1 - rate and
    scaled by 1 / (1 - rate), so that inference (where it does nothing) sees the same scale."""

    param_names = ()

    def __init__(self, rate):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def forward(self, params, H_prev, mode=INFERENCE):
        if not mode.training or self.rate == 0:
            return H_prev, None
        keep = mode.rng.random(H_prev.shape) >= self.rate
        mask = keep.astype(H_prev.dtype) * H_prev.dtype.type(1 / (1 - self.rate))
        return H_prev * mask, mask

    def backward(self, params, dH, memory, need_dH_prev=True):
        return (dH if memory is None else dH * memory), {}

    def __repr__(self):
        return f"Dropout({self.rate})"


class Conv:
    """A convolution then the activation: ``conv.conv_forward`` and ``conv.conv_backward``.

    Its kernels ``W`` (F, C, kh, kw) and biases ``b`` (F, 1) set the sizes; the layer holds the
    stride, the padding and the activation ('relu' or 'sigmoid').
    """

    param_names = ("W", "b")

    def __init__(self, stride=1, pad=0, activation="relu"):
        if activation not in core._BACKWARD:
            raise ValueError(f"a conv layer's activation must be one of {tuple(core._BACKWARD)}, got {activation!r}")
        _check_whole("stride", stride, 1)
        _check_whole("padding", pad, 0)
        self.stride, self.pad, self.activation = int(stride), int(pad), activation

    def forward(self, params, H_prev, mode=INFERENCE):
        Z, conv_memory = conv.conv_forward(H_prev, params["W"], params["b"], self.stride, self.pad)
        H, Z = core._FORWARD[self.activation](Z)
        return H, (conv_memory, Z)

    def backward(self, params, dH, memory, need_dH_prev=True):
        conv_memory, Z = memory
        dZ = core._BACKWARD[self.activation](dH, Z)
        dH_prev, dW, db = conv.conv_backward(dZ, conv_memory, need_dH_prev)
        return dH_prev, {"W": dW, "b": db}

    def __repr__(self):
        return f"Conv(stride={self.stride}, pad={self.pad}, activation={self.activation!r})"


class MaxPool:
    """Max-pooling over non-overlapping size x size windows: ``conv.pool_forward``/``pool_backward``."""

    param_names = ()

    def __init__(self, size):
        _check_whole("pool size", size, 1)
        self.size = int(size)

    def forward(self, params, H_prev, mode=INFERENCE):
        return conv.pool_forward(H_prev, self.size)

    def backward(self, params, dH, memory, need_dH_prev=True):
        return conv.pool_backward(dH, memory), {}

    def __repr__(self):
        return f"MaxPool({self.size})"


class Flatten:
    """Images (C, H, W, m) as columns (C * H * W, m) for the dense layers that follow."""

    param_names = ()

    def forward(self, params, H_prev, mode=INFERENCE):
        return conv.flatten_forward(H_prev)

    def backward(self, params, dH, memory, need_dH_prev=True):
        return conv.flatten_backward(dH, memory), {}

    def __repr__(self):
        return "Flatten()"


class Unflatten:
    """Columns (C * H * W, m), such as a network's input X, as images (C, H, W, m)."""

    param_names = ()

    def __init__(self, shape):
        self.shape = tuple(int(n) for n in shape)  # (C, H, W)

    def forward(self, params, H_prev, mode=INFERENCE):
        return np.reshape(H_prev, self.shape + H_prev.shape[-1:]), H_prev.shape

    def backward(self, params, dH, memory, need_dH_prev=True):
        return np.reshape(dH, memory), {}

    def __repr__(self):
        return f"Unflatten({self.shape})"


def _check_whole(name, value, least):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}")


def dense_stack(dimensions, hidden_activation="relu", dropout=0.0):
    """The layers of an MLP: for each hidden layer Dense(hidden_activation) (then Dropout(dropout)
    if dropout > 0), and a Dense softmax output layer; len(dimensions) - 1 Dense layers."""
    layers = []
    for _ in range(len(dimensions) - 2):
        layers.append(Dense(hidden_activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense("softmax"))
    return layers
