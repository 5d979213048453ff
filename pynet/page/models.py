"""The page's one model in use, and a trained model on offer: every change is complete or none.

The model in use reads the drawings; it changes only when a new one is whole and valid (a
model file that passes every check, a completed run, the default again, or the offer taken).
A stopped or diverged run, or one that ended after the model in use had changed, leaves its
network on offer (``trained``) until the user takes it or keeps the current one.
"""

from .. import serialize, spec
from ..settings import MAX_MODEL_BYTES, MAX_MODEL_LAYERS, MAX_SAMPLE_VALUES, N_CLASSES, N_INPUTS
from .state import STATE, as_bytes


def views(net):
    """The layers of net that the page shows (conv, pool, dense, the output last):
    [(index in net.layers, name such as 'conv 8@5x5', output shape of one image)]."""
    return spec.plan(net.spec, net.hidden_activation).views


def describe(net, name):
    """What the page shows of a model: its name, its layers ('label': 784-128-10 for a dense
    network, else its spec; 'layers': [{'name', 'kind', 'shape'}] each layer's output for one
    image), its parameter count. Its metadata comes from a file: only an accuracy that is a
    number between 0 and 1 is shown."""
    acc = net.metadata.get("test_acc")
    if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 1:
        acc = None
    return {"name": name, "dimensions": list(net.dimensions), "hidden_activation": net.hidden_activation,
            "test_acc": None if acc is None else float(acc), "spec": net.spec,
            "label": spec.label(net.spec),
            "parameters": int(sum(p.size for p in net.parameters.values())),
            "layers": [{"name": text, "kind": text.split()[0], "shape": list(shape)} for _, text, shape in views(net)]}


def _fits(net):
    """net, refused with ValueError when one image through its layers takes more than the page allows."""
    values = spec.plan(net.spec, net.hidden_activation).values
    if values > MAX_SAMPLE_VALUES:
        mb = 4 / 2**20
        raise ValueError(f"its layers need about {values * mb:,.0f} MB for one image, more than the "
                         f"{MAX_SAMPLE_VALUES * mb:,.0f} MB a model may take here")
    return net


def set_model(net, name):
    """Make net the current model; everything about it is worked out before anything changes."""
    info = describe(net, name)
    STATE["model"] = net
    STATE["model_info"] = info
    STATE["last_eval"] = STATE["partial_eval"] = None
    return info


def load_default_model(data):
    """Load the site's default model (bytes of a .npz model file); it becomes the current model."""
    net = serialize.from_bytes(as_bytes(data), expect_io=(N_INPUTS, N_CLASSES))
    STATE["default"] = net
    return set_model(net, "default")


def load_model(data, name="uploaded"):
    """Load a model file (uploaded or saved in the browser); refused with ValueError (the
    current model kept) if invalid."""
    net = serialize.from_bytes(as_bytes(data), expect_io=(N_INPUTS, N_CLASSES), max_bytes=MAX_MODEL_BYTES,
                               max_layers=MAX_MODEL_LAYERS)
    return set_model(_fits(net), str(name)[:40])


def save_model():
    """The current model as the bytes of a .npz model file."""
    net = current()
    return serialize.to_bytes(net, {"saved_from": "pynet browser"})


def model_info():
    return dict(STATE["model_info"])


def current():
    if STATE["model"] is None:
        raise ValueError("no model is loaded yet")
    return STATE["model"]


def trained(net, completed, base, last_eval, end):
    """A training run's network, once the run has ended. It becomes the model in use when the
    run completed (or stopped early at its best) and the model in use is still base, the one
    in use when the run started; otherwise (stopped, diverged, or the model in use changed during
    the run: an upload, a restore, the default again) it is offered, described with end
    ({'reason', 'epochs_run', 'steps_run'}), and the model in use stays. last_eval: the run's
    evaluation of this network on the test set, or None. Returns the model in use's info."""
    if completed and STATE["model"] is base:
        info = set_model(net, "trained")
        STATE["last_eval"] = last_eval
        return info
    info = describe(net, "trained")
    info.update(end)
    STATE["offer"] = {"net": net, "info": info, "last_eval": last_eval}
    return model_info()


def offer_info():
    """The trained model on offer (see trained): its info, with the run's end ('reason'),
    epochs_run and steps_run; None when there is none."""
    offer = STATE["offer"]
    return None if offer is None else dict(offer["info"])


def use_offered():
    """Make the model on offer the current one; returns its info."""
    offer = STATE["offer"]
    if offer is None:
        raise ValueError("no trained model is waiting to be used")
    info = set_model(offer["net"], "trained")
    STATE["last_eval"] = offer["last_eval"]
    STATE["offer"] = None
    return info


def discard_offer():
    """Keep the current model and drop the one on offer; returns the current model's info."""
    STATE["offer"] = None
    return model_info()


def use_default_model():
    """Make the site's default model the current one again."""
    if STATE["default"] is None:
        raise ValueError("the default model is not loaded")
    return set_model(STATE["default"], "default")

