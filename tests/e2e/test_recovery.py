"""A worker that keeps breaking: the page restarts it a few times, then gives up and says so
(rather than restarting forever). Uses a page of its own: the page ends up without a worker."""

import pytest

from e2e_helpers import READY_TIMEOUT_S, wait_until

pytestmark = pytest.mark.browser


def test_a_worker_that_keeps_breaking_is_given_up_after_three_restarts_in_a_row(browser, site_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(site_url)
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=READY_TIMEOUT_S)
        wait_until(page, "window.pynet.warmedUp", timeout=60)  # the start-up's requests are all answered
        # every restarted worker crashes again as soon as it is ready, before it answers anything
        page.evaluate("import('./app.js').then((m) => m.crashWorkerForTests('throw', 5))")
        wait_until(page, "document.getElementById('status').dataset.phase === 'failed'", timeout=3 * READY_TIMEOUT_S)
        assert page.text_content("#status").strip() == "The worker keeps stopping; reload the page to start again."
        assert page.evaluate("window.pynet.restarts") == 3  # the 4th crash was not followed by a restart
        assert page.is_disabled("#train")
        # a reload starts afresh
        page.reload()
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=READY_TIMEOUT_S)
        assert page.is_enabled("#train")
    finally:
        context.close()
