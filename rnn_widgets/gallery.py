"""The gallery for a classroom: Voila serving the example notebooks to many students at once.

Three pieces, none of which imports torch (the kernels do, the server does not):

* :data:`CLASSROOM_CONFIG`: the Jupyter/Voila settings a classroom needs, shared by ``rnn-widgets gallery``
  and Binder (``binder/jupyter_server_config.d/rnn-widgets.json`` holds the same values; a test keeps them equal).
* :func:`fix_voila_shutdown`: Voila pages ask the server to shut their kernel down when they close, with a
  POST that carries the ``_xsrf`` cookie; Voila never sets that cookie, so the server refuses the POST
  ("'_xsrf' argument missing from POST", voila-dashboards/voila#1458) and every page view leaks a kernel.
  The fix sets the cookie when a page is served. It is applied in the gallery's Voila process and, on a
  Jupyter server (Binder), by this module loaded as a server extension.
* :class:`Tour`: how ``examples/00_tour.ipynb`` shows its widgets. Under Voila a page first shows the first
  widget alone and builds the others once its first figure is drawn, so a student sees a figure after the
  browser has made about 160 widget models instead of about 700 (``python benchmarks/gallery.py``). Before
  that, the page shows a picture of the first widget (:mod:`rnn_widgets.preview`).
* :func:`serve`: what ``rnn-widgets gallery`` runs. It picks a free port before starting Voila (and tells
  Voila not to move), so the URL it prints is the one that serves; it stops Voila and every kernel on
  SIGTERM, SIGINT (Ctrl-C) or SIGHUP within a few seconds.

The gallery's Voila process also applies :mod:`rnn_widgets.gallery_guard` (no anonymous visitor can freeze the
server or hold more than a few kernels) and starts kernels as forks of one process that has imported torch
(:mod:`rnn_widgets.kernel_fork`).

``python -m rnn_widgets.gallery --config JSON VOILA-ARGS...`` is the Voila process itself (used by :func:`serve`).
"""
from __future__ import annotations

import copy
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

#: The notebook a classroom opens first; it gets the pool of preheated kernels.
TOUR = "00_tour.ipynb"

#: Default number of preheated kernels kept for the tour. Each idle, preheated tour kernel holds about
#: 0.4 GB (``python benchmarks/gallery.py``); two of them suit a small server (2 cores, 4 GB).
DEFAULT_POOL = 2

#: Settings shared by the gallery and Binder, as traitlets config sections.
CLASSROOM_CONFIG: dict[str, dict] = {
    # Voila runs each notebook with nbclient. Its default waits only 4 s for a cell's output after the cell
    # finished (iopub_timeout); on a loaded machine output arrives later and the page silently lacks widgets.
    "VoilaExecutor": {
        "iopub_timeout": 120,    # seconds to wait for a cell's output after it finished
        "startup_timeout": 300,  # seconds for a kernel to start (ten at once on two cores take a while)
        "timeout": 600,          # a cell still running after ten minutes is stuck: report it on the page
    },
    # Kernels whose page went without saying so (browser crashed, laptop closed, network gone) are culled
    # once idle and disconnected for 5 minutes. A kernel with a page connected, or one still executing, is
    # never culled; under load a page can take a minute to connect after its kernel went idle (a 20 s limit
    # culled loading pages), so the limit is five times that.
    "MappingKernelManager": {
        "cull_idle_timeout": 300,
        "cull_interval": 60,
        "cull_connected": False,
        "cull_busy": False,
    },
    # Voila loads every installed JupyterLab extension's federated bundle; Notebook 7's (installed beside
    # JupyterLab on most machines) needs modules only the Notebook app provides, and each page then logs
    # "The getter for the shared module is not a function" in the browser console. Voila pages need none of it.
    # "rnn-widgets" (share/voila/templates/rnn-widgets: Voila's lab template) shows the picture a widget carries
    # while the live widget starts (rnn_widgets/preview.py); Voila finds it through TEMPLATES (see its use).
    "VoilaConfiguration": {
        "extension_denylist": ["@jupyter-notebook/lab-extension"],
        "template": "rnn-widgets",
    },
}

#: A Jupyter data directory holding the "rnn-widgets" Voila template (voila/templates/rnn-widgets). The gallery's
#: Voila finds it on JUPYTER_PATH; binder/postBuild copies it into the environment's share/jupyter.
TEMPLATES = Path(__file__).parent / "share"

#: glibc settings for the kernels (the gallery's; binder/start and deploy/jupyterhub/values.yaml set the same):
#: a fixed trim threshold and mmap for blocks over 128 KB hand freed memory back to the system. With glibc's
#: defaults (a dynamic threshold that grows with the largest block freed) a kernel whose widgets churn tensors of
#: a few MB keeps freed pages: its RSS swung 30–40 MB during 10,000 control changes with nothing live growing
#: (benchmarks/soak.py; with these, the highest RSS after warm-up fell from +28–36 MB to +13 MB, at the same speed).
KERNEL_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": "131072", "MALLOC_MMAP_THRESHOLD_": "131072"}


#: The section of :func:`gallery_config` that is the gallery's own (its guards, its kernels), not Voila's
GUARD_SECTION = "RnnWidgetsGallery"
#: the entry point of rnn_widgets.kernel_fork.ForkProvisioner (setup.cfg)
FORK_PROVISIONER = "rnn-widgets-fork"


def gallery_config(pool: int = DEFAULT_POOL, lecture_pool: int = 0, max_pages: int | None = None,
                   pages_per_client: int | None = None, fork_kernels: bool = True) -> dict[str, dict]:
    """The full config of the gallery's Voila: :data:`CLASSROOM_CONFIG` plus preheated kernels and fast stops.

    ``pool`` kernels are kept running the tour ahead of time, so a student's page is served from a notebook
    already executed; ``lecture_pool`` kernels likewise for each of the other notebooks. At most ``max_pages``
    pages hold a kernel at once (default: what the machine's memory holds beside the pools), at most
    ``pages_per_client`` from one client address (0: no limit); see :mod:`rnn_widgets.gallery_guard`. With
    ``fork_kernels`` each kernel is a fork of one process that has imported torch (:mod:`rnn_widgets.kernel_fork`).
    """
    from .gallery_guard import DEFAULT_PER_CLIENT, default_max_pages

    if pool < 0 or lecture_pool < 0:
        raise ValueError("pool sizes cannot be negative")
    per_client = DEFAULT_PER_CLIENT if pages_per_client is None else pages_per_client
    if max_pages is None:
        max_pages = default_max_pages(pool + lecture_pool)
    if max_pages < 1 or per_client < 0:
        raise ValueError(f"max_pages must be at least 1 and pages_per_client 0 or more, "
                         f"got {max_pages}, {per_client}")
    config = copy.deepcopy(CLASSROOM_CONFIG)
    config[GUARD_SECTION] = {"max_pages": max_pages, "pages_per_client": per_client, "fork_kernels": fork_kernels}
    config["VoilaConfiguration"].update(preheat_kernel=pool + lecture_pool > 0, show_tracebacks=False)
    config["VoilaKernelManager"] = {"kernel_pools_config": {"default": {"pool_size": lecture_pool},
                                                             TOUR: {"pool_size": pool}}}
    # an idle kernel exits within a second of its shutdown request; one that does not is killed then
    config["KernelManager"] = {"shutdown_wait_time": 1.0}
    config["Voila"] = {"port_retries": 0, "open_browser": False}  # serve on the port we printed, or fail
    return config


# --------------------------------------------------------------------------------------------------------------
# The _xsrf cookie (voila-dashboards/voila#1458)


def fix_voila_shutdown() -> bool:
    """Make Voila's page handler set the ``_xsrf`` cookie, so the page's shutdown request is accepted.

    Voila 0.5's page closes with ``navigator.sendBeacon(".../voila/api/shutdown/<kernel>", {_xsrf: cookie})``;
    tornado sets that cookie only when a handler reads ``xsrf_token``, which Voila's page handler never does.
    Reading it before the page is written sets the cookie (a random token that the POST then echoes: tornado's
    double-submit check, unchanged). Returns False when this Voila has no such handler (nothing to fix).
    """
    from .gallery_guard import wrap_voila_pages

    def wrap(original):
        async def get_generator(self, *args, **kwargs):
            self.xsrf_token  # noqa: B018 - reading it sets the _xsrf cookie when the browser has none
            async for chunk in original(self, *args, **kwargs):
                yield chunk
        return get_generator

    return wrap_voila_pages("_sets_xsrf_cookie", wrap)


def _jupyter_server_extension_points():
    """Binder (or any Jupyter server serving ``voila/render/...``): load this module as a server extension."""
    return [{"module": "rnn_widgets.gallery"}]


_NOT_FIXED = ("rnn-widgets: this Voila has no voila.handler.VoilaHandler.get_generator to fix (tested with 0.5.x); "
              "a page's kernel goes only when culled, 5 minutes after the page closed")


def _load_jupyter_server_extension(server_app) -> None:
    from .gallery_guard import refuse_legacy_kernel_protocol

    if fix_voila_shutdown():
        server_app.log.info("rnn-widgets: Voila pages now shut their kernel down when they close")
    else:
        server_app.log.warning(_NOT_FIXED)
    refuse_legacy_kernel_protocol()  # Voila's own websocket handler (a Jupyter server's kernels use its own)
    _serve_polls_in_server(server_app)


# --- class polls (issue 27): rnn_widgets/polls served by the gallery's own server --------------------------------

#: set to "0" to serve no class polls from the gallery
POLLS_ENV = "RNN_WIDGETS_POLLS"


def _serve_polls_in_server(server_app) -> None:
    """On a Jupyter server (Binder): the class polls' routes at ``BASE/rnn-polls/`` (inert until the instructor, who
    holds the key it logs, opens a poll)."""
    if os.environ.get(POLLS_ENV) == "0":
        return
    try:
        from .polls.service import add_to_server

        service = add_to_server(server_app.web_app, server_app.base_url)
    except Exception as failed:  # noqa: BLE001 - no polls (SQLAlchemy missing, a read-only disk) never stops the server
        server_app.log.warning("rnn-widgets: class polls not served: %s: %s", type(failed).__name__, failed)
        return
    server_app.log.info("rnn-widgets: class polls stored in %s; the instructor's view is %srnn-polls/?key=%s",
                        service.store.url, server_app.base_url, service.policy.key)


def _serve_polls_in_voila(voila_args: list[str]) -> None:
    """In the gallery's Voila process: the class polls' routes at ``/rnn-polls/``, and ``RNN_WIDGETS_POLL_URL`` for
    the kernels it starts (rnn_widgets.polls.client finds the service there)."""
    if os.environ.get(POLLS_ENV) == "0":
        return
    try:
        from .polls.service import GALLERY_PREFIX, install_in_voila

        service = install_in_voila(log=lambda message: print(message, file=sys.stderr, flush=True))
    except Exception as failed:  # noqa: BLE001 - the gallery serves its pages without polls rather than not at all
        print(f"rnn-widgets gallery: class polls not served: {type(failed).__name__}: {failed}", file=sys.stderr,
              flush=True)
        return
    if service is None:
        print("rnn-widgets gallery: this Voila has no Voila.init_handlers (tested with 0.5.x): class polls not served",
              file=sys.stderr, flush=True)
        return
    port = next((a.split("=", 1)[1] for a in voila_args if a.startswith("--port=")), None)
    if port:
        os.environ.setdefault("RNN_WIDGETS_POLL_URL", f"http://127.0.0.1:{port}/{GALLERY_PREFIX}")


def _fork_kernels() -> None:
    """Start this process's kernels as forks of one that has imported torch (rnn_widgets/kernel_fork.py), or say
    why not (the package's entry point is missing: it was not installed with pip)."""
    from jupyter_client.provisioning import KernelProvisionerFactory

    if not (sys.platform.startswith("linux") and Path("/proc/self/stat").exists()):
        # a forked kernel's liveness is read from /proc, and fork() is what it is on Linux alone
        print("rnn-widgets gallery: kernels are forked on Linux only; here they start as plain processes",
              file=sys.stderr, flush=True)
        return
    factory = KernelProvisionerFactory.instance()
    if factory._check_availability(FORK_PROVISIONER):
        factory.default_provisioner_name = FORK_PROVISIONER
    else:
        print(f"rnn-widgets gallery: the kernel provisioner {FORK_PROVISIONER!r} is not installed (pip install -e .); "
              "kernels start as plain processes", file=sys.stderr, flush=True)


def _run_voila(argv: list[str]) -> None:
    """The gallery's Voila process: ``--config JSON`` then Voila's own arguments."""
    if len(argv) < 2 or argv[0] != "--config":
        raise SystemExit("usage: python -m rnn_widgets.gallery --config JSON VOILA-ARGS...")
    from traitlets.config import Config
    from voila.app import Voila

    from .gallery_guard import (
        KernelLimits,
        limit_page_kernels,
        refuse_legacy_kernel_protocol,
    )

    config = json.loads(argv[1])
    guard = config.pop(GUARD_SECTION, {})
    if not fix_voila_shutdown():
        print(_NOT_FIXED, file=sys.stderr, flush=True)
    # the gallery has no login: one visitor must not be able to freeze the server or take every kernel
    if not refuse_legacy_kernel_protocol():
        raise SystemExit("rnn-widgets gallery: this Voila has no kernel websocket handler to secure (tested with "
                         "0.5.x); refusing to serve it to a class")
    if "max_pages" in guard and not limit_page_kernels(KernelLimits(guard["max_pages"], guard["pages_per_client"])):
        raise SystemExit("rnn-widgets gallery: this Voila has no page handler to limit (tested with 0.5.x)")
    if guard.get("fork_kernels"):
        _fork_kernels()
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(TEMPLATES), os.environ.get("JUPYTER_PATH")]))
    _serve_polls_in_voila(argv[2:])  # class polls (issue 27), before the kernels inherit this environment
    Voila.launch_instance(argv[2:], config=Config(config))


# --------------------------------------------------------------------------------------------------------------
# The tour: its first widget at once, the others once the page shows it


def under_voila() -> bool:
    """Whether this kernel runs a Voila page (Voila sets ``VOILA_PREHEAT`` for every kernel it starts, preheated
    or not; JupyterLab, nbclient and VS Code do not)."""
    return "VOILA_PREHEAT" in os.environ


#: The tour page's script: each time one more widget of the tour has drawn its figures, ask the kernel for the
#: next one, until it says it is done. One widget at a time: a page handed every remaining widget at once was
#: busy for seconds creating their ~550 models, and an accessibility model (anywidget) that cannot initialise
#: within 2 s fails ("[anywidget] Failed to initialize model.", three students on one hub). A widget that never
#: draws (a broken extension) is passed over after 20 s, so no widget is left unbuilt.
_LOADER_ESM = """
export default {
  render({ model }) {
    let done = false;
    model.on("msg:custom", (msg) => { if (msg && msg.event === "done") done = true; });
    const drawn = () => Array.from(document.querySelectorAll(".rnn-widget"))
      .filter((w) => w.querySelector(".bqplot svg")).length;
    const waitFor = (count, started) => {
      if (done) return;
      if (drawn() >= count || Date.now() - started > 20000) {
        model.send({ event: "shown" });
        setTimeout(() => waitFor(count + 1, Date.now()), 50);
      } else setTimeout(() => waitFor(count, started), 50);  // a timer: a tab in the background gets no frames
    };
    waitFor(1, Date.now());
  }
};
"""


@functools.cache
def _loader_class():
    import anywidget
    import traitlets

    class TourLoader(anywidget.AnyWidget):
        """Draws nothing; tells the kernel when the page shows the tour's first figure."""
        _esm = traitlets.Unicode(_LOADER_ESM).tag(sync=True)

    return TourLoader


def _picture_of(widget) -> str | None:
    """The picture the page shows while ``widget`` starts (rnn_widgets/preview.py), or None. A picture is a
    nicety: whatever goes wrong while looking for one, the page just has none."""
    from .preview import preview_html

    try:
        return preview_html(widget)
    except Exception:  # noqa: BLE001
        return None


class Tour:
    """The widgets of the tour, in order: each cell says ``tour.add(lambda: SomeWidget())``.

    Under Voila the first widget is built where it is added; each later one shows "Loading …" until the page
    has drawn the first widget's first figure, then is built in order. The browser then makes and draws the
    first widget's models alone (about 160 of the tour's 700) before anything else, instead of every widget's
    models before any figure; and the first widget carries its picture (:mod:`rnn_widgets.preview`), which
    the page shows until the live widget has drawn. Elsewhere (JupyterLab, Notebook, nbclient, VS Code) every
    widget is built where it is added, as if the cell said ``SomeWidget()``.

    ``build`` is a function of no arguments that returns the widget (``lambda: GradientFlowWidget(seq_len=50)``).
    A widget that fails to build shows the error where it would have been, and the others still come.
    """

    def __init__(self, lazy: bool | None = None):
        self.lazy = under_voila() if lazy is None else lazy
        self.widgets: list = []  # the widgets built so far, in the order they were added
        self._waiting: list[tuple[object, Callable]] = []  # (placeholder, build) not built yet
        self._loader = None
        self.shown = not self.lazy  # whether the page asked for the rest

    def add(self, build: Callable):
        """Show one widget of the tour (returns what the cell displays)."""
        import ipywidgets as W

        if self.shown:
            return self._built(build)
        if self._loader is None:  # the first widget: built now, with the script that asks for the rest
            self._loader = _loader_class()()
            self._loader.on_msg(self._on_message)
            from .preview import WithPreview

            widget = self._built(build)
            return WithPreview(W.VBox([widget, self._loader]), _picture_of(widget))
        placeholder = W.VBox([W.HTML("<p><em>Loading the widget…</em></p>")])
        self._waiting.append((placeholder, build))
        return placeholder

    def build_rest(self) -> None:
        """Build every widget still waiting, in order, into its place on the page."""
        while self._waiting:
            self.build_next()
        self.shown = True

    def _built(self, build: Callable):
        import html

        import ipywidgets as W

        try:
            widget = build()
        except Exception as exc:  # noqa: BLE001 - shown on the page where the widget would have been
            return W.HTML(f'<p role="alert">This widget could not be built: {html.escape(type(exc).__name__)}: '
                          f"{html.escape(str(exc))}</p>")
        self.widgets.append(widget)
        return widget

    def build_next(self) -> None:
        """Build the next widget still waiting into its place (the page asks once per widget it has drawn)."""
        if self._waiting:
            placeholder, build = self._waiting.pop(0)
            loading = placeholder.children
            placeholder.children = (self._built(build),)
            for w in loading:
                w.close()
        if not self._waiting:
            self.shown = True
            if self._loader is not None:
                self._loader.send({"event": "done"})

    def _on_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "shown":
            self.build_next()


# --------------------------------------------------------------------------------------------------------------
# rnn-widgets gallery: port, start, stop


def port_is_free(ip: str, port: int) -> bool:
    """Whether a server could listen on ``ip:port`` now (as tornado does: SO_REUSEADDR, so TIME_WAIT is fine)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip if ip not in ("", "localhost") else "127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(ip: str, wanted: int, tries: int = 20) -> int:
    """``wanted`` if free, else the next free one of the following ``tries``, else one the OS picks."""
    for port in range(wanted, wanted + tries + 1):
        if 0 < port < 65536 and port_is_free(ip, port):
            return port
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((ip if ip not in ("", "localhost") else "127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Voila's kernels run in their own sessions, so not its process group)."""
    try:
        import psutil
    except ImportError:  # psutil comes with ipykernel; /proc is the fallback on Linux
        psutil = None
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:  # the process is gone
            return []
    else:
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [pid]
        while todo:
            kids = children.get(todo.pop(), [])
            found += kids
            todo += kids
        return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT/SIGHUP: stop Voila and its kernels, then exit."""


def _raise_stop(signum, _frame):
    raise _Stop(signum)


def stop_voila(proc: subprocess.Popen, grace: float = 2.0, out=None) -> None:
    """SIGTERM Voila (it shuts its kernels down), and after ``grace`` s kill whatever of it is left."""
    known = set(_descendants(proc.pid))
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < deadline:
            known.update(_descendants(proc.pid))  # a kernel the pool was starting just now
            time.sleep(0.05)
        if proc.poll() is None:
            known.update(_descendants(proc.pid))
            proc.kill()
            proc.wait()
            print(f"Voila had not stopped {grace:.0f} s after SIGTERM: killed it.", file=out or sys.stdout, flush=True)
    left = [pid for pid in sorted(known) if _alive(pid)]
    if left:
        _kill(left)
        # a killed process takes a moment to hand its memory back (a forked kernel's shared pages too): stopped
        # means gone, so wait for that, briefly
        deadline = time.monotonic() + 2.0
        while any(_alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(0.02)
        print(f"Killed {len(left)} kernel process(es) Voila left behind.", file=out or sys.stdout, flush=True)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (not a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def serve(examples: Path, ip: str = "127.0.0.1", port: int = 8866, pool: int = DEFAULT_POOL,
          lecture_pool: int = 0, out=None, max_pages: int | None = None, pages_per_client: int | None = None,
          fork_kernels: bool = True) -> int:
    """Run the gallery until a signal stops it (or Voila exits); returns the exit status. ``max_pages``,
    ``pages_per_client`` and ``fork_kernels`` are :func:`gallery_config`'s."""
    out = out or sys.stdout
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in handled}
    proc = None
    try:
        chosen = pick_port(ip, port)
        if chosen != port:
            print(f"Port {port} is in use (another gallery, or a Jupyter server?); using port {chosen} instead.",
                  file=out, flush=True)
        host = "127.0.0.1" if ip in ("", "0.0.0.0", "localhost") else ip
        url = f"http://{host}:{chosen}/"
        config = gallery_config(pool, lecture_pool, max_pages, pages_per_client, fork_kernels)
        cmd = [sys.executable, "-m", "rnn_widgets.gallery", "--config", json.dumps(config), str(examples),
               f"--port={chosen}", f"--Voila.ip={ip}"]
        # its own session: Ctrl-C reaches only this process, which then stops Voila in order (no traceback);
        # its kernels inherit KERNEL_MALLOC_ENV
        proc = subprocess.Popen(cmd, start_new_session=True, env={**os.environ, **KERNEL_MALLOC_ENV})
        print(f"Serving the rnn-widgets gallery ({examples}) at {url}\n"
              f"Every widget in lecture order: {url}voila/render/{TOUR}\n"
              f"{pool} kernel(s) kept ready for the tour; at most {config[GUARD_SECTION]['max_pages']} pages open at "
              f"once, {config[GUARD_SECTION]['pages_per_client'] or 'any number'} per client. "
              "Press Ctrl-C to stop.", flush=True, file=out)
        while proc.poll() is None and not _ready(f"{url}voila/static/voila.js"):
            time.sleep(0.25)
        if proc.poll() is None:
            print(f"Ready: {url}", file=out, flush=True)
        code = proc.wait()
        if code:
            print(f"rnn-widgets gallery: Voila exited with status {code} (see its messages above).",
                  file=sys.stderr, flush=True)
        return code
    except _Stop:
        for sig in handled:  # a second Ctrl-C while stopping changes nothing
            signal.signal(sig, signal.SIG_IGN)
        if proc is not None:
            stop_voila(proc, out=out)
        print("Gallery stopped.", file=out, flush=True)
        return 0
    finally:
        if proc is not None and proc.poll() is None:  # an unexpected error: still leave nothing behind
            stop_voila(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    _run_voila(sys.argv[1:])
