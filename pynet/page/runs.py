"""Training runs in the page's worker: the one Trainer, stepped in time slices.

``start_training`` builds the run, ``step`` runs its events for about a time budget (so that
pause and stop answer between two slices), ``stop_training`` ends it; the network then goes
to models.py (in use, or on offer). With helper workers (data-parallel), ``step`` also hands
out the other shards of each batch, which a helper computes with ``helper_gradients``.
``warm_up`` trains a throwaway network so that the browser has optimized the code before the
user's first run.
"""

import time

import numpy as np

from .. import spec
from ..errors import SettingError
from ..model import Network
from ..settings import MAX_WORKERS, N_CLASSES, N_INPUTS
from ..trainer import TrainConfig, Trainer, parallel_config, shard_gradients
from .datasets import loaded_dataset
from .form import check_config, whole
from .models import discard_offer, model_info, offer_info, trained
from .state import STATE, as_bytes, as_py, finite

EVAL_MACS = 60e6  # multiply-adds per evaluation slice: a slice stays within a step's time budget


def start_training(config, workers=1):
    """Check the settings and start a run (any run in progress is dropped); return its summary.

    config: {'network': '128' | '784,128,10' | 'conv 8@5x5, pool 2, dense 10' (form.network_plan;
    'hidden' is its older name), 'activation', 'optimizer', 'learning_rate', 'epochs',
    'batch_size' (0: full batch), 'train_size', 'seed', 'dataset', 'eval_every', 'schedule'}.
    workers: how many workers train (data-parallel, see helper_start): each computes a batch of
    the config's size, this one the first, ``step`` hands out the others; the run's recipe is
    then trainer.parallel_config's (the summary's 'config'; 'worker_batch' each worker's batch).
    Raises ValueError on a bad value; nothing is changed then.
    """
    plan, activation, dataset, train_size, tc = check_config(config)
    workers = whole({"workers": workers}, "workers", 1, MAX_WORKERS, "workers")
    worker_batch = tc.batch_size
    if workers > 1 and 0 < worker_batch and worker_batch * workers > train_size:
        raise SettingError("batch_size", f"with {workers} workers a step takes {workers} batches of {worker_batch:,} "
                                         f"images, more than the {train_size:,} training images: choose a batch "
                                         f"size of at most {train_size // workers:,} or fewer workers")
    tc = parallel_config(tc, workers)
    d = loaded_dataset(dataset)
    net, X, y = _network_and_data(d, plan, activation, train_size, tc)
    dims = net.dimensions
    # evaluation in slices, each answered by an 'evaluating' event: pause and stop answer between two
    trainer = Trainer(net, X, y, tc, validation=_eval_set(d, "validation"), test=_eval_set(d, "test"),
                      eval_chunk=_eval_chunk_size(net), shards=workers)
    batches = begin_run(trainer, dataset, train_size)
    return {"dimensions": dims, "network": spec.label(plan.text), "activation": activation, "dataset": dataset,
            "train_size": train_size, "batches": batches, "total_steps": batches * tc.epochs, "config": tc.to_dict(),
            "workers": workers, "worker_batch": worker_batch}


def begin_run(trainer, dataset, train_size, before=None, **extra):
    """Make trainer's run the page's run in progress (step, stop_training); return its batches
    per epoch. before: events to run first (a generator, such as an evaluation in slices).
    extra: more about the run for _finish: 'offer_only' (its network is offered even when it
    completes), 'report' (a function of the network and its test accuracy giving what the
    network's offer and metadata say of it as 'report')."""
    gen = trainer.run()
    batches = next(gen)["batches"]
    if before is not None:
        gen = _chain(before, gen)
    discard_offer()  # a new run: an offer left untaken goes
    net, tc = trainer.net, trainer.config
    STATE["run"] = {
        "net": net, "gen": gen, "trainer": trainer, "config": tc, "dataset": dataset, "train_size": train_size,
        "dims": net.dimensions, "activation": net.hidden_activation, "batches": batches,
        "total_steps": batches * tc.epochs, "step": 0, "epoch": 0, "evaluating": False, "awaiting": False,
        "started": time.perf_counter(), "samples_per_s": 0.0, "last_epoch": None, "base": STATE["model"], **extra,
    }
    return batches


def _chain(before, gen):
    yield from before
    yield from gen


def _network_and_data(d, plan, activation, train_size, tc):
    """A run's fresh network (of a form.network_plan) and its training images (784, m) and
    labels: the same for the run and for each of its helpers. A dense network gets the seed's
    weights (core.initialize_parameters), a conv one He-initialised weights (pynet.spec)."""
    images, labels = d["train"]
    net = Network(plan.dimensions if plan.dense_only else plan.text, hidden_activation=activation, seed=tc.seed,
                  dtype="float32")
    return net, images[:train_size].T, labels[:train_size]


def _eval_chunk_size(net):
    """Samples per evaluation slice: about EVAL_MACS multiply-adds. A layer's multiply-adds per
    sample are its weights per output value (a conv kernel, a dense row) times its output values."""
    L = len(net.dimensions) - 1
    macs = sum(net.parameters["W" + str(l)][0].size * net.dimensions[l] for l in range(1, L + 1))
    return max(100, int(EVAL_MACS / macs))


def _eval_set(d, split):
    """(X (784, m), labels) of a split of a loaded data set, or None where it has none."""
    if split not in d:
        return None
    images, labels = d[split]
    return images.T, labels


def _epoch_out(run, event):
    e = {k: event.get(k) for k in ("epoch", "epochs", "loss", "train_acc", "val_acc", "val_loss", "test_acc", "test_loss")}
    for k in ("loss", "train_acc", "val_acc", "val_loss", "test_acc", "test_loss"):
        e[k] = finite(e[k]) if e[k] is not None else None
    e["step"] = run["step"]
    run["last_epoch"] = e
    return e


def _finish(run, done):
    """End of a run: its network, described, goes to models.trained (in use or on offer), unless
    it diverged before an epoch finished. Returns the current model's info."""
    STATE["run"] = None
    last = run["last_epoch"] or {}
    if done["reason"] == "diverged" and not last:
        # diverged before its first epoch ended: nothing good was learned, keep the previous model
        done["message"] = (f"{done['cause']} {done['where']}: the learning rate {run['config'].learning_rate:g} "
                           f"is too high; no epoch finished, so the previous model is still in use")
        return model_info()
    # the accuracy of the network as it is: none after batches that no evaluation has seen
    evaluated = last.get("step") == run["step"] and done["reason"] != "diverged"
    test_acc = last.get("test_acc") if evaluated else None
    net = run["net"]
    net.metadata = {"name": "trained", "dimensions": run["dims"], "hidden_activation": run["activation"],
                    "config": run["config"].to_dict(), "dataset": run["dataset"], "train_size": run["train_size"],
                    "epochs_run": last.get("epoch", 0), "steps_run": run["step"], "test_acc": test_acc,
                    "end": done["reason"]}
    test_eval = run.get("test_eval") if test_acc is not None else None
    end = {"reason": done["reason"], "epochs_run": last.get("epoch", 0), "steps_run": run["step"]}
    if "report" in run:
        end["report"] = net.metadata["report"] = run["report"](net, test_acc)
    completed = done["reason"] in ("completed", "early_stop") and not run.get("offer_only")
    return trained(net, completed, run["base"], test_eval, end)


def step(budget_ms=60, replies=None):
    """Run the training for about budget_ms milliseconds; see _step. Overflow warnings of a
    diverging run are silenced: divergence is reported in the result instead."""
    with np.errstate(all="ignore"):
        return _step(budget_ms, replies)


def _step(budget_ms, replies):
    """Run the training for about budget_ms milliseconds (at least one batch or one evaluation chunk).

    Returns {'losses': [[step, loss], ...], 'epochs': [epoch events], 'done': None or
    {'reason', 'message', 'model', 'offer'}, 'step', 'total_steps', 'epoch', 'samples_per_s',
    'elapsed_s', 'evaluating': bool, 'request', 'awaiting'}.
    A run with helpers (start_training's workers) also stops early, at each batch:
    'request' is then {'parameters': bytes of float32, 'shards': [bytes of int32 sample indices]}
    for the helpers (helper_gradients); the next call computes this worker's own shard and
    returns 'awaiting': True; the call after that gives the helpers' results as replies.
    """
    run = STATE["run"]
    if run is None:
        raise ValueError("no training run is in progress")
    if run["awaiting"] != (replies is not None):
        raise ValueError("the run is waiting for the helpers' gradients" if run["awaiting"]
                         else "no helper gradients were asked for")
    deadline = time.perf_counter() + max(1.0, float(budget_ms)) / 1000.0
    out = {"losses": [], "epochs": [], "done": None, "request": None, "awaiting": False}
    event = run["gen"].send(_helper_results(replies)) if run["awaiting"] else next(run["gen"])
    run["awaiting"] = False
    while True:  # the run's last event is 'done', after which it is dropped
        kind = event["type"]
        run["evaluating"] = kind == "evaluating"
        if kind == "batch":
            run["step"] = event["step"]
            run["epoch"] = event["epoch"]
            run["samples_per_s"] = event["samples_per_s"]
            out["losses"].append([event["step"], finite(event["loss"])])
        elif kind == "epoch":
            run["samples_per_s"] = event["samples_per_s"]
            test = run["trainer"].evaluations.get("test")
            if event["test_acc"] is not None and test is not None:
                run["test_eval"] = (run["dataset"], test.predictions, test.confidence)
            out["epochs"].append(_epoch_out(run, event))
        elif kind == "gradients":
            out["request"] = {"parameters": np.asarray(event["parameters"], np.float32).tobytes(),
                              "shards": [idx.astype(np.int32).tobytes() for idx in event["shards"]],
                              "step": int(event["step"])}
        elif kind == "awaiting":
            run["awaiting"] = out["awaiting"] = True
        elif kind == "done":
            info = _finish(run, event)
            out["done"] = {"reason": event["reason"], "message": event["message"], "model": info, "offer": offer_info()}
        if kind in ("gradients", "awaiting", "done") or time.perf_counter() >= deadline:
            break
        event = next(run["gen"])
    out.update(step=run["step"], total_steps=run["total_steps"], epoch=run["epoch"], epochs_total=run["config"].epochs,
               batches=run["batches"], samples_per_s=run["samples_per_s"], elapsed_s=time.perf_counter() - run["started"],
               evaluating=run["evaluating"] and out["done"] is None)
    return out


def _helper_results(replies):
    """The helpers' replies (a list of helper_gradients results) as the trainer takes them."""
    results = []
    for reply in as_py(replies):
        reply = as_py(reply)
        results.append((int(reply["n"]), float(reply["loss_sum"]), int(reply["correct"]),
                        np.frombuffer(as_bytes(reply["grad"]), dtype=np.float32)))
    return results


def helper_start(config):
    """Make this worker a helper of data-parallel runs with these settings (the same as the
    run's): it keeps a network of the run's shape and the run's training images."""
    plan, activation, dataset, train_size, tc = check_config(config)
    net, X, y = _network_and_data(loaded_dataset(dataset), plan, activation, train_size, tc)
    STATE["helper"] = {"net": net, "X": X, "labels": y, "config": tc}
    return {"dimensions": net.dimensions, "train_size": train_size}


def helper_gradients(parameters, shard, step):
    """A helper's part of a batch: the run's parameters (bytes of float32), the sample indices
    of its shard (bytes of int32) and the batch's step (an augmented run's distortions follow
    from it). Returns {'n', 'loss_sum', 'correct', 'grad': bytes of the
    float32 summed gradient (n times the shard's mean)}."""
    helper = STATE["helper"]
    if helper is None:
        raise ValueError("this worker is not a helper of a data-parallel run")
    idx = np.frombuffer(as_bytes(shard), dtype=np.int32)
    if idx.size and not (0 <= idx.min() and idx.max() < helper["labels"].shape[0]):
        raise ValueError("a shard names images outside the run's training set")
    net = helper["net"]
    net.load_flat_parameters(np.frombuffer(as_bytes(parameters), dtype=np.float32))
    with np.errstate(all="ignore"):
        n, loss_sum, correct, flat = shard_gradients(net, helper["X"], helper["labels"], idx, helper["config"],
                                                     int(step))
    return {"n": int(n), "loss_sum": float(loss_sum), "correct": int(correct),
            "grad": np.ascontiguousarray(flat, dtype=np.float32).tobytes()}


def warm_up(budget_ms=50):
    """Train a throwaway 784-128-10 network for about budget_ms on the small data set.

    The browser compiles WebAssembly lazily and optimizes hot code later: the first training
    run of a page was measured at half the speed of the next ones. The page calls this for
    about a second after start-up, so the user's first run is fast too. Nothing of it is
    kept (its own network and random generator); returns False when it has had enough.
    """
    warm = STATE.get("warm")
    if warm is None:
        images, labels = loaded_dataset("small")["train"]
        net = Network([N_INPUTS, 128, N_CLASSES], seed=0, dtype="float32")
        X, y = images[:2048].T, labels[:2048]
        warm = STATE["warm"] = {"net": net, "gen": net.train(X, y, TrainConfig(epochs=50, batch_size=128, seed=0)),
                                 "eval": images[:1000].T}
    deadline = time.perf_counter() + max(1.0, float(budget_ms)) / 1000.0
    with np.errstate(all="ignore"):
        while time.perf_counter() < deadline:
            event = next(warm["gen"], None)
            if event is None or event["type"] == "done":
                warm_up_done()
                return False
            if event["type"] == "epoch":
                warm["net"].forward(warm["eval"])  # the evaluation path too
    return True


def warm_up_done():
    """Drop the warm-up network."""
    warm = STATE.pop("warm", None)
    if warm is not None:
        warm["gen"].close()


def stop_training():
    """Stop the run in progress; the model trained so far is offered (see _finish), the model in
    use stays. Returns {'model': the current model's info, 'offer': the offer's, 'stopped': bool}.
    """
    run = STATE["run"]
    if run is None:
        return {"model": model_info(), "stopped": False}
    net = run["net"]
    run["gen"].close()
    if not all(np.all(np.isfinite(p)) for p in net.parameters.values()):
        STATE["run"] = None
        return {"model": model_info(), "stopped": True, "message": "the run had diverged; the previous model was kept"}
    info = _finish(run, {"reason": "stopped"})
    return {"model": info, "offer": offer_info(), "stopped": True}

