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
# 5 s, one minute and five minutes in the browser (README, "Speed"), each with its title in the page.
PRESETS = {
    "fast": {"network": "128", "activation": "relu", "optimizer": "adam", "learning_rate": 0.003, "epochs": 2,
             "batch_size": 128, "train_size": 5000, "seed": 0, "dataset": "small", "schedule": "constant"},
    "minute": {"network": "128", "activation": "relu", "optimizer": "adam", "learning_rate": 0.003, "epochs": 4,
               "batch_size": 128, "train_size": 50000, "seed": 0, "dataset": "full", "schedule": "cosine"},
    "five": {"network": "256, 128", "activation": "relu", "optimizer": "adam", "learning_rate": 0.002, "epochs": 8,
             "batch_size": 128, "train_size": 50000, "seed": 0, "dataset": "full", "schedule": "cosine"},
    "conv": {"network": "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10", "activation": "relu",
             "optimizer": "adam", "learning_rate": 0.002, "epochs": 8, "batch_size": 128, "train_size": 50000,
             "seed": 0, "dataset": "full", "schedule": "cosine"},
    "seed": SEED_RECIPE,
}
# What each preset promises in the page with one worker: (test accuracy, within seconds of
# clicking Train), measured by benchmarks/presets_page.py.
PRESET_TARGETS = {"fast": (0.87, 5), "minute": (0.97, 60), "five": (0.98, 300), "conv": (0.99, 300)}
PRESET_TITLES = {"fast": "Fast (seconds)", "minute": "97% in a minute", "five": "98% in five minutes",
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
# The page's default number of workers (README, "Workers"; benchmarks/parallel_results.md).
DEFAULT_WORKERS = 1


def page_settings():
    """What the page's script needs, as JSON-able data (the build writes it as settings.json)."""
    return {"presets": PRESETS, "preset_menu": [[name, PRESET_TITLES[name]] for name in PRESETS],
            "full_batch_eval_every": FULL_BATCH_EVAL_EVERY, "n_classes": N_CLASSES,
            "limits": {"max_model_bytes": MAX_MODEL_BYTES, "max_shown_units": MAX_SHOWN_UNITS,
                       "max_shown_channels": MAX_SHOWN_CHANNELS, "max_workers": MAX_WORKERS,
                       "default_workers": DEFAULT_WORKERS}}
