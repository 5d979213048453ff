"""The layers of a Network, each behind one small interface: forward with a memory, backward from it.

A layer holds its settings, never its arrays: the parameters stay in the network's dict in the
seed's layout (``W1, b1, W2, ...``), and each call gets the layer's own entries as
``{'W': ..., 'b': ...}`` (an empty dict for a layer without parameters). Samples are columns,
as everywhere in pynet: ``H_prev`` is ``(n_in, m)`` and ``H`` is ``(n_out, m)``.

    param_names                          names of its parameters, e.g. ('W', 'b'); () for none
    forward(params, H_prev, mode)        -> (H, memory)
    backward(params, dH, memory, need_dH_prev=True)
                                         -> (dH_prev, {name: gradient averaged over the m samples})

``mode`` is a ``Mode``: whether the network is training, and the random generator a layer such
as ``Dropout`` draws from. A new kind of layer is one class here and its gradient check.
"""

from dataclasses import dataclass

import numpy as np

from . import core


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
