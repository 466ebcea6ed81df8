"""The gallery command as the tests and benchmarks/gallery.py drive it: start it, find its kernels, stop it.

Kernels are counted as processes (``ipykernel_launcher`` below the gallery process), so "a kernel was
released" means its process is gone, not that some list says so.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import psutil
from browser_support import free_port, stop_process, wait_for_url

ROOT = Path(__file__).resolve().parents[1]
TOUR_NOTEBOOK = ROOT / "examples" / "00_tour.ipynb"

#: a page of the tour is complete when every widget the tour adds is on it with all its figures drawn
ALL_WIDGETS_JS = """n => { const w = document.querySelectorAll('.rnn-widget');
    return w.length >= n && Array.from(w).every(e => e.querySelector('.bqplot svg')); }"""


def tour_widget_count(notebook: Path = TOUR_NOTEBOOK) -> int:
    """How many widgets the tour shows: the lines of its code cells that start ``tour.add(`` (one widget each),
    or, in a tour written without :class:`rnn_widgets.gallery.Tour`, with a widget's constructor."""
    import re

    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return sum(len(re.findall(r"^(?:tour\.add\(|[A-Z]\w*Widget\()", c.source, re.MULTILINE)) for c in cells if c.cell_type == "code")


def wait_until(condition, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy (returned) or ``timeout`` s pass (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


class Gallery:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log

    def page(self, notebook: str = "00_tour.ipynb") -> str:
        return f"{self.url}voila/render/{notebook}"

    def processes(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kernels(self) -> list[psutil.Process]:
        found = []
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                if "ipykernel_launcher" in " ".join(p.cmdline()):
                    found.append(p)
        return found

    def memory_mb(self) -> tuple[float, float]:
        """Resident memory (MB) of the kernels, and of the gallery's own processes (Voila and this launcher)."""
        kernels = {p.pid for p in self.kernels()}
        k = s = 0.0
        for p in [psutil.Process(self.proc.pid), *self.processes()]:
            with contextlib.suppress(psutil.Error):
                rss = p.memory_info().rss / 2**20
                if p.pid in kernels:
                    k += rss
                else:
                    s += rss
        return k, s

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU-seconds (user + system) spent so far by the kernels, live and gone, and by the gallery's own
        processes (this launcher and Voila). A kernel that has exited counts through its parent, which reaped
        it (the ``children_*`` CPU times), so a page's kernel still counts after its tab closed."""
        kernels = {p.pid for p in self.kernels()}
        k = s = 0.0
        for p in [psutil.Process(self.proc.pid), *self.processes()]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                own, reaped = t.user + t.system, t.children_user + t.children_system
                if p.pid in kernels:
                    k += own + reaped
                else:
                    s += own
                    k += reaped  # what the gallery's processes reaped are kernels (and their helpers)
        return k, s

    def wait_for_idle_kernels(self, count: int, timeout: float = 300) -> None:
        """Until exactly ``count`` kernels run and none used CPU for 2 s (a preheated pool has run the notebook)."""
        def idle():
            ks = self.kernels()
            if len(ks) != count:
                return False
            try:
                before = [sum(k.cpu_times()[:2]) for k in ks]
                time.sleep(2)
                after = [sum(k.cpu_times()[:2]) for k in ks]
            except psutil.Error:
                return False
            return all(b - a < 0.1 for a, b in zip(before, after))
        wait_until(idle, timeout, what=f"{count} idle kernel(s)")


@contextlib.contextmanager
def gallery(log: Path, pool: int = 1, lecture_pool: int = 0, directory: Path | None = None, ready_timeout=120,
            max_pages: int | None = None, pages_per_client: int | None = None):
    """``rnn-widgets gallery`` on a free loopback port, its output in ``log``; stopped (SIGTERM) on exit.
    ``max_pages`` and ``pages_per_client`` are the command's options (None: its defaults). A test that plays a
    class from this one machine passes ``pages_per_client=0``: every student's address is 127.0.0.1 here."""
    port = free_port()
    cmd = [sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port), "--pool", str(pool),
           "--lecture-pool", str(lecture_pool), "--dir", str(directory or ROOT / "examples")]
    if max_pages is not None:
        cmd += ["--max-pages", str(max_pages)]
    if pages_per_client is not None:
        cmd += ["--pages-per-client", str(pages_per_client)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_url(f"{url}voila/static/voila.js", timeout=ready_timeout)  # never poll "/": it may start kernels
            yield Gallery(proc, url, log)
        finally:
            stop_process(proc)
