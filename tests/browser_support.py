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


def skip_module_without_browser() -> None:
    """At a browser test module's top: skip it where chromium or playwright is missing, unless
    RNN_WIDGETS_REQUIRE_BROWSER is set (as CI does), where a missing browser is a failure."""
    import pytest

    if browser_available():
        return
    if os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"):
        raise RuntimeError("the browser tests are required here, but Debian chromium or playwright is missing")
    pytest.skip("needs Debian chromium (/usr/bin/chromium) and playwright", allow_module_level=True)


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


# --- A real local JupyterHub (deploy/jupyterhub/jupyterhub_config.py) for tests/test_hub.py and benchmarks/hub.py ---

HUB_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "jupyterhub" / "jupyterhub_config.py"


def configurable_http_proxy() -> str | None:
    """JupyterHub's proxy from npm: on PATH, or installed beside this Python environment (as .ci/run does)."""
    import shutil

    found = shutil.which("configurable-http-proxy")
    beside = Path(sys.prefix) / "node_modules" / ".bin" / "configurable-http-proxy"
    return found or (str(beside) if beside.exists() else None)


def hub_available() -> bool:
    """jupyterhub and jupyterhub-idle-culler from PyPI, configurable-http-proxy from npm (and node to run it)."""
    import importlib.util
    import shutil

    return (all(importlib.util.find_spec(m) for m in ("jupyterhub", "jupyterhub_idle_culler"))
            and configurable_http_proxy() is not None and shutil.which("node") is not None)


class LocalHub:
    """A running hub: its public URL, an admin API token, and every process it has started (see ``local_hub``)."""

    def __init__(self, proc: subprocess.Popen, url: str, token: str, workdir: Path):
        import threading

        self.proc, self.url, self.token, self.workdir = proc, url, token, workdir
        self.seen: dict[int, float] = {}  # pid -> create_time of every process under the hub, ever
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.descendants()
            self._stop.wait(0.5)

    def descendants(self):
        """The hub's live descendants now (proxy, culler, students' servers, their kernels); remembers them all."""
        import psutil

        try:
            procs = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for p in procs:
            try:
                self.seen.setdefault(p.pid, p.create_time())
            except psutil.NoSuchProcess:
                pass
        return procs

    def api(self, method: str, path: str, body: dict | None = None):
        import json

        req = urllib.request.Request(f"{self.url}hub/api/{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def servers(self, name: str) -> dict:
        """The user's servers as the hub sees them ({} when none runs)."""
        return self.api("GET", f"users/{name}")["servers"]

    def user_processes(self, name: str):
        """The hub's descendants whose environment says they belong to ``name`` (server and kernels)."""
        import psutil

        mine = []
        for p in self.descendants():
            try:
                if p.environ().get("JUPYTERHUB_USER") == name:
                    mine.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return mine

    def leftovers(self):
        """Processes the hub started that are still alive (not counting zombies)."""
        import psutil

        alive = []
        for pid, created in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        return alive

    def stop(self, timeout: float = 60) -> list:
        """SIGTERM the hub as Ctrl-C would; returns what it left running (then kills that, so nothing outlives us)."""
        import psutil

        self.descendants()
        self._stop.set()
        self._watcher.join()
        stop_process(self.proc, timeout=timeout)
        deadline = time.monotonic() + 10  # children reparented at the hub's exit may still be exiting
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.25)
            left = self.leftovers()
        report = [f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in left if p.is_running()]
        for p in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        return report


@contextlib.contextmanager
def local_hub(workdir: Path, cull_timeout: int | None = None, cull_every: int | None = None,
              activity_interval: int | None = None):
    """Start deploy/jupyterhub/jupyterhub_config.py on free loopback ports, state and homes under ``workdir``.

    Only the ports, paths, an admin token for the caller and (if given) shorter culling and activity intervals differ
    from the deployed config. Yields a ``LocalHub``; on exit the hub is stopped and anything it left is killed.
    """
    import secrets

    workdir.mkdir(parents=True, exist_ok=True)
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    lines = [
        "c = get_config()",
        f"load_subconfig({str(HUB_CONFIG)!r})",
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'",
        f"c.JupyterHub.hub_port = {hub_port}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'",
        f"c.ConfigurableHTTPProxy.command = [{configurable_http_proxy()!r}]",
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(workdir / 'home' / '{username}')!r}",
        f"c.JupyterHub.services.append({{'name': 'rnn-widgets-test', 'api_token': {token!r}}})",
        "c.JupyterHub.load_roles.append({'name': 'rnn-widgets-test', 'services': ['rnn-widgets-test'],",
        "    'scopes': ['admin:users', 'admin:servers', 'list:users', 'read:users', 'read:servers']})",
    ]
    if cull_timeout or cull_every:
        lines += [
            "for service in c.JupyterHub.services:",
            "    if service['name'] == 'jupyterhub-idle-culler':",
            "        service['command'] = [a for a in service['command']",
            "                              if not a.startswith(('--timeout=', '--cull-every='))]",
            f"        service['command'] += ['--timeout={cull_timeout or 3600}', '--cull-every={cull_every or 300}']",
        ]
    if activity_interval:
        lines += [f"c.JupyterHub.last_activity_interval = {activity_interval}",
                  f"c.Spawner.environment['JUPYTERHUB_ACTIVITY_INTERVAL'] = '{activity_interval}'"]
    config = workdir / "jupyterhub_test_config.py"
    config.write_text("\n".join(lines) + "\n")
    url = f"http://127.0.0.1:{port}/"
    with open(workdir / "jupyterhub.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=workdir,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        hub = LocalHub(proc, url, token, workdir)
        try:
            wait_for_url(f"{url}hub/health", timeout=90)
            yield hub
        finally:
            if proc.poll() is None or hub.leftovers():
                hub.stop()


def hub_login(page, hub_url: str, name: str, password: str = "any", submit: bool = True) -> float | None:
    """Open the hub's login form and fill it in as ``name`` (the dummy authenticator takes any password).

    With ``submit`` (the default) also sends it and returns when it was sent (``time.perf_counter()``); without,
    ``submit_login`` sends it later, so that several students can press Enter at the same moment.
    """
    page.goto(f"{hub_url}hub/login", timeout=60_000)
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    return submit_login(page) if submit else None


def submit_login(page) -> float:
    start = time.perf_counter()
    page.locator("#password_input").press("Enter")
    return start


#: an init script for a gallery page: ``window.__sawPicture`` says whether the page showed the first widget's
#: picture (rnn_widgets/preview.py); ``window.__pictureGone`` records, when the picture left the page, how many
#: figures the live widget had drawn, how many elements the emptiest of them held (bqplot makes a figure's svgs
#: first, its marks after), and what the caption said
WATCH_PICTURE = """new MutationObserver((_, observer) => {
  if (!window.__sawPicture) { window.__sawPicture = !!document.querySelector('.rnn-preview img'); return; }
  if (document.querySelector('.rnn-preview img')) return;  // moved, not gone
  const figures = Array.from(document.querySelector('.rnn-widget')?.querySelectorAll('.bqplot.figure') || []);
  const sizes = figures.map(f => f.querySelectorAll('svg.svg-figure *').length);
  const caption = document.querySelector('.rnn-preview [role=status]');
  window.__pictureGone = { figures: figures.length, smallest: Math.min(...sizes),
                           said: caption ? caption.textContent : '' };
  observer.disconnect();
}).observe(document, { subtree: true, childList: true });"""


@contextlib.contextmanager
def jupyter_server(work: Path, log: Path, theme: str | None = None):
    """Notebook 7 and JupyterLab on ``work`` (no token; JupyterLab's news toast off, ``theme`` e.g. "JupyterLab
    Dark"); yields the base URL. The app is exposed in the page as ``window.jupyterapp`` (see :func:`run_all`)."""
    import json
    import os

    apputils = work / "settings" / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text('{"fetchNews":"false","checkForUpdates":false}')
    if theme:
        (apputils / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(work / "settings"))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "notebook", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
             "--allow-root", "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={work}",
             "--JupyterNotebookApp.expose_app_in_browser=True", "--LabApp.expose_app_in_browser=True"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
        try:
            wait_for_url(f"http://127.0.0.1:{port}/api/status", timeout=120)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process(proc)


def run_all(page, url: str, timeout: int = 120_000) -> None:
    """Open a notebook in JupyterLab or Notebook 7 and run all its cells once its kernel really answers (the
    "Idle" indicator comes first, and a Run All sent then is silently dropped)."""
    page.goto(url, timeout=timeout)
    ready = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; " \
            "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel); }"
    page.wait_for_function(ready, timeout=timeout)
    page.evaluate("""async () => { const sc = window.jupyterapp.shell.currentWidget.sessionContext;
        await sc.ready; await sc.session.kernel.info; }""")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
