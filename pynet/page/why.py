"""Why the network read a drawing as it did: which pixels push the score of a digit up (the
predicted one, or any other the user picks: "why not a 7?") and which push it down."""

import numpy as np

from ..settings import N_CLASSES
from .models import current
from .reading import drawing


def explain(pixels, width, height, digit=None):
    """The gradient of the current model's score for a digit with respect to a drawing's 28x28 input.

    pixels, width, height: the canvas, as predict takes them. digit: 0..9, or None for the
    digit the model predicts. The score is the output layer's Z_L[digit] before the softmax
    (Network.score_gradient says why).
    Returns {'digit': the digit explained, 'predicted': the model's answer, 'scores': Z_L
    [10], 'gradient': [784] (row by row, as image28), 'max': the largest |gradient|}; for an
    empty canvas predicted, scores and gradient are None and max 0.
    """
    if digit is not None and (isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer))
                              or not 0 <= digit < N_CLASSES):
        raise ValueError(f"the digit to explain must be a whole number from 0 to {N_CLASSES - 1}, got {digit!r}")
    x = drawing(pixels, width, height)
    if not x.any():
        return {"digit": digit, "predicted": None, "scores": None, "gradient": None, "max": 0.0}
    scores, gradient = current().score_gradient(x, digit)
    predicted = int(np.argmax(scores))
    digit = predicted if digit is None else int(digit)
    gradient = gradient.astype(np.float64)
    return {"digit": digit, "predicted": predicted, "scores": np.round(scores.astype(np.float64), 4).tolist(),
            "gradient": gradient.tolist(), "max": float(np.abs(gradient).max())}
