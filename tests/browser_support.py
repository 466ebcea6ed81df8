"""Voila + Debian chromium (through Playwright) for the real-browser tests and screenshots.

See ../shared/notes/browser-testing.md for where the flags and waits come from.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("RNN_WIDGETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # every host but loopback fails to resolve: the page must work offline
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_url(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
            time.sleep(0.25)


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (Voila then shuts its kernels down), then SIGKILL if it has not gone in ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.contextmanager
def voila_server(notebook: Path, log: Path):
    """Serve ``notebook`` with Voila on a free loopback port; yields the page URL; stops it on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--show_tracebacks=True", "--preheat_kernel=False"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=notebook.parent)
        try:
            # never poll "/": every GET of it starts a kernel
            wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js")
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process(proc)


@contextlib.contextmanager
def chromium_page(width: int = 1000, height: int = 900):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.errors = errors
            yield page
        finally:
            browser.close()


def write_notebook(path: Path, cells: list[str], markdown: list[str] | None = None) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, code in enumerate(cells):
        if markdown:
            nb.cells.append(nbformat.v4.new_markdown_cell(markdown[i]))
        nb.cells.append(nbformat.v4.new_code_cell(code))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def serve_directory(path: Path):
    """A static file server for ``path`` on a free loopback port; yields its base URL."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


FIGURES_SIGNATURE = """el => Array.from(el.querySelectorAll('.bqplot path, .bqplot rect, .bqplot text, .bqplot g'))
    .map(n => [n.getAttribute('d'), n.getAttribute('transform'), n.getAttribute('height'), n.getAttribute('y'),
               n.getAttribute('style'), n.textContent].join(',')).join('|')"""


def press_and_wait_for_change(page, root_selector: str, index: int = 0, key: str = "ArrowRight",
                              timeout: int = 20_000) -> float:
    """Focus the first slider under the root, press ``key``, wait until its figures change; returns seconds."""
    import time

    root = page.locator(root_selector).nth(index)
    before = root.evaluate(FIGURES_SIGNATURE)
    root.locator(".widget-slider .noUi-target:not([disabled]) .noUi-handle").first.focus()  # skip disabled ones
    start = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        f"([before, sel, i]) => ({FIGURES_SIGNATURE})(document.querySelectorAll(sel)[i]) !== before",
        arg=[before, root_selector, index], timeout=timeout, polling="raf")
    return time.perf_counter() - start
