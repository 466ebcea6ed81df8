"""A soak: many control changes across every widget; memory after warm-up, exceptions, banners, non-finite marks.

    python benchmarks/soak.py [--changes 10000] [--warmup 1000] [--seed 0] [--glibc-defaults]

Every widget is built once; then, ``--changes`` times, a seeded random widget has a seeded random control
set to a random value over its full range (sliders anywhere between min and max, every option of a selection,
checkboxes both ways; GenerationWidget's Step, Generate N and Reset buttons are pressed too). After every change
each mark's numeric data is checked for NaN/inf. The resident memory is read after ``--warmup`` changes and at
the end. Goals (issue 14): RSS growth after warm-up < 10 MB, 0 exceptions, 0 non-finite marks. Finally every
widget is closed and the ipywidgets registry is counted.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import gc
import os
import random
import sys
import time
import traceback

import ipywidgets as W
import numpy as np
import psutil
from ipywidgets.widgets.widget import _instances

import rnn_widgets
from rnn_widgets.gallery import KERNEL_MALLOC_ENV
from rnn_widgets.widgets.walk import control_values, mark_arrays


def random_value(control: W.Widget, rng: random.Random):
    """Anywhere in a slider's range (on its step), or one of the values the tests walk."""
    if isinstance(control, W.FloatLogSlider):
        return control.base ** rng.uniform(control.min, control.max)
    if isinstance(control, (W.IntSlider, W.FloatSlider)):
        n = round((control.max - control.min) / control.step)
        v = control.min + control.step * rng.randint(0, max(n, 0))
        return int(v) if isinstance(control, W.IntSlider) else float(v)
    values = control_values(control)
    return rng.choice(values) if values else None


def non_finite(widget) -> list[str]:
    return [f"{fig}/{mark}.{attr}" for fig, mark, attr, arr in mark_arrays(widget)
            if not np.isfinite(arr.astype(float)).all()]


def rss_mb(trim: bool = False) -> float:
    """Resident memory; ``trim`` first hands freed heap pages back to the system (glibc), so that what remains
    is memory still held, not fragments of the allocator's arenas."""
    gc.collect()
    if trim and (libc := ctypes.util.find_library("c")):
        ctypes.CDLL(libc).malloc_trim(0)
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("widgets", nargs="*", default=list(rnn_widgets.WIDGETS))
    ap.add_argument("--glibc-defaults", action="store_true",
                    help="keep glibc's own malloc thresholds instead of the ones the gallery, Binder and the hub "
                         "give their kernels (rnn_widgets.gallery.KERNEL_MALLOC_ENV)")
    args = ap.parse_args()
    # glibc reads its thresholds when the process starts: run again with the kernels' settings unless asked not to
    if not args.glibc_defaults and any(os.environ.get(k) != v for k, v in KERNEL_MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **KERNEL_MALLOC_ENV})
    print("malloc: " + ("glibc's defaults" if args.glibc_defaults else
                        " ".join(f"{k}={v}" for k, v in KERNEL_MALLOC_ENV.items()) + " (as the kernels run)"))
    rng = random.Random(args.seed)
    registry0 = len(_instances)
    t0 = time.perf_counter()
    widgets = {name: getattr(rnn_widgets, name)() for name in args.widgets}
    print(f"built {len(widgets)} widgets in {time.perf_counter() - t0:.1f} s; registry {len(_instances)} widgets")
    moves = []  # (widget name, label, action)
    for name, w in widgets.items():
        for trait, control in w.controls.items():
            if control_values(control):
                moves.append((name, trait, control))
    if "GenerationWidget" in widgets:
        gen = widgets["GenerationWidget"]
        for button in (gen.step_button, gen.run_button, gen.reset_button):
            moves.append(("GenerationWidget", button.description, button))

    exceptions: collections.Counter = collections.Counter()
    banners: collections.Counter = collections.Counter()
    bad_marks: collections.Counter = collections.Counter()
    per_widget: collections.Counter = collections.Counter()
    first_error = None
    rss_warm = rss_warm_trimmed = None
    checkpoints = []  # (changes, RSS) every tenth of the run: does it level off?
    t0 = time.perf_counter()
    for i in range(args.changes):
        if i == args.warmup:
            rss_warm, rss_warm_trimmed = rss_mb(), rss_mb(trim=True)
        if i and i % max(1, args.changes // 10) == 0:
            checkpoints.append((i, rss_mb()))
        name, label, control = rng.choice(moves)
        while getattr(control, "disabled", False):  # e.g. LSTMGates' text box while the source is the task
            name, label, control = rng.choice(moves)
        try:
            if isinstance(control, W.Button):
                control.click()
            else:
                value = random_value(control, rng)
                if value is None:
                    continue
                control.value = value
        except Exception as exc:  # noqa: BLE001 - counted and reported
            exceptions[f"{name}.{label}: {type(exc).__name__}"] += 1
            first_error = first_error or traceback.format_exc()
        per_widget[name] += 1
        w = widgets[name]
        if w.error_message:
            banners[f"{name}.{label}: {w.error_message[:70]}"] += 1
        for where in non_finite(w):
            bad_marks[f"{name} {where}"] += 1
    elapsed = time.perf_counter() - t0
    rss_end, rss_end_trimmed = rss_mb(), rss_mb(trim=True)
    n_moves = sum(per_widget.values())
    print(f"{n_moves} changes in {elapsed:.0f} s ({1e3 * elapsed / max(n_moves, 1):.1f} ms each): "
          + ", ".join(f"{k} {v}" for k, v in per_widget.items()))
    print(f"RSS after {args.warmup} warm-up changes: {rss_warm:.1f} MB; at the end: {rss_end:.1f} MB; "
          f"growth {rss_end - rss_warm:+.1f} MB (goal < 10 MB); after malloc_trim: {rss_warm_trimmed:.1f} → "
          f"{rss_end_trimmed:.1f} MB, {rss_end_trimmed - rss_warm_trimmed:+.1f} MB")
    print("RSS along the run (MB): " + ", ".join(f"{i}: {r:.0f}" for i, r in checkpoints)
          + (f"; highest after warm-up {max(r for i, r in checkpoints if i >= args.warmup) - rss_warm:+.1f} MB over "
             "the warm-up figure (freed memory comes back when glibc's heap is trimmed, so the end figure depends on "
             "when that last was)"
             if rss_warm is not None and any(i >= args.warmup for i, _ in checkpoints) else ""))
    print(f"exceptions: {sum(exceptions.values())}" + "".join(f"\n  {k} × {v}" for k, v in exceptions.items()))
    print(f"non-finite marks: {sum(bad_marks.values())}" + "".join(f"\n  {k} × {v}" for k, v in bad_marks.items()))
    print(f"banners (messages shown instead of a figure update): {sum(banners.values())}"
          + "".join(f"\n  {k} × {v}" for k, v in banners.most_common(8)))
    for w in widgets.values():
        w.close()
    gc.collect()
    print(f"after closing every widget: registry {len(_instances)} widgets (before building: {registry0})")
    if first_error:
        print("first exception:\n" + first_error)


if __name__ == "__main__":
    main()
