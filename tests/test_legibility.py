"""Every figure readable in a real browser: no overlapping labels, colour keys with a gradient and a meaning,
no "−0.0", no console errors: the tour (defaults), each widget in an extreme state, and the static pages.

One Voila server (the tour and an extremes notebook side by side) and one Chromium for the module.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import (
    chromium_page,
    free_port,
    serve_directory,
    skip_module_without_browser,
    stop_process,
    wait_for_url,
    write_notebook,
)
from legibility import EXTREMES, audit, problems
from static_pages import press_knob

from rnn_widgets import WIDGETS
from rnn_widgets.export import export_site, static_knobs

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "legibility"

skip_module_without_browser()

#: "−0.0", "-0", "−0.00" standing alone (not 0.05, not 10, not 1e-05)
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[−-]0(?:\.0+)?(?![\w.])")
TEXT_JS = """() => Array.from(document.querySelectorAll('.bqplot text, .rnn-summary'))
    .map(n => n.textContent).filter(t => t.trim())"""


def console_errors(page) -> list[str]:
    """Console errors since the last call, leaving out requests to other hosts (blocked here on purpose:
    the page must work offline)."""
    errors = sorted({f"{text} ({url})" for text, url in page.console_errors
                     if not (url and not url.startswith("http://127.0.0.1")) and "ERR_NAME_NOT_RESOLVED" not in text})
    page.console_errors.clear()
    return errors


@pytest.fixture(scope="module")
def browser():
    with chromium_page(width=1000, height=2600) as page:
        page.console_errors = []
        page.on("console", lambda msg: page.console_errors.append((msg.text, msg.location.get("url", "")))
                if msg.type == "error" else None)
        yield page


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """The gallery serving the tour and a notebook of every widget in an extreme state."""
    folder = tmp_path_factory.mktemp("legibility")
    shutil.copy(ROOT / "examples" / "00_tour.ipynb", folder)
    write_notebook(folder / "extremes.ipynb", ["from rnn_widgets import *\n" + call for call in EXTREMES])
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "voila.log", "w") as log:
        # the README's gallery command: its Voila settings (e.g. kernels shut down when a page goes) apply
        proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port),
                                 "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=90)
            yield f"http://127.0.0.1:{port}/voila/render/"
        finally:
            stop_process(proc)


def render(page, url: str, name: str) -> list[dict]:
    page.goto(url, timeout=180_000)
    page.wait_for_function(f"document.querySelectorAll('.rnn-widget').length >= {len(WIDGETS)}", timeout=300_000)
    page.wait_for_timeout(2500)  # bqplot's transitions
    for k, widget in enumerate(page.locator(".rnn-widget").all()):
        widget.screenshot(path=str(ARTIFACTS / f"{name}_{k}_{list(WIDGETS)[k]}.png"))
    return audit(page)


@pytest.fixture(scope="module")
def pages(browser, voila, tmp_path_factory):
    """Audit records and the figures' texts of every page, gathered once."""
    found = {}
    for name, notebook in (("defaults", "00_tour.ipynb"), ("extremes", "extremes.ipynb")):
        records = render(browser, voila + notebook, name)
        found[name] = (records, browser.evaluate(TEXT_JS), console_errors(browser) + browser.errors)
    site = tmp_path_factory.mktemp("site")
    export_site(site, js="local")
    with serve_directory(site) as base:
        for page_name in WIDGETS:
            browser.goto(f"{base}{page_name}.html", timeout=120_000)
            browser.wait_for_selector(".bqplot.figure", timeout=120_000)
            browser.wait_for_timeout(1500)
            first = audit(browser)
            # the first knob to its other extreme, one key press at a time (the other knobs stay at their first value)
            for _ in range(len(static_knobs(page_name)[0].values) - 1):
                press_knob(browser, 0)
                browser.wait_for_timeout(700)
            browser.wait_for_timeout(800)
            browser.screenshot(path=str(ARTIFACTS / f"static_{page_name}.png"), full_page=True)
            found[f"static {page_name}"] = (first + audit(browser), browser.evaluate(TEXT_JS),
                                            console_errors(browser) + browser.errors)
    return found


@pytest.mark.parametrize("name", ["defaults", "extremes", *(f"static {n}" for n in WIDGETS)])
def test_labels_do_not_overlap_and_every_key_reads(pages, name):
    records, _, _ = pages[name]
    assert records, f"{name}: no figure drawn"
    assert problems(records) == []


def test_every_heat_map_has_its_key(pages):
    records, _, _ = pages["defaults"]
    keys = [k for r in records for k in r["keys"]]
    assert len(keys) >= 10  # states, two dℓ/dW maps, the scale map, six gate maps
    assert all(k["width"] > 100 and k["label"] for k in keys)


def test_no_negative_zero(pages):
    for name, (_, texts, _) in pages.items():
        assert not [t for t in texts if NEGATIVE_ZERO.search(t)], name


@pytest.mark.parametrize("name", ["defaults", "extremes", *(f"static {n}" for n in WIDGETS)])
def test_no_console_errors(pages, name):
    assert pages[name][2] == []


def test_in_a_narrow_window_diagrams_keep_their_geometry_and_scroll(browser, voila):
    """At 600 px a diagram (or a text map) keeps the width its texts were placed for (charts.keep_width): its box
    scrolls sideways, takes keyboard focus (so it can be scrolled from the keyboard), and the page itself does
    not scroll sideways; every figure on the page still passes the audit."""
    browser.set_viewport_size({"width": 600, "height": 2600})
    try:
        records = render(browser, voila + "00_tour.ipynb", "narrow")
        page_width = browser.evaluate("document.documentElement.scrollWidth")
        boxes = browser.evaluate("""() => Array.from(document.querySelectorAll('.rnn-widget .bqplot.figure'))
          .filter(f => parseFloat(getComputedStyle(f).minWidth) >= 880).map(f => {
            const box = f.parentElement;
            return [Math.round(f.getBoundingClientRect().width), box.scrollWidth > box.clientWidth,
                    box.getAttribute('tabindex')]; })""")
    finally:
        browser.set_viewport_size({"width": 1000, "height": 2600})
    assert page_width <= 600
    assert len(boxes) >= 6  # the diagrams of Unrolling, Topologies, Generation, LSTMGates; TextMemory's text maps
    assert all(width >= 880 and scrolls and tabindex == "0" for width, scrolls, tabindex in boxes), boxes
    assert problems(records) == []
