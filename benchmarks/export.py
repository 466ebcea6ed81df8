"""Static pages: size, first figure drawn, and knob change → redrawn, in headless Chromium.

    python benchmarks/export.py [--presses 12]

Exports every widget with local JavaScript into a temporary folder, serves it on 127.0.0.1 and
opens each page with every other host unresolvable. Goals: page <= 1.5 MB of its own HTML,
first figure <= 3 s, a knob change redrawn <= 150 ms median.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import chromium_page, press_and_wait_for_change, serve_directory

import rnn_widgets
from rnn_widgets.export import KNOBS, export_site


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=12)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_site(tmp, js="local")
        print(f"export of {len(rnn_widgets.WIDGETS)} pages: {time.perf_counter() - t0:.1f} s")
        print(f"{'page':24} {'KB':>6} {'frames':>6} {'first figure s':>14} {'knob median ms':>14} {'p95 ms':>7}")
        with serve_directory(Path(tmp)) as url, chromium_page(width=1000, height=1400) as page:
            for name in rnn_widgets.WIDGETS:
                size = (Path(tmp) / f"{name}.html").stat().st_size / 1e3
                page.errors.clear()
                t = time.perf_counter()
                page.goto(f"{url}{name}.html")
                page.wait_for_selector(".rnn-widget .bqplot svg", timeout=30_000)
                first = time.perf_counter() - t
                page.wait_for_timeout(300)
                n = len(KNOBS[name].values)
                times, key = [], "ArrowRight"
                for i in range(args.presses):
                    if i and i % (n - 1) == 0:
                        key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
                    times.append(press_and_wait_for_change(page, ".rnn-widget", key=key))
                s = sorted(times)
                print(f"{name:24} {size:6.0f} {n:6d} {first:14.2f} {1e3 * statistics.median(s):14.0f} "
                      f"{1e3 * s[int(0.95 * (len(s) - 1))]:7.0f}")
                if page.errors:
                    print("  page errors:", page.errors)


if __name__ == "__main__":
    main()
