"""The seed's L-layer network: the one implementation of pynet's math.

Every function here keeps the seed's name, arguments and conventions, so that the
seed's published values ("You should get") come out to the last digit:

* samples are columns: ``X`` has shape ``(n_features, m)``, ``Y`` is one-hot ``(n_classes, m)``;
* activations return ``(H, Z)``, the memory being ``Z``;
* ``layer_forward`` returns ``(H, ((H_prev, W, b), Z))``;
* gradients are averaged over the ``m`` samples of the batch.

Everything else in pynet (the model object, the optimizers, the browser bridge) calls
these functions and never re-derives the math. Two changes from the seed make it safe
without changing its values: softmax subtracts the column maximum before ``exp`` (the
ratio is unchanged), and the loss never takes ``log(0)``.
"""

import sys

import numpy as np

ACTIVATIONS = ("sigmoid", "relu", "softmax")

# Pyodide's NumPy has no BLAS: there np.dot runs naive loops while einsum's kernels run the same
# products faster (benchmarks/wasm_kernels_results.md). Natively np.dot uses BLAS and stays; only
# the summation order differs.
_NO_BLAS = sys.platform == "emscripten"
# einsum counts its iteration space (rows x inner x columns) in a C ssize_t: in 32-bit
# WebAssembly a product past 2**31 - 1 fails with "iterator is too large". Larger products
# are computed in blocks that each stay within it.
_EINSUM_LIMIT = 2**31 - 1


def _matmul(A, B):
    """A @ B for 2-D arrays: np.dot where NumPy has BLAS, np.einsum where it has none."""
    if _NO_BLAS and np.ndim(A) == 2 and np.ndim(B) == 2:
        return _einsum_matmul(A, B)
    return np.dot(A, B)


def _einsum_matmul(A, B):
    """A (n, k) @ B (k, p) with np.einsum, in blocks of rows and columns whose n' * k * p'
    stays within _EINSUM_LIMIT (k itself is never split, so each entry has one summation)."""
    n, k = A.shape
    p = B.shape[1]
    if n * k * p <= _EINSUM_LIMIT:
        return np.einsum("ij,jk->ik", A, B)
    if k > _EINSUM_LIMIT:
        raise ValueError(f"a matrix product with an inner size of {k:,} is too large")
    cols = max(1, min(p, _EINSUM_LIMIT // max(1, k)))
    rows = max(1, min(n, _EINSUM_LIMIT // max(1, k * cols)))
    out = np.empty((n, p), dtype=np.result_type(A, B))
    for i in range(0, n, rows):
        for j in range(0, p, cols):
            out[i : i + rows, j : j + cols] = np.einsum("ij,jk->ik", A[i : i + rows], B[:, j : j + cols])
    return out


def sigmoid(Z):
    """Logistic function.

    Parameters: Z, ndarray of any shape.
    Returns: (H, Z) with H = 1 / (1 + exp(-Z)); Z is the memory for the backward pass.
    """
    Z = np.asarray(Z)
    # For very negative Z, exp(-Z) overflows to inf and H correctly becomes 0: silence the warning.
    with np.errstate(over="ignore"):
        H = 1.0 / (1.0 + np.exp(-Z))
    return H, Z


def relu(Z):
    """Rectified linear unit.

    Parameters: Z, ndarray of any shape.
    Returns: (H, Z) with H = max(0, Z).
    """
    Z = np.asarray(Z)
    if _NO_BLAS:
        # Pyodide's np.maximum takes a branch per value: on a layer's mix of signs np.where is 3-4x
        # faster there, and natively 15x slower (benchmarks/conv_results.md). The same values.
        return np.where(Z <= 0, 0, Z), Z
    return np.maximum(0, Z), Z


def softmax(Z):
    """Column-wise softmax.

    Parameters: Z, ndarray of shape (n_classes, m).
    Returns: (H, Z) where each column of H sums to 1.
    """
    Z = np.asarray(Z)
    # Subtracting the column maximum leaves the ratio unchanged and keeps exp from overflowing.
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    H = E / E.sum(axis=0, keepdims=True)
    return H, Z


def sigmoid_backward(dH, Z):
    """Gradient of the loss with respect to Z for a sigmoid layer.

    Parameters: dH, ndarray (gradient w.r.t. the layer's output); Z, its memory, same shape.
    Returns: dZ = dH * H * (1 - H), same shape as Z.
    """
    H, _ = sigmoid(Z)
    return dH * H * (1 - H)


def relu_backward(dH, Z):
    """Gradient of the loss with respect to Z for a relu layer.

    Parameters: dH, ndarray; Z, its memory, same shape.
    Returns: dZ, equal to dH where Z > 0 and 0 elsewhere (the seed's choice at Z == 0).
    """
    # A product with the mask as uint8: natively several times faster than np.where(Z > 0, dH, 0),
    # and in Pyodide as fast (a bool operand would take NumPy's slow casting loop there); the
    # same values (a NaN in dH where Z <= 0 stays NaN: training has diverged by then).
    # benchmarks/wasm_kernels_results.md has the measurements.
    return dH * (Z > 0).view(np.uint8)


_FORWARD = {"sigmoid": sigmoid, "relu": relu, "softmax": softmax}
_BACKWARD = {"sigmoid": sigmoid_backward, "relu": relu_backward}


def initialize_parameters(dimensions, seed=2, dtype=np.float64):
    """Small random weights and zero biases for every layer.

    Parameters:
        dimensions: list of ints [n_0, n_1, ..., n_L]: input size, then each layer's width.
        seed: weights come from ``np.random.RandomState(seed).randn(n_l, n_{l-1}) * 0.1`` in
            layer order, the stream the seed gets from ``np.random.seed(2)``; the global
            random state is not touched.
        dtype: float64 (the seed) or float32.
    Returns: dict with W1 (n_1, n_0), b1 (n_1, 1), ..., WL (n_L, n_{L-1}), bL (n_L, 1).
    """
    dimensions = check_dimensions(dimensions)
    rng = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(dimensions)):
        W = rng.randn(dimensions[l], dimensions[l - 1]) * 0.1
        parameters["W" + str(l)] = W.astype(dtype, copy=False)
        parameters["b" + str(l)] = np.zeros((dimensions[l], 1), dtype=dtype)
    return parameters


def check_dimensions(dimensions):
    """Validate a layer list such as [784, 45, 10]; return it as a list of ints.

    Raises ValueError with the reason when it is not at least two positive whole numbers.
    """
    try:
        dims = list(dimensions)
    except TypeError:
        raise ValueError(f"dimensions must be a list of layer sizes such as [784, 45, 10], got {dimensions!r}") from None
    if len(dims) < 2:
        raise ValueError(
            f"dimensions needs an input size and at least one layer, such as [784, 45, 10]; got {dims!r}"
        )
    out = []
    for i, d in enumerate(dims):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            if isinstance(d, (float, np.floating)) and float(d).is_integer():
                d = int(d)
            else:
                raise ValueError(f"dimensions[{i}] must be a whole number, got {d!r}")
        if d < 1:
            raise ValueError(f"dimensions[{i}] must be at least 1, got {d}")
        out.append(int(d))
    return out


def layer_forward(H_prev, W, b, activation="relu"):
    """One layer's forward pass.

    Parameters:
        H_prev: ndarray (n_{l-1}, m), the previous layer's output.
        W: ndarray (n_l, n_{l-1}); b: ndarray (n_l, 1).
        activation: 'sigmoid', 'relu' or 'softmax'.
    Returns: (H, memory): H is (n_l, m); memory = ((H_prev, W, b), Z) for layer_backward.
    """
    try:
        forward = _FORWARD[activation]
    except (KeyError, TypeError):
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}") from None
    Z = _matmul(W, H_prev) + b
    H, activation_memory = forward(Z)
    return H, ((H_prev, W, b), activation_memory)


def L_layer_forward(X, parameters, hidden_activation="relu"):
    """Forward pass through all layers: hidden layers relu (or sigmoid), output softmax.

    Parameters: X, ndarray (n_0, m); parameters from initialize_parameters.
    Returns: (HL, memories): HL is (n_L, m), memories one entry per layer in order.
    """
    memories = []
    H = X
    L = len(parameters) // 2
    for l in range(1, L):
        H, memory = layer_forward(H, parameters["W" + str(l)], parameters["b" + str(l)], hidden_activation)
        memories.append(memory)
    HL, memory = layer_forward(H, parameters["W" + str(L)], parameters["b" + str(L)], "softmax")
    memories.append(memory)
    return HL, memories


def compute_loss(HL, Y):
    """Mean cross-entropy of the predictions.

    Parameters: HL, ndarray (n_classes, m) of probabilities; Y, one-hot ndarray of the same shape.
    Returns: float, -1/m * sum(Y * log(HL)).
    """
    m = Y.shape[1]
    # A probability that underflowed to 0 would give log(0) = -inf; the smallest positive
    # float leaves every other value untouched.
    tiny = np.finfo(np.result_type(HL, np.float32)).tiny
    loss = (-1.0 / m) * np.sum(np.multiply(Y, np.log(np.maximum(HL, tiny))))
    return float(loss)


def layer_backward(dH, memory, activation="relu", need_dH_prev=True):
    """One layer's backward pass.

    Parameters: dH, ndarray (n_l, m); memory from layer_forward; activation 'sigmoid' or 'relu'.
    Returns: (dH_prev, dW, db): (n_{l-1}, m), (n_l, n_{l-1}), (n_l, 1), averaged over m.
    """
    try:
        backward = _BACKWARD[activation]
    except (KeyError, TypeError):
        raise ValueError(f"layer_backward activation must be 'sigmoid' or 'relu', got {activation!r}") from None
    linear_memory, Z = memory
    dZ = backward(dH, Z)
    return linear_backward(dZ, linear_memory, need_dH_prev)


def linear_backward(dZ, linear_memory, need_dH_prev=True):
    """Gradients of the linear part Z = W H_prev + b, given dZ (n_l, m).

    Returns: (dH_prev, dW, db) with dW = dZ H_prev^T / m, db = sum(dZ) / m, dH_prev = W^T dZ
    (None when need_dH_prev is False: the first layer's dH0 is never used in training).
    """
    H_prev, W, b = linear_memory
    m = H_prev.shape[1]
    dW = _matmul(dZ, H_prev.T) / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dH_prev = _matmul(W.T, dZ) if need_dH_prev else None
    return dH_prev, dW, db


def L_layer_backward(HL, Y, memories, hidden_activation="relu", need_dH0=True):
    """Backward pass through all layers.

    The softmax + cross-entropy output layer starts from dZ = HL - Y.

    Parameters: HL, Y: ndarrays (n_L, m); memories from L_layer_forward.
        need_dH0: the gradient w.r.t. the input X is part of the seed's dict, but training never
        uses it; passing False skips that matrix product.
    Returns: dict with dW1..dWL, db1..dbL and dH0..dH(L-1).
    """
    gradients = {}
    L = len(memories)
    dZ = HL - Y.reshape(HL.shape)
    dH_prev, dW, db = linear_backward(dZ, memories[L - 1][0])
    gradients["dH" + str(L - 1)] = dH_prev
    gradients["dW" + str(L)] = dW
    gradients["db" + str(L)] = db
    for l in reversed(range(L - 1)):
        dH_prev, dW, db = layer_backward(
            gradients["dH" + str(l + 1)], memories[l], hidden_activation, need_dH_prev=(l > 0 or need_dH0)
        )
        if dH_prev is not None:
            gradients["dH" + str(l)] = dH_prev
        gradients["dW" + str(l + 1)] = dW
        gradients["db" + str(l + 1)] = db
    return gradients


def update_parameters(parameters, gradients, learning_rate):
    """One step of gradient descent: W -= learning_rate * dW, b -= learning_rate * db.

    Returns: a new parameters dict (the input is not modified).
    """
    L = len(parameters) // 2
    updated = {}
    for l in range(1, L + 1):
        updated["W" + str(l)] = parameters["W" + str(l)] - learning_rate * gradients["dW" + str(l)]
        updated["b" + str(l)] = parameters["b" + str(l)] - learning_rate * gradients["db" + str(l)]
    return updated


def one_hot(labels, n_classes=10):
    """Labels (m,) of ints 0..n_classes-1 -> one-hot ndarray (n_classes, m) of float64."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {labels.shape}")
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"labels must be whole numbers 0..{n_classes - 1}, got {labels.dtype.name} values")
    if not np.issubdtype(labels.dtype, np.integer):  # also when empty: np.array([]) is float
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError("labels must be whole numbers")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    Y = np.zeros((n_classes, labels.shape[0]))
    Y[labels, np.arange(labels.shape[0])] = 1.0
    return Y


def predict(X, y, parameters):
    """Predicted class of every column of X.

    Parameters: X, ndarray (n_0, m); y, one-hot (n_L, m) or labels (m,) (kept for the seed's
        signature; use ``accuracy(predictions, y)`` for the score the seed printed).
    Returns: ndarray (m,) of predicted class indices.
    """
    HL, _ = L_layer_forward(X, parameters)
    return np.argmax(HL, axis=0)


def accuracy(predictions, y):
    """Share of predictions equal to the labels; y is one-hot (n, m) or labels (m,)."""
    y = np.asarray(y)
    labels = np.argmax(y, axis=0) if y.ndim == 2 else y
    return float(np.mean(np.asarray(predictions) == labels))
