"""A preset in headless Chromium with 1 vs 2 workers (web/parallel.js): samples/s and the
time from clicking Train to 87% on test. Rounds alternate 1, 2, 1, 2, ...; medians printed, and
for 2 workers where a step's time goes (web/worker.js's timing: the page's worker computing its
own shard, then waiting for the helper's; the helper computing its shard).

    PYTHONPATH=. .venv/bin/python benchmarks/parallel_page.py [rounds] [--preset fast]
        [--epochs N] [--network "512"] [--train-size N] [--warm]

--warm runs one discarded round of each first (the full data set's first load, tier-up).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from e2e_helpers import CHROMIUM_ARGS, SYSTEM_CHROMIUM, site_builder, wait_until  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main(rounds=3, preset="fast", epochs=None, network=None, train_size=None, warm=False):
    site = site_builder()
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
        for r in range(-1 if warm else 0, rounds):
            for workers in (1, 2):
                page.select_option("#preset", preset)
                for field, value in (("#epochs", epochs), ("#network", network), ("#train-size", train_size)):
                    if value is not None:
                        page.fill(field, str(value))
                page.select_option("#workers", str(workers))
                runs = page.evaluate("window.pynet.runs || 0")
                page.click("#train")
                wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=1800)
                run = page.evaluate("window.pynet.lastRun")
                acc = page.text_content("#test-acc")
                row = {"workers": run["workers"], "samples_per_s": round(run["samplesPerS"]),
                       "reached87_s": run["reached87"], "timing": run.get("parallelTiming"), "run_s": round(run["seconds"], 2), "test_acc": acc}
                if r >= 0:
                    out[workers].append(row)
                print(("warm-up " if r < 0 else "") + json.dumps(row), flush=True)
                time.sleep(1)
        browser.close()
    server.shutdown()
    load.append(os.getloadavg())
    for w, rows in out.items():
        reached = [r["reached87_s"] for r in rows if r["reached87_s"] is not None]
        print(f"{w} worker(s): median samples/s {statistics.median(r['samples_per_s'] for r in rows):,.0f}, "
              f"median time to 87% {statistics.median(reached) if reached else float('nan'):.2f} s, "
              f"median run {statistics.median(r['run_s'] for r in rows):.2f} s")
        timings = [r["timing"] for r in rows if r["timing"]]
        if timings:
            per = lambda key: statistics.median(t[key] / t["steps"] for t in timings)  # noqa: E731
            helper = statistics.median(t["helperMs"][0] / t["steps"] for t in timings)
            print(f"  per step: own shard {per('ownMs'):.1f} ms, then waiting for the helper {per('waitMs'):.1f} ms; "
                  f"the helper's shard {helper:.1f} ms")
    print(f"load average before {load[0]}, after {load[1]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--preset", default="fast", choices=["fast", "minute", "five", "seed"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--network", help="the network field: hidden sizes or a spec")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--warm", action="store_true")
    a = parser.parse_args()
    main(a.rounds, a.preset, a.epochs, a.network, a.train_size, a.warm)
