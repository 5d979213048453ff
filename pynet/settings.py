"""pynet's recipes, defaults and limits, each written once.

Read by the command line, the browser bridge, the build (which writes ``page_settings()`` into
the site as ``settings.json`` for the page's form), the benchmarks and the tests. A recipe is a
plain dict of the page's form fields, so the same words mean the same thing everywhere.
"""

N_INPUTS = 784  # MNIST's 28 x 28 pixels
N_CLASSES = 10  # the digits

# The seed's recipe: [784, 45, 10], full-batch gradient descent on the first 5,000 images.
# "network" is the page's network field: hidden sizes ("128, 64"), a dense spec ("784,128,10")
# or a conv spec (pynet.spec); the page's older "hidden" setting means the same.
SEED_RECIPE = {"network": "45", "activation": "relu", "optimizer": "gd", "learning_rate": 0.0075,
               "epochs": 2000, "batch_size": 0, "train_size": 5000, "seed": 2, "dataset": "small",
               "schedule": "constant"}

# The page's presets: the seed's recipe, and four that reach 87%, 97%, 98% and 99% on test within
# the times PRESET_TARGETS promises in the browser (README, "Speed"), each with its title in the
# page. The 97% and 98% recipes come from benchmarks/recipes.py (recipes_results.md); their keys
# name the budgets they once had.
PRESETS = {
    "fast": {"network": "128", "activation": "relu", "optimizer": "adam", "learning_rate": 0.003, "epochs": 2,
             "batch_size": 128, "train_size": 5000, "seed": 0, "dataset": "small", "schedule": "constant"},
    "minute": {"network": "conv 8@4x4 stride 4, dense 128, dense 10", "activation": "relu", "optimizer": "adam",
               "learning_rate": 0.015, "epochs": 2, "batch_size": 128, "train_size": 35000, "seed": 0,
               "dataset": "full", "schedule": "cosine"},
    "five": {"network": "conv 8@4x4 stride 4, dense 128, dense 10", "activation": "relu", "optimizer": "adam",
             "learning_rate": 0.01, "epochs": 4, "batch_size": 128, "train_size": 50000, "seed": 0, "dataset": "full",
             "schedule": "cosine"},
    "conv": {"network": "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10", "activation": "relu",
             "optimizer": "adam", "learning_rate": 0.002, "epochs": 8, "batch_size": 128, "train_size": 50000,
             "seed": 0, "dataset": "full", "schedule": "cosine"},
    "seed": SEED_RECIPE,
}
# What each preset promises in the page with one worker: (test accuracy, within seconds of
# clicking Train), measured by benchmarks/presets_page.py.
PRESET_TARGETS = {"fast": (0.87, 5), "minute": (0.97, 10), "five": (0.98, 20), "conv": (0.99, 300)}
PRESET_TITLES = {"fast": "Fast (seconds)",
                 **{name: f"{PRESET_TARGETS[name][0]:.0%} in {PRESET_TARGETS[name][1]} seconds" for name in ("minute", "five")},
                 "conv": "99% in five minutes, convolutional", "seed": "Seed recipe"}
# Full batch: each epoch is one iteration, so the page evaluates every this many.
FULL_BATCH_EVAL_EVERY = 100

# `pynet train` with no options: >= 98% test accuracy on all 50,000 training images.
CLI_DEFAULT = {"dims": [N_INPUTS, 512, N_CLASSES], "optimizer": "adam", "learning_rate": 0.0015, "epochs": 15,
               "batch_size": 128, "schedule": "cosine", "l2": 1e-4}

# The model the site ships, trained by the build: the best that trains in about a minute natively
# (README, "The default model"), small enough to load at once, good at reading drawn digits.
DEFAULT_MODEL = {"spec": "conv 16@5x5, pool 2, conv 32@5x5, pool 2, dense 128, dense 10", "epochs": 4,
                 "batch_size": 128, "optimizer": "adam", "learning_rate": 0.002, "schedule": "cosine", "seed": 0}

# What the page accepts.
MAX_LAYERS = 10  # conv, pool and dense layers of a network trained in the page, its output layer included
# What training a network may take in the page (pynet.spec.Plan.training_bytes: its parameters
# four times over, one batch's outputs and windows twice): within what a browser gives a tab, and
# small enough that the trained model's parameters (a quarter of it at most) fit a model file.
MAX_TRAINING_BYTES = 256 * 2**20
MAX_FULL_BATCH = 10_000  # images in one full batch
MAX_EPOCHS = 100_000
MAX_MODEL_LAYERS = 16  # layers of a model file loaded in the page (each hidden layer is drawn)
MAX_MODEL_BYTES = 64 * 2**20  # an uploaded model file, and what its arrays may unpack to
MAX_SHOWN_UNITS = 256  # activations of a hidden layer sent to the page
MAX_SHOWN_CHANNELS = 16  # feature maps of a conv or pooling layer sent to the page for a drawing
MAX_SAMPLE_VALUES = 2**22  # values one image may take through a model loaded in the page (16 MB in float32)
MAX_WORKERS = 4  # workers sharing a run's batches in the page (data-parallel)
STEP_BATCH = 4  # training images in the batch of the page's step-through view (pynet/page/stepper.py)
MAX_STEP_BATCH = 16  # and at most
MAX_STEP_CELLS = 64  # a heat map of the step-through view is at most this many cells a side (block means)

# The user's own samples (pynet.samples): drawings kept with their labels, in the page and in a
# samples file. Their arrays take at most MAX_SAMPLES * (784 + 8) bytes (labels of up to 64 bits).
MAX_SAMPLES = 1000  # samples kept in the page, and read from one samples file
MAX_SAMPLES_BYTES = 2**20  # a samples file, and what its arrays may unpack to
# Fine-tuning a model on the user's samples mixed with MNIST training images (pynet.samples.finetune):
# the samples trained on are repeated to make `share` of the images of each epoch, so that a few
# drawings count without the network forgetting MNIST (nothing distorted: see finetune_set). From
# `hold_out_from` samples on, every `hold_out_every`-th is kept apart to check the result on.
FINETUNE = {"mnist_images": 2000, "share": 0.2, "epochs": 2, "batch_size": 64, "optimizer": "adam",
            "learning_rate": 0.0001, "schedule": "constant", "augment": "off", "seed": 0,
            "hold_out_from": 10, "hold_out_every": 5}

# The training images of each data set the page offers, as its data files hold them (a link
# naming the full set is checked before that set is downloaded).
TRAIN_IMAGES = {"small": 5000, "full": 50000}
DEFAULT_PRESET = "fast"  # the form's preset when the page opens, and what a link's unnamed settings are
MAX_LINK_CHARS = 2000  # a link's settings (the address after '#'): several times what the page writes
MAX_HISTORY_RUNS = 50  # runs the page's run history keeps; the oldest goes when one more ends
HISTORY_POINTS = 200  # points kept of each curve of a run in the history
# The page's default number of workers (README, "Workers"; benchmarks/parallel_results.md).
DEFAULT_WORKERS = 1


def page_settings():
    """What the page's script needs, as JSON-able data (the build writes it as settings.json)."""
    return {"presets": PRESETS, "preset_menu": [[name, PRESET_TITLES[name]] for name in PRESETS],
            "full_batch_eval_every": FULL_BATCH_EVAL_EVERY, "n_classes": N_CLASSES,
            "limits": {"max_model_bytes": MAX_MODEL_BYTES, "max_shown_units": MAX_SHOWN_UNITS,
                       "max_shown_channels": MAX_SHOWN_CHANNELS, "max_workers": MAX_WORKERS,
                       "step_batch": STEP_BATCH, "max_step_batch": MAX_STEP_BATCH,
                       "max_history_runs": MAX_HISTORY_RUNS, "history_points": HISTORY_POINTS,
                       "default_workers": DEFAULT_WORKERS},
            "samples": {"max": MAX_SAMPLES, "max_bytes": MAX_SAMPLES_BYTES, "hold_out_from": FINETUNE["hold_out_from"],
                        "hold_out_every": FINETUNE["hold_out_every"]},
            "default_preset": DEFAULT_PRESET}
