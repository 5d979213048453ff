"""The command line: real runs of `python -m pynet` on MNIST, and one-line errors for bad arguments."""

import json
import subprocess
import sys

import pytest

from pynet import serialize
from pynet.cli import build_parser

pytestmark = pytest.mark.not_in_pyodide("the command line runs in a subprocess, which Pyodide lacks")


def pynet_cli(*args):
    return subprocess.run([sys.executable, "-m", "pynet", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--dims", "784"], "needs an input size and at least one layer"),
        (["train", "--dims", "784,0,10"], "dimensions[1] must be at least 1"),
        (["train", "--dims", "784,abc,10"], "comma-separated whole numbers"),
        (["train", "--dims", "100,10"], "must start with 784"),
        (["train", "--lr", "0"], "learning rate must be a finite number above 0"),
        (["train", "--lr", "nan"], "learning rate must be a finite number above 0"),
        (["train", "--epochs", "0"], "epochs must be a whole number of at least 1"),
        (["train", "--batch-size", "-5"], "batch_size must be a whole number of at least 0"),
        (["train", "--train-size", "0"], "--train-size must be between 1 and 50000"),
        (["train", "--optimizer", "foo"], "invalid choice: 'foo'"),
        (["train", "--augment", "twist"], "argument --augment: invalid choice: 'twist'"),
        (["evaluate", "/nonexistent/model.npz"], "cannot read /nonexistent/model.npz"),
        (["train", "--dims", "784,10", "--net", "784,10"], "either as --dims or as --net, not both"),
        (["train", "--net", "conv 8@5x5, pool 5, dense 10"],
         "--net: layer 2 (pool 5): pooling by 5 does not divide its 24x24 input"),
        (["train", "--net", "conv 8@5x5, pool 2, dense 12"], "--net: the last layer must be dense 10"),
        (["train", "--net", "conv 8@5x5, pol 2, dense 10"], "--net: layer 2 (pol 2): unknown layer"),
        (["train", "--net", "conv 8@5, dense 10"], "--net: layer 1 (conv 8@5): write a convolution as conv F@KxK"),
        (["train", "--net", "input 3@32x32, conv 8@5x5, dense 10"], "--net: the input must be MNIST's 1@28x28 image"),
        (["train", "--net", "100,10"], "--net: the input must be MNIST's 1@28x28 image (784 values), got 100"),
        (["train", "--net", "784,0,10"], "--net: 784, 0, 10: dimensions[1] must be at least 1"),
        (["train", "--net", " "], "--net: a network spec must be text such as"),
        (["train", "--net", "conv 9000@5x5, conv 9000@5x5, dense 10"],
         "a conv 9000@5x5, conv 9000@5x5, dense 10 network needs about 133.3 GiB to train"),
    ],
)
def test_bad_arguments_give_one_line_error_and_exit_2(args, fragment, mnist_path):
    result = pynet_cli(*args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("pynet")]
    assert fragment in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_train_log_json_save_and_evaluate(tmp_path, mnist_path):
    out = tmp_path / "model.npz"
    result = pynet_cli("train", "--dims", "784,32,10", "--epochs", "2", "--train-size", "5000",
                       "--batch-size", "64", "--lr", "0.003", "--log-json", "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "loss", "train_acc", "val_acc", "test_acc", "elapsed_s"}
    assert records[1]["loss"] < records[0]["loss"]
    assert records[1]["test_acc"] > 0.85
    net = serialize.load(out)
    assert net.dimensions == [784, 32, 10]
    assert net.metadata["test_acc"] == pytest.approx(records[1]["test_acc"])

    evaluated = pynet_cli("evaluate", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads(evaluated.stdout)
    assert summary["test_acc"] == pytest.approx(records[1]["test_acc"])


def test_train_a_conv_spec_save_and_evaluate(tmp_path, mnist_path):
    out = tmp_path / "conv.npz"
    result = pynet_cli("train", "--net", "conv 4@5x5, pool 4, dense 10", "--epochs", "1", "--train-size", "2000",
                       "--batch-size", "50", "--lr", "0.003", "--schedule", "constant", "--out", str(out))
    assert result.returncode == 0, result.stderr
    header = result.stderr.splitlines()[0]
    assert header == "training conv 4@5x5, pool 4, dense 10 on 2,000 images: 1 epoch of 40 batches"
    net = serialize.load(out)
    assert net.spec == "conv 4@5x5, pool 4, dense 10"
    assert net.dimensions == [784, 4 * 24 * 24, 10]

    evaluated = pynet_cli("evaluate", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads(evaluated.stdout)
    assert summary["network"] == "conv 4@5x5, pool 4, dense 10"
    assert summary["dimensions"] == [784, 2304, 10]
    assert summary["test_acc"] == pytest.approx(net.metadata["test_acc"])
    assert summary["test_acc"] > 0.5  # 40 batches: far above chance (0.1)


def test_net_takes_a_dense_spec_as_dims_does(tmp_path, mnist_path):
    runs = [pynet_cli("train", option, "784,16,10", "--epochs", "1", "--train-size", "500", "--log-json", "--quiet")
            for option in ("--dims", "--net")]
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr
    assert runs[0].stdout.split('"elapsed_s"')[0] == runs[1].stdout.split('"elapsed_s"')[0]


def test_evaluate_refuses_a_malformed_model(tmp_path, mnist_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a model")
    result = pynet_cli("evaluate", str(bad))
    assert result.returncode == 2
    assert "not a valid pynet model file" in result.stderr


def test_seed_command_runs_the_seed_recipe(mnist_path):
    result = pynet_cli("seed", "--iterations", "101", "--train-size", "1000")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Loss after iteration 0: 2.4")
    assert lines[1].startswith("Loss after iteration 100: ")
    assert float(lines[1].split(": ")[1]) < float(lines[0].split(": ")[1])
    assert any(line.startswith("Accuracy (train): ") for line in lines)


def test_augment_option():
    parse = build_parser().parse_args
    assert parse(["train"]).augment == "off"
    assert parse(["train", "--augment"]).augment == "affine"
    assert parse(["train", "--augment", "elastic", "--epochs", "2"]).augment == "elastic"


def test_train_with_augmentation_says_so_and_keeps_it_in_the_model(tmp_path, mnist_path):
    out = tmp_path / "model.npz"
    result = pynet_cli("train", "--dims", "784,32,10", "--epochs", "1", "--train-size", "3000", "--lr", "0.003", "--batch-size", "32",
                       "--augment", "--out", str(out))
    assert result.returncode == 0, result.stderr
    header = result.stderr.splitlines()[0]
    assert header == "training 784-32-10 on 3,000 images: 1 epoch of 94 batches, affine augmentation"
    net = serialize.load(out)
    assert net.metadata["config"]["augment"] == "affine" and net.metadata["test_acc"] > 0.5  # it learned (chance: 0.1)
