"""One contender's native training run, in a fresh process of its own (benchmarks/peers.py starts
it with the Python that has the contender: pynet's venv, or .cache/peers/venv for scikit-learn).

    python native_child.py CONTENDER RECIPE_JSON DATA_DIR

Trains a fresh 784-h-10 network (ReLU, softmax, cross-entropy, Adam, batch 128) on the 50,000
training images for recipe["epochs"] full epochs and prints one line: RESULT {json} with each
epoch's seconds. Only NumPy and the contender are imported; pixels are k/256 for all.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np


def pynet_epochs(images, labels, r):
    """pynet's Network.train, as `pynet train` runs it: uint8 images (784, m) in, float32 batches."""
    from pynet.model import Network, TrainConfig

    cfg = TrainConfig(epochs=r["epochs"], batch_size=r["batch"], optimizer="adam", learning_rate=r["lr"],
                      l2=r["l2"], seed=0).validated()
    net = Network([784, r["hidden"], 10], seed=0, dtype="float32")
    X = np.ascontiguousarray(images.T)
    seconds, last = [], 0.0
    for event in net.train(X, labels, cfg):
        if event["type"] == "epoch":  # no evaluation sets given: train_s is all of the epoch's time
            seconds.append(event["train_s"] - last)
            last = event["train_s"]
    return seconds, {"numpy": np.__version__}


def sklearn_epochs(images, labels, r):
    """scikit-learn's MLPClassifier, one partial_fit (one shuffled pass in mini-batches) per epoch.

    alpha is pynet's l2 times the batch size: scikit-learn adds alpha * W / batch to the gradient
    of the batch's mean loss, pynet l2 * W.
    """
    import sklearn
    from sklearn.neural_network import MLPClassifier

    X = images.astype(np.float32) / np.float32(256)  # (m, 784) float32: MLPClassifier keeps float32
    clf = MLPClassifier(hidden_layer_sizes=(r["hidden"],), activation="relu", solver="adam", alpha=r["l2"] * r["batch"],
                        batch_size=r["batch"], learning_rate_init=r["lr"], shuffle=True, random_state=0)
    classes = np.arange(10)
    seconds = []
    for _ in range(r["epochs"]):
        t = time.perf_counter()
        clf.partial_fit(X, labels, classes=classes)
        seconds.append(time.perf_counter() - t)
    assert clf.coefs_[0].dtype == np.float32
    return seconds, {"sklearn": sklearn.__version__, "numpy": np.__version__}


def torch_epochs(images, labels, r):
    """PyTorch on the CPU, one thread: the usual loop (randperm, Adam; weight_decay is the L2)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    X = torch.from_numpy(images).float() / 256
    y = torch.from_numpy(labels.astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, r["hidden"]), torch.nn.ReLU(), torch.nn.Linear(r["hidden"], 10))
    opt = torch.optim.Adam(model.parameters(), lr=r["lr"], weight_decay=r["l2"])
    seconds = []
    for _ in range(r["epochs"]):
        t = time.perf_counter()
        order = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], r["batch"]):
            idx = order[i:i + r["batch"]]
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t)
    return seconds, {"torch": torch.__version__}


CONTENDERS = {"pynet": pynet_epochs, "sklearn": sklearn_epochs, "torch": torch_epochs}


def main():
    contender, recipe, data_dir = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    images = np.load(data_dir / "train-x.npy")  # (m, 784) uint8
    labels = np.load(data_dir / "train-y.npy")
    seconds, versions = CONTENDERS[contender](images, labels, recipe)
    print("RESULT " + json.dumps({"seconds": seconds, "samples": int(labels.shape[0]), "versions": versions}))


if __name__ == "__main__":
    main()
