"""What assistive technology needs from a lesson widget that ipywidgets and bqplot do not give it (WCAG 2.1 AA,
design.md contract 14; docs/accessibility.md says which criterion each part meets).

One small script, run in the page for each lesson widget:

* every slider handle is named by its description (ipywidgets draws the name beside the slider but leaves the
  handle, the element that takes focus, without one: axe's ``aria-input-field-name``, WCAG 4.1.2);
* every figure is an image named by its title and described by its one-line summary (``role="img"``,
  ``aria-label``, ``aria-describedby``), so a screen reader finds the summary with the figure (1.1.1);
* a polite live region (``role="status"``) says the summaries that changed once the student lets go of the
  control: never while a pointer is down, and only after the summaries have stayed the same for a moment, so a
  drag is announced once, not at every frame (4.1.3);
* JupyterLab's and Notebook 7's command-mode shortcuts are kept off the controls
  (``data-lm-suppress-shortcuts``, JupyterLab's documented keyboard interaction model), so the arrow keys move a
  slider and Enter presses a button there instead of moving between cells (2.1.1);
* toggle buttons say which one is pressed (``aria-pressed``, 4.1.2) and show it by more than a shade: bold,
  and a bar under it (1.4.1);
* legend labels in dark text beside their coloured swatch (bqplot writes them in the line's colour, which need
  not reach 4.5:1: 1.4.3);
* a visible focus ring on every control (2.4.7; ipywidgets turns the outline of text fields off), and scrollable text boxes take focus so that they can be
  scrolled from the keyboard (2.1.1);
* each widget is a named region (its title), so a screen reader's landmark list leads to it (1.3.1, 2.4.1);
* links in the notebook's markdown are underlined on a page that shows a lesson widget (JupyterLab's and Voila's
  themes tell them from the text by colour alone: axe's ``link-in-text-block``, 1.4.1).

In a notebook, Voila, VS Code or Colab the script comes with :class:`Accessibility`, an ``anywidget`` that each
lesson widget carries (it draws nothing but the live region). Static pages, which run no kernel, include the same
script in the page (:data:`STATIC_SCRIPT`).
"""
from __future__ import annotations

import anywidget
import traitlets

#: how long (ms) the summaries must stay unchanged, with no pointer held down, before they are announced
QUIET_MS = 600

#: The package's one stylesheet for its prose (issue 24, item 3), on every page a lesson widget appears on (it
#: comes with the script below: notebook, Voila, JupyterLab, Notebook 7, VS Code, static pages). ipywidgets gives
#: an HTML widget's text the controls' 28 px line-height (``.widget-html-content``), which double-spaces 13 px
#: prose; here prose reads like an article: line-height 1.5, a measure of at most about 80 characters a line, and
#: one type scale (title 18 px, body 14 px, captions 13 px; the figures' tick labels stay bqplot's 12 px, and
#: sub- and superscripts keep 11 px or more). Generation's output box shows whole lines only: its height is a
#: whole number of its lines, so the last line seen is never cut in half.
PROSE_CSS = """
.rnn-widget { --rnn-font-title: 18px; --rnn-font-body: 14px; --rnn-font-caption: 13px; --rnn-leading: 1.5;
  --rnn-measure: 33em; --rnn-ink-soft: var(--jp-content-font-color2, #595959); }
.rnn-widget .widget-html-content { line-height: var(--rnn-leading); font-size: var(--rnn-font-body);
  max-width: var(--rnn-measure); }
.rnn-widget .widget-html-content:has(> div[style*="pre-wrap"]) { max-width: none; }
.rnn-widget .widget-html-content h2 { font-size: var(--rnn-font-title) !important; line-height: 1.3;
  margin: 4px 0 6px !important; }
.rnn-widget .widget-html-content h2 > span { color: var(--rnn-ink-soft) !important; }
.rnn-widget .widget-html-content > div, .rnn-widget .widget-html-content > p {
  max-width: var(--rnn-measure) !important; }
.rnn-widget .widget-html-content > div[style*="serif"] { max-width: 30em !important; }
.rnn-widget .widget-html-content p { margin: 0 0 0.5em; }
.rnn-widget .rnn-summary .widget-html-content { font-size: var(--rnn-font-caption); }
.rnn-widget .widget-html-content sub, .rnn-widget .widget-html-content sup { font-size: 0.85em; line-height: 0; }
.rnn-widget .widget-html-content > div[style*="pre-wrap"] { font-size: 13px; line-height: 20px !important;
  box-sizing: content-box !important;
  max-height: 160px !important; max-width: 80ch !important; }
"""

#: Figures on a light surface of their own, in every theme (issue 24, item 8): their marks, diagrams and text maps
#: are drawn for a white page (white boxes, grey edges, dark labels), which JupyterLab's dark theme turns near
#: black, so bqplot's theme variables are set back to light values inside each figure, and its text is dark:
#: the contrast each colour was chosen for holds in both themes. The prose around the figures follows the theme.
SURFACE_CSS = """
.rnn-widget .bqplot.figure, .rnn-widget .bqplot.figure .classic, .rnn-widget .bqplot.figure .gg {
  --jp-layout-color0: #ffffff; --jp-layout-color1: #ffffff; --jp-layout-color2: #eeeeee;
  --jp-content-font-color1: #1a1a1a; --jp-content-font-color2: #4d4d4d; --jp-border-color0: #bdbdbd;
  --jp-border-color1: #bdbdbd; --bq-content-font-color: #1a1a1a; --bq-content-scatter-font-color: #1a1a1a;
  --bq-mainheading-fill: #1a1a1a; --bq-axislabel-fill: #1a1a1a; --bq-axis-tick-text-fill: #4d4d4d;
  --bq-background: #ffffff; --bq-plotarea-background-fill: #ffffff; --bq-grid-color: #e0e0e0;
  --bq-axis-border-color: #4d4d4d; }
.rnn-widget .bqplot.figure { background: #ffffff; color: #1a1a1a; color-scheme: light; border-radius: 4px; }
"""

#: A narrow window (issue 24, item 6): figures side by side wrap under each other instead of running past the
#: right edge, and a figure wider than its column narrows to it (bqplot redraws it at the new width), down to
#: 300 px, below which its box scrolls sideways (a figure squeezed narrower cannot hold its labels); a diagram
#: that keeps its width (charts.keep_width, a min-width) still scrolls sideways in its own box.
NARROW_CSS = """
.rnn-widget .widget-hbox:has(.bqplot.figure) { flex-wrap: wrap; }
.rnn-widget .bqplot.figure { max-width: 100% !important; min-width: 300px; }
"""

CORE = r"""
const RNN_A11Y_QUIET = @QUIET@;
const RNN_PROSE_CSS = `@PROSE@`;
const RNN_SURFACE_CSS = `@SURFACE@`;
const RNN_NARROW_CSS = `@NARROW@`;
const RNN_A11Y_CSS = `${RNN_PROSE_CSS}${RNN_SURFACE_CSS}${RNN_NARROW_CSS}
.rnn-widget.rnn-widget :focus-visible, .rnn-widget.rnn-widget .noUi-handle:focus,
.rnn-widget.rnn-widget input:focus, .rnn-widget.rnn-widget textarea:focus, .rnn-widget.rnn-widget select:focus,
.rnn-widget.rnn-widget [tabindex]:focus {
  outline: 3px solid #0072B2 !important; outline-offset: 2px !important; }
.rnn-widget .bqplot text.legendtext { fill: #222222 !important; stroke: none !important; }
.rnn-widget .widget-toggle-buttons button.mod-active, .rnn-widget .widget-toggle-button.mod-active {
  font-weight: bold; box-shadow: inset 0 -3px 0 #0072B2 !important; }
body:has(.rnn-widget) .jp-RenderedMarkdown a, body:has(.rnn-widget) .jp-RenderedHTMLCommon a {
  text-decoration: underline; }
.rnn-a11y-live { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }`;
let rnnA11yCount = 0;
function rnnA11yId(kind) {
  rnnA11yCount += 1;
  return `rnn-a11y-${kind}-${rnnA11yCount}-${Math.random().toString(36).slice(2, 8)}`;
}
function rnnA11ySet(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }
function rnnA11yStyle() {
  if (document.getElementById('rnn-a11y-style')) return;
  const style = document.createElement('style');
  style.id = 'rnn-a11y-style';
  style.textContent = RNN_A11Y_CSS;
  document.head.appendChild(style);
}
function rnnA11yVisible(el) { return el.offsetParent !== null || el.getClientRects().length > 0; }
// the figure a visible summary describes: the nearest figure before it (a static page may hold the frames'
// figures and their summaries in separate stacks: then the figure shown now)
function rnnA11yFigureOf(summary, root) {
  if (!rnnA11yVisible(summary)) return null;
  for (let node = summary; node && node !== root; node = node.parentElement) {
    for (let prev = node.previousElementSibling; prev; prev = prev.previousElementSibling) {
      const figures = prev.classList.contains('bqplot') ? [prev] : Array.from(prev.querySelectorAll('.bqplot'));
      if (figures.length) return figures.filter(rnnA11yVisible).pop() || null;
    }
  }
  return null;
}
// names, roles and keyboard attributes on everything under the widget (idempotent: it only writes differences)
function rnnA11yPass(root) {
  const title = root.querySelector('h1, h2, h3');
  if (title && !root.hasAttribute('data-rnn-a11y-static')) {
    if (!title.id) title.id = rnnA11yId('title');
    rnnA11ySet(root, 'role', 'region');
    rnnA11ySet(root, 'aria-labelledby', title.id);
  }
  for (const slider of root.querySelectorAll('.widget-slider, .widget-hslider, .widget-vslider')) {
    const label = slider.querySelector('.widget-label');
    const handle = slider.querySelector('.noUi-handle');
    if (!handle || !label || !label.textContent.trim()) continue;
    if (!label.id) label.id = rnnA11yId('label');
    rnnA11ySet(handle, 'aria-labelledby', label.id);
  }
  for (const button of root.querySelectorAll('.widget-toggle-buttons button, button.widget-toggle-button')) {
    rnnA11ySet(button, 'aria-pressed', String(button.classList.contains('mod-active')));
  }
  for (const el of root.querySelectorAll('.noUi-handle, button, select, input, textarea, [tabindex]')) {
    rnnA11ySet(el, 'data-lm-suppress-shortcuts', 'true');
  }
  for (const summary of root.querySelectorAll('.rnn-summary')) {
    const figure = rnnA11yFigureOf(summary, root);
    if (!figure) continue;
    if (!summary.id) summary.id = rnnA11yId('summary');
    const heading = figure.querySelector('text.mainheading');
    const name = (heading && heading.textContent.trim()) || 'Figure';
    rnnA11ySet(figure, 'role', 'img');
    rnnA11ySet(figure, 'aria-label', name);
    rnnA11ySet(figure, 'aria-describedby', summary.id);
  }
  for (const box of root.querySelectorAll('.widget-html-content div[style*="overflow"], .widget-box')) {
    const style = getComputedStyle(box);
    const scrolls = /(auto|scroll)/.test(style.overflow + style.overflowX + style.overflowY)
      && (box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1);
    // a box whose only controls are hidden (bqplot's figure toolbar) cannot be scrolled from the keyboard either
    const reachable = Array.from(box.querySelectorAll('button, select, input, textarea, [tabindex], a[href]'))
      .some(el => rnnA11yVisible(el) && getComputedStyle(el).visibility !== 'hidden');
    if (scrolls && !reachable) {
      rnnA11ySet(box, 'tabindex', '0');
    }
  }
}
// the visible summaries' texts, in page order
function rnnA11ySummaries(root) {
  return Array.from(root.querySelectorAll('.rnn-summary')).filter(rnnA11yVisible)
    .map(s => s.textContent.trim()).filter(t => t);
}
// watch one lesson widget: names and roles at once, summaries announced in ``live`` once they settle
function rnnA11yAttach(root, live) {
  if (!root || root.rnnA11y) return;
  rnnA11yStyle();
  const state = { said: null, timer: null, pointer: false, queued: false };
  root.rnnA11y = state;
  const announce = () => {
    state.timer = null;
    if (state.pointer) return;  // said when the pointer is released
    const now = rnnA11ySummaries(root);
    if (state.said === null) { state.said = now; return; }  // what the page showed first is not news
    const changed = now.filter((t, i) => t !== state.said[i]);
    state.said = now;
    if (changed.length) {
      live.textContent = changed.join(' ');
      live.dataset.announcements = String(Number(live.dataset.announcements || 0) + 1);
    }
  };
  const later = () => { clearTimeout(state.timer); state.timer = setTimeout(announce, RNN_A11Y_QUIET); };
  const pass = () => {
    state.queued = false;
    rnnA11yPass(root);
  };
  const observer = new MutationObserver(() => {
    if (!state.queued) { state.queued = true; requestAnimationFrame(pass); }
    later();
  });
  observer.observe(root, { childList: true, subtree: true, characterData: true,
                           attributes: true, attributeFilter: ['class', 'style', 'hidden'] });
  root.addEventListener('pointerdown', () => { state.pointer = true; });
  const release = () => { if (state.pointer) { state.pointer = false; later(); } };
  document.addEventListener('pointerup', release);
  document.addEventListener('pointercancel', release);
  rnnA11yPass(root);
  later();
  return () => { observer.disconnect(); clearTimeout(state.timer);
                 document.removeEventListener('pointerup', release);
                 document.removeEventListener('pointercancel', release); delete root.rnnA11y; };
}
function rnnA11yLive(parent) {
  const live = document.createElement('div');
  live.className = 'rnn-a11y-live';
  live.setAttribute('role', 'status');
  live.setAttribute('aria-live', 'polite');
  live.setAttribute('aria-atomic', 'true');
  parent.appendChild(live);
  return live;
}
""".replace("@QUIET@", str(QUIET_MS)).replace("@PROSE@", PROSE_CSS).replace("@SURFACE@", SURFACE_CSS)\
    .replace("@NARROW@", NARROW_CSS)

#: the anywidget module: the live region in the helper's own element, the rest on the lesson widget around it
ESM = CORE + r"""
function render({ el }) {
  const live = rnnA11yLive(el);
  let detach = null;
  let tries = 0;
  const find = () => {  // the lesson widget's element is our parent once the box has attached us
    const root = el.closest('.rnn-widget');
    if (root) { detach = rnnA11yAttach(root, live); return; }
    if (tries++ < 100) setTimeout(find, 100);
  };
  find();
  return () => { if (detach) detach(); };
}
export default { render };
"""

#: for static pages (rnn_widgets.export): one live region for the page, every lesson widget watched as it appears
STATIC_SCRIPT = CORE + r"""
(function () {
  const live = rnnA11yLive(document.body);
  const scan = () => { for (const root of document.querySelectorAll('.rnn-widget')) {
    root.setAttribute('data-rnn-a11y-static', '');  // the page's <main> is its landmark
    rnnA11yAttach(root, live);
  } };
  new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  scan();
})();
"""


class Accessibility(anywidget.AnyWidget):
    """Carried by every lesson widget (see the module's docstring); draws only a visually hidden live region."""

    _esm = traitlets.Unicode(ESM).tag(sync=True)
