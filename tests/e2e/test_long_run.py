"""A long run in the browser: the full data set, the 97% preset run for 3 epochs in place of its 2.
The worker's WebAssembly memory must not grow after the first epoch: wasm memory never shrinks,
so equal sizes after epochs 1 and 3 mean no growth.

Marked slow (about a minute and a half): run with ``pytest -m slow tests/e2e`` or PYNET_SLOW=1.
Uses a page of its own, so it does not disturb test_page.py's shared page.
"""

import pytest

from e2e_helpers import wait_until

from pynet.settings import PRESETS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MB = 2**20


def test_memory_does_not_grow_after_the_first_epoch(open_page):
    page, recorder = open_page()
    try:
        page.select_option("#workers", "1")  # the page's own worker, whatever the default
        page.select_option("#preset", "minute")  # the 97% preset: Adam, cosine, on the full data set
        assert page.input_value("#network") == PRESETS["minute"]["network"]
        assert page.input_value("#dataset") == "full"
        assert page.input_value("#train-size") == str(PRESETS["minute"]["train_size"])
        page.fill("#epochs", "3")
        page.click("#train")
        wait_until(page, "(window.pynet.runs || 0) > 0 && window.pynet.state === 'idle'", timeout=240)
        run = page.evaluate("window.pynet.lastRun")
        assert run["reason"] == "completed", run
        memory = {epoch: size for epoch, size in run["epochMemory"]}
        assert sorted(memory) == [1, 2, 3], run["epochMemory"]
        assert all(isinstance(size, int) and size > 0 for size in memory.values()), memory
        peak = run["peakMemory"]
        reached = run["reachedAt"]
        print(f"\nfull data, the 97% preset for 3 epochs: {run['seconds']:.1f} s, test accuracy {run['testAcc']:.4f}, "
              f"{run['samplesPerS']:.0f} samples/s; 97% reached after {reached.get('0.97')} s; memory after epochs "
              f"1, 2, 3: {[round(memory[e] / MB, 1) for e in (1, 2, 3)]} MB, peak {peak / MB:.1f} MB")
        assert memory[3] == memory[1], f"wasm memory grew from {memory[1] / MB:.1f} MB to {memory[3] / MB:.1f} MB"
        # the largest size reported during the whole run (every progress report, up to the last)
        # is the size after epoch 1: it did not grow after the last epoch either
        assert peak == memory[1], f"wasm memory peaked at {peak / MB:.1f} MB, {memory[1] / MB:.1f} MB after epoch 1"
        assert page.evaluate("window.pynet.memory") == peak
        assert page.text_content("#memory") == f"{round(memory[3] / MB)} MB"
        assert run["testAcc"] >= 0.97, run["testAcc"]
        assert not recorder.problems(), recorder.problems()
    finally:
        page.context.close()
