"""The page's presets trained in headless Chromium with one worker, as a person would: the time
from clicking Train to the test accuracy each preset promises (pynet/settings.py PRESET_TARGETS),
the samples/s the page shows, and how the page answers meanwhile: a drawing read (pointerup to
the digit shown) and Pause (click to the paused state), each once a third of the way in.

    .venv/bin/python benchmarks/presets_page.py [PRESET ...] [--rounds N] [--think S] [--no-build] [--out FILE]

--think: seconds between choosing the preset and clicking Train (1 s: a person's moment; the
page loads the data set a preset names as soon as it is chosen).

With no presets: conv, minute, five. Results: benchmarks/presets_results.md (the printed table).
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "build"))
sys.path.insert(0, str(ROOT))

import make_site  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from run import INSTRUMENT, launch, load_page, number, prediction_latency, set_form, wait_until  # noqa: E402

from pynet.settings import PRESET_TARGETS, PRESETS  # noqa: E402


def pause_latency(page):
    """ms from a click on Pause to the page in its paused state; the run is resumed after."""
    t = time.monotonic()
    page.click("#pause")
    wait_until(page, "window.pynet.state === 'paused'", timeout=10)
    ms = (time.monotonic() - t) * 1000
    page.click("#pause")  # Resume
    wait_until(page, "window.pynet.state === 'running'", timeout=10)
    return ms


def preset_run(page, name, think):
    """Train a preset to its end (or its target's time budget, twice over); return its timings."""
    target, budget = PRESET_TARGETS[name]
    set_form(page, name)
    time.sleep(think)
    runs = page.evaluate("window.pynet.runs || 0")
    n_click = page.evaluate("window.__bench.clicks.length")
    page.click("#train")
    wait_until(page, f"window.__bench.clicks.length > {n_click}", timeout=5)
    t0 = time.monotonic()
    probe = {}
    while not page.evaluate(f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'"):
        if not probe and time.monotonic() - t0 > budget / 3 and page.evaluate("window.pynet.state === 'running'"):
            probe["read_ms"], _ = prediction_latency(page)
            probe["pause_ms"] = pause_latency(page)
        if time.monotonic() - t0 > 2 * budget:
            page.click("#stop")
            wait_until(page, "window.pynet.state === 'idle'", timeout=30)
            break
        time.sleep(0.2)
    # the run's own record: exact accuracies, times from the click (not the 1-decimal display)
    last = page.evaluate("window.pynet.lastRun")
    reached = last["reachedAt"].get(str(target))
    return {"reached_s": reached, "final": 100 * last["testAcc"] if last["testAcc"] is not None else None,
            "speed": number(page.text_content("#speed")), "seconds": last["seconds"], **probe}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", default=["conv", "minute", "five"], choices=sorted(PRESET_TARGETS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "presets_results.md")
    args = parser.parse_args()
    if not args.no_build:
        make_site.build()
    load_start = os.getloadavg()
    server = make_site.serve_in_thread(port=0, quiet=True)
    results = {name: [] for name in args.presets}
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            for r in range(args.rounds):
                for name in args.presets:
                    context, page, _ = load_page(browser, server.url)  # a fresh page each run
                    page.evaluate(INSTRUMENT)
                    time.sleep(3)  # the page's own start-up work (samples, analysis, warm-up)
                    out = preset_run(page, name, args.think)
                    out["load"] = os.getloadavg()[0]
                    results[name].append(out)
                    print(f"[presets] {name} round {r + 1}: {out}", file=sys.stderr, flush=True)
                    context.close()
            browser.close()
    finally:
        server.shutdown()
    fmt = lambda x, unit="s", f="{:.1f}": f.format(x) + unit if x is not None else "–"  # noqa: E731
    lines = [f"# The page's presets, one worker ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"`benchmarks/presets_page.py {' '.join(args.presets)} --rounds {args.rounds} --think {args.think:g}`; load average at the start "
             f"{load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}, at the end {os.getloadavg()[0]:.2f}. "
             "Each run in a fresh page, 3 s after Ready; Train clicked --think s after choosing the preset; "
             "a third of the way into its time budget one drawing read and one pause.", "",
             "| preset | network | promise | click → target | final test | whole run | samples/s shown | "
             "drawing read during the run | Pause answered | load |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, runs in results.items():
        target, budget = PRESET_TARGETS[name]
        for out in runs:
            lines.append(f"| {name} | `{PRESETS[name]['network']}` | {target:.0%} within {budget} s | "
                         f"{fmt(out['reached_s']) if out['reached_s'] is not None else 'not reached'} | "
                         f"{fmt(out['final'], '%', '{:.2f}')} | {fmt(out['seconds'])} | "
                         f"{fmt(out['speed'], '', '{:,.0f}')} | {fmt(out.get('read_ms'), ' ms', '{:.0f}')} | "
                         f"{fmt(out.get('pause_ms'), ' ms', '{:.0f}')} | {out['load']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
