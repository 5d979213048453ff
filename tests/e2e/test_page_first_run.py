"""A run started as soon as the page is ready has the worker to itself: the analysis of the
model in use (the test set evaluated a slice at a time) waits for the run's end, and the 50,000
training images a preset names are downloaded when the preset is chosen, once, even when Train
is pressed while they load."""

import time

from e2e_helpers import set_form, wait_idle, wait_ready, wait_until

# every request the page posts to its worker, with the time it was posted (performance.now())
RECORD_POSTS = """(() => {
  window.__posted = [];
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message && message.type) window.__posted.push([message.type, performance.now()]);
    return post.call(this, message, ...rest);
  };
})()"""
ANALYSIS_CURRENT = "window.pynet.analysedModel === window.pynet.modelShown"


def fresh_page(browser, site_url, **context_options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    context.add_init_script(RECORD_POSTS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site_url)
    wait_ready(page)
    return page, errors


def test_the_analysis_waits_for_a_run_started_at_once(browser, site_url):
    page, errors = fresh_page(browser, site_url)
    try:
        # Train before the default model's analysis is done: its evaluation is still under way
        wait_until(page, "window.__posted.some(([type]) => type === 'evaluate')", timeout=30)
        assert page.evaluate("window.pynet.analysedModel === undefined"), "the analysis ended before the test could train"
        set_form(page, epochs=3, train_size=5000)
        runs = page.evaluate("window.pynet.runs || 0")
        page.click("#train")
        wait_idle(page, runs)
        last = page.evaluate("window.pynet.lastRun")
        assert last["reason"] == "completed"
        started, ended = last["endedAt"] - 1000 * last["seconds"], last["endedAt"]
        during = page.evaluate(f"window.__posted.filter(([type, t]) => type === 'evaluate' && t >= {started} && t <= {ended}).length")
        assert during == 0, f"{during} evaluation slices were asked for during the run"
        # and it resumes after the run: the model the run left in use is analysed
        wait_until(page, ANALYSIS_CURRENT, timeout=60)
        assert page.text_content("#errors-summary").startswith("The current model gets")
        assert not errors, errors
    finally:
        page.context.close()


def test_a_preset_loads_its_data_set_once_when_chosen(browser, site_url):
    # no service worker: each download of the data file is one request of the page's worker
    page, errors = fresh_page(browser, site_url, service_workers="block")
    try:
        full = []
        page.on("request", lambda r: r.url.endswith("/data/mnist-full.npz") and full.append(time.monotonic()))
        assert not full
        page.select_option("#preset", "minute")
        wait_until(page, "window.__posted.some(([type]) => type === 'loadDataset')", timeout=10)
        # Train at once, while the images are still downloading or loading
        runs = page.evaluate("window.pynet.runs || 0")
        page.click("#train")
        wait_until(page, f"window.pynet.state === 'running' || (window.pynet.runs || 0) > {runs}", timeout=60)
        page.click("#stop")
        wait_idle(page, runs, timeout=30)
        assert len(full) == 1, f"the 50,000 images were downloaded {len(full)} times"
        assert page.evaluate("window.pynet.lastRun.reason") == "stopped"
        # a data set chosen again is not downloaded again
        page.select_option("#preset", "fast")
        page.select_option("#preset", "five")
        time.sleep(0.5)
        assert len(full) == 1
        assert not errors, errors
    finally:
        page.context.close()
