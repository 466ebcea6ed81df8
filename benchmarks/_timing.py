"""Shared timing helpers for the benchmark scripts: medians and p95s of repeated calls."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def sync(device) -> None:
    import torch

    if getattr(device, "type", device) == "cuda":
        torch.cuda.synchronize()


def measure(fn: Callable[[], object], repeat: int = 50, warmup: int = 5, device="cpu") -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def measure_interleaved(fns: dict[str, Callable[[], object]], repeat: int = 50, warmup: int = 5,
                        device="cpu") -> dict[str, list[float]]:
    """Like :func:`measure` for several functions, one call of each in turn: on a shared machine the load
    changes from second to second, and timing one function after the other would put the change into their
    ratio."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def median_ms(times: list[float]) -> float:
    return 1e3 * statistics.median(times)


def p95_ms(times: list[float]) -> float:
    s = sorted(times)
    return 1e3 * s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
