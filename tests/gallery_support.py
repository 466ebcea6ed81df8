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
            max_pages: int | None = None, pages_per_client: int | None = None, plain_kernels: bool = False):
    """``rnn-widgets gallery`` on a free loopback port, its output in ``log``; stopped (SIGTERM) on exit.
    ``max_pages``, ``pages_per_client`` and ``plain_kernels`` are the command's options (None: its defaults). A test that plays a
    class from this one machine passes ``pages_per_client=0``: every student's address is 127.0.0.1 here."""
    port = free_port()
    cmd = [sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port), "--pool", str(pool),
           "--lecture-pool", str(lecture_pool), "--dir", str(directory or ROOT / "examples")]
    if max_pages is not None:
        cmd += ["--max-pages", str(max_pages)]
    if pages_per_client is not None:
        cmd += ["--pages-per-client", str(pages_per_client)]
    if plain_kernels:
        cmd += ["--plain-kernels"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_url(f"{url}voila/static/voila.js", timeout=ready_timeout)  # never poll "/": it may start kernels
            yield Gallery(proc, url, log)
        finally:
            stop_process(proc)


# ---------------------------------------------------------------------------------------------------------------
# A visitor's kernel websocket (tests/test_gallery_guard.py, benchmarks/gallery.py)

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def page_kernel(body: str) -> str:
    """The kernel id a Voila page's HTML carries (its jupyter-config-data)."""
    import re

    return re.search(r'"kernelId":\s*"([0-9a-f-]+)"', body).group(1)


def v1_frame(channel: str, parts: list[bytes]) -> bytes:
    """A frame of the v1 kernel websocket protocol (what Voila's page sends and receives)."""
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    return serialize_msg_to_ws_v1(parts, channel)


def kernel_message_v1(msg_type: str, content: dict, channel: str = "shell") -> bytes:
    import json
    import uuid

    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "", "session": "s",
              "date": "2026-01-01T00:00:00Z", "version": "5.3"}
    return v1_frame(channel, [json.dumps(part).encode() for part in (header, {}, {}, content)])


def attack_kernel_websocket(base_url: str, kernel_id: str, rounds: int = 20) -> dict:
    """Issue 25's attack on a page's kernel: connect without a subprotocol (``legacy``: the HTTP status it got,
    or 101 if it was let in), then over the v1 protocol ask for the list of comms and send every comm
    ``rounds`` ``request_state`` messages; ``comms`` found, ``states`` answered within 5 s of the last."""
    import json

    import websocket
    from jupyter_server.services.kernels.connection.base import (
        deserialize_msg_from_ws_v1,
    )

    ws_url = f"{base_url.replace('http', 'ws', 1)}api/kernels/{kernel_id}/channels"
    try:
        websocket.create_connection(ws_url, timeout=10).close()
        legacy = 101
    except websocket.WebSocketBadStatusException as refused:
        legacy = refused.status_code
    ws = websocket.create_connection(ws_url, timeout=30, subprotocols=[V1_PROTOCOL])
    try:
        ws.send_binary(kernel_message_v1("comm_info_request", {}))
        comms, deadline = {}, time.monotonic() + 60
        while not comms and time.monotonic() < deadline:
            frame = ws.recv()
            if isinstance(frame, bytes):
                parts = deserialize_msg_from_ws_v1(frame)[1]
                if json.loads(parts[0]).get("msg_type") == "comm_info_reply":
                    comms = json.loads(parts[3])["comms"]
        for _ in range(rounds):
            for comm_id in comms:
                ws.send_binary(kernel_message_v1("comm_msg", {"comm_id": comm_id, "data": {"method": "request_state"}}))
        states = 0
        ws.settimeout(5)
        try:
            while True:
                frame = ws.recv()
                if isinstance(frame, bytes):
                    states += json.loads(deserialize_msg_from_ws_v1(frame)[1][0]).get("msg_type") == "comm_msg"
        except websocket.WebSocketTimeoutException:
            pass
    finally:
        ws.close()  # and the client leaves
    return {"legacy": legacy, "comms": len(comms), "states": states}
