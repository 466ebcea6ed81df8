"""Static pages: frames, size (file and gzip), first figure drawn, and each knob → redrawn, in headless Chromium.

    python benchmarks/export.py [--presses 8] [WIDGET ...]

Exports the pages (their default knobs) with local JavaScript into a temporary folder, serves it on 127.0.0.1
and opens each page with every other host unresolvable. Each knob is moved with one key press at a time (an arrow
on a slider, Space on the next button), waiting for the figures to change before the next press.
Goals: gzip <= 1 MB and file <= 3 MB per page; first figure <= 3 s; a knob change redrawn <= 150 ms median.
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import chromium_page, serve_directory
from static_pages import move_knob

import rnn_widgets
from rnn_widgets.export import build_page, export_site


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=8, help="key presses per knob")
    ap.add_argument("widgets", nargs="*", default=list(rnn_widgets.WIDGETS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_site(tmp, args.widgets, js="local")
        print(f"export of {len(args.widgets)} pages: {time.perf_counter() - t0:.1f} s")
        knobs = {}
        for name in args.widgets:  # the pages' knobs and frame counts, as export_site built them
            page = build_page(name)
            knobs[name] = ([(k.label.rstrip(" :+"), len(k.values)) for k in page.knobs], page.frames)
            for link in page.knob_links:
                link.close()
            page.close()
        print(f"{'page':20} {'frames':>6} {'file MB':>7} {'gzip MB':>7} {'first s':>7}  knob → redraw median / max ms")
        with serve_directory(Path(tmp)) as url, chromium_page(width=1000, height=1400) as page:
            for name in args.widgets:
                raw = (Path(tmp) / f"{name}.html").read_bytes()
                page.errors.clear()
                t = time.perf_counter()
                page.goto(f"{url}{name}.html")
                page.wait_for_selector(".rnn-widget .bqplot svg", timeout=60_000)
                first = time.perf_counter() - t
                page.wait_for_timeout(1000)
                redraws = []
                for j, (label, n) in enumerate(knobs[name][0]):
                    times, forward, at = [], True, 0
                    for _ in range(args.presses):
                        if (forward and at == n - 1) or (not forward and at == 0):
                            forward = not forward
                        times.append(move_knob(page, j, forward))
                        at += 1 if forward else -1
                        page.wait_for_timeout(150)  # one press at a time (see tests/test_legibility.py)
                    redraws.append(f"{label} {1e3 * statistics.median(times):.0f} / {1e3 * max(times):.0f}")
                print(f"{name:20} {knobs[name][1]:6d} {len(raw) / 1e6:7.2f} {len(gzip.compress(raw)) / 1e6:7.3f} "
                      f"{first:7.2f}  {'; '.join(redraws)}", flush=True)
                if page.errors:
                    print("  page errors:", page.errors)


if __name__ == "__main__":
    main()
