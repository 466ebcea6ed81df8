"""Every figure readable in a real browser: no overlapping labels, colour keys with a gradient and a meaning,
no "−0.0", no console errors; tick labels equal to their ticks' values, legends off the data, no text under 11 px,
prose at a line-height of at most 1.6 × its size and ~80 characters a line, no figure cut in a 600-px window
(issue 24): the tour (defaults), each widget in an extreme state, and the static pages (first and last value of
their first knob).

One Voila server (the tour and an extremes notebook side by side) and one Chromium for the module.
"""
import re
import shutil
import subprocess
import sys
import typing
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
from legibility import EXTREMES, audit, checks, problems, prose
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


class Page(typing.NamedTuple):
    """What one page showed: its figures' audit records, the figures' and summaries' texts, its console errors,
    its prose (legibility.prose) and its figures' audit records in a 600-px window."""
    records: list
    texts: list
    errors: list
    prose: list
    narrow: list
    boxes: list


#: every scrolling text box of the widgets (Generation's output): the height its text may take (its max-height,
#: less padding and border where it is sized border-box) and its line-height, in px
BOXES_JS = """() => Array.from(document.querySelectorAll('.rnn-widget .widget-html-content div'))
  .map(el => [el, getComputedStyle(el)]).filter(([el, s]) => s.maxHeight !== 'none' && /(auto|scroll)/.test(s.overflowY))
  .map(([el, s]) => {
    const inner = s.boxSizing === 'border-box' ? ['paddingTop', 'paddingBottom', 'borderTopWidth', 'borderBottomWidth']
      .reduce((h, k) => h - parseFloat(s[k]), parseFloat(s.maxHeight)) : parseFloat(s.maxHeight);
    return {text: el.textContent.slice(0, 40), inner, leading: parseFloat(s.lineHeight),
            size: parseFloat(s.fontSize)}; })"""


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


def narrow(page, name: str) -> list[dict]:
    """The page's figures audited in a 600-px window (then the window as it was)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 600, "height": size["height"]})
    try:
        page.wait_for_timeout(1500)  # bqplot redraws a figure whose box changed
        page.screenshot(path=str(ARTIFACTS / f"narrow_{name.replace(' ', '_')}.png"), full_page=True)
        return audit(page)
    finally:
        page.set_viewport_size(size)
        page.wait_for_timeout(500)


def at_last_value(page, j: int) -> bool:
    """Whether the page's knob ``j`` (a slider, or a row of buttons) stands at its last value."""
    return page.locator(".rnn-widget .rnn-knob").nth(j).evaluate("""knob => {
      const handle = knob.querySelector('.noUi-handle');
      if (handle) return Number(handle.getAttribute('aria-valuenow')) >= Number(handle.getAttribute('aria-valuemax'));
      const buttons = Array.from(knob.querySelectorAll('button'));
      return buttons.length > 0 && buttons[buttons.length - 1].classList.contains('mod-active'); }""")


@pytest.fixture(scope="module")
def pages(browser, voila, tmp_path_factory):
    """Audit records and the figures' texts of every page, gathered once."""
    found = {}
    for name, notebook in (("defaults", "00_tour.ipynb"), ("extremes", "extremes.ipynb")):
        records = render(browser, voila + notebook, name)
        texts, blocks = browser.evaluate(TEXT_JS), prose(browser)
        boxes = browser.evaluate(BOXES_JS)
        found[name] = Page(records, texts, console_errors(browser) + browser.errors, blocks, narrow(browser, name),
                           boxes)
    site = tmp_path_factory.mktemp("site")
    export_site(site, js="local")
    with serve_directory(site) as base:
        for page_name in WIDGETS:
            browser.goto(f"{base}{page_name}.html", timeout=120_000)
            browser.wait_for_selector(".bqplot.figure", timeout=120_000)
            browser.wait_for_timeout(1500)
            first, blocks, boxes = audit(browser), prose(browser), browser.evaluate(BOXES_JS)
            first_narrow = narrow(browser, f"static {page_name} first")
            # the first knob to its last value, one key press at a time (the page opens where the live widget
            # opens, not necessarily at the knob's first value; the other knobs stay where they are)
            for _ in range(len(static_knobs(page_name)[0].values) - 1):
                if at_last_value(browser, 0):
                    break
                press_knob(browser, 0)
                browser.wait_for_timeout(700)
            browser.wait_for_timeout(800)
            browser.screenshot(path=str(ARTIFACTS / f"static_{page_name}.png"), full_page=True)
            found[f"static {page_name}"] = Page(first + audit(browser), browser.evaluate(TEXT_JS),
                                                console_errors(browser) + browser.errors, blocks + prose(browser),
                                                first_narrow + narrow(browser, f"static {page_name} last"),
                                                boxes + browser.evaluate(BOXES_JS))
    return found


@pytest.mark.parametrize("name", ["defaults", "extremes", *(f"static {n}" for n in WIDGETS)])
def test_labels_do_not_overlap_and_every_key_reads(pages, name):
    records = pages[name].records
    assert records, f"{name}: no figure drawn"
    assert problems(records) == []


def test_every_heat_map_has_its_key(pages):
    records = pages["defaults"].records
    keys = [k for r in records for k in r["keys"]]
    assert len(keys) >= 10  # states, two dℓ/dW maps, the scale map, six gate maps
    assert all(k["width"] > 100 and k["label"] for k in keys)


def test_no_negative_zero(pages):
    for name, (_, texts, *_) in pages.items():
        assert not [t for t in texts if NEGATIVE_ZERO.search(t)], name


@pytest.mark.parametrize("name", ["defaults", "extremes", *(f"static {n}" for n in WIDGETS)])
def test_no_console_errors(pages, name):
    assert pages[name].errors == []


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


# ---------------------------------------------------------------------- issue 24's checks, page by page
PAGES = ["defaults", "extremes", *(f"static {n}" for n in WIDGETS)]

@pytest.mark.parametrize("name", PAGES)
def test_every_tick_label_is_its_ticks_value(pages, name):
    """Issue 24, item 1: a tick label equals its tick's value to the digits it shows (read from the tick's text
    and the value d3 bound to it), and the ticks sit where their values put them on a linear or log scale."""
    assert checks(pages[name].records)["ticks"] == []


@pytest.mark.parametrize("name", PAGES)
def test_no_legend_on_a_data_mark(pages, name):
    """Issue 24, item 2: no legend box has a line, bar or cell of the data inside it."""
    assert checks(pages[name].records)["legends"] == []


@pytest.mark.parametrize("name", PAGES)
def test_no_text_under_11px(pages, name):
    """Issue 24, items 3 and 6: every text of a widget, in its figures and around them, at 11 px or more."""
    page = pages[name]
    assert checks(page.records, page.prose)["small"] == []


@pytest.mark.parametrize("name", PAGES)
def test_prose_line_height_at_most_1_6_times_its_size(pages, name):
    """Issue 24, item 3: explanations, summaries and Generation's output are not double-spaced (ipywidgets'
    28 px line-height on 13 px text)."""
    page = pages[name]
    assert [t for t in page.prose if t["prose"]], f"{name}: no prose found"
    assert checks(page.records, page.prose)["leading"] == []


@pytest.mark.parametrize("name", PAGES)
def test_prose_lines_at_most_about_80_characters(pages, name):
    """Issue 24, item 3: a readable measure: no line of prose over ~80 characters."""
    page = pages[name]
    assert [t for t in page.prose if t["perLine"]], f"{name}: no wrapped prose found"
    assert checks(page.records, page.prose)["measure"] == []


@pytest.mark.parametrize("name", PAGES)
def test_no_figure_cut_in_a_600px_window(pages, name):
    """Issue 24, item 6: in a 600-px window every figure's right edge is inside the window and inside every box
    that clips it, unless a box around it scrolls sideways by design (a diagram that keeps its width)."""
    page = pages[name]
    assert page.narrow, f"{name}: no figure drawn at 600 px"
    assert checks(page.narrow)["cut"] == []


@pytest.mark.parametrize("name", ["defaults", "extremes", "static GenerationWidget"])
def test_generations_output_box_shows_whole_lines(pages, name):
    """Issue 24, item 3: Generation's output box scrolls in whole lines: the height its text may take is a whole
    number of its lines, so the last line it shows is never cut in half (it held 180 px of 28-px lines)."""
    boxes = pages[name].boxes
    assert boxes, f"{name}: no scrolling text box (Generation's output) found"
    for box in boxes:
        lines = box["inner"] / box["leading"]
        assert abs(lines - round(lines)) < 0.02 and round(lines) >= 4, box
        assert box["leading"] <= 1.6 * box["size"] + 0.5, box
