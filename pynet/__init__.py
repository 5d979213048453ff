"""pynet: the seed's L-layer neural network in pure NumPy, from the notebook to the browser.

The seed's functions (``sigmoid`` ... ``predict``) are the single implementation of the math;
``Network`` trains the same math with mini-batches and modern optimizers; ``data``,
``serialize`` and ``preprocess`` load MNIST, save models and read hand-drawn digits.
"""

from .core import (
    L_layer_backward,
    L_layer_forward,
    accuracy,
    compute_loss,
    initialize_parameters,
    layer_backward,
    layer_forward,
    one_hot,
    predict,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softmax,
    update_parameters,
)
from .data import data_wrapper, load_data, load_npz
from .model import L_layer_model, Network, TrainConfig, TrainingDiverged
from .preprocess import preprocess
from .samples import finetune, load_samples, save_samples
from .serialize import from_bytes, load, save, to_bytes

__version__ = "0.1.0"

__all__ = [
    "sigmoid", "relu", "softmax", "sigmoid_backward", "relu_backward",
    "initialize_parameters", "layer_forward", "L_layer_forward", "compute_loss",
    "layer_backward", "L_layer_backward", "update_parameters", "L_layer_model",
    "predict", "accuracy", "one_hot", "load_data", "data_wrapper", "load_npz",
    "Network", "TrainConfig", "TrainingDiverged", "preprocess", "save", "load", "to_bytes", "from_bytes",
    "load_samples", "save_samples", "finetune",
]
