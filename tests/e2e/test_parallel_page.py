"""The page's data-parallel training (web/parallel.js): 2 workers, Fast preset. Each worker
computes a batch of the form's size: a step takes two, at twice the learning rate
(pynet.trainer.parallel_config).

Its own page (helpers stay alive after use), so that the shared page of test_page.py keeps
its single worker; reset to a known state before each test."""

import numpy as np
import pytest

from pynet.settings import DEFAULT_WORKERS

from e2e_helpers import READY_TIMEOUT_S, draw_and_read, reset_page, short_run, start_run, wait_idle, wait_until

pytestmark = pytest.mark.browser

# Per-step losses of a 2-worker run against a 1-worker run of the same seed and the recipe two
# workers train. The two add up the same float32 gradients in another order (two batch sums added
# up by the trainer, against one batch mean in NumPy): float rounding only, far below this. A wrong average (a shard counted
# twice or dropped, a division by the wrong batch size) moves the losses by orders of magnitude more.
LOSS_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def parallel_page(open_page):
    page, recorder = open_page()
    yield page, recorder
    page.context.close()


@pytest.fixture
def page2(parallel_page):
    """The page of this module in a known state (its number of workers left to each test):
    (page, recorder); after the test, no console error, failed response or outside request."""
    page, recorder = parallel_page
    reset_page(page, workers=None)
    recorder.clear()
    yield page, recorder
    problems = recorder.problems()
    recorder.clear()
    assert not problems, problems


def two_workers(page):
    """Set the page to 2 workers, both ready (the test is skipped on a 1-core machine)."""
    if page.evaluate("window.pynet.maxWorkers") < 2:
        pytest.skip("navigator.hardwareConcurrency is 1 here: the page offers one worker only")
    page.select_option("#workers", "2")
    wait_until(page, "window.pynet.helpersReady >= 1", timeout=READY_TIMEOUT_S)


def test_two_workers_fast_run_learns_and_reports_speed(page2):
    page, _ = page2
    two_workers(page)
    runs = start_run(page)
    wait_idle(page, runs)
    run = page.evaluate("window.pynet.lastRun")
    assert run["workers"] == 2 and run["reason"] == "completed", run
    test_acc = float(page.text_content("#test-acc").rstrip("%"))
    assert test_acc > 80, test_acc
    assert run["samplesPerS"] > 0 and page.text_content("#speed").strip() not in ("", "–")
    assert run["lastLoss"] < 0.6 * run["firstLoss"], run
    assert len(run["losses"]) == 40  # 2 epochs of ceil(5000 / 256) steps, each a batch of 128 per worker
    assert "trained" in page.text_content("#model-name")
    print(f"\n2 workers, Fast: {test_acc}% test, {run['samplesPerS']:.0f} samples/s, 87% at {run['reached87']} s")


def test_two_workers_train_a_conv_network(page2):
    """A conv network's run shared by two workers (4-D kernels in the parameters and gradients
    they exchange) completes, learns, and leaves a conv model in use."""
    page, _ = page2
    two_workers(page)
    runs = start_run(page, network="conv 4@5x5, pool 2, dense 10", epochs=1, train_size=2000, learning_rate=0.01)
    wait_idle(page, runs, timeout=120)
    run = page.evaluate("window.pynet.lastRun")
    assert run["workers"] == 2 and run["reason"] == "completed" and run["step"] == 8, run  # 2000 / (2 x 128)
    assert run["testAcc"] > 0.6, run
    assert page.text_content("#train-message").startswith("Done")
    print(f"\n2 workers, conv 4@5x5, pool 2, dense 10: {run['testAcc']:.1%} test, {run['samplesPerS']:.0f} samples/s")


def test_two_workers_train_as_one_worker(page2):
    """The same seed with 2 workers, each a batch of 128 at learning rate 0.1, and with one
    worker, batches of 256 at 0.2: the same per-step losses and test accuracy (the trainer adds
    up the two batches' gradients into the step's mean), and the run says what it trains. Plain
    SGD, where the step is proportional to the gradient (Adam's barely depends on its scale)."""
    page, _ = page2
    two_workers(page)
    settings = {"seed": 5, "epochs": 2, "optimizer": "sgd"}
    page.select_option("#workers", "1")
    one = short_run(page, **settings, batch_size=256, learning_rate=0.2)
    page.select_option("#workers", "2")
    two = short_run(page, **settings, batch_size=128, learning_rate=0.1)
    assert (one["workers"], two["workers"]) == (1, 2) and (one["workerBatch"], two["workerBatch"]) == (256, 128)
    assert (two["config"]["batch_size"], two["config"]["learning_rate"]) == (256, 0.2)
    assert one["reason"] == two["reason"] == "completed"
    assert len(one["losses"]) == len(two["losses"]) == 8  # 2 epochs of ceil(1000 / 256) steps
    gap = np.abs(np.array(two["losses"]) - np.array(one["losses"]))
    print(f"\nper-batch loss, 2 workers against 1: largest difference {gap.max():.2e}")
    assert gap.max() <= LOSS_TOLERANCE, (one["losses"], two["losses"])
    assert abs(two["testAcc"] - one["testAcc"]) <= 2e-4, (one["testAcc"], two["testAcc"])  # at most 2 of 10,000


def held_step(page):
    """The step a paused 2-worker run holds at. The page's pause takes effect when the steps
    in flight on both workers have answered; a drawing's readings are answered by the page's
    worker in turn, so once the step shown is the same before and after one, the run holds."""
    for _ in range(4):
        before = page.evaluate("window.pynet.run.step")
        draw_and_read(page, "1")
        if page.evaluate("window.pynet.run.step") == before:
            return before
    raise AssertionError("a paused 2-worker run kept moving while drawings were read")


def test_two_workers_pause_and_stop(page2):
    page, _ = page2
    two_workers(page)
    runs = start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 5", timeout=20)
    # the run says what two workers train: a batch of the form's size each, at twice the rate
    assert page.text_content("#train-message") == ("Training 784-128-10 (relu, adam, learning rate 0.006) on 5,000 "
                                                   "images: 20 epochs of 20 steps, each step 2 batches of 128, one per worker, "
                                                   "so 2 × the form's learning rate 0.003.")
    page.click("#pause")
    held = held_step(page)
    shown = page.text_content("#step")
    assert draw_and_read(page, "7") == "7"
    assert page.evaluate("window.pynet.run.step") == held and page.text_content("#step") == shown
    page.click("#pause")
    wait_until(page, f"window.pynet.run.step > {held}", timeout=10)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "stopped" and run["workers"] == 2, run
    assert run["step"] < run["totalSteps"] / 4, run  # ended long before its last step
    # what was trained so far is offered, and taken
    assert page.is_visible("#offer") and "trained" not in page.text_content("#model-name")
    page.click("#use-offer")
    wait_until(page, "document.getElementById('model-name').textContent.includes('trained')", timeout=15)
    print(f"\n2 workers: stop took {page.evaluate('window.pynet.lastRun.endedAt - window.pynet.stopClickedAt'):.0f} ms")


def test_two_workers_diverging_run_keeps_the_previous_model(page2):
    page, _ = page2
    two_workers(page)
    before = page.text_content("#model-name")
    runs = start_run(page, learning_rate=50, epochs=1, train_size=1000)
    wait_idle(page, runs, timeout=30)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "diverged" and run["workers"] == 2, run
    assert "learning rate" in page.text_content("#train-message")
    assert page.text_content("#model-name") == before  # no epoch finished: the previous model stays
    # and a normal 2-worker run works afterwards
    runs = start_run(page, epochs=1, train_size=1000)
    wait_idle(page, runs)
    assert page.evaluate("window.pynet.lastRun.reason") == "completed"


def page_with_cores(browser, site_url, cores):
    """A new page of the site in its own context whose navigator.hardwareConcurrency is cores."""
    context = browser.new_context()
    context.add_init_script(f"Object.defineProperty(navigator, 'hardwareConcurrency', {{ get: () => {cores} }})")
    page = context.new_page()
    page.goto(site_url)
    return page


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 16])
def test_default_number_of_workers_is_the_measured_one(browser, site_url, cores):
    """settings.DEFAULT_WORKERS by default whatever the reported cores beyond it (WebKit reports
    at least 4 on any machine), one where one core is reported; the control offers 1 ..
    min(cores, 4); helper workers start after the page is ready, and only as many as chosen."""
    page = page_with_cores(browser, site_url, cores)
    try:
        # the page's script fills the control once it has read settings.json
        wait_until(page, "document.querySelectorAll('#workers option').length > 0", timeout=30)
        default = min(cores, DEFAULT_WORKERS)
        assert page.input_value("#workers") == str(default)
        options = page.eval_on_selector_all("#workers option", "(os) => os.map((o) => o.value)")
        assert options == [str(k) for k in range(1, min(cores, 4) + 1)]
        if cores < 16:
            return
        # once the page is ready and past the point where it starts the helpers chosen (its
        # service worker registers after that), its own worker and the default's helpers run
        wait_until(page, "window.pynet.offlineReady === true", timeout=READY_TIMEOUT_S)
        assert len(page.workers) == default, [w.url for w in page.workers]
        page.select_option("#workers", "3")
        wait_until(page, "window.pynet.helpersReady >= 2", timeout=READY_TIMEOUT_S)
        assert sorted(w.url.split("/")[-1] for w in page.workers) == ["worker.js"] + ["worker.js?role=helper"] * 2
    finally:
        page.context.close()


def test_a_first_run_says_it_is_starting_the_helper_it_waits_for(browser, site_url):
    """Train pressed with 2 workers before the helper has loaded its runtime: the page says it is
    starting one more worker while the run waits for it, then the run trains on both."""
    page = page_with_cores(browser, site_url, 2)
    try:
        wait_until(page, "window.pynet?.ready === true", timeout=READY_TIMEOUT_S)  # before app.js ran: undefined
        page.select_option("#preset", "fast")
        page.fill("#train-size", "1000")
        page.fill("#epochs", "1")
        page.select_option("#workers", "2")
        ready = page.evaluate("() => { const r = window.pynet.helpersReady; document.getElementById('train').click(); return r; }")
        if ready:
            pytest.skip("the helper was ready before Train was pressed: nothing to wait for here")
        message = page.text_content("#form-message")
        assert message == "Starting 1 more worker for this run (each loads a Python runtime of its own, once)…", message
        wait_until(page, "(window.pynet.runs || 0) > 0 && window.pynet.state === 'idle'", timeout=READY_TIMEOUT_S)
        run = page.evaluate("window.pynet.lastRun")
        assert run["reason"] == "completed" and run["workers"] == 2, run
        assert page.text_content("#form-message") == ""
    finally:
        page.context.close()


def test_a_helper_that_breaks_mid_run_ends_the_run_and_offers_its_model(page2):
    """A helper worker breaks (an uncaught error inside it) during a 2-worker run: the run ends
    with one sentence, what was trained so far is offered while the model in use stays, the
    broken helper is replaced, and the next 2-worker run completes."""
    page, recorder = page2
    two_workers(page)
    before = page.text_content("#model-name")
    runs = start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 5", timeout=20)
    helper = [w for w in page.workers if w.url.endswith("?role=helper")][-1]
    helper.evaluate("setTimeout(() => { throw new Error('pynet test crash (deliberate)'); }, 0)")
    wait_idle(page, runs, timeout=30)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "error" and run["workers"] == 2 and run["step"] < run["totalSteps"], run
    assert page.text_content("#train-message") == "The run ended: a helper worker failed: it stopped unexpectedly."
    assert page.is_visible("#offer") and page.text_content("#model-name") == before
    runs = start_run(page, epochs=1, train_size=1000)  # waits for the new helper to be ready
    wait_idle(page, runs, timeout=READY_TIMEOUT_S)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "completed" and run["workers"] == 2, run
    assert all("pynet test crash" in e for e in recorder.errors), recorder.errors
    recorder.errors.clear()


def test_two_workers_refuse_a_bad_setting_as_one_worker_does(page2):
    """The helper checks the settings first: its refusal reads as one worker's, marks the
    field, and nothing starts or changes (an offered model stays offered)."""
    page, _ = page2
    two_workers(page)
    runs = start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 3", timeout=20)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    assert page.is_visible("#offer")
    model = page.text_content("#model-info")
    errors = page.evaluate("window.pynet.formErrors || 0")
    page.fill("#network", "abc")
    page.click("#train")
    wait_until(page, f"(window.pynet.formErrors || 0) > {errors}", timeout=20)
    assert page.text_content("#form-message").startswith("Not started: 'abc' is neither layer sizes nor layers")
    assert page.locator("#train-form [aria-invalid=true]").count() == 1
    assert page.text_content("#model-info") == model and page.is_visible("#offer")
