"""Fast preset in headless Chromium with 1 vs 2 workers (web/parallel.js): samples/s and the
time from clicking Train to 87% on test. Rounds alternate 1, 2, 1, 2, ...; medians printed.

    PYTHONPATH=. .venv/bin/python benchmarks/parallel_page.py [rounds]
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from e2e_helpers import CHROMIUM_ARGS, SYSTEM_CHROMIUM, _site_module, wait_until  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main(rounds=3):
    site = _site_module()
    site.build()
    server = site.serve_in_thread(dist=site.DIST, port=0, base="/pynet/", quiet=True)
    out = {1: [], 2: []}
    load = [os.getloadavg()]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=SYSTEM_CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url)
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=120)
        wait_until(page, "window.pynet.warmedUp", timeout=60)
        page.select_option("#workers", "2")
        wait_until(page, "window.pynet.helpersReady >= 1", timeout=120)
        time.sleep(2)
        for r in range(rounds):
            for workers in (1, 2):
                page.select_option("#preset", "fast")
                page.select_option("#workers", str(workers))
                runs = page.evaluate("window.pynet.runs || 0")
                page.click("#train")
                wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=120)
                run = page.evaluate("window.pynet.lastRun")
                acc = page.text_content("#test-acc")
                row = {"workers": run["workers"], "samples_per_s": round(run["samplesPerS"]),
                       "reached87_s": run["reached87"], "timing": run.get("parallelTiming"), "run_s": round(run["seconds"], 2), "test_acc": acc}
                out[workers].append(row)
                print(json.dumps(row), flush=True)
                time.sleep(1)
        browser.close()
    server.shutdown()
    load.append(os.getloadavg())
    for w, rows in out.items():
        print(f"{w} worker(s): median samples/s {statistics.median(r['samples_per_s'] for r in rows):,.0f}, "
              f"median time to 87% {statistics.median(r['reached87_s'] for r in rows):.2f} s, "
              f"median run {statistics.median(r['run_s'] for r in rows):.2f} s")
    print(f"load average before {load[0]}, after {load[1]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
