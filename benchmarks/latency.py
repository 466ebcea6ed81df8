"""Control change → marks updated, for every exported widget and every control: median, p95 and max, cold and warm.

    python benchmarks/latency.py [--repeat 3] [--cold-only | --warm-only] [widget names ...]

The update runs synchronously in the trait observer, so the time of ``control.value = v`` is the time from
the value change to the marks holding new data. Each control moves through its min, max and values between
(``rnn_widgets.widgets.walk.control_values``), at the widget's default settings.

- **cold**: the worst a student meets, the first touch in a fresh kernel: before each value, every cache of the
  package is emptied (``functools`` caches, the shipped models included) and a fresh widget is built (not
  timed); then the one change is timed.
- **warm**: one widget, the values walked ``--repeat`` times; the first walk fills the caches and is left out.

Goals (issue 14, on an idle 2-core machine): cold p95 <= 50 ms and max <= 250 ms for every control; the
contract's median <= 16 ms (one frame). On a shared machine the figures are noisy: quote medians.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import p95_ms

import rnn_widgets
from rnn_widgets.widgets.walk import control_values


def clear_caches() -> int:
    """Empty every functools cache of the package's modules (results and loaded models); returns how many."""
    n = 0
    for name, module in list(sys.modules.items()):
        if name.startswith("rnn_widgets") and module is not None:
            for obj in vars(module).values():
                if callable(getattr(obj, "cache_clear", None)) and getattr(obj, "__module__", "") == name:
                    obj.cache_clear()
                    n += 1
    gc.collect()
    return n


def walk(control) -> list:
    return [v for v in control_values(control)]


def cold_times(name: str) -> dict[str, list[float]]:
    """For every control and value: empty caches, fresh widget, time one change."""
    probe = getattr(rnn_widgets, name)()
    plan = {trait: walk(c) for trait, c in probe.controls.items()
            if walk(c) and not getattr(c, "disabled", False)}
    default = {trait: probe.controls[trait].value for trait in plan}
    probe.close()
    times: dict[str, list[float]] = {}
    for trait, values in plan.items():
        for v in dict.fromkeys(values):  # each distinct value once
            if v == default[trait]:
                continue
            clear_caches()
            widget = getattr(rnn_widgets, name)()
            control = widget.controls[trait]
            t = time.perf_counter()
            control.value = v
            times.setdefault(trait, []).append(time.perf_counter() - t)
            widget.close()
    return times


def warm_times(name: str, repeat: int) -> tuple[dict[str, list[float]], float]:
    t0 = time.perf_counter()
    widget = getattr(rnn_widgets, name)()
    build = time.perf_counter() - t0
    times: dict[str, list[float]] = {}
    for trait, control in widget.controls.items():
        values = walk(control)
        if not values or getattr(control, "disabled", False):
            continue
        start = control.value
        for k in range(repeat + 1):
            for v in values:
                if v == control.value:
                    continue
                t = time.perf_counter()
                control.value = v
                if k:  # the first walk fills the caches
                    times.setdefault(trait, []).append(time.perf_counter() - t)
        control.value = start
    widget.close()
    return times, build


def text_memory_times(repeat: int = 15) -> dict[str, list[float]]:
    """TextMemoryWidget's own goals (issue 11), each change new to its caches: the position t moved to a value
    never drawn (three backward recursions), the unit moved, and a new 500-character passage read by all three
    models (held-out Shakespeare, a different stretch each time)."""
    from rnn_widgets.widgets import text_memory

    held_out = open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "tinyshakespeare_held_out.txt"),
                    encoding="utf-8").read()
    widget = rnn_widgets.TextMemoryWidget()
    times: dict[str, list[float]] = {"position (new t)": [], "unit": [], "passage (500 new)": []}
    for k in range(repeat):
        t = time.perf_counter()
        widget.position = 40 + (k * 97) % 360  # the default passage: each t once (the cache holds 32)
        times["position (new t)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        widget.unit = (widget.unit + 37) % 128
        times["unit"].append(time.perf_counter() - t)
    for k in range(repeat):
        passage = held_out[5000 + 1013 * k:][:500]
        text_memory.read_all.cache_clear()
        t = time.perf_counter()
        widget.text = passage
        times["passage (500 new)"].append(time.perf_counter() - t)
        assert widget.error_message == "", widget.error_message
    widget.close()
    return times


def fmt_row(ts: list[float] | None) -> str:
    if not ts:
        return f"{'–':>8} {'–':>8} {'–':>8}"
    return f"{1e3 * statistics.median(ts):8.1f} {p95_ms(ts):8.1f} {1e3 * max(ts):8.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("widgets", nargs="*", default=list(rnn_widgets.WIDGETS))
    ap.add_argument("--repeat", type=int, default=3, help="warm walks over each control's values (after the first)")
    ap.add_argument("--cold-only", action="store_true")
    ap.add_argument("--warm-only", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (times in ms)")
    print(f"{'widget':20} {'control':14} | {'cold: med':>9} {'p95':>8} {'max':>8} | {'warm: med':>9} {'p95':>8} {'max':>8}")
    worst = {"cold p95": (0.0, ""), "cold max": (0.0, ""), "warm median": (0.0, ""), "warm max": (0.0, "")}

    def note(key, value, where):
        if value > worst[key][0]:
            worst[key] = (value, where)

    for name in args.widgets:
        cold = {} if args.warm_only else cold_times(name)
        warm, build = ({}, float("nan")) if args.cold_only else warm_times(name, args.repeat)
        for trait in dict.fromkeys([*cold, *warm]):
            where = f"{name}.{trait}"
            if cold.get(trait):
                note("cold p95", p95_ms(cold[trait]), where)
                note("cold max", 1e3 * max(cold[trait]), where)
            if warm.get(trait):
                note("warm median", 1e3 * statistics.median(warm[trait]), where)
                note("warm max", 1e3 * max(warm[trait]), where)
            print(f"{name:20} {trait:14} | {fmt_row(cold.get(trait)):>26}  | {fmt_row(warm.get(trait)):>26}")
        if not math.isnan(build):
            print(f"{name:20} {'(build)':14} | {'':26}  | {1e3 * build:8.0f}")
    for key, (value, where) in worst.items():
        print(f"worst {key:12}: {value:8.1f} ms  ({where})")
    print("goals: cold p95 <= 50 ms and max <= 250 ms for every control; warm median <= 16 ms")
    if "TextMemoryWidget" in args.widgets:
        print("\nTextMemoryWidget, each change new to the caches (goals: position and unit <= 16 ms median, "
              "a new 500-character passage <= 100 ms median):")
        for what, ts in text_memory_times().items():
            print(f"  {what:20} median {1e3 * statistics.median(ts):6.1f}  p95 {p95_ms(ts):6.1f}  "
                  f"max {1e3 * max(ts):6.1f} ms")


if __name__ == "__main__":
    main()
