"""A worker that breaks: the page restarts it with the model kept; one that keeps breaking is
given up after a few restarts (rather than restarted forever). Pages of their own: a restart
leaves its message in the status line, and the last test ends without a worker.

Both ways a worker breaks are made from outside (Playwright evaluates code in the worker
itself), so the page has no test-only request: an uncaught error, and a Python runtime that
Pyodide itself declares dead."""

import pytest

from e2e_helpers import READY_TIMEOUT_S, draw_and_read, reset_page, short_run, start_run, wait_until

pytestmark = pytest.mark.browser

CRASH_ECHO = "pynet test crash"  # the deliberate error, which the browser may echo on the console
# what Pyodide itself writes on the console when its runtime breaks (before its traceback)
PYODIDE_FATAL_REPORT = ("Pyodide has suffered a fatal error", "The cause of the fatal error was")


def page_worker(page):
    """The page's own Pyodide worker (the newest, after restarts)."""
    workers = [w for w in page.workers if w.url.endswith("/worker.js")]
    assert workers, [w.url for w in page.workers]
    return workers[-1]


def break_worker(worker):
    """An uncaught error inside the worker, as a real fault would raise."""
    worker.evaluate(f"setTimeout(() => {{ throw new Error('{CRASH_ECHO} (deliberate)'); }}, 0)")


def break_runtime(worker):
    """A real Pyodide fatal error at Python's next reading of its clock: the worker's
    performance.now throws, so time.perf_counter unwinds a JavaScript error through Python's C
    stack, which Pyodide handles as it does a WebAssembly trap (API.fatal_error: the error is
    marked pyodide_fatal_error and the runtime's API refuses every later use). Set after the
    evaluation, which reads the clock itself."""
    worker.evaluate(f"void setTimeout(() => {{ performance.now = () => {{ throw new Error('{CRASH_ECHO} (deliberate)'); }}; }}, 0)")


@pytest.fixture(scope="module")
def crash_page(open_page):
    page, recorder = open_page()
    yield page, recorder
    page.context.close()


def test_a_runtime_broken_during_a_run_is_restarted_with_the_model_kept(crash_page):
    page, rec = crash_page
    reset_page(page)
    rec.clear()
    short_run(page, seed=11)  # a model of its own: the default would come back anyway
    model = page.text_content("#model-info")
    assert "trained" in model
    draw_and_read(page, "7")
    before = page.evaluate("window.pynet.lastPrediction")
    restarts = page.evaluate("window.pynet.restarts")
    kept_runs = page.evaluate("window.pynet.history.keys.length")
    start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 5", timeout=20)
    break_runtime(page_worker(page))
    wait_until(page, f"window.pynet.restarts > {restarts} && window.pynet.ready && window.pynet.state === 'idle'",
               timeout=90)
    # the run so far is in the history, as lost, with the steps it had taken
    assert page.evaluate("window.pynet.history.keys.length") == kept_runs + 1
    ending = page.text_content("#history-body tr:first-child td.ending")
    assert ending.startswith("lost when the worker stopped at step ") and ending.endswith(" of 800"), ending
    assert int(ending.split("at step ")[1].split(" of")[0].replace(",", "")) > 5, ending
    assert page.evaluate("window.pynet.restarts") == restarts + 1
    assert page.text_content("#status").strip() == \
        "The worker stopped unexpectedly and was restarted; your model was kept"
    assert page.text_content("#train-message").startswith("The training run in progress was lost")
    assert page.get_attribute("#status", "data-phase") == "ready"
    assert page.text_content("#model-info") == model
    draw_and_read(page, "7")
    assert page.evaluate("window.pynet.lastPrediction") == before
    # and it trains again
    assert short_run(page, seed=11)["reason"] == "completed"
    errors = [e for e in rec.errors if CRASH_ECHO not in e and not e.startswith(PYODIDE_FATAL_REPORT)]
    assert errors == [] and rec.outside == [] and rec.failed == [], rec.problems()



def test_the_step_view_after_a_restart_asks_for_the_iteration_again(crash_page):
    """The worker keeps an iteration's steps; once it has restarted, a step not yet shown is
    refused in one sentence, and the view works again after a new iteration."""
    page, rec = crash_page
    reset_page(page)
    rec.clear()
    page.click("#step-run")
    wait_until(page, "window.pynet.stepper && window.pynet.stepper.index === 0", timeout=90)
    runs = page.evaluate("window.pynet.stepper.runs")
    restarts = page.evaluate("window.pynet.restarts")
    break_worker(page_worker(page))
    wait_until(page, f"window.pynet.restarts > {restarts} && window.pynet.ready && window.pynet.state === 'idle'",
               timeout=90)
    page.click("#step-next")
    wait_until(page, "document.getElementById('step-message').textContent !== ''", timeout=10)
    assert page.text_content("#step-message") == \
        "The worker restarted since this iteration ran, and its steps went with it: run one iteration again."
    assert page.evaluate("window.pynet.stepper.index") == 0
    page.click("#step-run")
    wait_until(page, f"window.pynet.stepper.runs === {runs + 1} && window.pynet.stepper.index === 0", timeout=90)
    page.click("#step-next")
    wait_until(page, "window.pynet.stepper.index === 1", timeout=30)
    assert page.text_content("#step-message") == ""
    errors = [e for e in rec.errors if CRASH_ECHO not in e]
    assert errors == [] and rec.outside == [] and rec.failed == [], rec.problems()

def test_a_worker_that_keeps_breaking_is_given_up_after_three_restarts_in_a_row(open_page):
    page, _ = open_page()
    try:
        wait_until(page, "window.pynet.warmedUp", timeout=60)  # the start-up's requests are all answered
        # every restarted worker breaks again as soon as it starts, before it answers anything
        worker = page_worker(page)
        for _ in range(3):
            with page.expect_worker(lambda w: w.url.endswith("/worker.js"), timeout=60_000) as restarted:
                break_worker(worker)
            worker = restarted.value
        break_worker(worker)
        wait_until(page, "document.getElementById('status').dataset.phase === 'failed'", timeout=3 * READY_TIMEOUT_S)
        assert page.text_content("#status").strip() == "The worker keeps stopping; reload the page to start again."
        assert page.evaluate("window.pynet.restarts") == 3  # the 4th crash was not followed by a restart
        assert page.is_disabled("#train")
        # a reload starts afresh
        page.reload()
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=READY_TIMEOUT_S)
        # the form unlocks with the worker's reply to 'ready', just after its status says so
        wait_until(page, "!document.getElementById('train').disabled", timeout=10)
    finally:
        page.context.close()


def test_a_worker_whose_script_cannot_load_is_reported_at_once(browser, site_url):
    """The worker starts before the page's other modules (web/boot.js): its failure to load,
    which comes before the page's client exists, still reaches the status line."""
    context = browser.new_context()
    try:
        context.route("**/worker.js", lambda route: route.fulfill(status=404, body="not here"))
        page = context.new_page()
        page.goto(site_url)
        wait_until(page, "document.getElementById('status').dataset.phase === 'failed'", timeout=30)
        assert page.text_content("#status").strip() == "The worker failed: its script could not be loaded"
        assert page.is_disabled("#train")
    finally:
        context.close()

