"""Links to the form's settings and the run history, in Chromium: a link fills the form exactly and
says what it changed, Copy link gives that link, a bad value in a link gets the form's own sentence
and changes nothing; runs are kept across a reload, overlaid, put back into the form and deleted,
and a browser that refuses storage still trains, with the history in memory."""

from urllib.parse import quote_plus

from e2e_helpers import CURVE_PIXELS_JS, short_run, start_run, state, wait_idle, wait_ready, wait_until
from pynet import bridge, settings
from pynet.page.state import STATE

FIELD_IDS = {"network": "network", "activation": "activation", "optimizer": "optimizer", "learning_rate": "lr",
             "epochs": "epochs", "batch_size": "batch", "train_size": "train-size", "seed": "seed", "dataset": "dataset",
             "schedule": "schedule", "augment": "augment"}
FORM_JS = "Object.fromEntries(%s.map(([k, id]) => [k, document.getElementById(id).value]))" % (
    [[k, v] for k, v in FIELD_IDS.items()],)
FAST = {k: str(v) for k, v in {"augment": "off", **settings.PRESETS["fast"]}.items()}


def link_text(**values):
    """The text after '#' of a link to values, encoded as the page encodes it (web/share.js)."""
    return "&".join(f"{k}={quote_plus(str(v), safe=',@:/')}" for k, v in values.items())


def page_link(values):
    """The link the page writes for a whole form: every field, in the form's order."""
    return link_text(**{k: values[k] for k in FIELD_IDS})


def form(page):
    return page.evaluate(FORM_JS)


def open_link(page, text, timeout=20):
    """Put text after '#' in the open page's address (as pasting a link there does) and wait for the
    page's answer; window.pynet.link then."""
    asked = page.evaluate("window.pynet.link.asked")
    page.evaluate("history.replaceState(null, '', location.pathname)")  # a hash equal to the last fires no event
    page.evaluate("(text) => { location.hash = text; }", text)
    wait_until(page, f"window.pynet.link.answered > {asked}", timeout=timeout)
    return page.evaluate("window.pynet.link")


def new_page(browser, url, init_script=None):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url)
    wait_ready(page)
    return page, errors


# ---- links -------------------------------------------------------------------------------


def test_a_link_fills_the_form_exactly_and_copy_link_gives_it_back(browser, site_url):
    values = {**FAST, "network": "conv 8@5x5, pool 2, dense 10", "learning_rate": "0.01", "epochs": "3",
              "optimizer": "momentum", "augment": "affine"}
    page, errors = new_page(browser, site_url + "#" + page_link(values))
    try:
        wait_until(page, "window.pynet.link.answered === 1", timeout=30)
        assert form(page) == values
        assert page.input_value("#preset") == "custom"
        assert page.text_content("#form-message") == ("The link set: network “conv 8@5x5, pool 2, dense 10”, optimizer "
                                                      "momentum, learning rate 0.01, epochs 3, augment affine.")
        assert page.evaluate("window.pynet.link.changed") == ["network", "optimizer", "learning_rate", "epochs", "augment"]
        # the network is described as if typed: the link's spec is the form's
        wait_until(page, "window.pynet.networkDescribed === window.pynet.networkAsked"
                         " && window.pynet.networkDescribedText === document.getElementById('network').value")
        assert "conv 8@5x5" in page.text_content("#network-description")
        # the address keeps the settings; Copy link puts the same link on the clipboard
        assert page.evaluate("location.hash.slice(1)") == page_link(values)
        page.click("#copy-link")
        wait_until(page, "document.getElementById('share-note').textContent !== ''")
        assert page.text_content("#share-note") == "Link copied: it opens the page with these settings."
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == site_url + "#" + page_link(values)
        # the address follows the form as it changes, and goes when the form is the default preset again
        page.fill("#epochs", "4")
        assert page.evaluate("location.hash.slice(1)") == page_link({**values, "epochs": "4"})
        page.select_option("#preset", "conv")
        assert page.evaluate("location.hash.slice(1)") == page_link({"augment": "off", **settings.PRESETS["conv"]})
        page.select_option("#preset", settings.DEFAULT_PRESET)
        assert page.evaluate("location.href") == site_url
        # a preset named by a link, the rest its own
        assert open_link(page, "preset=conv")["changed"]
        assert page.text_content("#form-message") == "The link set: the preset 99% in five minutes, convolutional."
        assert form(page) == {k: str(v) for k, v in {"augment": "off", **settings.PRESETS["conv"]}.items()}
        assert page.input_value("#preset") == "conv"
        assert errors == []
    finally:
        page.context.close()


def test_the_clipboard_refused_the_link_is_selected_in_a_field(app, site_url):
    page, _ = app
    page.fill("#lr", "0.02")
    page.fill("#seed", "5")
    page.evaluate("Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true })")
    try:
        page.click("#copy-link")
        wait_until(page, "!document.getElementById('share-link').hidden")
    finally:
        page.evaluate("delete navigator.clipboard")  # the prototype's again
    expected = site_url + "#" + page_link({**FAST, "learning_rate": "0.02", "seed": "5"})
    assert page.input_value("#share-link") == expected
    assert page.evaluate("document.activeElement.id") == "share-link"
    assert page.evaluate("(() => { const f = document.getElementById('share-link'); "
                         "return [f.selectionStart, f.selectionEnd]; })()") == [0, len(expected)]
    assert page.text_content("#share-note") == "This browser gives the page no clipboard: copy the link selected below."
    # that link, opened again from the default form, gives the same settings
    page.select_option("#preset", "fast")
    open_link(page, expected.split("#", 1)[1])
    assert form(page) == {**FAST, "learning_rate": "0.02", "seed": "5"}
    assert page.text_content("#form-message") == "The link set: learning rate 0.02, seed 5."
    assert open_link(page, expected.split("#", 1)[1] + "&")["changed"] == []
    assert page.text_content("#form-message") == "The link gave the settings the form already had."


def forms_sentence(config):
    """What the form's Train button says of these settings: the same check, run natively."""
    saved = dict(STATE["datasets"])
    STATE["datasets"].clear()  # as in a page that has not downloaded the full set
    try:
        return bridge.handle("start_training", config)["error"]
    finally:
        STATE["datasets"].update(saved)


BAD_LINKS = [("learning_rate", "-1"), ("learning_rate", "fast"), ("epochs", "0"), ("epochs", "2.5"),
             ("train_size", "5001"), ("seed", "-1"), ("activation", "tanh"), ("dataset", "tiny"),
             ("network", "hello"), ("network", "conv 8@40x40, dense 10"), ("network", "<img src=x onerror=alert(1)>"),
             ("learning_rate", "9" * 1900)]


def test_a_bad_value_in_a_link_gets_the_forms_sentence_and_changes_nothing(app):
    page, _ = app
    page.fill("#lr", "0.005")
    page.fill("#network", "64")
    before, preset = form(page), page.input_value("#preset")
    for key, value in BAD_LINKS:
        text = link_text(**{key: value})
        link = open_link(page, text)
        expected = forms_sentence({**FAST, key: value})
        assert link["refused"] == expected, key
        assert page.text_content("#form-message") == f"The link was not applied: {expected['message']}.", key
        assert form(page) == before and page.input_value("#preset") == preset, key
        # the bad link stays in the address, to be put right there
        assert page.evaluate("location.hash.slice(1)") == text, key
    # the form's own Train button says the same of a value typed in
    page.fill("#lr", "-1")
    page.click("#train")
    wait_until(page, "document.getElementById('form-message').textContent.startsWith('Not started')")
    assert page.text_content("#form-message") == ("Not started: " + forms_sentence({**FAST, "learning_rate": "-1"})["message"]
                                                  + ".")
    page.fill("#lr", "0.005")
    # links that are not the page's
    for text, message in (("code=1", "it names 'code', which is not a setting"),
                          ("epochs=2&epochs=3", "it gives epochs twice"),
                          ("preset=turbo", "preset must be one of fast, minute, five, conv, seed, got 'turbo'"),
                          ("network=" + "1" * 3000, "its settings are 3,008 characters long")):
        assert open_link(page, text)["refused"]["message"].startswith(message), text
        assert page.text_content("#form-message").startswith(f"The link was not applied: {message}")
        assert form(page) == before
    # a place in the page is not settings: nothing said, nothing changed
    page.evaluate("document.getElementById('form-message').textContent = ''")
    link = open_link(page, "history-title")
    assert link["changed"] is None and link["refused"] is None
    assert page.text_content("#form-message") == "" and form(page) == before
    assert state(page) == "idle"


def test_a_link_opened_during_a_run_waits_for_none(app):
    page, _ = app
    runs = start_run(page, epochs=50)
    before = form(page)
    link = open_link(page, link_text(learning_rate="0.01"))
    assert link["refused"]["message"] == "a run is in progress; open it again once the run has ended"
    assert form(page) == before and state(page) in ("running", "paused")
    page.click("#stop")
    wait_idle(page, runs)


# ---- the run history ---------------------------------------------------------------------

SWATCHES_JS = """[...document.querySelectorAll('#history-body tr')].map((tr) => [Number(tr.dataset.key),
    getComputedStyle(tr.querySelector('.swatch')).backgroundColor])"""

# pixels of each colour in a chart's canvas (antialiasing allowed for)
COLOUR_PIXELS_JS = """([id, colours]) => {
    const canvas = document.querySelector(`#${id} .uplot canvas`);
    if (!canvas) return colours.map(() => 0);
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return colours.map((c) => {
        const rgb = c.match(/\\d+/g).map(Number);
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            const off = Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]);
            if (d[i + 3] > 128 && off < 40) n++;
        }
        return n;
    });
}"""


def history_rows(page):
    """Each run listed, newest first: its cells' texts."""
    return page.evaluate("""[...document.querySelectorAll('#history-body tr')].map((tr) =>
        [...tr.cells].slice(0, 8).map((td) => td.textContent))""")


def test_runs_are_kept_across_a_reload_overlaid_reused_and_deleted(browser, site_url):
    page, errors = new_page(browser, site_url)
    try:
        assert page.is_visible("#history-empty") and not page.is_visible("#history")
        first = short_run(page)
        second = short_run(page, learning_rate="0.01", seed="3")
        wait_until(page, "window.pynet.history.keys.length === 2")
        assert page.evaluate("window.pynet.history.storage") == "indexeddb"
        rows = history_rows(page)
        assert [r[0] for r in rows] == ["2", "1"]  # the newest first
        for row, run, lr in ((rows[0], second, "0.01"), (rows[1], first, "0.003")):
            assert row[1] == "784-128-10"
            assert row[2] == f"adam, lr {lr}, 1 × 1,000 images, batch 128"
            assert row[3] == "completed"
            assert row[5] == f"{run['testAcc'] * 100:.1f}%"
            assert row[7] == f"{round(run['samplesPerS']):,}"
        # what the browser keeps of each run: its settings as the form had them, its curves thinned
        stored = page.evaluate("""new Promise((resolve) => { indexedDB.open('pynet').onsuccess = (e) => {
            const db = e.target.result; const r = db.transaction('runs').objectStore('runs').getAll();
            r.onsuccess = () => { db.close(); resolve(r.result); }; }; })""")
        assert [s["settings"]["learning_rate"] for s in stored] == ["0.003", "0.01"]
        assert [s["reason"] for s in stored] == ["completed", "completed"]
        assert all(0 < len(s["loss"]["x"]) <= settings.HISTORY_POINTS for s in stored)
        # 8 batches: fewer points than the history thins to, so every batch's loss as computed
        assert stored[1]["loss"]["y"] == [loss for loss in second["losses"] if loss is not None]

        page.reload()
        wait_ready(page)
        wait_until(page, "window.pynet.history.keys.length === 2")
        assert history_rows(page) == rows

        # tick both: each is drawn in its row's colour in both charts
        page.check("#history-body tr[data-key='1'] input")
        page.check("#history-body tr[data-key='2'] input")
        wait_until(page, "window.pynet.history.overlay.length === 2")
        colours = [c for _, c in sorted(page.evaluate(SWATCHES_JS))]
        wait_until(page, "document.querySelector('#history-acc .uplot canvas')")
        page.wait_for_timeout(300)
        loss_pixels = page.evaluate(COLOUR_PIXELS_JS, ["history-loss", colours])
        acc_pixels = page.evaluate(COLOUR_PIXELS_JS, ["history-acc", colours])
        assert all(n > 30 for n in loss_pixels), loss_pixels
        assert all(n > 5 for n in acc_pixels), acc_pixels
        assert page.text_content("#history-compare").startswith("Compared: run 1: loss ")
        # unticked: its curve goes
        page.uncheck("#history-body tr[data-key='1'] input")
        wait_until(page, "window.pynet.history.overlay.length === 1")
        page.wait_for_timeout(300)
        assert page.evaluate(COLOUR_PIXELS_JS, ["history-loss", colours])[0] == 0

        # a run's settings back in the form, through the link's check
        page.select_option("#preset", "seed")
        page.click("#history-body tr[data-key='2'] button:text('Use settings')")
        wait_until(page, "document.getElementById('form-message').textContent.startsWith('Run 2 set')")
        assert form(page) == {**FAST, "learning_rate": "0.01", "seed": "3", "epochs": "1", "train_size": "1000"}

        # by keyboard: from run 2's checkbox to its Delete button, Enter; the focus stays in the list
        page.focus("#history-body tr[data-key='2'] input")
        page.keyboard.press("Space")
        assert not page.is_checked("#history-body tr[data-key='2'] input")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Delete run 2"
        page.keyboard.press("Enter")
        wait_until(page, "window.pynet.history.keys.length === 1")
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Compare run 1"
        assert [r[0] for r in history_rows(page)] == ["1"]
        # undo keeps it after all; deleted again, it stays deleted after a reload
        page.click("#history-undo")
        wait_until(page, "window.pynet.history.keys.length === 2")
        page.click("#history-body tr[data-key='2'] button:text('Delete')")
        wait_until(page, "window.pynet.history.keys.length === 1")
        page.reload()
        wait_ready(page)
        wait_until(page, "window.pynet.history.keys.length === 1", timeout=10)
        assert [r[0] for r in history_rows(page)] == ["1"]
        assert errors == []
    finally:
        page.context.close()


# IndexedDB refused, as in some browsers' private windows
NO_STORAGE = """indexedDB.open = () => { throw new DOMException('The user denied permission to access the database.',
                                                        'SecurityError'); };"""


def test_a_browser_that_refuses_storage_still_trains_with_the_history_in_memory(browser, site_url):
    page, errors = new_page(browser, site_url, NO_STORAGE)
    try:
        run = short_run(page)
        assert run["reason"] == "completed" and run["testAcc"] > 0.5
        wait_until(page, "window.pynet.history.keys.length === 1")
        assert page.evaluate("window.pynet.history.storage") == "memory"
        assert "kept only while the page is open" in page.text_content("#history-note")
        page.check("#history-body tr input")
        wait_until(page, "document.querySelector('#history-loss .uplot canvas')")
        assert page.evaluate(CURVE_PIXELS_JS)[0] > 0  # the training chart itself is drawn as ever
        assert errors == []
    finally:
        page.context.close()
