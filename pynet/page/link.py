"""A link's training settings (the page's address after '#'), checked as the form checks them.

A link names the form's fields in the form's own words ('network=128&learning_rate=0.01'); it may
name a preset, which gives the fields it leaves out (the default preset when it names none). The
page writes every field, so a link reproduces its settings exactly even after a preset has changed.
The settings as a whole go through the form's own check (form.check_config), so a bad value in a
link gets the sentence the Train button gives for it. Nothing here evaluates the link's text.
"""

from urllib.parse import parse_qsl

from ..errors import SettingError
from ..settings import DEFAULT_PRESET, MAX_LINK_CHARS, PRESETS
from .form import check_config
from .state import as_py

FIELDS = ("network", "activation", "optimizer", "learning_rate", "epochs", "batch_size", "train_size", "seed",
          "dataset", "schedule", "augment")  # the training form's fields (web/ui.js FIELDS)


def read_link(text):
    """The training settings a link gives, checked.

    text: the address after '#' ('' for none): 'key=value' pairs joined by '&', percent-encoded,
    '+' for a space. Text without '=' is not settings but a place in the page: None then.
    Returns {'preset': the preset the form starts from, 'given': {field: the link's text for it}}
    (the fields in the link's order). Raises SettingError (its field) for a bad value, as the
    form would; ValueError for a link that is not one of the page's (too long, an unknown or a
    repeated name). Nothing is changed either way.
    """
    text = "" if text is None else str(as_py(text))
    if len(text) > MAX_LINK_CHARS:
        raise ValueError(f"its settings are {len(text):,} characters long; a pynet link has at most "
                         f"{MAX_LINK_CHARS:,}")
    if "=" not in text:
        return None
    preset, given = None, {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key != "preset" and key not in FIELDS:
            raise ValueError(f"it names {_shown(key)}, which is not a setting; its settings are "
                             f"preset, {', '.join(FIELDS)}")
        if key in given or (key == "preset" and preset is not None):
            raise SettingError(key, f"it gives {key} twice")
        if key == "preset":
            if value not in PRESETS:
                raise SettingError("preset", f"preset must be one of {', '.join(PRESETS)}, got {_shown(value)}")
            preset = value
        else:
            given[key] = value
    preset = preset or DEFAULT_PRESET
    # a preset is a whole recipe: what it does not name (augmentation) is off (web/form.js)
    check_config({"augment": "off", **PRESETS[preset], **given})
    return {"preset": preset, "given": given}


def _shown(text):
    """A name or value of a link quoted in a message, cut short when long."""
    return repr(text if len(text) <= 40 else text[:37] + "...")
