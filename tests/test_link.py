"""A link's settings (pynet/page/link.py): read as the page writes them, and every bad value refused
with the very sentence and field the form's Train button gives for it (the bridge's answer to
start_training with the same settings)."""

import io
from urllib.parse import quote_plus

import numpy as np
import pytest

from pynet import bridge, settings
from pynet.errors import SettingError
from pynet.page.link import FIELDS, read_link
from pynet.page.state import STATE

FAST = {"augment": "off", **settings.PRESETS["fast"]}


@pytest.fixture(autouse=True)
def no_data_loaded():
    """As in a page whose data sets are not loaded yet: their sizes come from settings.TRAIN_IMAGES."""
    saved = dict(STATE["datasets"])
    STATE["datasets"].clear()
    yield
    STATE["datasets"].clear()
    STATE["datasets"].update(saved)


def link(**values):
    """The text after '#' of a link to values, as web/share.js writes it (quote_plus: '+' for a space)."""
    return "&".join(f"{k}={quote_plus(str(v), safe=',@:/')}" for k, v in values.items())


def test_text_that_is_not_settings_is_a_place_in_the_page():
    assert read_link("") is None
    assert read_link(None) is None
    assert read_link("history-title") is None


def test_every_field_as_the_page_writes_it():
    values = {"network": "conv 8@5x5, pool 2, dense 10", "activation": "sigmoid", "optimizer": "momentum",
              "learning_rate": "0.01", "epochs": "3", "batch_size": "64", "train_size": "2000", "seed": "7",
              "dataset": "small", "schedule": "cosine", "augment": "affine"}
    assert set(values) == set(FIELDS)
    text = link(**values)
    assert "conv+8@5x5,+pool+2,+dense+10" in text  # readable in the address bar
    assert read_link(text) == {"preset": settings.DEFAULT_PRESET, "given": values}
    # percent-encoded the strict way, and with a line break (the network field takes one layer a line)
    assert read_link("network=conv%208%405x5%2C%0Adense%2010&epochs=1")["given"] == \
        {"network": "conv 8@5x5,\ndense 10", "epochs": "1"}


def test_a_preset_gives_what_the_link_leaves_out():
    assert read_link("preset=conv&epochs=3") == {"preset": "conv", "given": {"epochs": "3"}}
    assert read_link("preset=seed") == {"preset": "seed", "given": {}}
    # the preset's other values are checked with the link's: the five-minute recipe's 50,000 images
    # are more than the small data set has
    with pytest.raises(SettingError) as e:
        read_link("preset=five&dataset=small")
    assert e.value.field == "train_size" and str(e.value) == "training-set size must be between 1 and 5,000, got 50,000"


BAD = [
    ("learning_rate", "-1"), ("learning_rate", "fast"), ("learning_rate", "nan"), ("learning_rate", ""),
    ("learning_rate", "x" * 1500),  # long and hostile: the sentence is cut short as the form's is
    ("epochs", "0"), ("epochs", "2.5"), ("epochs", "1e9"), ("batch_size", "-3"), ("train_size", "5001"),
    ("seed", "-1"), ("activation", "tanh"), ("optimizer", "magic"), ("dataset", "tiny"), ("schedule", "sometimes"),
    ("augment", "rotate"), ("network", "hello"), ("network", ""), ("network", "conv 8@40x40, dense 10"),
    ("network", "1," * 700 + "1"), ("network", "<script>alert(1)</script>"), ("network", "__import__('os')"),
]


@pytest.mark.parametrize("key, value", BAD)
def test_a_bad_value_gets_the_forms_sentence_and_field(key, value):
    form = bridge.handle("start_training", {**FAST, key: value})["error"]
    assert form["field"] == key
    assert bridge.handle("read_link", link(**{key: value})) == {"error": form}
    assert len(form["message"]) <= 300


def test_the_full_data_set_is_checked_before_it_is_downloaded():
    """Its size is that of the site's file (settings.TRAIN_IMAGES) until it is loaded, then its own."""
    assert read_link("dataset=full&train_size=50000")["given"]["train_size"] == "50000"
    with pytest.raises(SettingError, match="between 1 and 50,000, got 50,001$") as e:
        read_link("dataset=full&train_size=50001")
    assert e.value.field == "train_size"
    buf = io.BytesIO()
    np.savez(buf, train_images=np.zeros((300, 784), np.uint8), train_labels=np.zeros(300, np.uint8),
             test_images=np.zeros((10, 784), np.uint8), test_labels=np.zeros(10, np.uint8))
    bridge.load_dataset("full", buf.getvalue())
    with pytest.raises(SettingError, match="between 1 and 300, got 301$"):
        read_link("dataset=full&train_size=301")


def test_what_is_not_a_link_of_the_page():
    answer = bridge.handle("read_link", "learning_rate=0.01&code=1")["error"]
    assert answer == {"field": None, "message": "it names 'code', which is not a setting; its settings are preset, "
                                                "network, activation, optimizer, learning_rate, epochs, batch_size, "
                                                "train_size, seed, dataset, schedule, augment"}
    long_name = bridge.handle("read_link", "y" * 500 + "=1")["error"]["message"]
    assert long_name.startswith("it names '" + "y" * 37 + "...', which")
    for text, field in (("epochs=1&epochs=2", "epochs"), ("preset=fast&preset=conv", "preset")):
        assert bridge.handle("read_link", text)["error"] == {"field": field, "message": f"it gives {field} twice"}
    assert bridge.handle("read_link", "preset=turbo")["error"] == {
        "field": "preset", "message": "preset must be one of fast, minute, five, conv, seed, got 'turbo'"}
    too_long = "network=" + "1" * settings.MAX_LINK_CHARS
    assert bridge.handle("read_link", too_long)["error"] == {
        "field": None, "message": f"its settings are {len(too_long):,} characters long; a pynet link has at most 2,000"}


def test_a_refused_link_changes_nothing():
    before = dict(STATE)
    for key, value in BAD:
        assert "error" in bridge.handle("read_link", link(**{key: value}))
    assert STATE == before


def test_the_limits_hold_to_the_character():
    """A link of exactly MAX_LINK_CHARS characters is read; one more is refused. A name of 40
    characters is quoted whole in the refusal; a longer one is cut to 37 and '...'."""
    assert read_link("x" * settings.MAX_LINK_CHARS) is None
    with pytest.raises(ValueError, match="2,001 characters long"):
        read_link("x" * (settings.MAX_LINK_CHARS + 1))
    for name, shown in (("n" * 40, "n" * 40), ("n" * 41, "n" * 37 + "...")):
        with pytest.raises(ValueError) as e:
            read_link(name + "=1")
        assert str(e.value).startswith(f"it names '{shown}', which is not a setting")
