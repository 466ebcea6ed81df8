"""Static HTML pages for course sites: the knobs of each widget's question still work, with no kernel.

A slider in a static page cannot call Python, so we compute the widget's figures for every combination of
the live knobs' values at export time, with the same code the live widget runs, and let the page switch
between these frames with nested ``Stack``s: the outer one switched by the first knob, every inner one by the
next (each knob's control is ``jslink``-ed to every Stack of its level; one control may link to many). No
custom JavaScript runs. Frames share every widget that is the same in both (layouts, axes, whole figures),
so a page grows with what actually changes. Everything else is fixed at the widget's defaults (the page says
which).

    rnn-widgets export --out site [widget names] [--js cdn|local] [--knobs WIDGET=TRAIT,TRAIT]
"""
from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
import re
import shlex
import shutil
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import bqplot as bq
import ipywidgets as W
import numpy as np
import traitlets
from ipywidgets.embed import dependency_state, embed_data, escape_script

from . import WIDGETS
from .preview import describe
from .widgets.a11y import STATIC_SCRIPT
from .widgets.charts import sup
from .widgets.common import close_tree, fmt

HTML_MANAGER = "1.0.15"
NO_FAVICON = "<link rel='icon' href='data:,'>"  # no request for /favicon.ico (a 404 in the console)
CDN_REQUIRE = "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.7/require.min.js"
CDN_EMBED = f"https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@{HTML_MANAGER}/dist/embed-amd.js"
#: where a --js cdn page's scripts come from (said on the page when they cannot load)
CDN_HOSTS = ("cdnjs.cloudflare.com", "cdn.jsdelivr.net")
#: seconds a page waits for its first figure before it says its scripts did not load (a failed script says so at once)
SCRIPT_WAIT_S = 6

#: the course page's side of a page that sizes itself: each iframe of an exported page takes the height the page
#: reports (pages post ``{rnnWidgetsHeight: px}`` to their parent on load and whenever their height changes), so
#: no iframe needs a height of its own or shows an inner scrollbar. Put it once in the page that holds the iframes
#: (export_site also writes it as embed.js beside the pages).
EMBED_SNIPPET = """<script>
/* rnn-widgets: an iframe of an exported page takes the height its page reports (no inner scrollbar) */
window.addEventListener('message', function (event) {
  var height = event.data && event.data.rnnWidgetsHeight;
  if (typeof height !== 'number' || !(height > 0)) return;
  document.querySelectorAll('iframe').forEach(function (frame) {
    if (frame.contentWindow === event.source) frame.style.height = Math.min(Math.ceil(height), 100000) + 'px';
  });
});
window.addEventListener('load', function () {  /* pages that reported before this listener ran: ask again */
  document.querySelectorAll('iframe').forEach(function (frame) {
    if (frame.contentWindow) frame.contentWindow.postMessage({rnnWidgetsAskHeight: true}, '*');
  });
});
</script>"""

#: the page's own script, first in its head: it says when the scripts cannot load (a failed script at once, no
#: figure after SCRIPT_WAIT_S seconds otherwise) and shows the page's picture and question instead; and it
#: reports the page's height to the page it is embedded in (EMBED_SNIPPET), on load and whenever it changes
PAGE_HEAD_SCRIPT = r"""
(function () {
  var failed = [], shown = false, start = Date.now();
  function drawn() { return document.querySelector('.rnn-widget .bqplot.figure svg') !== null; }
  function show(why) {
    var box = document.getElementById('rnn-fallback');
    if (!box) {  // a script of the head failed before the body was read
      document.addEventListener('DOMContentLoaded', function () { show(why); });
      return;
    }
    if (drawn()) return;
    var list = box.querySelector('.rnn-fallback-what');
    if (list) list.textContent = why;
    if (shown) return;
    shown = true;
    var img = box.querySelector('img[data-src]');
    if (img) img.src = img.getAttribute('data-src');
    box.hidden = false;
  }
  // a script this page needs that did not load: its own, or one the widget manager asks for (bqplot)
  window.addEventListener('error', function (event) {
    var el = event.target;
    if (!el || el.tagName !== 'SCRIPT' || !el.src) return;
    var local = el.src.indexOf(location.origin + '/') === 0 && el.src.indexOf('/js/') < 0;
    if (local) return;  // the manager first asks this folder for bqplot, then the CDN: not a failure
    failed.push(el.src.replace(/^https?:\/\//, '').split('?')[0]);
    show('(' + failed.join(', ') + ')');
  }, true);
  (function watch() {
    var box = document.getElementById('rnn-fallback');
    if (!box && document.readyState !== 'loading') return;  // a page without one (a question's page)
    if (drawn()) {
      if (box) box.hidden = true;  // loaded after all
      return;
    }
    if (Date.now() - start > @WAIT@ && !shown) show('(nothing drawn after @WAIT_S@ s)');
    setTimeout(watch, 250);
  })();
  // bqplot reads a figure's size when its view is ready: a view made and removed at once (a knob moved fast)
  // has none, and its rectangles would get negative sizes (console errors); such a figure is drawn 1 px wide
  // until it is shown, when bqplot lays it out again
  window.rnnGuardFigures = function (bqplot) {
    var F = bqplot && bqplot.Figure;
    if (!F || !F.prototype.getFigureSize || F.prototype.rnnGuarded) return;
    var size = F.prototype.getFigureSize;
    F.prototype.getFigureSize = function () {
      var s = size.apply(this, arguments);
      var m = this.model.get('fig_margin') || {};
      var w = (m.left || 0) + (m.right || 0) + 1, h = (m.top || 0) + (m.bottom || 0) + 1;
      if (!(s.width >= w && s.height >= h)) return {x: s.x || 0, y: s.y || 0, width: Math.max(s.width || 0, w), height: Math.max(s.height || 0, h)};
      return s;
    };
    F.prototype.rnnGuarded = true;
  };
  // the height, to the page this one is embedded in
  var last = -1;
  function post() {
    if (window.parent === window || !document.body) return;
    var style = getComputedStyle(document.body);
    var height = Math.ceil(document.body.getBoundingClientRect().height + parseFloat(style.marginTop) +
                           parseFloat(style.marginBottom));
    if (height === last) return;
    last = height;
    window.parent.postMessage({rnnWidgetsHeight: height}, '*');
  }
  window.addEventListener('message', function (event) {  // a parent that listens late asks again
    if (event.source === window.parent && event.data && event.data.rnnWidgetsAskHeight) { last = -1; post(); }
  });
  document.addEventListener('DOMContentLoaded', function () {
    post();
    if (window.ResizeObserver) new ResizeObserver(post).observe(document.body);
    else setInterval(post, 500);
  });
  window.addEventListener('load', post);
})();
""".replace("@WAIT@", str(SCRIPT_WAIT_S * 1000)).replace("@WAIT_S@", str(SCRIPT_WAIT_S))

#: after require.js: bqplot's figures are guarded as soon as it is loaded, from the CDN or beside the page
REQUIRE_HOOK = ("<script>if (window.require) require.onResourceLoad = function (context, map) {"
                " if (map.name === 'bqplot') window.rnnGuardFigures(context.defined.bqplot); };</script>")


@dataclass(frozen=True)
class StaticKnob:
    """A knob that stays live in a static page, and the values precomputed for it."""

    trait: str
    label: str  # the control's description, in the widget's words
    values: tuple
    names: tuple  # each value as the control shows it
    choices: bool = False  # buttons (a choice among options) rather than a slider (numbers)
    start: int = 0  # the value the page opens at: the widget's own (its default, or the page's --set)

    def labels(self) -> list[str]:
        return list(self.names)


#: each page's live knobs, chosen for the question the page asks, and that question in one sentence
PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "UnrollingWidget": (("step", "mode"), (
        "Step through the sentence with one layer per token and with shared weights, and count what each new "
        "step costs in parameters.")),
    "WeightSharingWidget": (("weight_scale", "loss_at"), (
        "Move the weight scale and where the loss is taken to see how much each step adds to the one gradient "
        "of the shared W.")),
    "TopologiesWidget": (("topology", "seed"), (
        "Switch the topology and try other examples to see where inputs enter, where outputs are read and "
        "whether the trained network gets them right.")),
    "GenerationWidget": (("temperature", "prompt", "seed"), (
        "Move the temperature, change the prompt and draw another sample to see how sure the model is and how "
        "much the text it writes varies.")),
    "GradientFlowWidget": (("scale", "model"), (
        "Move the weight scale and switch the model to see whether the LSTM keeps the gradient where the plain "
        "RNN loses it.")),
    "LSTMGatesWidget": (("forget_bias", "step"), (
        "Move the forget-gate bias and step through the sequence to see how long the cell state remembers the "
        "first input.")),
    "TextMemoryWidget": (("position", "feature"), (
        "Move the position t along the passage to see how far back the RNN's, the LSTM's and the GRU's "
        "predictions reach into the text, and pick a feature of the text to see the LSTM unit that follows it.")),
}

#: the precomputed values of knobs whose full range is too fine or too wide to show whole, or free text
#: (the page then offers these few); any other knob gets every choice, every integer, or ~11 even steps
GRIDS: dict[tuple[str, str], tuple] = {
    ("WeightSharingWidget", "weight_scale"): tuple(float(v) for v in np.round(np.linspace(0.2, 2.0, 10), 2)),
    ("GenerationWidget", "temperature"): (0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0),
    ("GenerationWidget", "prompt"): ("ROMEO:\nBut soft, what light", "JULIET:\nO Romeo, Romeo",
                                     "HAMLET:\nTo be, or not to be"),
    ("GenerationWidget", "seed"): (0, 1, 2),
    ("GradientFlowWidget", "scale"): tuple(float(v) for v in np.round(np.arange(0.2, 2.01, 0.2), 2)),
    ("LSTMGatesWidget", "forget_bias"): (-6.0, -3.0, 0.0, 3.0, 6.0),  # × 30 steps: 150 frames
    ("TopologiesWidget", "seed"): tuple(range(5)),
    # the features the default passage has (no quotes or brackets), each choosing its unit: every frame's unit is
    # then fixed by its feature, whatever frame came before
    ("TextMemoryWidget", "feature"): ("position in the line", "after a space", "upper case", "vowel"),
}

#: the most frames one page precomputes (a page's size and export time grow with them), knobs per page
MAX_FRAMES = 256
MAX_KNOBS = 3
#: integer knobs with more values than this get evenly spaced ones
MAX_STEPS = 31

#: default knobs, by widget (kept for callers of the one-knob version: the first is the main one)
KNOBS = {name: traits for name, (traits, _) in PAGES.items()}


def _choice_labels(control: W.Widget) -> dict | None:
    labels, values = getattr(control, "_options_labels", None), getattr(control, "_options_values", None)
    return None if labels is None else dict(zip(values, labels))


def _number_grid(control: W.Widget, trait: traitlets.TraitType, integer: bool) -> tuple:
    lo = getattr(control, "min", None) if control is not None else None
    hi = getattr(control, "max", None) if control is not None else None
    lo = trait.min if lo is None else lo
    hi = trait.max if hi is None else hi
    if integer:
        if hi - lo + 1 <= MAX_STEPS:
            return tuple(range(int(lo), int(hi) + 1))
        return tuple(int(v) for v in np.unique(np.round(np.linspace(lo, hi, 16))))
    if isinstance(control, W.FloatLogSlider):  # its min/max are exponents
        return tuple(float(f"{v:.2g}") for v in np.logspace(control.min, control.max, 11))
    step = getattr(control, "step", None) or (hi - lo) / 10
    return tuple(float(v) for v in np.unique(np.round(np.round(np.linspace(lo, hi, 11) / step) * step, 6)))


def static_knob(widget, trait: str) -> StaticKnob:
    """The live knob ``trait`` of ``widget``'s page: its values (from :data:`GRIDS`, or its control's range)
    and their names as the control shows them. ValueError for a trait a page cannot precompute."""
    name = type(widget).__name__
    settings = sorted(widget.class_trait_names(config=True))
    if trait not in settings:
        raise ValueError(f"{name} has no knob {trait!r}; its knobs are {', '.join(settings)}")
    control = widget.controls.get(trait)
    if control is None:
        raise ValueError(f"{name}.{trait} has no control on the widget, so a static page cannot offer it; "
                         "fix it with --set instead")
    kind = widget.traits()[trait]
    label = (getattr(control, "description", "") or trait).strip()
    choice_labels = _choice_labels(control)
    if (name, trait) in GRIDS:
        values = GRIDS[(name, trait)]
    elif isinstance(kind, traitlets.Bool):
        values = (False, True)
    elif isinstance(kind, traitlets.Enum):
        values = tuple(kind.values)
    elif isinstance(kind, traitlets.Int):
        values = _number_grid(control, kind, integer=True)
    elif isinstance(kind, traitlets.Float):
        values = _number_grid(control, kind, integer=False)
    else:
        raise ValueError(f"{name}.{trait} is free text: a static page cannot precompute every value it could "
                         f"take. Fix it with --set {name}.{trait}=..., or choose another knob")
    # the page opens where the live widget opens (issue 24, item 7): its value joins the grid if it is not on it
    default = getattr(widget, trait)
    if default not in values:
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (*values, default))
        values = tuple(sorted((*values, default))) if numbers else (default, *values)
    if isinstance(kind, traitlets.Bool):
        names = ("off", "on")
    elif choice_labels is not None:
        names = tuple(choice_labels.get(v, str(v)) for v in values)
    elif isinstance(kind, traitlets.Unicode):
        names = tuple(control_words(W.Text(v)) for v in values)
    else:
        names = tuple(str(v) if isinstance(v, int) else fmt(float(v)) for v in values)
    choices = isinstance(kind, (traitlets.Bool, traitlets.Enum, traitlets.Unicode))
    return StaticKnob(trait, label, tuple(values), names, choices, start=list(values).index(default))


def page_question(name: str, knobs: list[StaticKnob]) -> str:
    """The sentence at the top of a page: the page's question for its default knobs, else what is live."""
    traits, question = PAGES[name]
    if tuple(k.trait for k in knobs) == traits:
        return question
    listed = _and([k.label.rstrip(" :+") for k in knobs])
    return f"Move {listed} to see how the figures answer; every combination was computed by the widget itself."


# ---------------------------------------------------------------------- cloning a frame
def _clone_value(value, memo: dict, shared: dict | None, domains: dict | None = None):
    if isinstance(value, W.Widget):
        return clone_widget(value, memo, shared, domains)
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_value(v, memo, shared, domains) for v in value)
    if isinstance(value, dict):
        return {k: _clone_value(v, memo, shared, domains) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)  # half the bytes; no visible difference
    return value


#: traits that hold labels or positions of labels, copied exactly
LABEL_TRAITS = {"tick_values", "domain"}


def _auto_domain(widget: W.Widget) -> bool:
    """A bqplot scale whose domain the browser computes from the marks that use it (no fixed min/max, or an
    ordinal scale with no domain): two frames may share it only if those marks are the same."""
    if not isinstance(widget, bq.Scale):
        return False
    domain = getattr(widget, "domain", None) if "domain" in widget.keys else None
    if isinstance(domain, (list, tuple)) and len(domain):
        return False
    if isinstance(widget, bq.OrdinalScale):
        return True
    return "min" in widget.keys and "max" in widget.keys and (widget.min is None or widget.max is None)


def _key(value, ids: bool = True):
    """A hashable fingerprint of a synced value; widgets by model id (or only by type, with ``ids=False``)."""
    if isinstance(value, W.Widget):
        return ("W", value.model_id) if ids else ("W", type(value).__name__)
    if isinstance(value, np.ndarray):
        return ("A", str(value.dtype), value.shape, hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *(_key(v, ids) for v in value))
    if isinstance(value, dict):
        return ("D", *sorted((str(k), _key(v, ids)) for k, v in value.items()))
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value if isinstance(value, (int, float, str, bool, type(None))) else repr(value))


def _synced(widget: W.Widget) -> list[str]:
    return [k for k in widget.keys if not k.startswith(("_model_", "_view_")) and k not in ("comm", "keys", "log")]


def _refs(value):
    if isinstance(value, W.Widget):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _refs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs(v)


def _data_range(mark: W.Widget, role: str):
    """What ``mark`` puts on its ``role`` scale: (min, max) of numbers, or a frozenset of categories; None if
    unknown."""
    data = getattr(mark, role, None) if role in mark.keys else None
    if data is None:
        return None
    a = np.asarray(data)
    if a.size == 0:
        return None
    if a.dtype.kind in "fiu":
        a = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        return (float(a.min()), float(a.max())) if a.size else None
    return frozenset(map(str, a.ravel()))


def _within(inner, outer) -> bool:
    if inner is None or outer is None or type(inner) is not type(outer):
        return False
    if isinstance(inner, frozenset):
        return inner <= outer
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _domain_sources(parts: list[W.Widget]) -> dict[int, tuple]:
    """For each auto-domain scale reachable from ``parts``: the content of the marks that set its domain (by
    scale role), which is all the domain depends on.

    A line whose data on the scale lies inside another mark's data on it adds nothing to the domain (bqplot
    takes a line's domain as the min and max of its data; every mark's domain covers its data), so it is left
    out: a cursor moving across a heat map does not make every frame's heat map different.
    """
    seen, todo, users = set(), list(parts), {}
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        todo.extend(r for k in _synced(w) for r in _refs(getattr(w, k)))
        scales = getattr(w, "scales", None) if "scales" in w.keys else None
        if isinstance(scales, dict):
            content = (type(w).__name__, *(_key(getattr(w, k), ids=False) for k in _synced(w) if k != "scales"))
            kept = getattr(w, "preserve_domain", {}) or {}
            for role, scale in scales.items():
                if isinstance(scale, W.Widget) and _auto_domain(scale) and not kept.get(role):
                    users.setdefault(id(scale), []).append((role, content, _data_range(w, role), type(w)))
    sources = {}
    for scale, marks in users.items():
        setting = [(role, content) for role, content, extent, kind in marks
                   if not (issubclass(kind, bq.Lines)
                           and any(other_content != content and _within(extent, other_extent)
                                   for _, other_content, other_extent, other_kind in marks
                                   if not issubclass(other_kind, bq.Lines)))]
        sources[scale] = tuple(sorted(setting, key=repr))
    return sources


def clone_widget(widget: W.Widget, memo: dict, shared: dict | None = None,
                 domains: dict[int, tuple] | None = None) -> W.Widget:
    """A new widget with the same synced state (widgets it refers to are cloned too, once each).

    ``shared`` (kept across frames) maps a widget's content (its type and state, with the widgets it refers
    to already shared) to its one copy, so that frames share every identical widget: a page is otherwise
    mostly the same layouts, axes and figures over and over. A scale whose domain the browser computes from
    its marks is shared only among frames whose marks on it are the same (``domains``, from
    :func:`_domain_sources`); without it, such a scale is never shared.
    """
    if id(widget) in memo:
        return memo[id(widget)]
    if shared is not None and isinstance(widget, W.DOMWidget) and widget.layout.display == "none":
        # hidden in this frame: nothing to draw (a bqplot figure drawn hidden has no size, and the browser
        # logs its negative rectangles as errors)
        memo[id(widget)] = _shared_widget(W.HTML, shared, layout=_shared_widget(W.Layout, shared, display="none"))
        return memo[id(widget)]
    # tick values and domains are labels: float32 would print 0.1 as 0.10000000149011612
    state = {k: (getattr(widget, k) if k in LABEL_TRAITS else _clone_value(getattr(widget, k), memo, shared, domains))
             for k in _synced(widget)}
    if shared is None:
        copy = type(widget)(**state)
    else:
        key = (type(widget), *((k, _key(v)) for k, v in sorted(state.items())))
        if _auto_domain(widget):
            # a scale no mark of the frame uses has an empty domain (in any frame that shares it too)
            source = () if domains is not None and id(widget) not in domains else (domains or {}).get(id(widget))
            key = (*key, ("domain from", source if source is not None else ("unshared", id(memo), id(widget))))
        copy = shared.get(key)
        if copy is None:
            copy = shared[key] = type(widget)(**state)
    memo[id(widget)] = copy
    return copy


def freeze(widget, shared: dict) -> W.VBox:
    """The widget's current equation, figures and summaries, as widgets no later change touches (shared with
    other frames wherever they are the same)."""
    memo: dict = {}
    parts = [widget.equation, *(w for w in widget.body if not isinstance(w, W.Accordion))]
    domains = _domain_sources(parts)
    return _shared_widget(W.VBox, shared, children=tuple(clone_widget(w, memo, shared, domains) for w in parts))


def _shared_widget(cls, shared: dict, **state) -> W.Widget:
    """One widget per distinct ``state``, made here (a box or stack of the page, with one shared layout)."""
    if cls is not W.Layout and "layout" in cls.class_trait_names():
        state.setdefault("layout", _shared_widget(W.Layout, shared))
    key = (cls, "made here", *((k, _key(v)) for k, v in sorted(state.items())))
    if key not in shared:
        shared[key] = cls(**state)
    return shared[key]


# ---------------------------------------------------------------------- pages
def control_words(control: W.Widget) -> str:
    """A control's value as the student sees it on the control: the option's label, the slider's number."""
    value = control.value
    labels = getattr(control, "_options_labels", None)
    if labels is not None and getattr(control, "index", None) is not None:
        return labels[control.index]
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        shown = value.replace("\n", " ⏎ ")
        return f"“{shown[:40]}…”" if len(shown) > 40 else f"“{shown}”"
    if isinstance(value, float):
        return fmt(value)
    return str(value)


def fixed_settings(widget, live) -> str:
    """The page's frozen settings in the widget's own words ("Tokens: words; Network: shared weights…"),
    leaving out the live knobs and controls that do not apply (disabled or hidden)."""
    live = {live} if isinstance(live, str) else set(live)
    parts = []
    for trait, control in widget.controls.items():
        if trait in live or getattr(control, "disabled", False) or control.layout.display == "none":
            continue
        name = (getattr(control, "description", "") or trait).rstrip(" :+")
        parts.append(f"{name}: {control_words(control)}")
    return "; ".join(parts)


def _knob_control(knob: StaticKnob) -> W.Widget:
    options = list(zip(knob.names, range(len(knob.values))))
    if knob.choices:
        control = W.ToggleButtons(options=options, index=0, description=knob.label,
                                  style={"description_width": "initial", "button_width": "auto"})
    else:
        control = W.SelectionSlider(options=options, index=0, description=knob.label, continuous_update=True,
                                    style={"description_width": "initial"}, layout=W.Layout(width="520px"))
    control.index = knob.start
    control.add_class("rnn-knob")
    return control


def _nest(frames: dict, sizes: list[int], shared: dict, levels: list[dict], prefix: tuple = (),
          starts: tuple = ()) -> W.Widget:
    """The frames as nested Stacks: level j switched by knob j, showing its frame ``starts[j]`` at first. A level
    whose children are all the same widget is left out (the knob changes nothing there); identical stacks are one
    widget."""
    depth = len(prefix)
    if depth == len(sizes):
        return frames[prefix]
    children = tuple(_nest(frames, sizes, shared, levels, (*prefix, i), starts) for i in range(sizes[depth]))
    if all(c is children[0] for c in children):
        return children[0]
    # a column, as the boxes it stands in for: a figure in a row would shrink to bqplot's default 300 px
    stack = _shared_widget(W.Stack, shared, children=children, selected_index=starts[depth] if starts else 0,
                           layout=_shared_widget(W.Layout, shared, flex_flow="column"))
    levels[depth][stack.model_id] = stack
    return stack


def _box_kind(widget: W.Widget):
    """What a box is apart from its children (None for anything else): its type, layout, style and how many
    children it has."""
    if not isinstance(widget, W.Box) or isinstance(widget, W.Stack):
        return None
    return (type(widget), len(widget.children),
            *((k, _key(getattr(widget, k))) for k in _synced(widget) if k != "children"))


def _factor(frames: dict, sizes: list[int], shared: dict, levels: list[dict], starts: tuple = ()) -> W.Widget:
    """The frames as one widget tree the knobs switch: where every frame has the same kind of box, one such box
    whose children are factored in turn; a part the same in every frame as itself; anything else in nested
    Stacks (:func:`_nest`). So a knob redraws only the figures and texts it changes: a Stack whose newly
    selected child is the widget it showed keeps its view."""
    first = next(iter(frames.values()))
    if all(f is first for f in frames.values()):
        return first
    kind = _box_kind(first)
    if kind is not None and all(_box_kind(f) == kind for f in frames.values()):
        children = tuple(_factor({i: f.children[c] for i, f in frames.items()}, sizes, shared, levels, starts)
                         for c in range(len(first.children)))
        state = {k: getattr(first, k) for k in _synced(first) if k != "children"}
        return _shared_widget(type(first), shared, children=children, **state)
    return _nest(frames, sizes, shared, levels, starts=starts)


def resolve_knobs(widget, traits) -> list[StaticKnob]:
    """The page's live knobs: ``traits`` (default: the page's own), checked; ValueError for one a page cannot
    precompute, a repeated one, too many, or a grid of more than :data:`MAX_FRAMES` frames."""
    name = type(widget).__name__
    traits = list(PAGES[name][0] if traits is None else traits)
    if not traits:
        raise ValueError(f"{name}: choose at least one knob to keep live")
    if len(set(traits)) < len(traits):
        raise ValueError(f"{name}: a knob is listed twice in {', '.join(traits)}")
    if len(traits) > MAX_KNOBS:
        raise ValueError(f"{name}: a page keeps at most {MAX_KNOBS} knobs live, not {len(traits)} "
                         f"({', '.join(traits)})")
    knobs = [static_knob(widget, t) for t in traits]
    frames = math.prod(len(k.values) for k in knobs)
    if frames > MAX_FRAMES:
        sizes = " × ".join(f"{len(k.values)} ({k.trait})" for k in knobs)
        raise ValueError(f"{name}: {sizes} = {frames} frames is too large a grid for one page (at most "
                         f"{MAX_FRAMES}): choose fewer knobs or knobs with fewer values")
    return knobs


def static_knobs(name: str, knobs=None, **options) -> list[StaticKnob]:
    """The live knobs of ``name``'s page as :func:`build_page` would resolve them (for tests and benchmarks)."""
    widget = _make(name, options)
    try:
        return resolve_knobs(widget, knobs)
    finally:
        widget.close()


def _make(name: str, options: dict):
    cls = getattr(__import__("rnn_widgets"), name)
    unknown = sorted(set(options) - set(cls.class_trait_names(config=True)))
    if unknown:
        raise ValueError(f"{name} has no setting {', '.join(map(repr, unknown))}; its settings are "
                         f"{', '.join(sorted(cls.class_trait_names(config=True)))}")
    try:
        widget = cls(**options)
    except traitlets.TraitError as exc:
        raise ValueError(str(exc) if str(exc).startswith(name) else f"{name}: {exc}") from exc
    if widget.error_message:
        message = f"{name}: {widget.error_message}"
        widget.close()
        raise ValueError(message)
    try:
        for trait, value in options.items():
            _check_setting_has_effect(widget, trait, value, options)
    except ValueError:
        widget.close()
        raise
    return widget


# ---------------------------------------------------------------------- settings that change nothing
def applies(widget, trait: str) -> bool:
    """Whether ``trait`` is used in the widget's present state: a widget disables or hides the control of a
    trait its present mode does not read (LSTMGatesWidget's text while the input is the remember signal)."""
    control = widget.controls.get(trait)
    return control is None or not (getattr(control, "disabled", False) or control.layout.display == "none")


def _cli_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def where_it_applies(name: str, trait: str, options: dict) -> tuple[str, object, object] | None:
    """A choice (another Enum or Bool setting, its value) under which ``name``'s ``trait`` is used, found by
    trying each on a widget made with ``options``; with the value it has there. None when no choice makes it
    used: its control is off for another reason (GenerationWidget's model choice before any training)."""
    probe = getattr(__import__("rnn_widgets"), name)(**options)
    try:
        for other, kind in probe.traits(config=True).items():
            if other == trait or not isinstance(kind, (traitlets.Enum, traitlets.Bool)):
                continue
            present = getattr(probe, other)
            for value in kind.values if isinstance(kind, traitlets.Enum) else (False, True):
                if value != present:
                    setattr(probe, other, value)
                    if applies(probe, trait):
                        return other, value, present
            setattr(probe, other, present)
    finally:
        probe.close()
    return None


def _unused_words(name: str, trait: str, options: dict) -> str | None:
    """Why ``trait`` changes nothing on the page and what to set instead; None if it is used after all."""
    found = where_it_applies(name, trait, options)
    if found is None:
        return None
    other, value, present = found
    return (f"the widget does not read {trait} with {other}={_cli_value(present)}, as this page has it; it does "
            f"with {other}={_cli_value(value)}. Add --set {shlex.quote(f'{name}.{other}={_cli_value(value)}')}")


def _check_setting_has_effect(widget, trait: str, value, options: dict) -> None:
    """ValueError for a setting the page would silently ignore: one the widget does not keep (it depends on
    another setting), or one the page's mode does not read."""
    name = type(widget).__name__
    kept = getattr(widget, trait)
    if kept != value:
        raise ValueError(f"{name}.{trait}={_cli_value(value)} has no effect on this page: with the other settings "
                         f"the widget changes it to {_cli_value(kept)}. Set a value it keeps, or the setting it "
                         "depends on.")
    if not applies(widget, trait):
        why = _unused_words(name, trait, options)
        if why is not None:
            raise ValueError(f"{name}.{trait} has no effect on this page: {why}, or leave {trait} out.")


def _check_knobs_have_effect(name: str, unused: list[str], options: dict) -> None:
    """ValueError for a live knob that no frame reads: the page would offer a control that moves nothing."""
    for trait in unused:
        why = _unused_words(name, trait, options)
        if why is not None:
            raise ValueError(f"{name}: the knob {trait} would change nothing on this page: {why}, or choose "
                             "another knob.")


def build_page(name: str, knobs=None, **options) -> W.VBox:
    """The widget's static page as a widget tree: header, the live knobs, a frame for every combination of
    their values, nested in Stacks that the knobs switch (``jslink``: no kernel, no page JavaScript).

    ``knobs`` lists the traits kept live (default: the page's own, :data:`PAGES`); ``options`` are passed to the
    widget's constructor (e.g. ``text=`` for UnrollingWidget). A setting the widget refuses, or that leaves
    its banner showing a message, raises ValueError with the widget's message: a page of placeholder figures
    is never written. So does a knob that cannot be precomputed, or a grid too large (:func:`resolve_knobs`),
    and a setting or a knob that would change nothing on the page (:func:`applies`), with what to set instead.
    """
    widget = _make(name, options)
    try:
        words = describe(widget)  # the page's first state in words: its picture's text alternative
        if knobs is not None and set(knobs) & set(options):
            both = ", ".join(sorted(set(knobs) & set(options)))
            raise ValueError(f"{name}: {both} cannot be both fixed (--set) and live (--knobs)")
        live = resolve_knobs(widget, knobs)
        # every frame starts from the page's settings, so that no frame depends on the one computed before it (a
        # knob may move another setting: TextMemory's feature chooses the unit, which "—" then leaves as it is)
        opening = {t: getattr(widget, t) for t in widget.class_trait_names(config=True)
                   if t not in {k.trait for k in live}}
        frames, shared, used = {}, {}, set()
        for index in itertools.product(*(range(len(k.values)) for k in live)):
            for trait, value in opening.items():
                if getattr(widget, trait) != value:
                    setattr(widget, trait, value)
            for k, i in zip(live, index):
                setattr(widget, k.trait, k.values[i])
            widget.prepare_static_frame()
            used.update(k.trait for k in live if applies(widget, k.trait))
            where = ", ".join(f"{k.label.rstrip(' :+')} = {k.names[i]}" for k, i in zip(live, index))
            if widget.error_message:
                raise ValueError(f"{name} at {where}: {widget.error_message}")
            moved = [k.trait for k, i in zip(live, index) if getattr(widget, k.trait) != k.values[i]]
            if moved:  # e.g. a step beyond a length that another knob shortened
                raise ValueError(f"{name} at {where}: the widget does not keep {', '.join(moved)} there (it "
                                 "depends on another knob), so these knobs cannot be precomputed together")
            frames[index] = freeze(widget, shared)
        _check_knobs_have_effect(name, [k.trait for k in live if k.trait not in used], options)
        levels: list[dict] = [{} for _ in live]
        content = _factor(frames, [len(k.values) for k in live], shared, levels, tuple(k.start for k in live))
        controls = [_knob_control(k) for k in live]
        links = [W.jslink((control, "index"), (stack, "selected_index"))
                 for control, level in zip(controls, levels) for stack in level.values()]
        fixed = fixed_settings(widget, [k.trait for k in live])
        ranges = "; ".join(f"<b>{html.escape(k.label.rstrip(' :+'))}</b> ({len(k.values)} values, "
                           f"{html.escape(k.names[0])} to {html.escape(k.names[-1])})" for k in live)
        header = W.HTML(
            f"<h2 style='margin:4px 0;font-size:1.17em'>{html.escape(widget.TITLE)} "
            f"<span style='font-weight:normal;color:#555'>({html.escape(widget.SECTION)})</span></h2>"
            f"<p class='rnn-question' style='margin:4px 0 8px;font-size:105%'><b>{html.escape(page_question(name, live))}</b></p>"
            f"<div style='max-width:860px'>{widget.EXPLANATION}</div>"
            f"<p style='color:#555;font-size:90%'>Static page: live here are {ranges}, "
            f"{len(frames)} precomputed frames in all; the other settings are fixed: {html.escape(fixed)}. "
            "Run the widget in Jupyter to move them all.</p>")
    finally:
        widget.close()  # the frames are copies
    page = W.VBox([header, W.VBox(controls), content], layout=W.Layout(max_width="900px"))
    page.knob_links = links  # closed with the page (see export_site)
    page.knobs = live
    page.picture_words, page.question = words, page_question(name, live)
    page.title_words = f"{widget.TITLE} ({widget.SECTION})"
    page.frames = len(frames)
    page.add_class("rnn-widget")
    return page


def _bqplot_js_dir() -> Path:
    for base in (sys.prefix, sysconfig.get_paths()["data"]):
        path = Path(base) / "share" / "jupyter" / "nbextensions"
        if (path / "bqplot" / "index.js").exists():
            return path
    raise ValueError("cannot find bqplot's JavaScript (share/jupyter/nbextensions/bqplot) in this environment; "
                     "reinstall bqplot, or export with --js cdn")


def _head(js: str) -> str:
    own = f"<script>{escape_script(PAGE_HEAD_SCRIPT)}</script>\n"
    if js == "local":
        return (own + "<script src='js/require.js'></script>\n<script>require.config({paths: "
                "{bqplot: 'js/bqplot/index', bqscales: 'js/bqscales/index'}});</script>\n"
                f"{REQUIRE_HOOK}\n<script src='js/html-manager/embed-amd.js'></script>")
    return (own + f"<script src='{CDN_REQUIRE}' crossorigin='anonymous'></script>\n{REQUIRE_HOOK}\n"
            f"<script src='{CDN_EMBED}' crossorigin='anonymous' data-jupyter-widgets-cdn='https://cdn.jsdelivr.net/npm/'>"
            "</script>")


def fallback_html(page: W.Widget, js: str, picture: str | None) -> str:
    """What the page shows when its scripts cannot load (hidden until then): why, what to do, the page's
    question and ``picture`` (a file beside the page: its default state, loaded only then) or, without one,
    the figures' summaries in words."""
    if js == "local":
        where, advice = ("<code>js/</code> beside this page",
                         ("Serve the folder over HTTP (a page opened as a file cannot load its scripts), with "
                         "<code>js/</code> beside the page."))
    else:
        where = " and ".join(f"<code>{h}</code>" for h in CDN_HOSTS)
        advice = ("Export with <code>--js local</code> to serve the scripts yourself "
                  "(<code>rnn-widgets export --js local</code>): then the page needs no other site.")
    words = getattr(page, "picture_words", "")
    shown = (f"<img data-src='{html.escape(picture)}' alt='{html.escape(words)}' "
             "style='display:block;max-width:100%;height:auto;border:1px solid #ccc'>" if picture
             else f"<p>{html.escape(words)}</p>")
    return ("<div id='rnn-fallback' hidden style='max-width:900px'>"
            "<p role='alert' style='margin:4px 0 8px;padding:6px 10px;border-left:4px solid #8a5a00;"
            "background:#fff4ce;color:#1a1a1a'><b>This page's interactive figures could not load their "
            f"JavaScript</b> from {where} <span class='rnn-fallback-what'></span>. {advice}</p>"
            f"<h2 style='margin:4px 0;font-size:1.17em'>{html.escape(getattr(page, 'title_words', ''))}</h2>"
            f"<p><b>{html.escape(getattr(page, 'question', ''))}</b></p>"
            + ("<p style='color:#555'>A picture of the page in its first state (its controls do nothing):</p>"
               if picture else "") + f"{shown}</div>")


#: models whose defaults are the same in Python and in the browser, so their state may leave them out (a page
#: holds thousands of boxes, figures and marks); every other model keeps every default (see the notes: a
#: slider's step or a SelectionSlider's index dropped breaks the page)
DEFAULTS_DROPPED = (W.Box, bq.Figure, bq.Mark, bq.Axis)


def page_state(page: W.Widget) -> dict:
    """The embedded state of ``page``'s own widgets (by default every widget the process ever made would be
    embedded), without the defaults of :data:`DEFAULTS_DROPPED` models (except a Stack's)."""
    state = dependency_state([page], drop_defaults=False)
    instances = W.widgets.widget._instances
    for model_id in state:
        widget = instances.get(model_id)
        if isinstance(widget, DEFAULTS_DROPPED) and not isinstance(widget, W.Stack):
            state[model_id] = widget._get_embed_state(drop_defaults=True)
    return state


def page_html(page: W.Widget, title: str, js: str, picture: str | None = None) -> str:
    """A standalone HTML document embedding ``page``'s state (every default included: see the notes), with
    what it shows when its scripts cannot load (:func:`fallback_html`; ``picture``: the file of its picture)."""
    # only the page's own widgets: by default every widget the process ever made would be embedded
    data = embed_data([page], drop_defaults=False, state=page_state(page))
    state = escape_script(json.dumps(data["manager_state"], separators=(",", ":")))
    views = "\n".join("<script type='application/vnd.jupyter.widget-view+json'>"
                      f"{escape_script(json.dumps(v))}</script>" for v in data["view_specs"])
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>{html.escape(title)}</title>\n{NO_FAVICON}\n"
            f"{_head(js)}\n</head>\n<body style='font-family:sans-serif;margin:16px'>\n"
            # a main landmark and a level-one heading; names, figure descriptions, the live region (a11y.py)
            f"<main>\n<h1 style='font-size:1em;font-weight:normal;color:#555;margin:0 0 4px'>{html.escape(title)}</h1>\n"
            f"{fallback_html(page, js, picture)}\n"
            f"<script type='application/vnd.jupyter.widget-state+json'>{state}</script>\n{views}\n</main>\n"
            f"<script>{escape_script(STATIC_SCRIPT)}</script>\n</body>\n</html>\n")


def copy_local_js(out: Path) -> None:
    """require.js, the widget manager (vendored in the package) and bqplot's own build, beside the pages."""
    js = out / "js"
    static = resources.files("rnn_widgets") / "static_js"
    (js / "html-manager").mkdir(parents=True, exist_ok=True)
    (js / "html-manager" / "embed-amd.js").write_bytes(static.joinpath("html-manager", "embed-amd.js").read_bytes())
    # the manager's stylesheets ask for Font Awesome relative to the page, at these two places
    for fonts in (out / "@jupyter-widgets", out / "@jupyter-widgets" / "html-manager" / "dist"):
        fonts.mkdir(parents=True, exist_ok=True)
        for f in static.joinpath("html-manager").iterdir():
            if f.name.endswith(".woff2"):
                (fonts / f.name).write_bytes(f.read_bytes())
    (js / "require.js").write_bytes(static.joinpath("requirejs", "require.js").read_bytes())
    nbext = _bqplot_js_dir()
    for pkg in ("bqplot", "bqscales"):
        (js / pkg).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nbext / pkg / "index.js", js / pkg / "index.js")


def export_site(out: str | Path, names: list[str] | None = None, js: str = "cdn",
                options: dict[str, dict] | None = None, knobs: dict[str, list[str]] | None = None,
                pictures: bool | None = None) -> list[Path]:
    """Write one page per widget (all by default) and an index into ``out``; returns the pages written.

    ``js="cdn"`` pages load require.js, the widget manager and bqplot from public CDNs (for course sites);
    ``js="local"`` copies them into ``out/js`` so the pages work offline. ``options`` maps a widget name to
    constructor arguments (its settings on the page); ``knobs`` maps a widget name to the traits its page keeps
    live (default: :data:`PAGES`), e.g. ``{"GradientFlowWidget": ["scale", "model"]}``.

    A page whose scripts cannot load says so and shows its question and, with ``pictures`` (default: with
    ``js="cdn"``), a picture of its first state, ``NAME.png`` beside it, taken in Chromium
    (:func:`take_pictures`; where no Chromium runs, the page describes its figures in words instead and the
    export says why on stderr). ``embed.js`` beside the pages is :data:`EMBED_SNIPPET`'s script, for the pages
    that embed them.
    """
    if js not in ("cdn", "local"):
        raise ValueError(f"js must be 'cdn' or 'local', got {js!r}")
    names = list(names or WIDGETS)
    unknown = [n for n in [*names, *(options or {}), *(knobs or {})] if n not in PAGES]
    if unknown:
        raise ValueError(f"unknown widget(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if js == "local":
        copy_local_js(out)
    pictures = js == "cdn" if pictures is None else pictures
    shots = Path(tempfile.mkdtemp(prefix="rnn-pictures-")) if pictures else None
    try:
        if shots:
            copy_local_js(shots)
        pages, live, written = [], {}, {}
        for name in names:
            path = out / f"{name}.html"
            page = build_page(name, (knobs or {}).get(name), **(options or {}).get(name, {}))
            title = f"{name} · rnn-widgets"
            if shots:  # the same page with its scripts beside it, for its picture; the page itself waits for it
                (shots / f"{name}.html").write_text(page_html(page, title, "local"), encoding="utf-8")
                written[name] = (page_html(page, title, js, f"{name}.png"), page_html(page, title, js))
            else:
                path.write_text(page_html(page, title, js), encoding="utf-8")
            for link in page.knob_links:  # a link outliving its slider breaks the next page's embedding
                link.close()
            live[name] = [k.label.rstrip(" :+") for k in page.knobs]
            close_tree(page)
            page.close()
            pages.append(path)
        if shots:
            taken = take_pictures(shots, names, out)
            for name, (with_picture, without) in written.items():
                (out / f"{name}.html").write_text(with_picture if name in taken else without, encoding="utf-8")
    finally:
        if shots:
            shutil.rmtree(shots, ignore_errors=True)
    (out / "index.html").write_text(index_html(pages, live), encoding="utf-8")
    (out / "embed.js").write_text(EMBED_SNIPPET.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    return pages


def _chromium() -> str | None:
    """Chromium for the pictures: $RNN_WIDGETS_CHROMIUM, or one on the PATH; None where there is none."""
    for path in (__import__("os").environ.get("RNN_WIDGETS_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if path and Path(path).exists():
            return path
    return None


#: Chromium offline: no host but this machine, nothing of its own in the background
PICTURE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]

#: the number of drawn elements in a page's figures (bqplot makes empty svgs first, its marks after)
_DRAWN_JS = ("() => { const w = document.querySelector('.rnn-widget'); if (!w) return -1;"
             " const figs = w.querySelectorAll('.bqplot.figure'); if (!figs.length) return -1;"
             " let n = 0; for (const f of figs) { const k = f.querySelectorAll('svg *').length;"
             " if (k < 10) return -1; n += k; } return n; }")


def take_pictures(folder: Path, names: list[str], out: Path, width: int = 1000) -> set[str]:
    """A PNG of each page ``folder/NAME.html`` (with its scripts beside it) in its first state, once every figure
    is drawn, written to ``out/NAME.png``; returns the names pictured. Needs Playwright and Chromium: without
    them, or if a page does not draw within 60 s, it says so on stderr and pictures what it can. Runs in a
    process of its own (Playwright's synchronous API refuses to run where an event loop runs: a notebook)."""
    import subprocess

    code = ("import json, sys; from pathlib import Path; from rnn_widgets.export import _take_pictures_here as t; "
            "print(json.dumps(sorted(t(Path(sys.argv[1]), sys.argv[4:], Path(sys.argv[2]), int(sys.argv[3])))))")
    run = subprocess.run([sys.executable, "-c", code, str(folder), str(out), str(width), *names],
                         capture_output=True, text=True, check=False)
    sys.stderr.write(run.stderr)
    try:
        return set(json.loads(run.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        print(f"rnn-widgets export: no picture of the pages (exit status {run.returncode})", file=sys.stderr)
        return set()


def _take_pictures_here(folder: Path, names: list[str], out: Path, width: int = 1000) -> set[str]:
    import functools
    import http.server
    import threading

    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        exe = None
    if exe is None:
        print("rnn-widgets export: no picture of the pages (they need Playwright and Chromium: "
              "pip install playwright, and a chromium on the PATH or in $RNN_WIDGETS_CHROMIUM); a page whose "
              "scripts cannot load describes its figures in words instead", file=sys.stderr)
        return set()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    taken = set()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=PICTURE_ARGS)
            try:
                page = browser.new_page(viewport={"width": width, "height": 1200})
                for name in names:
                    page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}.html", timeout=60_000)
                    deadline, last = time.monotonic() + 60, -2
                    while time.monotonic() < deadline:  # drawn: every figure has marks, twice the same
                        count = page.evaluate(_DRAWN_JS)
                        if count > 0 and count == last:
                            break
                        last = count
                        page.wait_for_timeout(400)
                    else:
                        print(f"rnn-widgets export: no picture of {name}: its figures did not draw within 60 s",
                              file=sys.stderr)
                        continue
                    page.locator(".rnn-widget").first.screenshot(path=str(out / f"{name}.png"),
                                                                 animations="disabled", caret="hide")
                    taken.add(name)
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 (a browser that does not start: the pages are written without pictures)
        print(f"rnn-widgets export: no picture of the pages: {exc}", file=sys.stderr)
    finally:
        server.shutdown()
        server.server_close()
    return taken


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def knob_words(name: str, live: dict[str, list[str]] | None = None) -> list[str]:
    """The live knobs of a page in the widget's words (its default knobs unless ``live`` says otherwise)."""
    if live and name in live:
        return live[name]
    return [k.label.rstrip(" :+") for k in static_knobs(name)]


def first_sentence(explanation: str) -> str:
    """The first sentence of a widget's explanation, as plain text."""
    text = re.sub(r"<sup>(.*?)</sup>", lambda m: sup(m.group(1)), explanation)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def index_html(pages: list[Path], live: dict[str, list[str]] | None = None) -> str:
    """The site's front page: for each page, what it teaches (title, section, one sentence) and its live knobs
    (``live``: page name → knob labels; default: the pages' own)."""
    items = []
    for p in pages:
        cls = getattr(__import__("rnn_widgets"), p.stem)
        items.append(
            f"<li style='margin-bottom:12px'><a href='{html.escape(p.name)}'><b>{html.escape(cls.TITLE)}</b></a> "
            f"({html.escape(cls.SECTION)})<br>{html.escape(first_sentence(cls.EXPLANATION))}<br>"
            f"<span style='color:#555'>Live on the page: {html.escape(_and(knob_words(p.stem, live)))}.</span></li>")
    body = "\n".join(items)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>rnn-widgets</title>"
            f"{NO_FAVICON}</head>"
            "<body style='font-family:sans-serif;margin:16px;max-width:900px'><main>"
            "<h1 style='font-size:1.5em'>rnn-widgets: widgets that teach recurrent networks</h1>"
            "<p>One page per lecture idea, in lecture order. Each keeps the knobs of its question live without "
            "a kernel.</p>"
            f"<ol>\n{body}\n</ol></main></body></html>\n")
