"""Command line: ``pynet train``, ``pynet evaluate``, ``pynet seed``, ``pynet data``.

The training loop's events drive a progress bar on stderr and, with ``--log-json``, one JSON
object per epoch on stdout. Bad arguments give a one-line error and exit status 2.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from . import core, data, samples, serialize, spec
from .augment import AUGMENTATIONS
from .model import DTYPES, HIDDEN_ACTIVATIONS, L_layer_model, Network, TrainConfig
from .optim import OPTIMIZERS, SCHEDULES
from .settings import CLI_DEFAULT, N_CLASSES, N_INPUTS, SEED_RECIPE



class CliError(Exception):
    pass


def parse_dims(text):
    try:
        dims = [int(part) for part in text.split(",")]
    except ValueError:
        raise CliError(f"--dims must be comma-separated whole numbers such as 784,128,10, got {text!r}") from None
    try:
        dims = core.check_dimensions(dims)
    except ValueError as e:
        raise CliError(f"--dims: {e}") from None
    if dims[0] != N_INPUTS or dims[-1] != N_CLASSES:
        raise CliError(f"--dims must start with {N_INPUTS} (MNIST pixels) and end with {N_CLASSES} (digits), got {text}")
    return dims


def parse_net(text, hidden_activation="relu", dropout=0.0):
    """The network of --net (a spec, pynet.spec) as a checked Plan; CliError with the spec's own line."""
    try:
        plan = spec.plan(text, hidden_activation, dropout)
    except ValueError as e:
        raise CliError(f"--net: {e}") from None
    if plan.dimensions[0] != N_INPUTS:
        raise CliError(f"--net: the input must be MNIST's 1@28x28 image ({N_INPUTS} values), "
                       f"got {plan.dimensions[0]} values")
    return plan


def network_plan(args):
    """The Plan of the network to train: from --net, or from --dims (the CLI default when neither is given)."""
    if args.net is not None and args.dims is not None:
        raise CliError("give the network either as --dims or as --net, not both")
    if args.net is not None:
        return parse_net(args.net, args.activation, args.dropout)
    dims = parse_dims(args.dims if args.dims is not None else ",".join(map(str, CLI_DEFAULT["dims"])))
    return spec.plan(",".join(map(str, dims)), args.activation, args.dropout)


def check_out_path(path):
    """Refuse, before any training, an --out path that cannot be written (CliError)."""
    p = Path(path)
    if p.is_dir():
        raise CliError(f"--out {path} is a folder; give a file name, such as {p / 'model.npz'}")
    folder = p.parent
    if not folder.is_dir():
        raise CliError(f"--out {path}: the folder {folder} does not exist")
    try:  # the only sure test of writing is to write
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".pynet-", suffix=".probe"):
            pass
    except OSError as e:
        raise CliError(f"--out {path}: cannot write in {folder} ({e.strerror})") from None
    if p.exists() and not os.access(p, os.W_OK):
        raise CliError(f"--out {path}: the file exists and cannot be overwritten")


def check_memory(plan, dtype, batch_size):
    """Refuse a network (a spec.Plan) that could not be trained in this machine's memory (CliError)."""
    need = plan.training_bytes(batch_size, dtype)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if need > have:
        raise CliError(f"a {plan.text} network needs about {need / 2**30:,.1f} GiB to train; "
                       f"this machine has {have / 2**30:,.1f} GiB")


class ProgressBar:
    """A one-line progress bar on a terminal stream; silent when the stream is not a terminal."""

    def __init__(self, enabled=True, stream=sys.stderr, width=30):
        self.stream, self.width = stream, width
        self.live = enabled and stream.isatty()
        self.last = 0.0

    def update(self, done, total, text):
        now = time.perf_counter()
        if not self.live or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        filled = int(self.width * done / max(total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text}\033[K")
        self.stream.flush()

    def close(self):
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def cmd_train(args):
    plan = network_plan(args)
    try:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                             learning_rate=args.lr, schedule=args.schedule, l2=args.l2, seed=args.seed,
                             patience=args.patience, augment=args.augment).validated()
    except ValueError as e:
        raise CliError(str(e)) from None
    check_memory(plan, args.dtype, config.batch_size)
    if args.out:
        check_out_path(args.out)
    net = Network(plan.text, hidden_activation=args.activation, seed=args.seed, dtype=args.dtype, dropout=args.dropout)
    (xtr, ytr), (xva, yva), (xte, yte) = data.load_data(args.data)
    if args.train_size is not None:
        if not 1 <= args.train_size <= len(ytr):
            raise CliError(f"--train-size must be between 1 and {len(ytr)}, got {args.train_size}")
        xtr, ytr = xtr[: args.train_size], ytr[: args.train_size]
    metadata = {"config": config.to_dict(), "dropout": net.dropout, "train_size": len(ytr), "trained_with": "pynet train"}
    bar = ProgressBar(enabled=not args.quiet)
    total_steps = None
    done = None
    finished = None  # (epoch event, parameters) of the last finished epoch: what Ctrl-C keeps
    try:
        for event in net.train(xtr.T, ytr, config, validation=(xva.T, yva), test=(xte.T, yte)):
            kind = event["type"]
            if kind == "start":
                total_steps = event["batches"] * config.epochs
                if not args.quiet:
                    augmented = "" if config.augment == "off" else f", {config.augment} augmentation"
                    print(f"training {spec.label(plan.text)} on {len(ytr):,} images: {config.epochs} "
                          f"epoch{'s' if config.epochs > 1 else ''} of {event['batches']:,} batches{augmented}",
                          file=sys.stderr, flush=True)
            elif kind == "batch":
                bar.update(event["step"], total_steps,
                           f"epoch {event['epoch']}/{config.epochs} loss {event['loss']:.4f} "
                           f"{event['samples_per_s']:,.0f} samples/s")
            elif kind == "epoch":
                finished = (event, {k: v.copy() for k, v in net.parameters.items()})
                record = {k: event[k] for k in ("epoch", "loss", "train_acc", "val_acc", "test_acc", "elapsed_s")}
                if args.log_json:
                    print(json.dumps(record), flush=True)
                elif not bar.live and not args.quiet:
                    print(f"epoch {event['epoch']}: loss {event['loss']:.4f} train {event['train_acc']:.4f} "
                          f"val {_acc(event['val_acc'])} test {_acc(event['test_acc'])} ({event['elapsed_s']:.1f} s)",
                          file=sys.stderr, flush=True)
            elif kind == "done":
                done = event
    except KeyboardInterrupt:
        bar.close()
        if finished is None:
            print("pynet: interrupted before the first epoch ended; nothing was saved", file=sys.stderr)
            return 130
        event, net.parameters = finished
        if not args.out:
            print(f"pynet: interrupted after epoch {event['epoch']}; nothing was saved (no --out given)",
                  file=sys.stderr)
            return 130
        serialize.save(net, args.out, {**metadata, "epochs_run": event["epoch"], "test_acc": event["test_acc"],
                                       "end": "interrupted"})
        print(f"pynet: interrupted; saved the model of epoch {event['epoch']} to {args.out}", file=sys.stderr)
        return 130
    bar.close()
    if done["reason"] == "diverged" and done["epochs_run"] == 0:
        print(f"pynet: {done['cause']} {done['where']}: the learning rate {config.learning_rate:g} is too high; "
              f"no epoch finished, so nothing was saved; try a lower --lr", file=sys.stderr)
        return 1
    result = net.evaluate(xte.T, yte)
    print(f"{done['message']}; test accuracy {result['accuracy']:.4f}", file=sys.stderr)
    if args.out:
        serialize.save(net, args.out, {**metadata, "epochs_run": done["epochs_run"], "test_acc": result["accuracy"],
                                       "end": done["reason"]})
        what = f"the model of epoch {done['epochs_run']}" if done["reason"] == "diverged" else "the model"
        print(f"saved {what} to {args.out}", file=sys.stderr)
    return 1 if done["reason"] == "diverged" else 0


def _acc(value):
    return "-" if value is None else f"{value:.4f}"


def cmd_evaluate(args):
    try:
        net = serialize.load(args.model, expect_io=(N_INPUTS, N_CLASSES))
    except OSError as e:
        raise CliError(f"cannot read {args.model}: {e.strerror}") from None
    except ValueError as e:
        raise CliError(str(e)) from None
    yours = None
    if args.samples:
        try:
            yours = samples.load_samples(args.samples)
        except OSError as e:
            raise CliError(f"cannot read {args.samples}: {e.strerror}") from None
    (_, _), (xva, yva), (xte, yte) = data.load_data(args.data)
    out = {"model": args.model, "network": net.spec, "dimensions": net.dimensions,
           "validation_acc": net.evaluate(xva.T, yva)["accuracy"], "test_acc": net.evaluate(xte.T, yte)["accuracy"]}
    if yours is not None:
        out.update(samples=args.samples, samples_count=int(yours[1].size), samples_acc=samples.accuracy(net, *yours))
    print(json.dumps(out))
    return 0


def cmd_seed(args):
    """The seed's exact recipe: [784, 45, 10], lr 0.0075, full-batch GD on the first 5,000 images."""
    if args.out:
        check_out_path(args.out)
    train_x, train_y, test_x, test_y = data.data_wrapper(args.data)
    X, Y = train_x[:, : args.train_size], train_y[:, : args.train_size]
    start = time.perf_counter()
    dims = [N_INPUTS, int(SEED_RECIPE["network"]), N_CLASSES]
    parameters = L_layer_model(X, Y, dims, learning_rate=SEED_RECIPE["learning_rate"], num_iterations=args.iterations,
                                    print_loss=True)
    elapsed = time.perf_counter() - start
    train_acc = core.accuracy(core.predict(X, Y, parameters), Y)
    test_acc = core.accuracy(core.predict(test_x, test_y, parameters), test_y)
    print(f"Accuracy (train): {train_acc:.4f}")
    print(f"Accuracy (test, the seed's validation split): {test_acc:.4f}")
    print(f"Trained in {elapsed:.1f} s")
    if args.out:
        net = Network.from_parameters(parameters)
        serialize.save(net, args.out, {"recipe": "seed", "train_acc": train_acc, "test_acc": test_acc})
    return 0


def cmd_data(args):
    path = data.fetch(args.dest)
    print(path)
    if args.export:
        for p in data.export_npz(args.export, path):
            print(p)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="pynet", description="Train and evaluate pynet networks on MNIST.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a network on MNIST (default: >= 98%% test accuracy)")
    t.add_argument("--dims", help="layer sizes, e.g. 784,128,10 (default "
                                  + ",".join(map(str, CLI_DEFAULT["dims"])) + ")")
    t.add_argument("--net", metavar="SPEC", help="the network as a spec, e.g. 'conv 8@5x5, pool 2, dense 128, dense 10' "
                                                 "(instead of --dims)")
    t.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu", help="hidden activation")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=CLI_DEFAULT["optimizer"])
    t.add_argument("--lr", type=float, default=CLI_DEFAULT["learning_rate"], help="learning rate (default %(default)s)")
    t.add_argument("--schedule", choices=SCHEDULES, default=CLI_DEFAULT["schedule"])
    t.add_argument("--l2", type=float, default=CLI_DEFAULT["l2"], help="L2 weight decay (default %(default)s)")
    t.add_argument("--epochs", type=int, default=CLI_DEFAULT["epochs"])
    t.add_argument("--batch-size", type=int, default=CLI_DEFAULT["batch_size"], help="0 = full batch")
    t.add_argument("--train-size", type=int, default=None, help="use the first N training images")
    t.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed")
    t.add_argument("--dropout", type=float, default=0.0,
                   help="dropout rate after each hidden layer while training (default 0: none)")
    t.add_argument("--augment", nargs="?", const="affine", default="off", choices=AUGMENTATIONS,
                   help="randomly distort each training batch: affine (rotation, scale, shift; the same as "
                        "--augment alone) or elastic (affine and a smooth random warp); default off")
    t.add_argument("--patience", type=int, default=0, help="early stop after N epochs without validation gain")
    t.add_argument("--dtype", choices=DTYPES, default="float32")
    t.add_argument("--out", help="save the model to this .npz file")
    t.add_argument("--log-json", action="store_true", help="print one JSON object per epoch on stdout")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--data", help="path to mnist.pkl.gz (default: the verified cached copy)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="accuracy of a saved model on the validation and test sets")
    e.add_argument("model")
    e.add_argument("--data", help="path to mnist.pkl.gz")
    e.add_argument("--samples", metavar="FILE", help="also its accuracy on your own samples (a samples file "
                                                      "exported from the page, pynet.samples)")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("seed", help="the seed's exact recipe: [784,45,10], lr 0.0075, 2000 GD iterations on 5,000 images")
    s.add_argument("--iterations", type=int, default=SEED_RECIPE["epochs"])
    s.add_argument("--train-size", type=int, default=SEED_RECIPE["train_size"])
    s.add_argument("--out", help="save the model to this .npz file")
    s.add_argument("--data", help="path to mnist.pkl.gz")
    s.set_defaults(func=cmd_seed)

    d = sub.add_parser("data", help="download and verify mnist.pkl.gz; optionally export uint8 .npz files")
    d.add_argument("--dest", help="where to keep mnist.pkl.gz (default: $PYNET_CACHE or ~/.cache/pynet)")
    d.add_argument("--export", metavar="DIR", help="write mnist-small.npz and mnist-full.npz here")
    d.set_defaults(func=cmd_data)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as e:
        parser.exit(2, f"pynet: error: {e}\n")
    except (ValueError, RuntimeError) as e:
        parser.exit(2, f"pynet: error: {e}\n")
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        parser.exit(2, f"pynet: error: {where}{e.strerror or e}\n")
    except MemoryError:
        parser.exit(2, "pynet: error: not enough memory for this network or data\n")
    except KeyboardInterrupt:
        parser.exit(130, "pynet: interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
