"""Control change → marks updated, for every exported widget and every control (goal: ≤ 16 ms median).

    python benchmarks/latency.py [--repeat 3] [widget names ...]

The update runs synchronously in the trait observer, so the time of ``control.value = v`` is
the time from the value change to the marks holding new data. Each control cycles through its
min, max and values between, ``--repeat`` times, at the widget's default sizes. Widgets cache
results, so the first pass (every value new: "first") is reported apart from the later passes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_ms, p95_ms

import rnn_widgets
from rnn_widgets.widgets.walk import control_values


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("widgets", nargs="*", default=list(rnn_widgets.WIDGETS))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'widget':24} {'control':16} {'first: median':>13} {'p95':>7} | {'later: median':>13} {'p95':>7}"
          f" | build ms")
    worst = 0.0
    for name in args.widgets:
        t0 = time.perf_counter()
        widget = getattr(rnn_widgets, name)()
        build = 1e3 * (time.perf_counter() - t0)
        for trait, control in widget.controls.items():
            values = control_values(control)
            if not values or getattr(control, "disabled", False):
                continue
            start, passes = control.value, []
            for _ in range(args.repeat):
                times = []
                for v in values:
                    if v == control.value:
                        continue
                    t = time.perf_counter()
                    control.value = v
                    times.append(time.perf_counter() - t)
                passes.append(times)
            control.value = start
            first, later = passes[0], [t for p in passes[1:] for t in p] or passes[0]
            if first:
                worst = max(worst, median_ms(first))
                print(f"{name:24} {trait:16} {median_ms(first):13.2f} {p95_ms(first):7.2f} | "
                      f"{median_ms(later):13.2f} {p95_ms(later):7.2f} | {build:7.0f}")
                build = float("nan")
    print(f"worst first-pass median: {worst:.2f} ms (goal: <= 16 ms)")


if __name__ == "__main__":
    main()
