"""A small model object on the seed's math: any depth and width, mini-batches, optimizers.

``Network`` is a stack of layers (``pynet.layers``: the seed's dense layer, dropout) over a
parameters dict in the seed's layout (``W1, b1, W2, ...``). Training is a generator of progress events
(plain dicts), so the command line, the tests and the browser worker all consume the same
stream and can stop or pause between any two batches::

    net = Network([784, 128, 10])
    for event in net.train(X, y, TrainConfig(epochs=5), test=(X_test, y_test)):
        if event["type"] == "epoch":
            print(event["epoch"], event["test_acc"])

Shapes follow the seed: samples are columns, ``X`` is ``(n_features, m)``. ``X`` may be
``uint8`` (pixel k meaning k/256, as in mnist.pkl.gz); batches are then converted on the fly,
which keeps the full data set four times smaller in memory.
"""

import numpy as np

from . import core, spec
from .layers import INFERENCE, Dropout, Mode, dense_stack
from .optim import check_learning_rate
from .trainer import Evaluation, TrainConfig, Trainer, TrainingDiverged, labels_of  # noqa: F401

HIDDEN_ACTIVATIONS = ("relu", "sigmoid")
DTYPES = ("float32", "float64")
PIXEL_SCALE = 1.0 / 256  # uint8 pixel k stands for k/256: lossless for mnist.pkl.gz
FORWARD_CHUNK = 4096  # samples per forward pass in inference
MAX_WINDOW_VALUES = 2**22  # values in a conv layer's windows (im2col) at once in inference: 16 MB in float32


def training_bytes(dimensions, dtype="float32", batch_size=128):
    """About how many bytes training a network of these layer sizes takes: the parameters,
    their gradients and Adam's two moments, plus one batch's activations and their gradients.
    ``dimensions``: layer sizes [n_0, ..., n_L], or a spec's text (``pynet.spec``)."""
    if isinstance(dimensions, str):
        return spec.plan(dimensions).training_bytes(batch_size, dtype)
    itemsize = np.dtype(dtype).itemsize
    parameters = sum(n * (n_prev + 1) for n_prev, n in zip(dimensions, dimensions[1:]))
    activations = max(1, batch_size) * sum(dimensions[1:])
    return itemsize * (4 * parameters + 4 * activations)


class Network:
    """An L-layer network: hidden layers relu or sigmoid, softmax output.

    Parameters:
        dimensions: [n_0, n_1, ..., n_L], e.g. [784, 45, 10]; or a spec (``pynet.spec``), the
            same as text ('784,45,10') or with convolutions ('conv 8@5x5, pool 2, dense 10'),
            whose weights are He-initialised from ``seed``. A conv network's ``dimensions`` are
            the flat sizes of its input and of each layer with parameters; ``spec`` is its text.
        hidden_activation: 'relu' (the seed) or 'sigmoid'.
        dropout: rate of a Dropout layer after each hidden layer while training (0: none).
        seed: weight initialisation seed (2 gives the seed's weights).
        dtype: 'float32' (fast) or 'float64' (the seed).
    """

    def __init__(self, dimensions, hidden_activation="relu", seed=2, dtype="float32", dropout=0.0):
        if hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"hidden activation must be one of {HIDDEN_ACTIVATIONS}, got {hidden_activation!r}")
        if str(dtype) not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.hidden_activation = hidden_activation
        self.dtype = np.dtype(str(dtype))
        self.metadata = {}
        plan = spec.plan(dimensions, hidden_activation, dropout) if isinstance(dimensions, str) else None
        if plan is not None and not plan.dense_only:
            self._set_plan(plan)
            self.parameters = spec.initialize(plan, seed=seed, dtype=self.dtype)
            return
        self.dimensions = plan.dimensions if plan else core.check_dimensions(dimensions)
        self.spec = ",".join(map(str, self.dimensions))
        self.chunk = FORWARD_CHUNK
        self._set_layers(dense_stack(self.dimensions, hidden_activation, dropout))
        self.parameters = core.initialize_parameters(self.dimensions, seed=seed, dtype=self.dtype)

    def _set_plan(self, plan):
        """A layered spec's stack (pynet.spec.Plan), and inference in chunks whose conv windows
        stay within MAX_WINDOW_VALUES values."""
        self.dimensions, self.spec = plan.dimensions, plan.text
        self._set_layers(plan.layers)
        self.chunk = max(1, min(FORWARD_CHUNK, MAX_WINDOW_VALUES // max(1, plan.window_values)))

    def _set_layers(self, layers):
        """The layer stack, and for each layer the keys of its parameters in self.parameters
        ({'W': 'W2', 'b': 'b2'}): the seed's names, numbered over the layers that have any."""
        self.layers, self._keys, l = layers, [], 0
        for layer in layers:
            l += bool(layer.param_names)
            self._keys.append({name: name + str(l) for name in layer.param_names})
        # backward stops at the first layer with parameters: nothing before it needs a gradient
        self._first = next(i for i, layer in enumerate(layers) if layer.param_names)
        self.dropout = next((layer.rate for layer in layers if isinstance(layer, Dropout)), 0.0)

    @classmethod
    def from_parameters(cls, parameters, hidden_activation="relu", spec_text=None):
        """Wrap an existing parameters dict (e.g. from ``L_layer_model``); a conv network's
        needs its spec (``spec_text``), whose parameter shapes it must have (else ValueError)."""
        plan = spec.plan(spec_text, hidden_activation) if spec_text is not None else None
        if plan is not None and not plan.dense_only:
            shapes = plan.parameter_shapes()
            got = {name: p.shape for name, p in parameters.items()}
            if got != shapes:
                raise ValueError(f"the spec {plan.text!r} needs parameters {shapes}, got {got}")
            net = cls.__new__(cls)
            net.hidden_activation = hidden_activation
            net._set_plan(plan)
            net.dtype = parameters["W1"].dtype
            net.parameters = parameters
            net.metadata = {}
            return net
        L = len(parameters) // 2
        dims = [parameters["W1"].shape[1]] + [parameters["W" + str(l)].shape[0] for l in range(1, L + 1)]
        net = cls.__new__(cls)
        net.dimensions = dims
        net.spec = ",".join(map(str, dims))
        net.chunk = FORWARD_CHUNK
        net.hidden_activation = hidden_activation
        net._set_layers(dense_stack(dims, hidden_activation))
        net.dtype = parameters["W1"].dtype
        net.parameters = parameters
        net.metadata = {}
        return net

    # ---- the layer stack ---------------------------------------------------------------------

    def _params(self, i):
        return {name: self.parameters[key] for name, key in self._keys[i].items()}

    def _forward(self, X, mode=INFERENCE, trace=None):
        """(HL, memories): the output (n_L, m) and each layer's memory. trace, if given, is
        called with (i, H, memory) after each layer i (pynet.page.stepper shows them)."""
        H, memories = X, []
        for i, layer in enumerate(self.layers):
            H, memory = layer.forward(self._params(i), H, mode)
            memories.append(memory)
            if trace:
                trace(i, H, memory)
        return H, memories

    def _backward(self, HL, Y, memories, trace=None):
        """Gradients {dW1, db1, ...} of the mean cross-entropy, averaged over the batch.

        The softmax output layer starts from dZ = HL - Y, as the seed's L_layer_backward; the
        gradient with respect to the input X is never needed, so it is not computed. trace, if
        given, is called with (i, what layer i received (dZ for the output layer, else dH),
        dH_prev (None where not computed), its gradients {name: array}) after each layer.
        """
        gradients = {}
        last = len(self.layers) - 1
        dZ = HL - Y
        dH, grads = self.layers[last].backward_from_dZ(dZ, memories[last], need_dH_prev=last > self._first)
        for i in range(last, self._first - 1, -1):
            received = dZ if i == last else dH
            if i < last:
                dH, grads = self.layers[i].backward(self._params(i), dH, memories[i], need_dH_prev=i > self._first)
            for name, key in self._keys[i].items():
                gradients["d" + key] = grads[name]
            if trace:
                trace(i, received, dH, grads)
        return gradients

    # ---- inference -------------------------------------------------------------------------

    def _as_input(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.dimensions[0]:
            raise ValueError(f"X must have shape ({self.dimensions[0]}, m), samples as columns; got {X.shape}")
        if X.dtype != np.uint8:
            if not np.issubdtype(X.dtype, np.number):
                raise ValueError(f"X must be numeric, got dtype {X.dtype}")
            if not np.all(np.isfinite(X)):
                raise ValueError("X contains NaN or inf")
        return self._batch(X)

    def _training_input(self, X):
        """X as an array (n_0, m) with at least one sample, numeric and finite; ValueError otherwise."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.dimensions[0]:
            raise ValueError(f"X must have shape ({self.dimensions[0]}, m), samples as columns; got {X.shape}")
        if X.shape[1] == 0:
            raise ValueError("X has no samples")
        if X.dtype != np.uint8 and (not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X))):
            raise ValueError("X must be numeric with no NaN or inf")
        return X

    def _batch(self, X):
        """A batch of already validated inputs in the model's dtype (uint8 scaled by 1/256)."""
        if X.dtype == np.uint8:
            return X.astype(self.dtype) * self.dtype.type(PIXEL_SCALE)
        return X.astype(self.dtype, copy=False)

    def forward(self, X, chunk=None):
        """Output probabilities (n_L, m) for X (n_0, m), computed in chunks of columns (by default
        ``self.chunk``: 4096, fewer for a conv network)."""
        X = np.asarray(X)
        chunk = chunk or self.chunk
        if X.ndim == 2 and X.shape[1] > chunk:
            return np.concatenate([self.forward(X[:, i : i + chunk], chunk) for i in range(0, X.shape[1], chunk)], axis=1)
        HL, _ = self._forward(self._as_input(X))
        return HL

    predict_proba = forward

    def predict(self, X):
        """Predicted class (m,) of every column of X."""
        return np.argmax(self.forward(X), axis=0)

    def evaluate(self, X, Y):
        """Mean cross-entropy and accuracy on (X, Y): dict {'loss', 'accuracy'}."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.dimensions[0]:
            raise ValueError(f"X must have shape ({self.dimensions[0]}, m), samples as columns; got {X.shape}")
        ev = Evaluation(self, X, labels_of(Y, self.dimensions[-1], X.shape[1]), chunk=4096).run()
        return {"loss": ev.loss, "accuracy": ev.accuracy}

    def outputs(self, x):
        """What every layer of ``self.layers`` gives for one sample x (n_0,) or (n_0, 1), in
        inference: list of arrays, (n,) after a dense layer, (C, H, W) after a conv or pooling one."""
        H = self._as_input(np.asarray(x).reshape(self.dimensions[0], 1))
        out = []
        for i, layer in enumerate(self.layers):
            H, _ = layer.forward(self._params(i), H)
            out.append(H[..., 0])
        return out

    def score_gradient(self, x, k=None):
        """Why the network gives class k (None: the class it predicts) its score, for one sample
        x (n_0,) or (n_0, 1), in inference.

        The score is the output layer's Z_L[k], before the softmax: the gradient of the
        log-probability log softmax(Z_L)[k] is that of Z_L[k] minus the probability-weighted
        gradients of every class, which vanishes as the prediction grows confident, and would
        show as much about the other digits as about k.
        Returns (scores (n_L,), gradient (n_0,)): Z_L, and dZ_L[k]/dx through each layer's own
        backward, started from dZ_L = e_k at the output layer.
        """
        H, memories = self._forward(self._as_input(np.asarray(x).reshape(self.dimensions[0], 1)))
        last = len(self.layers) - 1
        scores = memories[last][1][:, 0]  # the softmax layer's memory: ((H_prev, W, b), Z)
        dZ = np.zeros_like(H)
        dZ[int(np.argmax(scores)) if k is None else int(k), 0] = 1
        dH, _ = self.layers[last].backward_from_dZ(dZ, memories[last])
        for i in range(last - 1, -1, -1):
            dH, _ = self.layers[i].backward(self._params(i), dH, memories[i])
        return scores, dH[:, 0]

    def activations(self, x):
        """The output of each dense or conv layer for one sample x (n_0,) or (n_0, 1): list of
        arrays, (n_l,) for a dense layer, (F, OH, OW) for a conv layer."""
        return [H for layer, H in zip(self.layers, self.outputs(x)) if layer.param_names]

    # ---- training --------------------------------------------------------------------------

    def train(self, X, Y, config=None, validation=None, test=None, eval_chunk=None):
        """Train, yielding progress events: ``Trainer(self, ...).run()`` (see pynet.trainer).

        X: (n_0, m) float or uint8; Y: one-hot (n_L, m) or labels (m,); config: TrainConfig;
        validation, test: optional (X, Y) pairs, evaluated every ``eval_every`` epochs.
        """
        return Trainer(self, X, Y, config, validation, test, eval_chunk).run()

    def _forward_backward(self, Xb, yb, eye, mode, forward_trace=None, backward_trace=None):
        """One batch's forward pass, mean loss and gradients (averaged over the batch's samples):
        (HL, loss, gradients). The only place where training does its math; the traces see each
        layer's arrays as it goes (see _forward, _backward)."""
        Yb = eye[:, yb]
        HL, memories = self._forward(Xb, mode, forward_trace)
        loss = core.compute_loss(HL, Yb)
        return HL, loss, self._backward(HL, Yb, memories, backward_trace)

    def gradients(self, Xb, yb):
        """Gradients of a batch (or of one worker's shard of a batch) for data-parallel training.

        Xb: (n_0, n) inputs (uint8 pixels or numbers); yb: (n,) class indices.
        Returns (loss_sum, correct, gradients): the summed cross-entropy, the number of samples
        predicted right and the dW/db dict averaged over the n samples. The weighted mean
        sum_k n_k g_k / sum_k n_k of the shards' gradients is the whole batch's gradient.
        """
        yb = np.asarray(yb)
        if yb.shape[0] == 0:
            return 0.0, 0, {"d" + k: np.zeros_like(v) for k, v in self.parameters.items()}
        eye = np.eye(self.dimensions[-1], dtype=self.dtype)
        HL, loss, gradients = self._forward_backward(self._batch(np.asarray(Xb)), yb, eye, Mode(training=True))
        correct = int(np.count_nonzero(HL.argmax(axis=0) == yb))
        return loss * yb.shape[0], correct, gradients

    def flatten_gradients(self, gradients, scale=1.0):
        """dW1, db1, dW2, ... concatenated into one 1-D array of the model's dtype (times scale)."""
        names = ["d" + k for k in self.parameters]
        out = np.concatenate([np.ravel(gradients[k]) for k in names]).astype(self.dtype, copy=False)
        if scale != 1.0:
            out *= self.dtype.type(scale)
        return out

    def unflatten_gradients(self, flat):
        """The inverse of flatten_gradients: a dict of dW/db arrays (views of flat)."""
        return {"d" + k: v for k, v in self._unflatten(flat, "gradient").items()}

    def flat_parameters(self):
        """W1, b1, W2, ... concatenated into one 1-D array (a copy): what a data-parallel
        helper receives to compute its shard with the trainer's parameters."""
        return np.concatenate([np.ravel(p) for p in self.parameters.values()])

    def load_flat_parameters(self, flat):
        """Set the parameters from an array made by flat_parameters (copied); ValueError when
        its size does not fit this network."""
        self.parameters = {k: v.copy() for k, v in self._unflatten(flat, "parameter").items()}

    def _unflatten(self, flat, what):
        flat = np.asarray(flat, dtype=self.dtype)
        total = sum(p.size for p in self.parameters.values())
        if flat.shape != (total,):
            raise ValueError(f"expected {total} {what} values, got {flat.shape}")
        out, i = {}, 0
        for k, p in self.parameters.items():
            out[k] = flat[i : i + p.size].reshape(p.shape)
            i += p.size
        return out

    def fit(self, X, Y, config=None, validation=None, test=None, callback=None):
        """Train to the end; return the list of epoch events (the history).

        callback, if given, is called with every event (see ``train``).
        Raises TrainingDiverged when the loss diverges; the network then holds the parameters
        of the last good epoch, and the exception the history up to it.
        """
        history = []
        for event in self.train(X, Y, config, validation, test):
            if callback is not None:
                callback(event)
            if event["type"] == "epoch":
                history.append(event)
            elif event["type"] == "done":
                self.last_done = event
                if event["reason"] == "diverged":
                    raise TrainingDiverged(event["message"], history, event["epochs_run"])
        return history


def _check_seed_data(X, Y, dimensions):
    """ValueError unless X is (n_0, m) and Y (n_L, m), both numeric and finite.

    Without it, NaN in the data surfaced as "learning rate too high" and a mismatched Y as a
    NumPy broadcasting error.
    """
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or X.shape[0] != dimensions[0]:
        raise ValueError(f"X must have shape ({dimensions[0]}, m), samples as columns; got {X.shape}")
    if Y.shape != (dimensions[-1], X.shape[1]):
        raise ValueError(f"Y must be one-hot of shape ({dimensions[-1]}, {X.shape[1]}), got {Y.shape}")
    for name, a in (("X", X), ("Y", Y)):
        if not np.issubdtype(a.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")


def L_layer_model(X, Y, dimensions, learning_rate=0.0075, num_iterations=3000, print_loss=False,
                  callback=None, seed=2):
    """The seed's training loop: full-batch gradient descent with the seed's own functions.

    Parameters:
        X: (n_0, m); Y: one-hot (n_L, m); dimensions: [n_0, ..., n_L].
        print_loss: as in the seed, report the loss every 100 iterations; reports go to
            ``callback(iteration, loss)`` when given, else are printed.
        callback: called as callback(iteration, loss) every iteration (overrides printing).
    Returns: the trained parameters dict.
    Raises FloatingPointError when the loss diverges (the learning rate is too high).

    It is pynet's one trainer run with the seed's settings: plain gradient descent on the full
    batch, float64, weights from initialize_parameters(dimensions, seed); each epoch is one
    iteration. The result equals the seed's loop of forward, loss, backward and
    update_parameters to the last bit (tests/test_network.py).
    """
    learning_rate = check_learning_rate(learning_rate)
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, np.integer)) or num_iterations < 0:
        raise ValueError(f"num_iterations must be a whole number of at least 0, got {num_iterations!r}")
    dimensions = core.check_dimensions(dimensions)
    _check_seed_data(X, Y, dimensions)
    net = Network(dimensions, seed=seed, dtype="float64")
    if num_iterations == 0:
        return net.parameters
    config = TrainConfig(epochs=num_iterations, batch_size=0, optimizer="gd", learning_rate=learning_rate)
    for event in Trainer(net, np.asarray(X, dtype=np.float64), np.asarray(Y), config).run():
        if event["type"] == "batch":
            i, loss = event["step"] - 1, event["loss"]
            if callback is not None:
                callback(i, loss)
            elif print_loss and i % 100 == 0:
                print("Loss after iteration %i: %f" % (i, loss))
        elif event["type"] == "done" and event["reason"] == "diverged":
            raise FloatingPointError(f"{event['cause']} at iteration {event['epochs_run']}: "
                                     f"learning rate {learning_rate:g} is too high")
    return net.parameters
