"""The gallery in a real browser: Voila serves the tour, every widget renders and answers the keyboard.

Debian chromium driven by Playwright (never `playwright install`); every host but 127.0.0.1 is
unresolvable, so the page must work offline. Skipped where no browser is installed, unless
RNN_WIDGETS_REQUIRE_BROWSER is set (as CI does).
"""
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import (
    chromium_page,
    free_port,
    press_and_wait_for_change,
    skip_module_without_browser,
    stop_process,
    wait_for_url,
)

import rnn_widgets

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
WIDGETS = list(rnn_widgets.WIDGETS)

skip_module_without_browser()

@pytest.fixture(scope="module")
def tour():
    """The README's gallery command, serving the examples; a page with the tour loaded."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "gallery.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port),
                             "--dir", str(ROOT / "examples")], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=90)
        with chromium_page(width=1000, height=1400) as page:
            page.goto(f"http://127.0.0.1:{port}/voila/render/00_tour.ipynb", timeout=120_000)
            page.wait_for_function(f"document.querySelectorAll('.rnn-widget').length >= {len(WIDGETS)}",
                                   timeout=180_000)
            page.wait_for_timeout(1500)  # let bqplot finish drawing
            yield page
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.parametrize("index, name", list(enumerate(WIDGETS)))
def test_widget_renders_and_answers_the_keyboard(tour, index, name):
    widget = tour.locator(".rnn-widget").nth(index)
    widget.scroll_into_view_if_needed()
    assert widget.locator(".bqplot").count() >= 1, f"{name} drew no figure"
    press_and_wait_for_change(tour, ".rnn-widget", index)
    tour.wait_for_timeout(600)
    widget.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert widget.locator("[role=alert]").count() == 0, f"{name} shows an error banner"


def test_no_page_errors(tour):
    assert tour.errors == []
