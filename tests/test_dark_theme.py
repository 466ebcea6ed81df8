"""Every widget's figures keep WCAG AA contrast in JupyterLab's dark and light themes (issue 24, item 8).

JupyterLab's dark theme turns the page near black; the figures' legends, the dashed fitted line, TextMemory's band
labels and the text maps' white boxes were drawn for a white page. The package draws each figure on a light
surface of its own (widgets/a11y.py, SURFACE_CSS) and its prose follows the theme. Checked in a real JupyterLab
started in its dark theme (a settings dir, as a student's would be), then switched to its light theme:

* axe-core's color-contrast rule finds no violation in the lesson widgets (their prose, controls and titles);
* every text of every figure reaches 4.5:1 (3:1 when large, and for a legend's swatch glyph) and every line
  3:1 against what is painted behind it (legibility.contrast: axe leaves SVG text "incomplete", as it reads the
  CSS colour, not the fill SVG text is painted with, so the figures are measured with axe's formula).

One Jupyter server (browser_support.jupyter_server: JupyterLab and Notebook 7) and one Chromium for the module.
"""
from pathlib import Path

import pytest
from a11y_support import axe_source
from browser_support import (
    chromium_page,
    jupyter_server,
    run_all,
    skip_module_without_browser,
    write_notebook,
)
from legibility import audit, checks, contrast, low_contrast, prose

from rnn_widgets import WIDGETS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "dark_theme"

skip_module_without_browser()
pytest.importorskip("jupyterlab")
pytest.importorskip("notebook", minversion="7")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Notebook 7 and JupyterLab in JupyterLab's dark theme (a settings dir, as a student's would be), with a
    notebook of every lesson widget at its defaults; yields the notebook's JupyterLab URL."""
    work = tmp_path_factory.mktemp("dark")
    # every cell's output drawn, not only those scrolled into view
    tracker = work / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    write_notebook(work / "widgets.ipynb", [f"from rnn_widgets import {name}\n{name}()" for name in WIDGETS])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with jupyter_server(work, ARTIFACTS / "lab.log", theme="JupyterLab Dark") as base:
        yield f"{base}lab/tree/widgets.ipynb"


def run_notebook(page, url: str) -> None:
    """Open the notebook (JupyterLab or Notebook 7), run all its cells once the kernel answers, wait for every
    widget's figures."""
    run_all(page, url, timeout=180_000)
    page.wait_for_function(f"document.querySelectorAll('.rnn-widget').length >= {len(WIDGETS)} && "
                           f"document.querySelectorAll('.rnn-widget .bqplot.figure').length >= {2 * len(WIDGETS)}",
                           timeout=300_000)
    page.wait_for_timeout(4000)  # bqplot's transitions


@pytest.fixture(scope="module")
def page(lab):
    """The notebook run in JupyterLab (dark theme), every widget drawn."""
    with chromium_page(width=1280, height=2600) as page:  # tall enough to hold a whole widget
        run_notebook(page, lab)
        yield page


def theme(page, name: str) -> None:
    """Switch JupyterLab's theme (as its Settings menu does) and wait until the page is drawn in it."""
    light = "true" if "Light" in name else "false"
    if page.evaluate("() => document.body.dataset.jpThemeLight") != light:
        page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}})")
        page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=60_000)
        page.wait_for_timeout(1500)


def screenshots_at(page, name: str, width: int, tag: str = "") -> None:
    for k, widget in enumerate(page.locator(".rnn-widget").all()):
        widget.screenshot(path=str(ARTIFACTS / f"{name}_{width}{tag}_{k}_{list(WIDGETS)[k]}.png"))


def screenshots(page, name: str) -> None:
    """Every widget at 1280 px, then at 600 px (for looking at by eye; tests/artifacts/dark_theme)."""
    size = page.viewport_size
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the file browser, as a student would at 600 px
    for width in (1280, 600):
        page.set_viewport_size({"width": width, "height": size["height"]})
        page.wait_for_timeout(1500)  # bqplot redraws a figure whose box changed
        screenshots_at(page, name, width)
    page.set_viewport_size(size)
    page.wait_for_timeout(1500)


def color_contrast(page) -> list[str]:
    """axe-core's color-contrast violations in the lesson widgets, one line per element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate("""async () => {
      const found = [];
      for (const root of document.querySelectorAll('.rnn-widget')) {
        const r = await axe.run(root, {runOnly: ['color-contrast'], resultTypes: ['violations']});
        for (const v of r.violations) for (const n of v.nodes) found.push(`${n.target}: ${n.failureSummary}`);
      }
      return found; }""")
    return result


# dark first: the server opens in it, as a student's set to dark does
THEMES = ["JupyterLab Dark", "JupyterLab Light"]


@pytest.mark.parametrize("name", THEMES)
def test_the_page_is_in_the_theme(page, name):
    theme(page, name)
    background = page.evaluate("() => getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor")
    dark = background.startswith("rgb(") and sum(map(int, background[4:-1].split(","))) < 3 * 80
    assert dark == ("Dark" in name), background
    screenshots(page, name.split()[-1].lower())


@pytest.mark.parametrize("name", THEMES)
def test_axe_color_contrast_in_the_widgets(page, name):
    theme(page, name)
    assert color_contrast(page) == []


@pytest.mark.parametrize("name", THEMES)
def test_figures_text_and_lines_keep_aa_contrast(page, name):
    theme(page, name)
    items = contrast(page)
    kinds = {i["kind"] for i in items}
    assert {"text", "line"} <= kinds and len(items) > 200, kinds  # the figures were measured
    assert low_contrast(items) == []


def test_figures_stand_on_a_light_surface_in_the_dark_theme(page):
    """The legends' text, the dashed fitted line and the band labels, named in the issue, drawn dark on light."""
    theme(page, "JupyterLab Dark")
    found = page.evaluate("""() => {
      const rgb = c => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
      const dark = c => rgb(c).reduce((a, b) => a + b) < 3 * 100;
      const figures = Array.from(document.querySelectorAll('.rnn-widget .bqplot.figure'));
      return {
        surfaces: figures.map(f => getComputedStyle(f).backgroundColor).filter(c => dark(c)),
        legends: Array.from(document.querySelectorAll('.rnn-widget .bqplot text.legendtext'))
          .map(t => getComputedStyle(t).fill).filter(c => !dark(c)),
        page: getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor,
      }; }""")
    assert found["surfaces"] == [] and found["legends"] == [], found


def prose_problems(page) -> dict[str, list[str]]:
    found = checks([], prose(page))
    return {k: found[k] for k in ("leading", "measure", "small")}


def test_prose_stylesheet_in_jupyterlab(page):
    """Issue 24, item 3: in JupyterLab too, the widgets' prose is at line-height ≤ 1.6 × its size, ~80 characters
    a line at most, no text under 11 px (the stylesheet comes with every lesson widget, widgets/a11y.py)."""
    assert [t for t in prose(page) if t["prose"] and t["perLine"]], "no wrapped prose found"
    assert prose_problems(page) == {"leading": [], "measure": [], "small": []}


def test_notebook7_prose_and_figures_in_its_dark_theme(page, lab):
    """Issue 24, items 3 and 8, in Notebook 7 (the same server, the same dark theme setting): the prose
    stylesheet applies, axe's color-contrast rule passes, every figure text and line keeps AA contrast."""
    nb7 = page.context.browser.new_page(viewport=page.viewport_size)
    try:
        run_notebook(nb7, lab.replace("/lab/tree/", "/notebooks/"))
        assert nb7.evaluate("() => document.body.dataset.jpThemeLight") == "false"
        nb7.screenshot(path=str(ARTIFACTS / "notebook7_dark.png"))
        assert prose_problems(nb7) == {"leading": [], "measure": [], "small": []}
        assert color_contrast(nb7) == []
        assert low_contrast(contrast(nb7)) == []
    finally:
        nb7.close()


def test_no_figure_cut_in_jupyterlab_at_600px(page):
    """Issue 24, item 6, in JupyterLab: run in a 600-px window (the file browser folded away), figures side by
    side wrap, a wide one narrows; none runs past its column (a keep_width diagram scrolls in its own box).
    The cells are run again at 600 px: bqplot in JupyterLab does not redraw a figure whose box a narrowed window
    shrank (its box narrows, what it drew does not), which this check would report as a cut. Last in the module."""
    size = page.viewport_size
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.set_viewport_size({"width": 600, "height": size["height"]})
    try:
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_timeout(3000)
        page.wait_for_function(f"document.querySelectorAll('.rnn-widget .bqplot.figure').length >= "
                               f"{2 * len(WIDGETS)}", timeout=300_000)
        page.wait_for_timeout(4000)  # bqplot's transitions
        records = audit(page)
        screenshots_at(page, "dark", 600, "rerun")
    finally:
        page.set_viewport_size(size)
        page.wait_for_timeout(1500)
    assert len(records) >= 2 * len(WIDGETS)
    assert checks(records)["cut"] == []
