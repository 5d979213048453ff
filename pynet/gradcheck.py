"""Numerical gradient checks: central finite differences against the analytic backward pass.

Used by the tests for every activation, every layer and whole networks; run it in float64.
"""

import numpy as np

from . import core
from .layers import INFERENCE


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function f() with respect to array x (in place).

    x is perturbed entry by entry and restored; returns an array shaped like x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are zero."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def gradient_check(parameters, X, Y, hidden_activation="relu", eps=1e-6):
    """Compare L_layer_backward with finite differences of compute_loss for every parameter.

    Parameters: parameters dict (float64), X (n_0, m), Y one-hot (n_L, m).
    Returns: dict name -> relative error (e.g. {'W1': 3e-9, 'b1': ...}); below ~1e-6 is right.
    """
    HL, memories = core.L_layer_forward(X, parameters, hidden_activation)
    gradients = core.L_layer_backward(HL, Y, memories, hidden_activation)

    def loss():
        return core.compute_loss(core.L_layer_forward(X, parameters, hidden_activation)[0], Y)

    return {name: relative_error(gradients["d" + name], numerical_gradient(loss, p, eps))
            for name, p in parameters.items()}


def network_check(net, X, Y, mode=None, eps=1e-6):
    """Compare a Network's layer-stack backward with finite differences of its loss.

    net: a float64 Network; X (n_0, m); Y one-hot (n_L, m). mode: a callable returning the
    layers.Mode of each forward pass (e.g. training with a generator of a fixed seed, so that
    dropout draws the same mask every time); default inference.
    Returns: dict name -> relative error, as gradient_check.
    """
    mode = mode or (lambda: INFERENCE)
    HL, memories = net._forward(X, mode())
    gradients = net._backward(HL, Y, memories)

    def loss():
        return core.compute_loss(net._forward(X, mode())[0], Y)

    return {name: relative_error(gradients["d" + name], numerical_gradient(loss, p, eps))
            for name, p in net.parameters.items()}


def activation_check(activation, Z, dH, eps=1e-6):
    """Relative error between an activation's backward and finite differences of sum(dH * H(Z))."""
    forward = core._FORWARD[activation]
    analytic = core._BACKWARD[activation](dH, Z)
    numeric = numerical_gradient(lambda: float(np.sum(dH * forward(Z)[0])), Z, eps)
    return relative_error(analytic, numeric)
