"""Presets in headless Chromium with 1 vs 2 workers (web/parallel.js): samples/s, the time
from clicking Train to 97% (87% for Fast) on test, the run's time and its test accuracy. Rounds
alternate 1, 2, 1, 2, ...; medians printed with the ratio 2 workers / 1, and for 2 workers where
a step's time goes (web/worker.js's timing: the page's worker computing its own batch, then
waiting for the helper's; the helper computing its batch). Each run's line also has its
[epoch, test %, seconds since Train] and the page thread's busy time; load average before and after.

    PYTHONPATH=. .venv/bin/python benchmarks/parallel_page.py [rounds] [--preset minute five]
        [--epochs N] [--network "512"] [--train-size N] [--warm]

The issue's measurement (the 50k presets, one discarded warm round each):
    PYTHONPATH=. .venv/bin/python benchmarks/parallel_page.py 3 --preset minute five --warm
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


def main(rounds=3, presets=("minute", "five"), epochs=None, network=None, train_size=None, warm=False):
    site = site_builder()
    site.build()
    server = site.serve_in_thread(dist=site.DIST, port=0, base="/pynet/", quiet=True)
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=SYSTEM_CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")  # TaskDuration: the page's own thread's busy time
        page.goto(server.url)
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=120)
        wait_until(page, "window.pynet.warmedUp", timeout=60)
        page.select_option("#workers", "2")
        wait_until(page, "window.pynet.helpersReady >= 1", timeout=120)
        time.sleep(2)
        for preset in presets:
            load = [os.getloadavg()]
            out = measure(page, cdp, rounds, preset, epochs, network, train_size, warm)
            load.append(os.getloadavg())
            results[preset] = (out, load)
        browser.close()
    server.shutdown()
    for preset, (out, load) in results.items():
        summary(preset, out, load)


def main_thread_s(cdp):
    """Seconds the page's own thread has been busy so far (Chromium's TaskDuration)."""
    return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")


def measure(page, cdp, rounds, preset, epochs, network, train_size, warm):
    """Rounds of 1 and 2 workers alternating: {workers: [row per run]}."""
    out = {1: [], 2: []}
    target = "0.87" if preset == "fast" else "0.97"
    for r in range(-1 if warm else 0, rounds):
        for workers in (1, 2):
            page.select_option("#preset", preset)
            for field, value in (("#epochs", epochs), ("#network", network), ("#train-size", train_size)):
                if value is not None:
                    page.fill(field, str(value))
            page.select_option("#workers", str(workers))
            runs = page.evaluate("window.pynet.runs || 0")
            busy = main_thread_s(cdp)
            page.click("#train")
            wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=1800)
            busy = main_thread_s(cdp) - busy
            run = page.evaluate("window.pynet.lastRun")
            acc = page.text_content("#test-acc")
            row = {"preset": preset, "workers": run["workers"], "samples_per_s": round(run["samplesPerS"]),
                   "reached_s": run["reachedAt"].get(target), "run_s": round(run["seconds"], 2), "test_acc": acc,
                   "page_thread_s": round(busy, 2),
                   "epochs": [[e, a and round(100 * a, 2), round(t, 1)] for e, a, t in run["epochTests"]],
                   "load": round(os.getloadavg()[0], 2), "timing": run.get("parallelTiming")}
            if r >= 0:
                out[workers].append(row)
            print(("warm-up " if r < 0 else "") + json.dumps(row), flush=True)
            time.sleep(1)
    return out


def summary(preset, out, load):
    """The medians of a preset's rounds, 2 workers against 1."""
    target = 87 if preset == "fast" else 97
    med = {}
    print(f"\n{preset}: {len(out[1])} rounds each, load average before {load[0][0]:.2f}, after {load[1][0]:.2f}")
    for w, rows in out.items():
        reached = [r["reached_s"] for r in rows if r["reached_s"] is not None]
        med[w] = (statistics.median(r["samples_per_s"] for r in rows),
                  statistics.median(reached) if len(reached) == len(rows) else float("nan"))
        speeds = ", ".join(f"{r['samples_per_s']:,}" for r in rows)
        times = ", ".join("-" if r["reached_s"] is None else f"{r['reached_s']:.2f}" for r in rows)
        print(f"  {w} worker(s): samples/s {med[w][0]:,.0f} (runs {speeds}), "
              f"time to {target}% {med[w][1]:.2f} s (runs {times}), "
              f"run {statistics.median(r['run_s'] for r in rows):.2f} s (the page's thread busy "
              f"{statistics.median(r['page_thread_s'] for r in rows):.2f} s), test {', '.join(r['test_acc'] for r in rows)}")
        timings = [r["timing"] for r in rows if r["timing"]]
        if timings:
            per = lambda key: statistics.median(t[key] / t["steps"] for t in timings)  # noqa: E731
            helper = statistics.median(t["helperMs"][0] / t["steps"] for t in timings)
            print(f"    per step: own batch {per('ownMs'):.1f} ms, then waiting for the helper {per('waitMs'):.1f} ms; "
                  f"the helper's batch {helper:.1f} ms")
    print(f"  2 workers / 1: samples/s {med[2][0] / med[1][0]:.2f}x, time to {target}% {med[2][1] / med[1][1]:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--preset", nargs="+", default=["minute", "five"], choices=["fast", "minute", "five", "seed"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--network", help="the network field: hidden sizes or a spec")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--warm", action="store_true")
    a = parser.parse_args()
    main(a.rounds, a.preset, a.epochs, a.network, a.train_size, a.warm)
