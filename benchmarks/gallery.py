"""The gallery under a classroom's load: first figure, complete pages, kernel memory, kernels released.

    python benchmarks/gallery.py [--pool 2] [--students 10] [--repeat 3] [--dir examples] [--plain-kernels]

Starts `rnn-widgets gallery` on a free loopback port and drives headless Debian chromium (every host but
127.0.0.1 unresolvable). Prints, in one run:
  * one student, warm pool: seconds from opening the tour to its first figure (goal <= 1.5 s: the picture of the
    first widget that the page shows while the live widget starts, rnn_widgets/preview.py), to the first live
    figure (drawn by the live widget: its controls work), and to every widget of the tour; and where the time
    went: when the page (Voila's front end, loaded and started) opened
    its kernel connection, and when it had the widgets' state, with how many widget models (the state the page
    asks for when it connects: the first widget's under Voila, see rnn_widgets.gallery.Tour);
  * N students opening the tour at once: pages complete (every widget of the tour; goal N/N), median and max first
    figure, Voila's "Timeout waiting for IOPub output" count;
  * kernel memory (resident, MB) while the N pages are open, and after they are closed (with how long the
    kernels took to go: goal, back to the idle pool within 60 s);
  * CPU-seconds per page view (kernels and server, the pool's replacement included) for one student, and the
    CPU-seconds of the kernels, the server and Chromium while the N students' pages loaded;
  * a flood of widget-state requests on one page's kernel (rnn_widgets/gallery_guard.py): the server's memory
    before and after, and how fast it answers other requests.
The figures depend on the machine and on whatever else it runs; quote them with the machine's load.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS
from gallery_support import (
    ALL_WIDGETS_JS,
    attack_kernel_websocket,
    gallery,
    page_kernel,
    tour_widget_count,
    wait_until,
)

N_WIDGETS = tour_widget_count()  # of examples/00_tour.ipynb; main() counts the tour of --dir
FIRST = ".rnn-widget .bqplot svg"  # a live figure
PICTURE = ".rnn-preview img"  # the picture shown while the first widget starts


async def student(browser, url: str, timeout_s: float) -> dict:
    """Open the tour in a new tab of its own; seconds to the first figure ("seen": the first widget's picture, or
    a live figure if the page shows no picture; "picture" says which), to the first live figure and to every widget
    (None: never), and the number of widget models in the state the page received when it connected."""
    from playwright.async_api import Error as PlaywrightError
    context = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    result = {"page": page, "context": context, "seen": None, "picture": False, "first": None, "all": None,
              "models": None, "connected": None, "state": None}
    t0 = time.perf_counter()

    def on_socket(ws):  # the page's kernel connection: when it opens, and when the widgets' state arrives
        result["connected"] = result["connected"] or time.perf_counter() - t0

        def received(payload):
            text = payload.decode("latin1") if isinstance(payload, bytes) else payload
            if result["models"] is None and "update_states" in text:
                result["models"] = text.count('"model_name"')
                result["state"] = time.perf_counter() - t0
        ws.on("framereceived", received)
    page.on("websocket", on_socket)
    try:
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1e3)
        seen = await page.wait_for_selector(f"{PICTURE}, {FIRST}", timeout=timeout_s * 1e3)
        result["seen"] = time.perf_counter() - t0
        result["picture"] = await seen.evaluate("e => e.matches('.rnn-preview img')")
        await page.wait_for_selector(FIRST, timeout=timeout_s * 1e3)
        result["first"] = time.perf_counter() - t0
        # polling on a timer: a tab in the background gets no animation frames
        await page.wait_for_function(ALL_WIDGETS_JS, arg=N_WIDGETS, polling=100,
                                     timeout=max(1.0, timeout_s - (time.perf_counter() - t0)) * 1e3)
        result["all"] = time.perf_counter() - t0
    except PlaywrightError as exc:  # a page that never completes is what this benchmark counts
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return result


async def close(results: list[dict]) -> None:
    """Close the tabs as a student does (the page's beforeunload handler runs and asks for the shutdown)."""
    for r in results:
        await r["page"].close(run_before_unload=True)
    await asyncio.sleep(1)
    for r in results:
        await r["context"].close()


def flood(g, pool: int, rounds: int = 50) -> None:
    """Issue 25's attack on one page's kernel (a legacy-protocol websocket, then every comm's state asked for
    ``rounds`` times over v1, then the client leaves): the server's memory, and how fast it answers meanwhile."""
    import urllib.request

    def answer_seconds(url: str) -> str:
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                r.read()
        except OSError as exc:
            return f"no answer ({type(exc).__name__})"
        return f"{time.perf_counter() - t:.2f} s"

    g.wait_for_idle_kernels(pool, 600)
    with urllib.request.urlopen(g.page(), timeout=300) as r:  # a visitor's GET: a pooled kernel with the tour
        kernel_id = page_kernel(r.read().decode("utf-8", "replace"))
    before = g.memory_mb()[1]
    t = time.perf_counter()
    result = attack_kernel_websocket(g.url, kernel_id, rounds=rounds)
    print(f"\nflood: a legacy-protocol websocket got HTTP {result['legacy']}; then {rounds} request_state to each of "
          f"{result['comms']} comms over v1 ({result['states']} answered, {time.perf_counter() - t:.1f} s); "
          f"server memory {before:.0f} -> {g.memory_mb()[1]:.0f} MB (goal: within +200 MB); meanwhile-after: "
          f"voila.js {answer_seconds(g.url + 'voila/static/voila.js')}, the tree {answer_seconds(g.url + 'voila/tree')} "
          f"(goal: within 2 s)")


def chromium_cpu_seconds() -> float:
    """CPU-seconds (user + system) of every Chromium process now running: the benchmark's browser, and any
    other Chromium on the machine (run the benchmark alone for a clean figure)."""
    import contextlib

    import psutil

    total = 0.0
    for p in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if "chrom" in (p.info["name"] or ""):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    return total


def fmt(x: float | None) -> str:
    return "never" if x is None else f"{x:.2f} s"


async def run(args, g) -> None:
    from playwright.async_api import async_playwright

    def kernels_and_memory() -> str:
        k, s = g.memory_mb()
        return f"{len(g.kernels())} kernels, {k:.0f} MB (server {s:.0f} MB)"

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            t = time.perf_counter()
            await asyncio.to_thread(g.wait_for_idle_kernels, args.pool, 600)
            print(f"pool of {args.pool} warm {time.perf_counter() - t:.0f} s after the server answered: "
                  f"{kernels_and_memory()}")

            print(f"\none student, warm pool ({args.repeat} visits, the pool refilled and idle before each):")
            seens, pictures, firsts, alls, cpus = [], [], [], [], []
            for i in range(args.repeat):
                if i:
                    await asyncio.to_thread(g.wait_for_idle_kernels, args.pool, 600)
                cpu_before = g.cpu_seconds()
                r = await student(browser, g.page(), args.timeout)
                seens.append(r["seen"])
                pictures.append(r["picture"])
                firsts.append(r["first"])
                alls.append(r["all"])
                print(f"  visit {i + 1}: first figure {fmt(r['seen'])} ({'the picture' if r['picture'] else 'live'}), "
                      f"first live figure {fmt(r['first'])}, all {N_WIDGETS} widgets {fmt(r['all'])}; "
                      f"the page opened its kernel connection at {fmt(r['connected'])} and had the state of "
                      f"{r['models']} widget models at {fmt(r['state'])}"
                      + (f"  [{r['error']}]" if "error" in r else ""))
                await close([r])
                # the page's kernel gone and the pool's replacement idle: everything this page view cost
                await asyncio.to_thread(g.wait_for_idle_kernels, args.pool, 600)
                kernels, server = (after - before for after, before in zip(g.cpu_seconds(), cpu_before))
                cpus.append((kernels + server, kernels, server))
                print(f"           CPU-seconds for this page view: {kernels + server:.2f} "
                      f"(kernels {kernels:.2f}, server {server:.2f})")
            if cpus:
                total = statistics.median(c[0] for c in cpus)
                print(f"  CPU-seconds per page view (kernels + server, the pool's replacement included): median "
                      f"{total:.2f} (goal <= 3); kernels {statistics.median(c[1] for c in cpus):.2f}, server "
                      f"{statistics.median(c[2] for c in cpus):.2f}")
            if done := [f for f in seens if f is not None]:
                print(f"  first figure: median {statistics.median(done):.2f} s (goal <= 1.5 s); "
                      f"{sum(pictures)} of {len(done)} visits showed the picture first")
            if done := [f for f in firsts if f is not None]:
                print(f"  first live figure: median {statistics.median(done):.2f} s")
            if alls_one := [a for a in alls if a is not None]:
                print(f"  all {N_WIDGETS} widgets: median {statistics.median(alls_one):.2f} s")

            await asyncio.to_thread(g.wait_for_idle_kernels, args.pool, 600)
            log_before = g.log.read_text(errors="replace").count("Timeout waiting for IOPub output")
            print(f"\n{args.students} students open the tour at once (pool of {args.pool} warm):")
            cpu_before, browser_before, t_class = g.cpu_seconds(), chromium_cpu_seconds(), time.perf_counter()
            results = await asyncio.gather(*(student(browser, g.page(), args.timeout) for _ in range(args.students)))
            kernels, server = (after - before for after, before in zip(g.cpu_seconds(), cpu_before))
            print(f"  while the class loaded ({time.perf_counter() - t_class:.0f} s on {os.cpu_count()} CPUs): "
                  f"CPU-seconds kernels {kernels:.1f}, server {server:.1f}, "
                  f"Chromium (the {args.students} students' browser) {chromium_cpu_seconds() - browser_before:.1f}")
            complete = sum(r["all"] is not None for r in results)
            seens = sorted(r["seen"] for r in results if r["seen"] is not None)
            firsts = sorted(r["first"] for r in results if r["first"] is not None)
            alls = sorted(r["all"] for r in results if r["all"] is not None)
            print(f"  pages complete (all {N_WIDGETS} widgets): {complete}/{args.students} (goal {args.students}/"
                  f"{args.students})")
            if seens:
                print(f"  first figure: min {seens[0]:.1f} s, median {statistics.median(seens):.1f} s, "
                      f"max {seens[-1]:.1f} s"
                      f" ({len(seens)} pages showed one; {sum(r['picture'] for r in results)} the picture first)")
            if firsts:
                print(f"  first live figure: min {firsts[0]:.1f} s, median {statistics.median(firsts):.1f} s, "
                      f"max {firsts[-1]:.1f} s"
                      f" ({len(firsts)} pages drew one)")
            if alls:
                print(f"  all {N_WIDGETS} widgets: median {statistics.median(alls):.1f} s, max {alls[-1]:.1f} s")
            for r in results:
                if "error" in r:
                    print(f"  incomplete: {r['error']}")
            iopub = g.log.read_text(errors="replace").count("Timeout waiting for IOPub output") - log_before
            print(f"  Voila's 'Timeout waiting for IOPub output': {iopub}")
            print(f"  while open: {kernels_and_memory()}")

            t = time.perf_counter()
            await close(results)
            try:
                await asyncio.to_thread(wait_until, lambda: len(g.kernels()) <= args.pool, 120, 0.5, "kernels")
                print(f"  after closing: back to {len(g.kernels())} kernels {time.perf_counter() - t:.0f} s after "
                      f"the tabs closed (goal: the idle pool of {args.pool} within 60 s)")
            except TimeoutError:
                print(f"  after closing: still {len(g.kernels())} kernels 120 s after the tabs closed")
            await asyncio.sleep(5)
            print(f"  after closing (+5 s): {kernels_and_memory()}")
            await asyncio.to_thread(flood, g, args.pool)
        finally:
            await browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", type=int, default=2, help="preheated tour kernels (the gallery's default: 2)")
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="single-student visits")
    ap.add_argument("--timeout", type=float, default=300, help="seconds a page may take before it counts as incomplete")
    ap.add_argument("--log", help="keep the gallery's log here (default: a temporary file)")
    ap.add_argument("--dir", type=Path, help="serve the notebooks of this folder (default: examples/)")
    ap.add_argument("--plain-kernels", action="store_true",
                    help="the gallery's --plain-kernels: each kernel a new process (default: forked kernels)")
    args = ap.parse_args()
    global N_WIDGETS
    if args.dir:
        N_WIDGETS = tour_widget_count(args.dir / "00_tour.ipynb")
    print(f"kernels: {'plain processes' if args.plain_kernels else 'forked from the template'}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(args.log) if args.log else Path(tmp) / "gallery.log"
        # every student here comes from 127.0.0.1: no per-client limit (the class-wide one stays)
        with gallery(log, pool=args.pool, directory=args.dir, pages_per_client=0,
                     plain_kernels=args.plain_kernels) as g:
            asyncio.run(run(args, g))
    print(f"machine load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
