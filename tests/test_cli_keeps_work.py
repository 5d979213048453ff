"""The command line never throws trained work away and never ends in a traceback: it checks
where it will write before training, keeps the last finished epoch on Ctrl-C, saves nothing
false on divergence, and turns bad arguments and files into one line and a non-zero exit."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import pynet
from pynet import serialize

pytestmark = pytest.mark.not_in_pyodide("the command line runs in a subprocess, which Pyodide lacks")

SMALL = ["--dims", "784,16,10", "--train-size", "1000", "--batch-size", "100", "--schedule", "constant",
         "--l2", "0", "--quiet"]


def pynet_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "pynet", *args], capture_output=True, text=True, timeout=600,
                          **kwargs)


def one_line_error(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("out, words", [
    ("{tmp}/no-such-folder/m.npz", "does not exist"),
    ("{tmp}", "is a folder"),
    ("{tmp}/a-file/m.npz", "does not exist"),
])
def test_an_unwritable_out_is_refused_before_training(tmp_path, mnist_path, out, words):
    (tmp_path / "a-file").write_text("not a folder")
    out = out.format(tmp=tmp_path)
    result = pynet_cli("train", *SMALL, "--epochs", "1", "--data", str(mnist_path), "--out", out)
    line = one_line_error(result)
    assert words in line and "--out" in line, line
    assert result.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written, no probe left


def test_seed_checks_its_out_before_training(tmp_path, mnist_path):
    result = pynet_cli("seed", "--iterations", "2000", "--data", str(mnist_path), "--out", str(tmp_path / "x" / "m.npz"))
    assert "does not exist" in one_line_error(result)


@pytest.mark.parametrize("args, words", [
    (["train", "--dims", "784,1000000000,10"], "GiB to train"),
    (["train", "--data", "/no/such/mnist.pkl.gz"], "/no/such/mnist.pkl.gz"),
    (["evaluate", "/no/such/model.npz"], "cannot read /no/such/model.npz"),
    (["seed", "--iterations", "-5"], "num_iterations must be a whole number of at least 0"),
    (["train", "--dropout", "1.5"], "dropout rate must be a number in [0, 1)"),
])
def test_bad_arguments_give_one_line(args, words):
    line = one_line_error(pynet_cli(*args))
    assert line.startswith("pynet: error:") and words in line, line


def test_a_run_that_diverges_in_its_first_epoch_saves_nothing(tmp_path, mnist_path):
    out = tmp_path / "m.npz"
    result = pynet_cli("train", *SMALL, "--optimizer", "sgd", "--lr", "1000", "--epochs", "2",
                       "--data", str(mnist_path), "--out", str(out))
    assert result.returncode == 1
    assert "no epoch finished, so nothing was saved" in result.stderr, result.stderr
    assert "last good epoch was kept" not in result.stderr
    assert not out.exists()


def test_save_replaces_a_file_only_with_a_complete_one(tmp_path, monkeypatch):
    net = pynet.Network([4, 3, 2], seed=1)
    path = tmp_path / "m.npz"
    serialize.save(net, path)
    before = path.read_bytes()
    other = pynet.Network([4, 5, 2], seed=2)
    monkeypatch.setattr(serialize.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError):
        serialize.save(other, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # the partial file was removed
    monkeypatch.undo()
    serialize.save(other, path)
    assert serialize.load(path).dimensions == [4, 5, 2]
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode == plain.stat().st_mode  # an ordinary file, as open() makes it


def hear_ctrl_c():
    """In the child, before Python starts: SIGINT back to its default disposition. A job started
    in the background by a non-interactive shell (nohup, `cmd &`) ignores SIGINT, the ignoring is
    inherited, and Python then installs no KeyboardInterrupt handler: Ctrl-C would go unheard."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_the_last_finished_epoch(tmp_path, mnist_path):
    """Interrupt after the first epoch has been reported: the file holds exactly the model of
    the last finished epoch, the same as an uninterrupted run of that many epochs."""
    out = tmp_path / "m.npz"
    args = [sys.executable, "-m", "pynet", "train", *SMALL, "--epochs", "100000", "--log-json",
            "--data", str(mnist_path), "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=hear_ctrl_c)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["epoch"] == 1
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    saved = serialize.load(out)
    epochs = saved.metadata["epochs_run"]
    assert epochs >= 1 and f"saved the model of epoch {epochs} to {out}" in err, err
    assert saved.metadata["end"] == "interrupted"

    again = tmp_path / "again.npz"
    result = pynet_cli("train", *SMALL, "--epochs", str(epochs), "--data", str(mnist_path), "--out", str(again))
    assert result.returncode == 0, result.stderr
    reference = serialize.load(again)
    for name, value in reference.parameters.items():
        np.testing.assert_array_equal(saved.parameters[name], value, err_msg=name)


def test_ctrl_c_before_the_first_epoch_says_nothing_was_saved(tmp_path, mnist_path):
    out = tmp_path / "m.npz"
    args = [sys.executable, "-m", "pynet", "train", "--dims", "784,16,10", "--batch-size", "1", "--epochs", "1",
            "--data", str(mnist_path), "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=hear_ctrl_c)
    try:
        # the run has started (50,000 batches of one image: the first epoch is far from over)
        assert proc.stderr.readline().startswith("training 784-16-10 on 50,000 images: 1 epoch of 50,000 batches")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted before the first epoch ended; nothing was saved" in err, err
    assert not out.exists()
