"""Students on a real local JupyterHub: memory per student (server + kernel) and login → first figure.

    python benchmarks/hub.py [--rounds 1 3]

Starts deploy/jupyterhub/jupyterhub_config.py (as tests/test_hub.py does, with the course's own culling), then for
each round N logs N new students in at the same moment, each in their own Chromium context, and times from pressing
Enter on the login form to the first widget's picture (rnn_widgets/preview.py), to the tour's first live figure
and to all the tour's widgets drawn. Once every page is drawn it reads
each student's processes (their jupyterhub-singleuser server and its kernel) from /proc: resident memory (RSS), the
proportional share of shared pages (PSS), the kernel's peak, and the CPU-seconds they used. The README's sizing and
values.yaml's guarantees come from these figures. The students' servers are stopped after each round.

One machine does everything (hub, proxy, servers, kernels, Chromium), so N students at once compete for its cores;
with other work running, timings vary by tens of percent between runs.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    hub_available,
    hub_login,
    local_hub,
    submit_login,
)

import rnn_widgets

MB = 1024 * 1024  # MiB, as /proc and Kubernetes' "Mi" count
VALUES = yaml.safe_load((Path(__file__).resolve().parents[1] / "deploy" / "jupyterhub" / "values.yaml").read_text())


def k8s_bytes(quantity: str) -> float:
    """A Kubernetes memory quantity ("640M", "1.5G", "512Mi") in bytes."""
    units = {"K": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    number, unit = re.fullmatch(r"([\d.]+)([KMG]i?)?", str(quantity)).groups()
    return float(number) * units.get(unit, 1)
WIDGETS = len(rnn_widgets.WIDGETS)


def footprint(hub, name: str) -> dict:
    """Memory and CPU of one student's server and kernels, now."""
    import psutil

    out = {"server_rss": 0.0, "kernel_rss": 0.0, "pss": 0.0, "kernel_peak": 0.0, "cpu_s": 0.0, "kernels": 0}
    for p in hub.user_processes(name):
        try:
            cmd = " ".join(p.cmdline())
            rss = p.memory_info().rss / MB
            out["pss"] += p.memory_full_info().pss / MB
            times = p.cpu_times()
            out["cpu_s"] += times.user + times.system
            if "ipykernel" in cmd:
                out["kernel_rss"] += rss
                out["kernels"] += 1
                status = Path(f"/proc/{p.pid}/status").read_text()
                out["kernel_peak"] = max(out["kernel_peak"],
                                         float(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)
            else:
                out["server_rss"] += rss
        except psutil.NoSuchProcess:
            pass
    return out


def run_round(hub, browser, n: int, tag: str) -> list[dict]:
    from playwright.sync_api import Error as PlaywrightError

    names = [f"{tag}-student{i + 1}" for i in range(n)]
    pages = {}
    for name in names:
        page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
        hub_login(page, hub.url, name, submit=False)
        pages[name] = page
    started = {name: submit_login(page) for name, page in pages.items()}
    rows = []
    try:
        picture, first, every = {}, {}, {}
        # poll all pages in turn so that no student's clock waits on another's page
        deadline = time.monotonic() + 600
        while len(every) < n and time.monotonic() < deadline:
            for name, page in pages.items():
                if name in every:
                    continue
                try:
                    drawn, pictured = page.evaluate(
                        "() => [Array.from(document.querySelectorAll('.rnn-widget')).filter(w => w.querySelector("
                        "'.bqplot svg path, .bqplot svg rect')).length, !!document.querySelector('.rnn-preview img')]")
                except PlaywrightError:  # the page is between redirects (login, spawn, the tour)
                    drawn, pictured = 0, False
                now = time.perf_counter()
                if (pictured or drawn >= 1) and name not in picture:  # the first widget's picture, or a live one
                    picture[name] = now - started[name]
                if drawn >= 1 and name not in first:
                    first[name] = now - started[name]
                if drawn >= WIDGETS:
                    every[name] = now - started[name]
            time.sleep(0.1)
        if len(every) < n:
            raise RuntimeError(f"not every student's tour was drawn within 10 minutes: {sorted(every)}")
        time.sleep(2)  # let the kernels settle after the last message
        log = (hub.workdir / "jupyterhub.log").read_text()
        for name in names:
            spawn = re.search(rf"User {re.escape(name)} took ([\d.]+) seconds to start", log)
            rows.append({"name": name, "picture": picture[name], "first": first[name], "all": every[name],
                         "spawn": float(spawn.group(1)) if spawn else float("nan"), **footprint(hub, name)})
    finally:
        for page in pages.values():
            page.context.close()
        for name in names:
            hub.api("DELETE", f"users/{name}/server")
        deadline = time.monotonic() + 120
        while any(hub.user_processes(name) for name in names) and time.monotonic() < deadline:
            time.sleep(0.5)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, nargs="+", default=[1, 3], help="students logging in at once, per round")
    args = ap.parse_args()
    if not hub_available():
        sys.exit("needs jupyterhub + jupyterhub-idle-culler (pip install -e '.[hub]') and configurable-http-proxy "
                 "(npm install -g configurable-http-proxy)")
    import psutil
    from playwright.sync_api import sync_playwright

    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    os.environ["RNN_WIDGETS_HUB_TEST_LOGIN"] = "1"  # the local hub's any-password login, asked for by name
    with tempfile.TemporaryDirectory() as tmp, local_hub(Path(tmp)) as hub, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            all_rows = {}
            for r, n in enumerate(args.rounds):
                rows = run_round(hub, browser, n, f"r{r + 1}")
                all_rows[n] = rows
                print(f"\n{n} student(s) logging in at once:")
                print(f"{'student':16} {'spawn s':>7} {'picture s':>9} {'1st figure s':>12} {f'all {WIDGETS} s':>7} "
                      f"{'server MB':>9} "
                      f"{'kernel MB':>9} {'peak MB':>7} {'total MB':>8} {'PSS MB':>7} {'CPU s':>6}")
                for row in rows:
                    print(f"{row['name']:16} {row['spawn']:7.1f} {row['picture']:9.1f} {row['first']:12.1f} "
                          f"{row['all']:7.1f} "
                          f"{row['server_rss']:9.0f} {row['kernel_rss']:9.0f} {row['kernel_peak']:7.0f} "
                          f"{row['server_rss'] + row['kernel_rss']:8.0f} {row['pss']:7.0f} {row['cpu_s']:6.1f}")
            hub_procs = [hub.proc] + [q for q in hub.descendants() if "configurable-http-proxy" in " ".join(q.cmdline())
                                      or "jupyterhub_idle_culler" in " ".join(q.cmdline())]
            hub_mb = sum(psutil.Process(q.pid).memory_info().rss for q in hub_procs) / MB
        finally:
            browser.close()
        left = hub.stop()
    rows = [row for rs in all_rows.values() for row in rs]
    per_student = statistics.median(row["server_rss"] + row["kernel_rss"] for row in rows)
    peak = max(row["server_rss"] + row["kernel_peak"] for row in rows)
    cpu = statistics.median(row["cpu_s"] for row in rows)
    print(f"\nhub + proxy + culler: {hub_mb:.0f} MB resident")
    print(f"per student (median of {len(rows)}): {per_student:.0f} MB resident (server + kernel), "
          f"peak {peak:.0f} MB; {cpu:.1f} CPU-seconds from login to the whole tour drawn")
    node_gb, node_cores = 32, 8
    usable_mib = node_gb * 1024 * 0.88  # what Kubernetes leaves for pods: roughly 88 % of a 32 GB node
    guarantee = VALUES["singleuser"]["memory"]["guarantee"]
    print(f"an {node_cores}-core / {node_gb} GB node (about 88 % allocatable): {usable_mib / per_student:.0f} students "
          f"by measured memory, {usable_mib / (k8s_bytes(guarantee) / MB):.0f} by values.yaml's guarantee "
          f"({guarantee}); a class logging in at once costs the node about {cpu / node_cores:.1f} s of CPU per student")
    if left:
        print(f"left running after the hub stopped: {left}")


if __name__ == "__main__":
    main()
