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

import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import core
from .layers import INFERENCE, Dropout, Mode, dense_stack
from .optim import OPTIMIZERS, SCHEDULES, Schedule, check_learning_rate, make_optimizer

HIDDEN_ACTIVATIONS = ("relu", "sigmoid")
DTYPES = ("float32", "float64")
PIXEL_SCALE = 1.0 / 256  # uint8 pixel k stands for k/256: lossless for mnist.pkl.gz


@dataclass
class TrainConfig:
    """Settings of one training run; ``validated()`` checks them all with clear messages.

    batch_size 0 means full batch (the seed's gradient descent); epochs then counts iterations.
    """

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 0.001
    schedule: str = "constant"
    l2: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    patience: int = 0  # epochs without validation improvement before stopping; 0: never
    eval_every: int = 1  # evaluate validation/test sets every this many epochs

    def validated(self):
        """Return a copy with every field checked and converted; raise ValueError otherwise."""
        def whole(name, low):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, str)):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {value!r}") from None
            if not math.isfinite(number) or number != int(number) or number < low:
                raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")
            return int(number)

        def real(name, low, high=math.inf):
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, got {value!r}") from None
            if not math.isfinite(number) or not low <= number < high:
                raise ValueError(f"{name} must be a number in [{low}, {high}), got {value!r}")
            return number

        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        return TrainConfig(
            epochs=whole("epochs", 1),
            batch_size=whole("batch_size", 0),
            optimizer=self.optimizer,
            learning_rate=check_learning_rate(self.learning_rate),
            schedule=self.schedule,
            l2=real("l2", 0.0),
            momentum=real("momentum", 0.0, 1.0),
            seed=whole("seed", 0),
            patience=whole("patience", 0),
            eval_every=whole("eval_every", 1),
        )

    @classmethod
    def from_dict(cls, d):
        """Build from a plain dict (JSON from the browser); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        return cls(**d).validated()

    def to_dict(self):
        return asdict(self)


def training_bytes(dimensions, dtype="float32", batch_size=128):
    """About how many bytes training a network of these layer sizes takes: the parameters,
    their gradients and Adam's two moments, plus one batch's activations and their gradients."""
    itemsize = np.dtype(dtype).itemsize
    parameters = sum(n * (n_prev + 1) for n_prev, n in zip(dimensions, dimensions[1:]))
    activations = max(1, batch_size) * sum(dimensions[1:])
    return itemsize * (4 * parameters + 4 * activations)


def labels_of(Y, n_classes, m):
    """Class indices (m,) from one-hot (n_classes, m) or labels (m,); ValueError on bad input."""
    Y = np.asarray(Y)
    if Y.dtype.kind not in "biuf":
        raise ValueError(f"labels must be whole numbers 0..{n_classes - 1}, got {Y.dtype.name} values")
    if Y.ndim == 2:
        if Y.shape != (n_classes, m):
            raise ValueError(f"Y must be one-hot of shape ({n_classes}, {m}), got {Y.shape}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("Y contains NaN or inf")
        return np.argmax(Y, axis=0)
    if Y.ndim == 1:
        if Y.shape[0] != m:
            raise ValueError(f"labels must have {m} entries (one per column of X), got {Y.shape[0]}")
        return core.one_hot(Y, n_classes).argmax(axis=0) if Y.size else Y.astype(np.int64)
    raise ValueError(f"Y must be one-hot (n_classes, m) or labels (m,), got shape {Y.shape}")


class Network:
    """An L-layer network: hidden layers relu or sigmoid, softmax output.

    Parameters:
        dimensions: [n_0, n_1, ..., n_L], e.g. [784, 45, 10].
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
        self.dimensions = core.check_dimensions(dimensions)
        self.hidden_activation = hidden_activation
        self.dtype = np.dtype(str(dtype))
        self._set_layers(dense_stack(self.dimensions, hidden_activation, dropout))
        self.parameters = core.initialize_parameters(self.dimensions, seed=seed, dtype=self.dtype)
        self.metadata = {}

    def _set_layers(self, layers):
        """The layer stack, and for each layer the keys of its parameters in self.parameters
        ({'W': 'W2', 'b': 'b2'}): the seed's names, numbered over the layers that have any."""
        self.layers, self._keys, l = layers, [], 0
        for layer in layers:
            l += bool(layer.param_names)
            self._keys.append({name: name + str(l) for name in layer.param_names})
        self.dropout = next((layer.rate for layer in layers if isinstance(layer, Dropout)), 0.0)

    @classmethod
    def from_parameters(cls, parameters, hidden_activation="relu"):
        """Wrap an existing parameters dict (e.g. from ``L_layer_model``)."""
        L = len(parameters) // 2
        dims = [parameters["W1"].shape[1]] + [parameters["W" + str(l)].shape[0] for l in range(1, L + 1)]
        net = cls.__new__(cls)
        net.dimensions = dims
        net.hidden_activation = hidden_activation
        net._set_layers(dense_stack(dims, hidden_activation))
        net.dtype = parameters["W1"].dtype
        net.parameters = parameters
        net.metadata = {}
        return net

    # ---- the layer stack ---------------------------------------------------------------------

    def _params(self, i):
        return {name: self.parameters[key] for name, key in self._keys[i].items()}

    def _forward(self, X, mode=INFERENCE):
        """(HL, memories): the output (n_L, m) and each layer's memory."""
        H, memories = X, []
        for i, layer in enumerate(self.layers):
            H, memory = layer.forward(self._params(i), H, mode)
            memories.append(memory)
        return H, memories

    def _backward(self, HL, Y, memories):
        """Gradients {dW1, db1, ...} of the mean cross-entropy, averaged over the batch.

        The softmax output layer starts from dZ = HL - Y, as the seed's L_layer_backward; the
        gradient with respect to the input X is never needed, so it is not computed.
        """
        gradients = {}
        last = len(self.layers) - 1
        dH, grads = self.layers[last].backward_from_dZ(HL - Y, memories[last], need_dH_prev=last > 0)
        for i in range(last, -1, -1):
            if i < last:
                dH, grads = self.layers[i].backward(self._params(i), dH, memories[i], need_dH_prev=i > 0)
            for name, key in self._keys[i].items():
                gradients["d" + key] = grads[name]
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

    def forward(self, X, chunk=4096):
        """Output probabilities (n_L, m) for X (n_0, m), computed in chunks of columns."""
        X = np.asarray(X)
        if X.ndim == 2 and X.shape[1] > chunk:
            return np.concatenate([self.forward(X[:, i : i + chunk]) for i in range(0, X.shape[1], chunk)], axis=1)
        HL, _ = self._forward(self._as_input(X))
        return HL

    predict_proba = forward

    def predict(self, X):
        """Predicted class (m,) of every column of X."""
        return np.argmax(self.forward(X), axis=0)

    def evaluate(self, X, Y):
        """Mean cross-entropy and accuracy on (X, Y): dict {'loss', 'accuracy'}."""
        HL = self.forward(X)
        labels = labels_of(Y, self.dimensions[-1], HL.shape[1])
        m = HL.shape[1]
        p = HL[labels, np.arange(m)]
        loss = float(-np.mean(np.log(np.maximum(p, np.finfo(HL.dtype).tiny)))) if m else float("nan")
        return {"loss": loss, "accuracy": core.accuracy(HL.argmax(axis=0), labels) if m else float("nan")}

    def activations(self, x):
        """Every layer's output for one sample x (n_0,) or (n_0, 1): list of 1-D arrays."""
        H = self._as_input(np.asarray(x).reshape(self.dimensions[0], 1))
        out = []
        for i, layer in enumerate(self.layers):
            H, _ = layer.forward(self._params(i), H)
            if layer.param_names:  # the output of each dense layer (dropout does nothing here)
                out.append(H[:, 0])
        return out

    # ---- training --------------------------------------------------------------------------

    def train(self, X, Y, config=None, validation=None, test=None):
        """Train, yielding progress events; a generator, so the caller may stop at any batch.

        Parameters:
            X: (n_0, m) float or uint8; Y: one-hot (n_L, m) or labels (m,).
            config: TrainConfig (defaults if None).
            validation, test: optional (X, Y) pairs, evaluated every ``eval_every`` epochs.
        Yields dicts with a 'type':
            'start': settings and sizes;
            'batch': epoch, batch, batches, step, loss, lr, samples_per_s, elapsed_s;
            'epoch': epoch, epochs, loss, train_acc, val_loss/val_acc, test_loss/test_acc (or None),
                     elapsed_s, train_s (elapsed without evaluation), samples_per_s;
            'done': reason ('completed', 'early_stop', 'diverged'), message, epochs_run.
        On divergence (non-finite loss) the parameters of the last good epoch are restored.
        """
        config = (config or TrainConfig()).validated()
        X = self._training_input(X)
        m = X.shape[1]
        for name, pair in (("validation", validation), ("test", test)):
            # an empty set's loss is NaN: early stopping would then find no best model to restore
            if pair is not None and np.shape(pair[0])[-1:] == (0,):
                raise ValueError(f"the {name} set has no samples")
        labels = labels_of(Y, self.dimensions[-1], m)
        rows = X.T  # (m, n_0) view: a mini-batch is then a fast gather of contiguous rows
        n_classes = self.dimensions[-1]
        batch_size, batches, schedule, optimizer = _plan(config, m)
        rng = np.random.default_rng(config.seed)
        # dropout draws from a generator of its own, so that the shuffle is the same with it or without
        mode = Mode(training=True, rng=np.random.default_rng([config.seed, 1]))
        eye = np.eye(n_classes, dtype=self.dtype)
        shuffle = batch_size < m
        # C order: without BLAS (Pyodide), dW = dZ @ X.T over thousands of samples is ~10x
        # slower when X is a transposed (Fortran-order) view, as images.T is.
        full_batch = None if shuffle else np.ascontiguousarray(self._batch(X))

        good = {k: v.copy() for k, v in self.parameters.items()}
        best = (math.inf, None)  # (validation loss, parameters) for early stopping
        stale = 0
        start = time.perf_counter()
        eval_s = 0.0
        first_loss = None
        seen = 0
        step = 0
        yield {"type": "start", "config": config.to_dict(), "dimensions": list(self.dimensions),
               "hidden_activation": self.hidden_activation, "samples": m, "batches": batches}
        epoch = 0
        for epoch in range(1, config.epochs + 1):
            order = rng.permutation(m) if shuffle else None
            loss_sum = 0.0
            correct = 0
            for b in range(batches):
                if order is None:
                    Xb, yb = full_batch, labels
                else:
                    idx = order[b * batch_size : (b + 1) * batch_size]
                    Xb, yb = self._batch(rows[idx].T), labels[idx]
                HL, loss, gradients = self._forward_backward(Xb, yb, eye, mode)
                if first_loss is None:
                    first_loss = loss
                what = _loss_diverged(loss, first_loss)
                if what:
                    self.parameters = good
                    yield _diverged_event(f"the loss {what} at epoch {epoch}, batch {b + 1}", epoch - 1, config)
                    return
                lr = schedule(step)
                optimizer.step(self.parameters, gradients, lr)
                step += 1
                nb = Xb.shape[1]
                seen += nb
                loss_sum += loss * nb
                correct += int(np.count_nonzero(HL.argmax(axis=0) == yb))
                elapsed = time.perf_counter() - start
                yield {"type": "batch", "epoch": epoch, "batch": b + 1, "batches": batches, "step": step,
                       "loss": loss, "lr": lr, "elapsed_s": elapsed,
                       "samples_per_s": seen / max(elapsed - eval_s, 1e-9)}

            if not all(np.all(np.isfinite(p)) for p in self.parameters.values()):
                self.parameters = good
                yield _diverged_event(f"parameters became NaN or inf in epoch {epoch}", epoch - 1, config)
                return
            good = {k: v.copy() for k, v in self.parameters.items()}
            event = {"type": "epoch", "epoch": epoch, "epochs": config.epochs, "loss": loss_sum / m,
                     "train_acc": correct / m, "val_loss": None, "val_acc": None, "test_loss": None, "test_acc": None}
            evaluate_now = epoch % config.eval_every == 0 or epoch == config.epochs
            eval_start = time.perf_counter()
            if evaluate_now and validation is not None:
                r = self.evaluate(*validation)
                event["val_loss"], event["val_acc"] = r["loss"], r["accuracy"]
            if evaluate_now and test is not None:
                r = self.evaluate(*test)
                event["test_loss"], event["test_acc"] = r["loss"], r["accuracy"]
            eval_s += time.perf_counter() - eval_start
            elapsed = time.perf_counter() - start
            event["elapsed_s"] = elapsed
            event["train_s"] = elapsed - eval_s  # training alone, without evaluation passes
            event["samples_per_s"] = seen / max(elapsed - eval_s, 1e-9)
            yield event
            if config.patience and event["val_loss"] is not None:
                if event["val_loss"] < best[0]:
                    best, stale = (event["val_loss"], good), 0
                else:
                    stale += 1
                    if stale >= config.patience:
                        self.parameters = {k: v.copy() for k, v in best[1].items()}
                        yield {"type": "done", "reason": "early_stop", "epochs_run": epoch,
                               "message": f"validation loss did not improve for {config.patience} epochs; "
                                          f"kept the best model (validation loss {best[0]:.4f})"}
                        return
        yield {"type": "done", "reason": "completed", "epochs_run": epoch, "message": "training completed"}

    def _forward_backward(self, Xb, yb, eye, mode):
        """One batch's forward pass, mean loss and gradients (averaged over the batch's samples):
        (HL, loss, gradients). The only place where training does its math."""
        Yb = eye[:, yb]
        HL, memories = self._forward(Xb, mode)
        loss = core.compute_loss(HL, Yb)
        return HL, loss, self._backward(HL, Yb, memories)

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
        flat = np.asarray(flat, dtype=self.dtype)
        total = sum(p.size for p in self.parameters.values())
        if flat.shape != (total,):
            raise ValueError(f"expected {total} gradient values, got {flat.shape}")
        out, i = {}, 0
        for k, p in self.parameters.items():
            out["d" + k] = flat[i : i + p.size].reshape(p.shape)
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


class TrainingDiverged(FloatingPointError):
    """The loss diverged; ``history`` holds the epochs before it, ``epochs_run`` how many."""

    def __init__(self, message, history, epochs_run):
        super().__init__(message)
        self.history, self.epochs_run = history, epochs_run


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
    """
    learning_rate = check_learning_rate(learning_rate)
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, np.integer)) or num_iterations < 0:
        raise ValueError(f"num_iterations must be a whole number of at least 0, got {num_iterations!r}")
    dimensions = core.check_dimensions(dimensions)
    _check_seed_data(X, Y, dimensions)
    parameters = core.initialize_parameters(dimensions, seed=seed)
    for i in range(num_iterations):
        HL, memories = core.L_layer_forward(X, parameters)
        loss = core.compute_loss(HL, Y)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at iteration {i}: learning rate {learning_rate:g} is too high")
        gradients = core.L_layer_backward(HL, Y, memories, need_dH0=False)
        parameters = core.update_parameters(parameters, gradients, learning_rate)
        if callback is not None:
            callback(i, loss)
        elif print_loss and i % 100 == 0:
            print("Loss after iteration %i: %f" % (i, loss))
    return parameters


def _plan(config, m):
    """(batch_size, batches, schedule, optimizer) of a run of config on m samples: the same for
    Network.train and ShardedRun, so that both take the same steps."""
    batch_size = m if config.batch_size in (0, None) or config.batch_size >= m else config.batch_size
    batches = math.ceil(m / batch_size)
    schedule = Schedule(config.learning_rate, config.schedule, total_steps=batches * config.epochs,
                        step_every=batches * max(1, config.epochs // 3))
    return batch_size, batches, schedule, make_optimizer(config.optimizer, l2=config.l2, beta=config.momentum)


def _loss_diverged(loss, first_loss):
    """How the batch loss went wrong ("became nan", "rose from 2.3 to 41"), or None while it is fine.

    The loss cannot reach inf (compute_loss never takes log(0)), so a loss ten times the first
    one (and above 20: every sample confidently wrong) counts as divergence too.
    """
    if not math.isfinite(loss):
        return f"became {loss}"
    if loss > max(10 * first_loss, 20.0):
        return f"rose from {first_loss:.3g} to {loss:.3g}"
    return None


def _diverged_event(what, epochs_run, config):
    return {"type": "done", "reason": "diverged", "epochs_run": epochs_run,
            "message": f"{what}: the learning rate {config.learning_rate:g} is too high; "
                       f"the model of the last good epoch was kept"}


class ShardedRun:
    """One worker's part of a data-parallel run of ``Network.train``.

    Every worker builds the same network (same seed) and a ShardedRun with the same data and
    config, its rank and the number of workers (world). They go through the same batches in
    the same shuffled order (the same generator as ``train``); each computes the gradients of
    its shard of the batch (``shard_gradients``), the coordinator forms the batch's mean
    gradient (sum of n_k * g_k over the shards, divided by the batch size) and every worker
    applies it (``apply``) with its own copy of the optimizer. The parameters then stay the
    same on every worker, and equal to single-worker training up to float rounding.
    """

    def __init__(self, net, X, Y, config=None, rank=0, world=1):
        config = (config or TrainConfig()).validated()
        world, rank = int(world), int(rank)
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"rank must be in [0, {world}), got {rank}")
        if net.dropout:
            raise ValueError("data-parallel training does not support dropout: train with one worker")
        X = net._training_input(X)
        m = X.shape[1]
        self.net, self.config, self.rank, self.world, self.m = net, config, rank, world, m
        self.rows = X.T
        self.labels = labels_of(Y, net.dimensions[-1], m)
        self.batch_size, self.batches, self.schedule, self.optimizer = _plan(config, m)
        self.shuffle = self.batch_size < m
        self.rng = np.random.default_rng(config.seed)
        self.epoch, self.batch, self.step = 1, 0, 0
        self.order = self.rng.permutation(m) if self.shuffle else None
        self.first_loss = None
        self.good = {k: v.copy() for k, v in net.parameters.items()}
        self.finished = False

    def batch_sizes(self):
        """Sizes of every worker's shard of the current batch (np.array_split's split)."""
        start = self.batch * self.batch_size
        n = min(self.batch_size, self.m - start)
        return [len(a) for a in np.array_split(np.arange(n), self.world)]

    def _shard_indices(self):
        start = self.batch * self.batch_size
        idx = np.arange(start, min(start + self.batch_size, self.m))
        if self.order is not None:
            idx = self.order[idx]
        return np.array_split(idx, self.world)[self.rank]

    def shard_gradients(self):
        """(n, loss_sum, correct, flat): this worker's shard of the current batch; flat holds
        n times its mean gradient (the shard's summed gradient), ready to be added up."""
        if self.finished:
            raise ValueError("the run has ended")
        idx = self._shard_indices()
        loss_sum, correct, gradients = self.net.gradients(self.rows[idx].T, self.labels[idx])
        return len(idx), loss_sum, correct, self.net.flatten_gradients(gradients, scale=len(idx))

    def apply(self, mean_flat, batch_loss):
        """Apply the batch's mean gradient (flat) whose batch had mean loss batch_loss.

        Returns {'type': 'batch', 'epoch', 'batch', 'step', 'lr', 'epoch_end': bool} or, when the
        loss diverged (the same test as ``train``), {'type': 'done', 'reason': 'diverged', ...}
        with the parameters of the last good epoch restored.
        """
        net, config = self.net, self.config
        loss = float(batch_loss)
        if self.first_loss is None:
            self.first_loss = loss
        what = _loss_diverged(loss, self.first_loss)
        if what:
            return self._diverged(f"the loss {what} at epoch {self.epoch}, batch {self.batch + 1}")
        lr = self.schedule(self.step)
        self.optimizer.step(net.parameters, net.unflatten_gradients(mean_flat), lr)
        self.step += 1
        event = {"type": "batch", "epoch": self.epoch, "batch": self.batch + 1, "batches": self.batches,
                 "step": self.step, "lr": lr, "epoch_end": False}
        self.batch += 1
        if self.batch == self.batches:
            event["epoch_end"] = True
            if not all(np.all(np.isfinite(p)) for p in net.parameters.values()):
                return self._diverged(f"parameters became NaN or inf in epoch {self.epoch}")
            self.good = {k: v.copy() for k, v in net.parameters.items()}
            self.batch = 0
            self.epoch += 1
            if self.epoch > config.epochs:
                self.finished = True
            else:
                self.order = self.rng.permutation(self.m) if self.shuffle else None
        return event

    def _diverged(self, what):
        self.net.parameters = self.good
        self.finished = True
        return _diverged_event(what, self.epoch - 1, self.config)
