"""WCAG 2.1 AA in a real browser (design.md, contract 14; docs/accessibility.md lists what each test covers):

* axe-core (from the PyPI package axe-playwright-python, injected into the page) finds no critical or serious
  violation in the Voila tour and each example notebook, served by the README's gallery command, nor in any
  static page of ``export_site(..., js="local")`` or the site's index;
* the keyboard: Tab reaches every control of every widget, in Voila and on the static pages; arrow keys, Enter
  and Space change the figures; the focused control shows a ring;
* each figure is an image named by its title and described by its summary, and a polite live region says the
  summaries that changed once, after a key press or at the end of a drag (not at each frame of it);
* contrast of the figures' text (4.5:1) and lines (3:1), palettes told apart under colour-vision deficiencies;
* at 200% zoom (a 500-px-wide viewport for this 1000-px window) no text leaves the page.

One gallery server and one Chromium for the module.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest
from a11y_support import (
    axe_source,
    by_rule,
    failing,
    gallery,
    open_static,
    open_voila,
    run_axe,
    tally,
)
from browser_support import (
    FIGURES_SIGNATURE,
    browser_available,
    chromium_page,
    serve_directory,
)

from rnn_widgets import WIDGETS
from rnn_widgets.export import export_site
from rnn_widgets.widgets.common import DIVERGING, PALETTE, SEQUENTIAL

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "accessibility"
NOTEBOOKS = sorted(p.name for p in (ROOT / "examples").glob("*.ipynb"))
TOUR = "00_tour.ipynb"
STATIC = [*WIDGETS, "index"]


# ---------------------------------------------------------------------- colour (no browser needed)
def luminance(colour: str) -> float:
    rgb = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str = "#ffffff") -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


#: Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _lab(rgb_linear) -> tuple[float, float, float]:
    r, g, b = (min(max(c, 0.0), 1.0) for c in rgb_linear)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def seen_as(colour: str, deficiency: str | None) -> tuple[float, float, float]:
    """CIELAB of a colour as seen with full colour vision (None) or one of :data:`CVD`."""
    rgb = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    if deficiency:
        m = CVD[deficiency]
        lin = [sum(m[i][j] * lin[j] for j in range(3)) for i in range(3)]
    return _lab(lin)


def delta_e(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


#: the palette colours drawn as lines, bars and points (4, 6 and 7 only fill diagram boxes, which have a dark
#: outline and a text label); orange (1) and vermillion (5) never share a figure (checked in the browser below)
DRAWN = [PALETTE[i] for i in (0, 1, 2, 3, 5)]
APART = [(a, b) for i, a in enumerate(DRAWN) for b in DRAWN[i + 1:] if {a, b} != {PALETTE[1], PALETTE[5]}]


@pytest.mark.parametrize("deficiency", [None, *CVD])
def test_palette_colours_stay_apart_under_colour_blindness(deficiency):
    """Every pair of palette colours that may share a figure differs by ΔE*ab ≥ 15 as seen with each deficiency
    (a red and a green of equal lightness, #D55E00 and #5E8C00, fall to about 5 under deuteranopia)."""
    close = [(a, b, round(delta_e(seen_as(a, deficiency), seen_as(b, deficiency)), 1)) for a, b in APART
             if delta_e(seen_as(a, deficiency), seen_as(b, deficiency)) < 15]
    assert close == []
    assert delta_e(seen_as("#D55E00", "deuteranopia"), seen_as("#5E8C00", "deuteranopia")) < 15  # the test bites


def test_lines_and_bars_contrast_with_the_page():
    """WCAG 1.4.11: the drawn palette colours (lines, bars) have 3:1 against the white page; the ends of the
    colour maps too (the middle of a diverging map is white on purpose: zero)."""
    low = {c: round(contrast(c), 2) for c in [*DRAWN, DIVERGING[0], DIVERGING[-1], SEQUENTIAL[-1]]
           if contrast(c) < 3}
    assert low == {}


# ---------------------------------------------------------------------- the browser
needs_browser = pytest.mark.skipif(not browser_available() or axe_source() is None,
                                   reason="needs Debian chromium, playwright and axe-playwright-python")
if (not browser_available() or axe_source() is None) and os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"):
    raise RuntimeError("the accessibility tests are required here, but chromium, playwright or "
                       "axe-playwright-python (axe-core) is missing")


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(width=1000, height=1400) as page:
        yield page


@pytest.fixture(scope="module")
def voila():
    with gallery(ROOT / "examples", ARTIFACTS / "gallery.log") as base:
        yield base


def widget_count(notebook: str) -> int:
    nb = nbformat.read(ROOT / "examples" / notebook, 4)
    # a lesson widget of its own, or a question (rnn_widgets.questions.ask) built around one
    return max(1, sum("Widget(" in c.source or c.source.lstrip().startswith("ask(")
                      for c in nb.cells if c.cell_type == "code"))


@pytest.fixture(scope="module")
def audits(browser, voila, tmp_path_factory):
    """axe's violations on every page, the tour last (the keyboard tests go on from there)."""
    found = {}
    for notebook in [n for n in NOTEBOOKS if n != TOUR] + [TOUR]:
        open_voila(browser, voila + notebook, widget_count(notebook))
        found[notebook] = run_axe(browser)
    site = tmp_path_factory.mktemp("site")
    export_site(site, js="local")
    with serve_directory(site) as base:
        for name in STATIC:
            open_static(browser, f"{base}{name}.html")
            found[name] = run_axe(browser)
        browser.static_base = base
        open_voila(browser, voila + TOUR, widget_count(TOUR))
        (ARTIFACTS / "axe.txt").write_text("\n".join(
            [f"{page}: {by_rule(v)}" for page, v in found.items()]
            + ["all pages (rule: impact, elements):"] + [f"  {r} {i} {n}" for r, (i, n) in tally(found).items()]))
        yield found


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", [*NOTEBOOKS, *STATIC])
def test_no_critical_or_serious_axe_violation(audits, name):
    assert name in audits, f"{name} was not audited"
    assert failing(audits[name]) == []


# ---------------------------------------------------------------------- keyboard and screen reader, in Voila
CONTROLS = """root => Array.from(root.querySelectorAll(
    '.noUi-target:not([disabled]) .noUi-handle, button:not(:disabled), select:not(:disabled), '
    + 'input:not(:disabled), textarea:not(:disabled)'))
  .filter(el => el.offsetParent !== null && !el.closest('.bqplot'))"""


def tab_through(page, root, first) -> list:
    """Focus ``first`` then press Tab until focus leaves ``root``; the elements focused, in order (handles)."""
    first.focus()
    seen = [page.evaluate_handle("() => document.activeElement")]
    for _ in range(200):
        page.keyboard.press("Tab")
        inside = root.evaluate("(root) => root.contains(document.activeElement)")
        if not inside:
            break
        seen.append(page.evaluate_handle("() => document.activeElement"))
    return seen


def focus_ring(page) -> dict:
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor}; }""")


def live_state(root) -> tuple[str, int]:
    return root.evaluate("""root => { const live = root.querySelector('.rnn-a11y-live')
        || document.querySelector('.rnn-a11y-live');
        return [live.textContent, Number(live.dataset.announcements || 0)]; }""")


def wait_for_figures_to_change(page, root, before: str) -> None:
    page.wait_for_function(f"([r, before]) => ({FIGURES_SIGNATURE})(r) !== before",
                           arg=[root.element_handle(), before], timeout=60_000, polling="raf")


def wait_for_announcement(page, root, count: int) -> str:
    page.wait_for_function("""([r, n]) => { const live = r.querySelector('.rnn-a11y-live')
        || document.querySelector('.rnn-a11y-live'); return Number(live.dataset.announcements || 0) > n; }""",
                           arg=[root.element_handle(), count], timeout=60_000)
    return live_state(root)[0]


def described_figures(root) -> list:
    """For each visible summary: the role and name of the visible figure that it describes (aria-describedby),
    or None where no figure points to it."""
    return root.evaluate("""r => Array.from(r.querySelectorAll('.rnn-summary'))
        .filter(s => s.offsetParent !== null && s.textContent.trim()).map(s => {
          const f = Array.from(r.querySelectorAll('.bqplot')).find(f => f.offsetParent !== null
              && s.id && f.getAttribute('aria-describedby') === s.id);
          return f ? [f.getAttribute('role'), f.getAttribute('aria-label')] : [null, null]; })""")


def visible_summaries(root) -> list[str]:
    return root.evaluate("""r => Array.from(r.querySelectorAll('.rnn-summary'))
        .filter(s => s.offsetParent !== null).map(s => s.textContent.trim()).filter(t => t)""")


@pytest.fixture(scope="module")
def tour(audits, browser):
    assert TOUR in browser.url
    return browser


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("index, name", list(enumerate(WIDGETS)))
def test_tab_reaches_every_control_with_a_visible_focus(tour, index, name):
    root = tour.locator(".rnn-widget").nth(index)
    root.scroll_into_view_if_needed()
    controls = root.evaluate_handle(CONTROLS)
    n = tour.evaluate("c => c.length", controls)
    assert n >= 1, f"{name} has no control"
    first = controls.evaluate_handle("c => c[0]").as_element()
    focused = tab_through(tour, root, first)
    reached = tour.evaluate("([controls, focused]) => controls.map(c => focused.includes(c))",
                            [controls, focused])
    assert all(reached), f"{name}: Tab skips controls {[i for i, r in enumerate(reached) if not r]}"
    first.focus()
    ring = focus_ring(tour)
    assert ring["style"] != "none" and ring["width"] >= 2, ring


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("index, name", list(enumerate(WIDGETS)))
def test_figures_are_described_and_keys_are_announced_once(tour, index, name):
    """Every figure: role img, named by its title, described by its summary; an arrow key on the first slider
    changes the figures and the live region then says exactly the summaries that changed."""
    root = tour.locator(".rnn-widget").nth(index)
    root.scroll_into_view_if_needed()
    figures = described_figures(root)
    assert figures and all(role == "img" and label and label != "Figure" for role, label in figures), figures
    before_text, count = live_state(root), live_state(root)[1]
    summaries = visible_summaries(root)
    signature = root.evaluate(FIGURES_SIGNATURE)
    root.locator(".noUi-target:not([disabled]) .noUi-handle").first.focus()
    tour.keyboard.press("ArrowRight")
    wait_for_figures_to_change(tour, root, signature)
    said = wait_for_announcement(tour, root, count)
    changed = [s for s, old in zip(visible_summaries(root), summaries) if s != old]
    assert changed and said == " ".join(changed), (before_text, said)
    assert live_state(root)[1] == count + 1


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
def test_a_drag_is_announced_once_when_released(tour):
    """Hold the gradient-flow slider and drag it through several values, waiting for the figures to change at
    each: nothing is said while the pointer is down, and one announcement follows the release."""
    index = list(WIDGETS).index("GradientFlowWidget")
    root = tour.locator(".rnn-widget").nth(index)
    root.scroll_into_view_if_needed()
    handle = root.locator(".noUi-target:not([disabled]) .noUi-handle").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    _, count = live_state(root)
    tour.mouse.move(x, y)
    tour.mouse.down()
    for step in range(1, 4):
        signature = root.evaluate(FIGURES_SIGNATURE)
        tour.mouse.move(x + 12 * step, y, steps=3)
        wait_for_figures_to_change(tour, root, signature)
        tour.wait_for_timeout(1000)  # longer than the quiet time: would be announced if the pointer were up
        assert live_state(root)[1] == count, "announced during the drag"
    tour.mouse.up()
    said = wait_for_announcement(tour, root, count)
    assert said and live_state(root)[1] == count + 1


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
def test_buttons_answer_enter_and_space(tour):
    """A toggle button pressed with Enter, then another with Space, changes the figures."""
    roots = tour.locator(".rnn-widget")
    pressed = 0
    for index in range(roots.count()):
        root = roots.nth(index)
        buttons = root.locator(".widget-toggle-buttons button:not(.mod-active):not(:disabled)")
        if buttons.count() == 0:
            continue
        root.scroll_into_view_if_needed()
        for key in ("Enter", "Space"):
            target = root.locator(".widget-toggle-buttons button:not(.mod-active):not(:disabled)").first
            signature = root.evaluate(FIGURES_SIGNATURE)
            target.focus()
            tour.keyboard.press(key)
            wait_for_figures_to_change(tour, root, signature)
            pressed += 1
    assert pressed >= 4


SVG_TEXT = """root => Array.from(root.querySelectorAll('.bqplot text')).filter(t => t.textContent.trim()
      && t.getBBox().width > 0 && getComputedStyle(t).visibility !== 'hidden' && getComputedStyle(t).display !== 'none'
    )
  .map(t => { const s = getComputedStyle(t); return [t.textContent.trim(), s.fill, parseFloat(s.fontSize),
                                                      s.fontWeight, parseFloat(s.fillOpacity || 1)]; })"""
LINES = """root => Array.from(root.querySelectorAll('.bqplot path.line')).filter(p => p.getAttribute('d'))
  .map(p => getComputedStyle(p).stroke)"""


FIGURE_COLOURS = """() => Array.from(document.querySelectorAll('.bqplot')).map(f => Array.from(
    f.querySelectorAll('.mark path, .mark rect, .mark circle, .mark .dot, .mark .bar')).flatMap(e => {
      const s = getComputedStyle(e); return [s.stroke, s.fill]; }))"""


def rgb_hex(css: str) -> str | None:
    m = re.match(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)", css)
    if not m or (m.group(4) is not None and float(m.group(4)) == 0):
        return None
    return "#" + "".join(f"{int(v):02x}" for v in m.groups()[:3])


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
def test_figure_text_and_lines_contrast(tour):
    """WCAG 1.4.3 for the figures' SVG text (axe checks HTML text only): 4.5:1, 3:1 for large text;
    1.4.11 for the lines: 3:1 against the white page."""
    low = set()
    for text, fill, size, weight, opacity in tour.evaluate(SVG_TEXT, tour.locator("body").element_handle()):
        colour = rgb_hex(fill)
        if colour is None:
            continue
        large = size >= 24 or (size >= 18.66 and str(weight) in ("bold", "700", "800", "900"))
        # a legend's swatch drawn with a glyph (━━, ━●━, ■: charts/legend.py) is a graphic in its series' colour,
        # not text: 3:1 (1.4.11), as the lines it stands for and as tests/legibility.py counts it
        swatch = re.fullmatch(r"[\u2500-\u25FF\s]+", text) is not None
        if opacity < 1 or contrast(colour) < (3 if large or swatch else 4.5):
            low.add((text[:30], colour, opacity))
    assert not low, sorted(low)
    lines = {rgb_hex(s) for s in tour.evaluate(LINES, tour.locator("body").element_handle())} - {None}
    assert lines and {c: round(contrast(c), 2) for c in lines if contrast(c) < 3} == {}
    orange, vermillion = PALETTE[1].lower(), PALETTE[5].lower()
    both = [i for i, colours in enumerate(tour.evaluate(FIGURE_COLOURS)) if {orange, vermillion} <= {
        rgb_hex(c) for c in colours}]
    assert both == [], "orange and vermillion share a figure (a deuteranope cannot tell them apart)"


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
def test_text_survives_200_percent_zoom(tour):
    """WCAG 1.4.4: at 200% zoom of a 1000-px window (a 500-px CSS viewport) the explanations and summaries wrap
    inside the page: none runs off its right edge or is cut by its box."""
    tour.set_viewport_size({"width": 500, "height": 1400})
    try:
        tour.wait_for_timeout(1500)  # bqplot redraws at the new width
        cut = tour.evaluate("""() => Array.from(document.querySelectorAll(
                '.rnn-widget .widget-html-content, .rnn-summary, .rnn-widget .widget-label'))
            .filter(e => e.offsetParent !== null && e.textContent.trim())
            .filter(e => { const r = e.getBoundingClientRect();
                           return r.right > document.documentElement.clientWidth + 1
                                  || e.scrollWidth > e.clientWidth + 1; })
            .map(e => e.textContent.trim().slice(0, 50))""")
        tour.screenshot(path=str(ARTIFACTS / "tour_500px.png"), full_page=False)
    finally:
        tour.set_viewport_size({"width": 1000, "height": 1400})
    assert cut == []


# ---------------------------------------------------------------------- the static pages
@needs_browser
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", list(WIDGETS))
def test_static_page_keyboard_and_announcement(audits, browser, name):
    """From the top of the page, Tab reaches the live knob(s); an arrow key changes the figures; the live region
    then says the summaries of the frame now shown; the figures are described."""
    open_static(browser, f"{browser.static_base}{name}.html")
    try:
        root = browser.locator(".rnn-widget").first
        handles = root.locator(".noUi-handle")
        assert handles.count() >= 1
        browser.locator("h1").first.click()  # focus starts at the top of the page
        for _ in range(20):
            browser.keyboard.press("Tab")
            if browser.evaluate("() => document.activeElement.classList.contains('noUi-handle')"):
                break
        assert browser.evaluate("() => document.activeElement.getAttribute('aria-labelledby')"), \
            "Tab did not reach a named slider"
        ring = focus_ring(browser)
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        _, count = live_state(root)
        summaries = visible_summaries(root)
        signature = root.evaluate(FIGURES_SIGNATURE)
        browser.keyboard.press("ArrowRight")
        wait_for_figures_to_change(browser, root, signature)
        said = wait_for_announcement(browser, root, count)
        changed = [s for s, old in zip(visible_summaries(root), summaries) if s != old]
        assert changed and said == " ".join(changed)
        figures = described_figures(root)
        assert figures and all(role == "img" and label and label != "Figure" for role, label in figures), figures
    finally:
        browser.screenshot(path=str(ARTIFACTS / f"static_{name}.png"), full_page=True)


# ---------------------------------------------------------------------- Notebook 7 and JupyterLab
@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """One Jupyter server with Notebook 7 and JupyterLab, a notebook of one lesson widget; yields its base URL."""
    from browser_support import jupyter_server, write_notebook

    pytest.importorskip("notebook", minversion="7")
    work = tmp_path_factory.mktemp("jupyter")
    write_notebook(work / "keys.ipynb", ["from rnn_widgets import WeightSharingWidget\nWeightSharingWidget()"])
    with jupyter_server(work, ARTIFACTS / "jupyter.log") as base:
        yield base


@needs_browser
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("front_end", ["notebooks", "lab/tree"])
def test_keys_reach_the_widget_in_notebook7_and_jupyterlab(browser, jupyter, front_end):
    """In a notebook in command mode, the arrow keys on a slider handle the student clicked move the slider and
    change the figures (not the active cell), and Enter on a toggle button presses it (not edit mode): JupyterLab
    binds these keys to notebook commands, and Notebook 7 lets them through to a plain ipywidgets slider not at
    all (docs/accessibility.md, known gaps)."""
    from browser_support import run_all

    run_all(browser, f"{jupyter}{front_end}/keys.ipynb")
    browser.wait_for_function("document.querySelectorAll('.rnn-widget .bqplot .line, .rnn-widget .bqplot rect')"
                              ".length > 0", timeout=180_000)
    browser.wait_for_timeout(2000)
    root = browser.locator(".rnn-widget").first
    cell = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
    # Notebook 7: one key. A second click on the handle there sometimes leaves the next key's change unsent to the
    # kernel for over a minute (seen in 2 of 3 runs of this test, never when driven by hand); Lab takes both keys.
    for key in ("ArrowRight",) if front_end == "notebooks" else ("ArrowRight", "ArrowUp"):
        handle = root.locator(".noUi-target:not([disabled]) .noUi-handle").first
        handle.click()  # as a student does: the notebook is in command mode, the handle has the focus
        browser.wait_for_timeout(500)
        value, active, signature = handle.get_attribute("aria-valuenow"), browser.evaluate(cell), \
            root.evaluate(FIGURES_SIGNATURE)
        browser.keyboard.press(key)
        wait_for_figures_to_change(browser, root, signature)
        assert float(handle.get_attribute("aria-valuenow")) > float(value), key
        assert browser.evaluate(cell) == active, f"{key} moved the active cell"
    button = root.locator(".widget-toggle-buttons button:not(.mod-active):not(:disabled)").first
    signature = root.evaluate(FIGURES_SIGNATURE)
    button.focus()
    browser.keyboard.press("Enter")
    wait_for_figures_to_change(browser, root, signature)
    assert browser.evaluate("() => !document.querySelector('.jp-Notebook.jp-mod-editMode')"), "Enter: edit mode"
    browser.screenshot(path=str(ARTIFACTS / f"{front_end.split('/')[0]}_keys.png"))
