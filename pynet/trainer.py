"""The one training loop: epochs, batches, shuffling, schedule, divergence, early stop, evaluation.

``Trainer.run()`` is a generator of progress events (plain dicts), so the command line, the
tests, the build and the browser worker all read the same stream and can stop or pause between
any two events. ``Network.train`` and ``Network.fit`` are thin wrappers around it.

Evaluation can be done in slices (``eval_chunk``): the trainer then yields an 'evaluating'
event after each slice, so that a caller running it in time slices (the browser worker) is
never blocked for long by a whole test set.

Data-parallel training is the same loop with another source of gradients (``shards`` > 1):
each batch is split into shards, the trainer computes the first and asks its caller for the
others with a 'gradients' event (the parameters and the shards' sample indices, answered by
``shard_gradients`` on other workers). ``parallel_config`` is the recipe k workers train: a
batch per worker, k of them a step. Shapes follow the seed: samples are columns.
"""

import math
import time
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from . import core
from .augment import AUGMENTATIONS, distort, image_side
from .errors import SettingError
from .layers import Mode
from .optim import OPTIMIZERS, SCHEDULES, Schedule, check_learning_rate, make_optimizer


@dataclass
class TrainConfig:
    """Settings of one training run; ``validated()`` checks them all with clear messages.

    batch_size 0 means full batch (the seed's gradient descent); epochs then counts iterations.
    augment: "off", or "affine" / "elastic": each training batch randomly distorted (pynet.augment),
    its distortions a function of (seed, step, each image's index); evaluation sets never are.
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
    augment: str = "off"

    def validated(self):
        """Return a copy with every field checked and converted; raise SettingError (with the field) otherwise."""
        def whole(name, low):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, str)):
                raise SettingError(name, f"{name} must be a whole number, got {value!r}")
            try:
                number = float(value)
            except ValueError:
                raise SettingError(name, f"{name} must be a whole number, got {value!r}") from None
            if not math.isfinite(number) or number != int(number) or number < low:
                raise SettingError(name, f"{name} must be a whole number of at least {low}, got {value!r}")
            return int(number)

        def real(name, low, high=math.inf):
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise SettingError(name, f"{name} must be a number, got {value!r}") from None
            if not math.isfinite(number) or not low <= number < high:
                raise SettingError(name, f"{name} must be a number in [{low}, {high}), got {value!r}")
            return number

        if self.optimizer not in OPTIMIZERS:
            raise SettingError("optimizer", f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise SettingError("schedule", f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.augment not in AUGMENTATIONS:
            raise SettingError("augment", f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        return TrainConfig(
            epochs=whole("epochs", 1),
            batch_size=whole("batch_size", 0),
            optimizer=self.optimizer,
            learning_rate=_learning_rate(self.learning_rate),
            schedule=self.schedule,
            l2=real("l2", 0.0),
            momentum=real("momentum", 0.0, 1.0),
            seed=whole("seed", 0),
            patience=whole("patience", 0),
            eval_every=whole("eval_every", 1),
            augment=self.augment,
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


def parallel_config(config, workers):
    """The recipe that `workers` workers train from config: each worker computes a whole batch
    of config's batch size (a half batch keeps most of a whole one's cost: the products run
    best at the recipe's size), so a step takes `workers` batches and an epoch that many times
    fewer steps; the learning rate grows as much (the linear scaling rule), which keeps the
    test accuracy at equal epochs where the unscaled rate loses (benchmarks/parallel_results.md).
    A full batch, and one worker, stay as they are. Raises SettingError on a bad config."""
    config = config.validated()
    if workers == 1 or config.batch_size == 0:
        return config
    # 12 digits: three workers' 0.003 is the 0.009 it reads as, not 0.009000000000000001
    return replace(config, batch_size=config.batch_size * workers,
                   learning_rate=float(f"{config.learning_rate * workers:.12g}")).validated()


def _learning_rate(value):
    try:
        return check_learning_rate(value)
    except ValueError as e:
        raise SettingError("learning_rate", str(e)) from None


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




class Evaluation:
    """Mean loss, accuracy and per-sample predictions of a network on (X, labels), in slices.

    X: (n_0, m) inputs (uint8 pixels or numbers); labels: (m,) class indices; chunk: columns per
    ``step()`` (None: all at once). After the last step: ``loss``, ``accuracy``, ``predictions``
    (m,) and ``confidence`` (m,), the largest probability of each sample.
    """

    def __init__(self, net, X, labels, chunk=None):
        self.net, self.X, self.labels = net, X, labels
        self.m = labels.shape[0]
        self.chunk = self.m if not chunk else int(chunk)
        self.pos, self.loss_sum, self.seconds = 0, 0.0, 0.0
        self.predictions = np.empty(self.m, np.int64)
        self.confidence = np.empty(self.m, np.float32)

    @property
    def done(self):
        return self.pos >= self.m

    def step(self):
        """Evaluate the next slice; return True once every sample has been."""
        t = time.perf_counter()
        i, j = self.pos, min(self.pos + self.chunk, self.m)
        P = self.net.forward(self.X[:, i:j])
        self.predictions[i:j] = P.argmax(axis=0)
        self.confidence[i:j] = P.max(axis=0)
        Y = np.zeros_like(P)
        Y[self.labels[i:j], np.arange(j - i)] = 1
        self.loss_sum += core.compute_loss(P, Y) * (j - i)
        self.pos = j
        self.seconds += time.perf_counter() - t
        return self.done

    def run(self):
        while not self.done:
            self.step()
        return self

    @property
    def loss(self):
        return self.loss_sum / self.m if self.m else float("nan")

    @property
    def accuracy(self):
        return float(np.count_nonzero(self.predictions == self.labels) / self.m) if self.m else float("nan")


class Trainer:
    """One training run of a Network on (X, Y) with a TrainConfig.

    Parameters:
        net: the Network, trained in place.
        X: (n_0, m) float or uint8; Y: one-hot (n_L, m) or labels (m,).
        config: TrainConfig (defaults if None).
        validation, test: optional (X, Y) pairs, evaluated every ``eval_every`` epochs and after
            the last one.
        eval_chunk: evaluate in slices of this many samples, with an 'evaluating' event after
            each (None: each set at once, no such events).
        shards: split every batch into this many shards (np.array_split), the first computed here,
            the others by the caller (see ``run``): data-parallel training. 1: no split.
    After the run, ``evaluations`` holds the last Evaluation of each set ({'validation', 'test'}).
    """

    def __init__(self, net, X, Y, config=None, validation=None, test=None, eval_chunk=None, shards=1):
        self.net = net
        self.config = (config or TrainConfig()).validated()
        if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
            raise ValueError(f"shards must be a whole number of at least 1, got {shards!r}")
        if shards > 1 and net.dropout:
            raise ValueError("data-parallel training does not support dropout: train with one worker")
        self.shards = int(shards)
        X = net._training_input(X)
        # Batches are gathered as rows of X.T (training_batch): with X.T C-ordered each sample's
        # values are one run of memory. A C-ordered (n_0, m) X is copied so once: epochs natively
        # 1.7x faster for 784-128-10 (the page's and load_data().T's arrays are already so).
        if not X.T.flags.c_contiguous:
            X = np.ascontiguousarray(X.T).T
        if self.config.augment != "off":
            image_side(X.shape[0])  # the distortions move square images
        self.m = X.shape[1]
        self.sets = {}
        for name, pair in (("validation", validation), ("test", test)):
            if pair is None:
                continue
            # an empty set's loss is NaN: early stopping would then find no best model to restore
            if np.shape(pair[0])[-1:] == (0,):
                raise ValueError(f"the {name} set has no samples")
            Xs = np.asarray(pair[0])
            self.sets[name] = (Xs, labels_of(pair[1], net.dimensions[-1], Xs.shape[-1]))
        self.X = X
        self.labels = labels_of(Y, net.dimensions[-1], self.m)
        self.eval_chunk = eval_chunk
        self.evaluations = {}

    def run(self):
        """Train, yielding progress events; a generator, so the caller may stop at any event.

        Yields dicts with a 'type':
            'start': settings and sizes;
            'batch': epoch, batch, batches, step, loss, lr, samples_per_s, elapsed_s;
            'evaluating' (only with eval_chunk): epoch, set ('validation' or 'test'), done, of;
            'epoch': epoch, epochs, loss, train_acc, val_loss/val_acc, test_loss/test_acc (or None),
                     elapsed_s, train_s (elapsed without evaluation), samples_per_s;
            'done': reason ('completed', 'early_stop', 'diverged'), message, epochs_run.
        With shards > 1, each batch also yields
            'gradients': parameters (the flat parameters, ``Network.flat_parameters``), shards
                (the sample indices of shards 2..), step (the batch's, from 0: the distortions'
                with augmentation): the caller has them computed elsewhere with
                ``shard_gradients`` while the trainer computes the first shard on the next resume;
            'awaiting': the trainer needs the other shards' results, given by ``send(replies)``
                (replies: their ``shard_gradients`` tuples, in the order of the shards).
        On divergence the parameters of the last good epoch are restored; on early stop, those
        of the epoch with the best validation loss.
        """
        net, config, m, labels = self.net, self.config, self.m, self.labels
        batch_size, batches, schedule, optimizer = _plan(config, m)
        rng = np.random.default_rng(config.seed)
        # dropout draws from a generator of its own, so that the shuffle is the same with it or without
        mode = Mode(training=True, rng=np.random.default_rng([config.seed, 1]))
        eye = np.eye(net.dimensions[-1], dtype=net.dtype)
        shuffle = batch_size < m
        # C order: without BLAS (Pyodide), dW = dZ @ X.T over thousands of samples is ~10x
        # slower when X is a transposed (Fortran-order) view, as images.T is.
        fixed = not shuffle and self.shards == 1 and config.augment == "off"
        full_batch = np.ascontiguousarray(net._batch(self.X)) if fixed else None

        good = _copy(net.parameters)
        best = (math.inf, None)  # (validation loss, parameters) for early stopping
        stale = 0
        start = time.perf_counter()
        eval_s = 0.0
        first_loss = None
        seen = 0
        step = 0
        yield {"type": "start", "config": config.to_dict(), "dimensions": list(net.dimensions),
               "hidden_activation": net.hidden_activation, "samples": m, "batches": batches,
               "shards": self.shards}
        epoch = 0
        for epoch in range(1, config.epochs + 1):
            order = rng.permutation(m) if shuffle else None
            loss_sum = 0.0
            correct = 0
            for b in range(batches):
                idx = np.arange(m) if order is None else order[b * batch_size : (b + 1) * batch_size]
                if self.shards > 1:
                    nb, loss, hits, gradients = yield from self._gathered(idx, step)
                else:
                    if full_batch is not None:
                        Xb, yb = full_batch, labels
                    else:
                        Xb, yb = net._batch(training_batch(self.X, idx, config, step)), labels[idx]
                    HL, loss, gradients = net._forward_backward(Xb, yb, eye, mode)
                    nb, hits = Xb.shape[1], int(np.count_nonzero(HL.argmax(axis=0) == yb))
                if first_loss is None:
                    first_loss = loss
                what = _loss_diverged(loss, first_loss)
                if what:
                    net.parameters = good
                    yield _diverged_event(f"the loss {what}", f"at epoch {epoch}, batch {b + 1}", epoch - 1, config)
                    return
                lr = schedule(step)
                optimizer.step(net.parameters, gradients, lr)
                step += 1
                seen += nb
                loss_sum += loss * nb
                correct += hits
                elapsed = time.perf_counter() - start
                yield {"type": "batch", "epoch": epoch, "batch": b + 1, "batches": batches, "step": step,
                       "loss": loss, "lr": lr, "elapsed_s": elapsed,
                       "samples_per_s": seen / max(elapsed - eval_s, 1e-9)}

            if not all(np.all(np.isfinite(p)) for p in net.parameters.values()):
                net.parameters = good
                yield _diverged_event("parameters became NaN or inf", f"in epoch {epoch}", epoch - 1, config)
                return
            good = _copy(net.parameters)
            event = {"type": "epoch", "epoch": epoch, "epochs": config.epochs, "loss": loss_sum / m,
                     "train_acc": correct / m, "val_loss": None, "val_acc": None, "test_loss": None, "test_acc": None}
            if evaluates(config, epoch):
                for name, key in (("validation", "val"), ("test", "test")):
                    if name not in self.sets:
                        continue
                    ev = Evaluation(net, *self.sets[name], chunk=self.eval_chunk)
                    while not ev.step():
                        yield {"type": "evaluating", "epoch": epoch, "set": name, "done": ev.pos, "of": ev.m}
                    self.evaluations[name] = ev
                    eval_s += ev.seconds
                    event[key + "_loss"], event[key + "_acc"] = ev.loss, ev.accuracy
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
                        net.parameters = _copy(best[1])
                        yield {"type": "done", "reason": "early_stop", "epochs_run": epoch,
                               "message": f"validation loss did not improve for {config.patience} epochs; "
                                          f"kept the best model (validation loss {best[0]:.4f})"}
                        return
        yield {"type": "done", "reason": "completed", "epochs_run": epoch, "message": "training completed"}


    def _gathered(self, idx, step):
        """The gradient of the batch of samples idx at this step from its shards (a generator:
        see ``run``): (n, mean loss, samples predicted right, mean gradients)."""
        parts = np.array_split(idx, self.shards)
        yield {"type": "gradients", "parameters": self.net.flat_parameters(), "shards": parts[1:], "step": step}
        results = [shard_gradients(self.net, self.X, self.labels, parts[0], self.config, step)]
        replies = yield {"type": "awaiting", "shards": len(parts) - 1}
        if replies is None or len(replies) != len(parts) - 1:
            raise ValueError(f"the trainer needs the results of {len(parts) - 1} other shards")
        size = results[0][3].size
        for part, reply in zip(parts[1:], replies):
            n, loss_sum, hits, flat = reply
            if int(n) != len(part) or np.shape(flat) != (size,):
                raise ValueError(f"a shard's result does not fit: {int(n)} samples and {np.size(flat)} "
                                 f"gradient values for {len(part)} samples and {size}")
            results.append((int(n), float(loss_sum), int(hits), np.asarray(flat)))
        n = sum(r[0] for r in results)
        total = np.zeros(size, np.float64)
        for r in results:
            total += r[3]
        mean = self.net.unflatten_gradients((total / n).astype(self.net.dtype))
        return n, sum(r[1] for r in results) / n, sum(r[2] for r in results), mean


def shard_gradients(net, X, labels, idx, config=None, step=0):
    """One shard of a batch: (n, loss_sum, correct, flat), flat being n times the mean gradient
    of the samples idx (columns of X; labels (m,)) as one array, so that shards add up.
    A helper worker calls it after ``net.load_flat_parameters`` of the trainer's parameters;
    with the run's config and the batch's step (the 'gradients' event's) when it augments."""
    idx = np.asarray(idx)
    loss_sum, correct, gradients = net.gradients(training_batch(X, idx, config, step), labels[idx])
    return len(idx), loss_sum, correct, net.flatten_gradients(gradients, scale=len(idx))


def training_batch(X, idx, config=None, step=0):
    """The columns idx of X (n_0, m) as the network trains on them at this step: distorted
    when config.augment is on (None: never). A gather of the rows of X.T, which is fast."""
    Xb = X.T[idx].T
    if config is None or config.augment == "off":
        return Xb
    return distort(Xb, config.augment, config.seed, step, idx)


def evaluates(config, epoch):
    """Whether the validation and test sets are evaluated after this epoch."""
    return epoch % config.eval_every == 0 or epoch == config.epochs


def _copy(parameters):
    return {k: v.copy() for k, v in parameters.items()}


def _plan(config, m):
    """(batch_size, batches, schedule, optimizer) of a run of config on m samples."""
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


def _diverged_event(cause, where, epochs_run, config):
    """The 'done' event of a diverged run; cause ("the loss became nan") as data, for callers
    that say where in their own words (L_layer_model counts iterations)."""
    return {"type": "done", "reason": "diverged", "epochs_run": epochs_run, "cause": cause, "where": where,
            "message": f"{cause} {where}: the learning rate {config.learning_rate:g} is too high; "
                       f"the model of the last good epoch was kept"}


class TrainingDiverged(FloatingPointError):
    """The loss diverged; ``history`` holds the epochs before it, ``epochs_run`` how many."""

    def __init__(self, message, history, epochs_run):
        super().__init__(message)
        self.history, self.epochs_run = history, epochs_run
