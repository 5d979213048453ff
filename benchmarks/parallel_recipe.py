"""What k workers' recipe does to accuracy, natively: test accuracy after each epoch of a page
preset with one worker, and with 2 workers' recipe (steps of 2 batches; the learning rate
unscaled, x sqrt 2, and x 2 as pynet.trainer.parallel_config has it), trained through the
trainer's shards path with the other shard answered in this process.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/parallel_recipe.py [minute five]
"""

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from pynet.model import Network
from pynet.page.datasets import load_dataset, loaded_dataset
from pynet.page.form import check_config
from pynet.settings import PRESETS
from pynet.trainer import Trainer, parallel_config, shard_gradients

DATA = Path(__file__).resolve().parents[1] / ".cache" / "data" / "mnist-full.npz"  # build/fetch.py's


def run(preset, workers, lr_scale):
    """Train the preset with `workers` workers' batches at lr_scale times the preset's rate; print a line."""
    plan, activation, _, _, tc = check_config(PRESETS[preset])
    tc = replace(parallel_config(tc, workers), learning_rate=tc.learning_rate * lr_scale)
    d = loaded_dataset("full")
    X, y = d["train"][0].T, d["train"][1]
    net = Network(plan.dimensions, hidden_activation=activation, seed=tc.seed, dtype="float32")
    helper = Network(plan.dimensions, hidden_activation=activation, seed=tc.seed, dtype="float32")
    gen = Trainer(net, X, y, tc, test=(d["test"][0].T, d["test"][1]), shards=workers).run()
    reply, accs, t0 = None, [], time.perf_counter()
    while True:
        try:
            event = gen.send(reply)
        except StopIteration:
            break
        reply = None
        if event["type"] == "gradients":
            helper.load_flat_parameters(event["parameters"])
            answers = [shard_gradients(helper, X, y, idx, tc, event["step"]) for idx in event["shards"]]
        elif event["type"] == "awaiting":
            reply = answers
        elif event["type"] == "epoch":
            accs.append(round(100 * event["test_acc"], 2))
    print(json.dumps({"preset": preset, "workers": workers, "batch": tc.batch_size, "learning_rate": tc.learning_rate,
                      "test_acc_per_epoch": accs, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


def main(presets):
    load_dataset("full", DATA.read_bytes())
    for preset in presets:
        run(preset, 1, 1)
        for lr_scale in (1, 2 ** 0.5, 2):  # times the preset's rate; parallel_config's is x 2
            run(preset, 2, lr_scale)


if __name__ == "__main__":
    main(sys.argv[1:] or ["minute", "five"])
