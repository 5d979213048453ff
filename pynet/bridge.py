"""The browser's entry point: the only Python that the page's Web Worker calls.

``handle(name, *args)`` calls one of the page's functions (pynet/page/, a module per job) with
plain inputs (numbers, strings, dicts, bytes, or Pyodide proxies of them) and returns a
JSON-able result, or a refusal as data. The functions are also importable from here by name.

Nothing here evaluates user text: settings are checked field by field and a bad value raises
ValueError (SettingError, with its field) with a message meant for the page, leaving every
existing state as it was.
"""

from .page.analysis import cell_images, evaluate_test, first_layer, misclassified
from .page.datasets import dataset_summary, has_dataset, load_dataset, samples
from .page.form import describe_network
from .page.link import read_link
from .page.models import (discard_offer, load_default_model, load_model, model_info, offer_info, save_model,
                          use_default_model, use_offered)
from .page.reading import predict
from .page.samples import read_samples, sample_levels, samples_file, start_finetune
from .page.runs import helper_gradients, helper_start, start_training, step, stop_training, warm_up, warm_up_done
from .page.stepper import step_detail, step_through
from .page.why import explain

# ---- the worker's one way in ----------------------------------------------------------------

_CALLS = {f.__name__: f for f in (
    cell_images, dataset_summary, describe_network, discard_offer, evaluate_test, explain, first_layer, has_dataset,
    helper_gradients, helper_start, load_dataset, load_default_model, load_model, misclassified, model_info,
    offer_info, predict, samples, save_model, start_training, step, stop_training, use_default_model, use_offered,
    step_detail, step_through, warm_up, warm_up_done, read_samples, sample_levels, samples_file, start_finetune,
    read_link)}


def handle(name, *args):
    """Call the bridge function `name` with args; a refusal comes back as data, never as text
    to be parsed: {'value': its result} or {'error': {'message': one sentence for a person,
    'field': the setting it is about (SettingError) or None}}. Any other exception is a bug and
    propagates, with its traceback."""
    try:
        return {"value": _CALLS[name](*args)}
    except ValueError as e:
        return {"error": {"message": _sentence(e), "field": getattr(e, "field", None)}}


def _sentence(error):
    """A refusal's message as one line of reasonable length (NumPy's own texts can be long)."""
    text = " ".join(str(error).split()) or error.__class__.__name__
    return text if len(text) <= 300 else text[:297] + "..."
