"""The gallery holds a classroom: kernels go when their page goes, pages complete under load, the printed URL
serves, and a signal stops everything within 3 s.

Real Debian chromium on loopback (see browser_support.py); one gallery and one browser for most tests, small
galleries of their own for the tests that stop or crowd one. Kernels are counted as processes.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WATCH_PICTURE,
    free_port,
    skip_module_without_browser,
    stop_process,
    write_notebook,
)
from gallery_support import ALL_WIDGETS_JS, ROOT, gallery, tour_widget_count, wait_until

import rnn_widgets
from rnn_widgets.gallery import CLASSROOM_CONFIG, KERNEL_MALLOC_ENV, TOUR, Tour

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = ROOT / "tests" / "artifacts"
N_WIDGETS = tour_widget_count()  # the widgets the tour adds, whatever their number
PROBE = "classroom_probe.ipynb"  # a light page (a slider, no torch): many visits in little time

skip_module_without_browser()


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    """The tour and a light page with one slider."""
    folder = tmp_path_factory.mktemp("gallery")
    shutil.copy(ROOT / "examples" / TOUR, folder / TOUR)
    write_notebook(folder / PROBE, ["import ipywidgets\nipywidgets.IntSlider(description='probe')"])
    return folder


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def classroom(notebooks):
    """The gallery as a teacher starts it, with one preheated kernel for the tour."""
    with gallery(ARTIFACTS / "gallery_classroom.log", pool=1, directory=notebooks, pages_per_client=0) as g:
        yield g


def close_tab(page) -> None:
    """As a student closes a tab: the page's beforeunload handler runs (it asks for the kernel's shutdown)."""
    page.close(run_before_unload=True)


def kernel_id(page) -> str:
    return json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]


def test_twelve_pages_opened_and_closed_leave_only_the_idle_pool(classroom, browser):
    context = browser.new_context()
    ids = []
    try:
        for _ in range(12):
            page = context.new_page()
            page.goto(classroom.page(PROBE), timeout=120_000)
            page.wait_for_selector(".widget-slider", timeout=120_000)
            ids.append(kernel_id(page))
            assert any(ids[-1] in " ".join(k.cmdline()) for k in classroom.kernels()), "no process for its kernel"
            close_tab(page)
        assert any(c["name"] == "_xsrf" for c in context.cookies()), "the page set no _xsrf cookie"
    finally:
        context.close()
    assert len(set(ids)) == 12, "each visit has a kernel of its own"

    def released():
        alive = " ".join(" ".join(k.cmdline()) for k in classroom.kernels())
        return not any(i in alive for i in ids) and len(classroom.kernels()) <= 1  # the idle pool: 1 tour kernel
    wait_until(released, timeout=60, what="the pages' kernels gone, only the idle pool left")
    log = classroom.log.read_text(errors="replace")
    assert "'_xsrf' argument missing" not in log
    assert "seconds of inactivity" not in log, "a kernel went by culling, not with its page"


def test_the_tour_adds_widgets_of_the_package_in_lecture_order():
    import re

    import nbformat

    cells = nbformat.read(ROOT / "examples" / TOUR, as_version=4).cells
    added = [m for c in cells if c.cell_type == "code" for m in re.findall(r"^tour\.add\(lambda: (\w+)\(", c.source, re.MULTILINE)]
    assert len(added) == N_WIDGETS and set(added) <= set(rnn_widgets.WIDGETS)
    assert added == [name for name in rnn_widgets.WIDGETS if name in added], "not in lecture order"


def test_the_tour_builds_the_first_widget_now_and_the_others_when_the_page_asks():
    """Under Voila (lazy): one widget at first, a placeholder for each other one; each of the page's messages
    builds the next, in order, and a widget that fails to build says so where it would have been."""
    import ipywidgets as W

    built = []

    def make(name):
        def build():
            built.append(name)
            if name == "broken":
                raise ValueError("no weights <here>")
            return W.VBox([W.HTML(name)])
        return build

    tour = Tour(lazy=True)
    shown = [tour.add(make(name)) for name in ("first", "second", "broken", "fourth")]
    assert built == ["first"]
    assert shown[1].children[0].value == "<p><em>Loading the widget…</em></p>"
    tour._on_message(None, {"event": "something else"}, [])
    assert built == ["first"]
    tour._on_message(None, {"event": "shown"}, [])
    assert built == ["first", "second"]  # one at a time: the page asks again once it has drawn it
    tour._on_message(None, {"event": "shown"}, [])
    tour._on_message(None, {"event": "shown"}, [])
    assert built == ["first", "second", "broken", "fourth"]
    assert [w.children[0].value for w in tour.widgets] == ["first", "second", "fourth"]
    assert shown[1].children == (tour.widgets[1],)
    assert shown[2].children[0].value.startswith('<p role="alert">This widget could not be built: ValueError')
    assert "&lt;here&gt;" in shown[2].children[0].value
    tour._on_message(None, {"event": "shown"}, [])  # a second view of the page asks again: nothing more to do
    assert len(built) == 4
    assert tour.add(make("late")) is tour.widgets[-1]  # added after the page asked: built at once
    for w in [*shown, tour.widgets[-1]]:
        w.close()


def test_outside_voila_the_tour_builds_every_widget_where_it_is_added(monkeypatch):
    import ipywidgets as W

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    tour = Tour()
    widgets = [tour.add(lambda: W.HTML("a")), tour.add(lambda: W.HTML("b"))]
    assert widgets == tour.widgets and not tour.lazy
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # a Voila kernel started for a request
    assert Tour().lazy
    for w in widgets:
        w.close()


def _first_state(page) -> list:
    """Collect the widget state the page receives when it connects (the reply to its "request_states")."""
    states = []

    def on_socket(ws):
        def received(payload):
            text = payload.decode("latin1") if isinstance(payload, bytes) else payload
            if "update_states" in text and not states:
                states.append(text)
        ws.on("framereceived", received)
    page.on("websocket", on_socket)
    return states


def _unrolling_figures() -> int:
    widget = rnn_widgets.UnrollingWidget()
    count = len(widget.figures)
    widget.close()
    return count


def test_the_tour_page_draws_its_first_widget_before_the_others_are_built(classroom, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        states = _first_state(page)
        page.add_init_script(WATCH_PICTURE)
        page.goto(classroom.page(TOUR), wait_until="commit", timeout=120_000)
        # before the live widget: its picture (rnn_widgets/preview.py), described in words, said to be a picture
        picture = page.wait_for_selector(".rnn-preview img", timeout=60_000)
        assert page.locator(".rnn-widget .bqplot svg").count() == 0
        assert picture.get_attribute("alt").startswith("A picture of the widget")
        assert "This is only a picture of the widget" in page.locator(".rnn-preview figcaption").inner_text()
        page.screenshot(path=str(ARTIFACTS / "gallery_tour_picture_while_starting.png"))
        page.wait_for_selector(".rnn-widget .bqplot svg", timeout=120_000)
        page.wait_for_selector(".rnn-preview img", state="detached", timeout=60_000)
        gone = page.evaluate("window.__pictureGone")  # when it went, every figure of the live widget was drawn
        assert gone["figures"] == _unrolling_figures(), gone
        assert gone["smallest"] >= 10, gone
        assert "The live widget is ready" in gone["said"]  # in the caption, a live region
        page.wait_for_selector(".rnn-preview", state="detached", timeout=10_000)  # then the caption goes too
        # the state the page drew its first figure from holds one lesson widget of the tour, not all of them
        assert len(states) == 1 and states[0].count('"rnn-widget"') == 1
        page.wait_for_function(ALL_WIDGETS_JS, arg=N_WIDGETS, polling=250, timeout=300_000)
        assert page.locator(".rnn-widget").count() == N_WIDGETS
        assert page.get_by_text("Loading the widget").count() == 0
        assert page.locator("[role=alert]:visible").count() == 0
        close_tab(page)
    finally:
        context.close()
    wait_until(lambda: len(classroom.kernels()) <= 1, timeout=60, what="kernels back to the idle pool")


def test_a_student_who_scrolled_into_the_picture_keeps_their_place_when_the_live_widget_comes(classroom, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        page.goto(classroom.page(TOUR), wait_until="commit", timeout=120_000)
        # once the page scrolls (Voila's panel is up), 900 px down: into the picture, still there
        there = page.wait_for_function("""() => { const c = document.getElementById('rendered_cells');
            if (!c) return false;
            c.scrollTop = 900;
            return c.scrollTop === 900 && [!!document.querySelector('.rnn-preview')]; }""",
            polling=20, timeout=120_000).json_value()
        assert there == [True], "the live widget came before the page could be scrolled"
        page.wait_for_selector(".rnn-preview", state="detached", timeout=120_000)
        page.wait_for_timeout(600)
        # the live widget took the picture's place: the view moved by the caption's height at most, not to the top
        top = page.evaluate("document.getElementById('rendered_cells').scrollTop")
        assert 840 <= top <= 900, top
        close_tab(page)
    finally:
        context.close()
    wait_until(lambda: len(classroom.kernels()) <= 1, timeout=60, what="kernels back to the idle pool")


def test_four_pages_opened_at_once_all_show_every_widget_of_the_tour(classroom, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        pages = [context.new_page() for _ in range(4)]
        for page in pages:  # "commit": the next student does not wait for this one's page
            page.goto(classroom.page(TOUR), wait_until="commit", timeout=120_000)
        for i, page in enumerate(pages):
            # polled on a timer: the tabs in the background get no animation frames
            # every widget, the later ones built once the page drew the first (so none stays a placeholder)
            page.wait_for_function(ALL_WIDGETS_JS, arg=N_WIDGETS, polling=250, timeout=400_000)
            assert page.locator(".rnn-widget").count() == N_WIDGETS, f"page {i}"
            assert page.locator(".rnn-widget [role=alert]").count() == 0, f"page {i} shows an error banner"
            # the first widget's picture goes 3 s after the live widget drew (it fades): not at once on a busy
            # machine, and a background tab's timers run late
            page.bring_to_front()
            page.wait_for_selector(".rnn-preview", state="detached", timeout=30_000)
        pages[-1].bring_to_front()
        last = pages[-1].locator(".rnn-widget").last  # the bottom of the page: the last widget drawn too
        last.scroll_into_view_if_needed()
        pages[-1].wait_for_timeout(1000)
        last.screenshot(path=str(ARTIFACTS / "gallery_four_at_once_last_widget.png"))
        for page in pages:
            close_tab(page)
    finally:
        context.close()
    assert "Timeout waiting for IOPub output" not in classroom.log.read_text(errors="replace")
    wait_until(lambda: len(classroom.kernels()) <= 1, timeout=60, what="kernels back to the idle pool")


def _read_until(proc, marker: str, timeout: float) -> str:
    """The gallery's output up to the line containing ``marker`` (read by a thread: stdout is a pipe)."""
    import threading

    lines: list[str] = []
    done = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    return "".join(lines)


def test_a_busy_port_gives_a_free_one_and_the_printed_url_serves(notebooks):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port),
                                 "--pool", "0", "--dir", str(notebooks)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out = _read_until(proc, "Ready:", timeout=120)
            assert f"Port {port} is in use" in out, out
            url = out.split("Ready:")[1].split()[0]
            assert f":{port}/" not in url
            assert f"{url}voila/render/{TOUR}" in out  # the tour's URL is printed with the port that serves
            import urllib.request

            with urllib.request.urlopen(f"{url}voila/static/voila.js", timeout=10) as r:
                assert r.status == 200
        finally:
            stop_process(proc)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_voila_and_every_kernel_within_3_s(notebooks, browser, sig):
    port = free_port()
    # one kernel preheated for the light page, and one more for an open page
    proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port), "--pool", "0",
                             "--lecture-pool", "1", "--dir", str(notebooks)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = browser.new_context()
    try:
        _read_until(proc, "Ready:", timeout=120)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/voila/render/{PROBE}", timeout=120_000)
        page.wait_for_selector(".widget-slider", timeout=120_000)

        def two_kernels():
            family = psutil.Process(proc.pid).children(recursive=True)
            return family if sum("ipykernel" in " ".join(p.cmdline()) for p in family) >= 2 else None

        family = wait_until(two_kernels, timeout=120, what="two kernels")
        # neither the gallery nor Voila loads torch (the kernels and their template do: rnn_widgets/kernel_fork.py)
        for p in [psutil.Process(proc.pid), *family]:
            if not any(k in " ".join(p.cmdline()) for k in ("ipykernel", "rnn_widgets.kernel_fork")):
                assert not any("torch" in m.path for m in p.memory_maps()), f"{p.cmdline()[:3]} loaded torch"
        t0 = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=30)
        took = time.monotonic() - t0
        assert took <= 3, f"the gallery took {took:.1f} s to stop"
        left = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert left == [], f"left running: {[p.cmdline()[:3] for p in left]}"
        out = proc.stdout.read()
        assert "Traceback" not in out, out
        assert "Gallery stopped." in out
    finally:
        context.close()
        if proc.poll() is None:
            stop_process(proc)


def test_binder_gets_the_classroom_settings_and_the_shutdown_fix():
    """binder/ installs a Jupyter server config with the same settings as the gallery, and loads the fix."""
    config = json.loads((ROOT / "binder" / "jupyter_server_config.d" / "rnn-widgets.json").read_text())
    for section, values in CLASSROOM_CONFIG.items():
        assert config[section] == values, section
    assert config["ServerApp"]["jpserver_extensions"]["rnn_widgets.gallery"] is True
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "jupyter_server_config.d" in post_build
    template = CLASSROOM_CONFIG["VoilaConfiguration"]["template"]
    assert f"cp -R rnn_widgets/share/voila/templates/{template} " in post_build


def test_kernels_get_the_malloc_settings_everywhere_the_class_runs(classroom):
    """The gallery's kernels inherit KERNEL_MALLOC_ENV; Binder's start script and the hub's values set the same."""
    kernels = classroom.kernels()
    assert kernels
    for kernel in kernels:
        env = kernel.environ()
        assert {k: env.get(k) for k in KERNEL_MALLOC_ENV} == KERNEL_MALLOC_ENV
    start = (ROOT / "binder" / "start").read_text()
    assert all(f"export {k}={v}\n" in start for k, v in KERNEL_MALLOC_ENV.items()) and 'exec "$@"' in start
    assert os.access(ROOT / "binder" / "start", os.X_OK)
    values = yaml.safe_load((ROOT / "deploy" / "jupyterhub" / "values.yaml").read_text())
    assert {k: values["singleuser"]["extraEnv"][k] for k in KERNEL_MALLOC_ENV} == KERNEL_MALLOC_ENV


def test_the_gallerys_kernels_are_forks_of_the_template_that_imported_torch(classroom):
    """rnn_widgets/kernel_fork.py: each kernel's parent is the one template process, which is Voila's child."""
    kernels = classroom.kernels()
    assert kernels
    parents = {k.ppid() for k in kernels}
    assert len(parents) == 1, "every kernel comes from the same template"
    template = psutil.Process(parents.pop())
    assert "rnn_widgets.kernel_fork" in " ".join(template.cmdline())
    assert template.ppid() in {p.pid for p in classroom.processes()}
