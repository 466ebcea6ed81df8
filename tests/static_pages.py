"""Driving the live knobs of an exported static page (rnn_widgets.export) from the keyboard, in Chromium."""
from __future__ import annotations

import time

from browser_support import FIGURES_SIGNATURE

#: every mark's data as the page's figures hold it (d3 binds it to the drawn elements), by figure title
MARK_DATA_JS = """() => {
  const out = {};
  for (const f of document.querySelectorAll('.rnn-widget .bqplot.figure')) {
    const title = (f.querySelector('text.mainheading') || {}).textContent || '';
    out[title] = {
      lines: Array.from(f.querySelectorAll('g.curve')).map(c => c.__data__ ? c.__data__.values.map(v => v.y) : []),
      bars: Array.from(f.querySelectorAll('rect.bar')).map(r => r.__data__.y),
      cells: Array.from(f.querySelectorAll('rect.heatmapcell')).map(r => r.__data__.color),
    };
  }
  return out;
}"""


def _keyboard(page):
    """The keyboard of ``page``, or of the page holding ``page`` when it is a frame (an embedded static page)."""
    return page.keyboard if hasattr(page, "keyboard") else page.page.keyboard


def press_knob(page, j: int, forward: bool = True) -> None:
    """One key press on the page's knob ``j``: an arrow on a slider, Space on the next (or previous) button.
    ``page`` may be a Playwright page or a frame."""
    knob = page.locator(".rnn-widget .rnn-knob").nth(j)
    handle = knob.locator(".noUi-handle")
    if handle.count():
        handle.first.focus()
        _keyboard(page).press("ArrowRight" if forward else "ArrowLeft")
        return
    buttons = knob.locator("button")
    active = buttons.evaluate_all("bs => bs.findIndex(b => b.classList.contains('mod-active'))")
    buttons.nth(active + (1 if forward else -1)).focus()
    _keyboard(page).press("Space")


def can_go_forward(page, j: int) -> bool:
    """Whether knob ``j`` has a value after the one it shows (else the test moves it back)."""
    knob = page.locator(".rnn-widget .rnn-knob").nth(j)
    handle = knob.locator(".noUi-handle")
    if handle.count():
        now, top = (handle.first.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
        return float(now) < float(top)
    buttons = knob.locator("button")
    active = buttons.evaluate_all("bs => bs.findIndex(b => b.classList.contains('mod-active'))")
    return active + 1 < buttons.count()


def move_knob(page, j: int, forward: bool = True, timeout: int = 20_000) -> float:
    """Press once on knob ``j`` and wait until the page's figures change; returns the seconds it took."""
    root = ".rnn-widget"
    before = page.locator(root).first.evaluate(FIGURES_SIGNATURE)
    start = time.perf_counter()
    press_knob(page, j, forward)
    page.wait_for_function(f"([before, sel]) => ({FIGURES_SIGNATURE})(document.querySelector(sel)) !== before",
                           arg=[before, root], timeout=timeout, polling="raf")
    return time.perf_counter() - start

