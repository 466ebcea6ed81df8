"""Static HTML pages for course sites: each widget's main knob still works, with no kernel.

A slider in a static page cannot call Python, so we compute the widget's figures for a grid of
knob values at export time, with the same code the live widget runs, and let the page switch
between these frames: a ``SelectionSlider`` is ``jslink``-ed to a ``Stack``'s ``selected_index``.
Everything else on the page is fixed at the widget's defaults (the page says which).

    rnn-widgets export --out site [widget names] [--js cdn|local]
"""
from __future__ import annotations

import html
import json
import re
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ipywidgets as W
import numpy as np
import traitlets
from ipywidgets.embed import dependency_state, embed_data, escape_script

from . import WIDGETS
from .widgets.charts import sup
from .widgets.common import close_tree, fmt

HTML_MANAGER = "1.0.15"
NO_FAVICON = "<link rel='icon' href='data:,'>"  # no request for /favicon.ico (a 404 in the console)
CDN_REQUIRE = "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.7/require.min.js"
CDN_EMBED = f"https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@{HTML_MANAGER}/dist/embed-amd.js"


@dataclass(frozen=True)
class StaticKnob:
    """The knob that stays live in a widget's static page, and the grid of values precomputed for it."""

    trait: str
    label: str
    values: tuple

    def labels(self) -> list[str]:
        return [v if isinstance(v, str) else fmt(float(v)) for v in self.values]


KNOBS: dict[str, StaticKnob] = {
    "UnrollingWidget": StaticKnob("step", "Step l", tuple(range(7))),
    "WeightSharingWidget": StaticKnob("weight_scale", "Weight scale", tuple(np.round(np.linspace(0.2, 2.0, 10), 2))),
    "TopologiesWidget": StaticKnob("topology", "Topology", (
        "one-to-one", "one-to-many", "many-to-one", "many-to-many (encoder-decoder)", "many-to-many (synced)")),
    "GenerationWidget": StaticKnob("temperature", "Temperature", (0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0)),
    "GradientFlowWidget": StaticKnob("scale", "Weight scale", tuple(np.round(np.arange(0.2, 2.01, 0.2), 2))),
    "LSTMGatesWidget": StaticKnob("forget_bias", "Forget-gate bias +", tuple(float(v) for v in range(-6, 7, 2))),
}


# ---------------------------------------------------------------------- cloning a frame
def _clone_value(value, memo: dict, shared: dict | None):
    if isinstance(value, W.Widget):
        return clone_widget(value, memo, shared)
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_value(v, memo, shared) for v in value)
    if isinstance(value, dict):
        return {k: _clone_value(v, memo, shared) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)  # half the bytes; no visible difference
    return value


#: plain values with no view of their own: frames share one copy of each distinct one (a page's size
#: is otherwise mostly hundreds of identical layouts)
SHAREABLE = (W.Layout, W.widgets.widget_style.Style)


#: traits that hold labels or positions of labels, copied exactly
LABEL_TRAITS = {"tick_values", "domain"}


def clone_widget(widget: W.Widget, memo: dict, shared: dict | None = None) -> W.Widget:
    """A new widget with the same synced state (widgets it refers to are cloned too, once each).

    ``shared`` (kept across frames) maps the state of a :data:`SHAREABLE` widget to its one copy.
    """
    if id(widget) in memo:
        return memo[id(widget)]
    # tick values and domains are labels: float32 would print 0.1 as 0.10000000149011612
    state = {k: (getattr(widget, k) if k in LABEL_TRAITS else _clone_value(getattr(widget, k), memo, shared))
             for k in widget.keys
             if not k.startswith(("_model_", "_view_")) and k not in ("comm", "keys", "log")}
    if shared is not None and isinstance(widget, SHAREABLE):
        key = (type(widget), json.dumps(state, sort_keys=True, default=str))
        copy = shared.get(key) or shared.setdefault(key, type(widget)(**state))
    else:
        copy = type(widget)(**state)
    memo[id(widget)] = copy
    return copy


def freeze(widget, shared: dict) -> W.VBox:
    """The widget's current equation, figures and summaries, as new widgets no later change touches."""
    memo: dict = {}
    parts = [widget.equation, *(w for w in widget.body if not isinstance(w, W.Accordion))]
    return W.VBox([clone_widget(w, memo, shared) for w in parts])


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


def fixed_settings(widget, live: str) -> str:
    """The page's frozen settings in the widget's own words ("Tokens: words; Network: shared weights…"),
    leaving out the live knob and controls that do not apply (disabled or hidden)."""
    parts = []
    for trait, control in widget.controls.items():
        if trait == live or getattr(control, "disabled", False) or control.layout.display == "none":
            continue
        name = (getattr(control, "description", "") or trait).rstrip(" :+")
        parts.append(f"{name}: {control_words(control)}")
    return "; ".join(parts)


def build_page(name: str, **options) -> W.VBox:
    """The widget's static page as a widget tree: header, the live knob, one frame per knob value.

    ``options`` are passed to the widget's constructor (e.g. ``text=`` for UnrollingWidget). A setting the
    widget refuses, or that leaves its banner showing a message, raises ValueError with the widget's message:
    a page of placeholder figures is never written.
    """
    knob = KNOBS[name]
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
    frames, shared = [], {}
    for value, label in zip(knob.values, knob.labels()):
        setattr(widget, knob.trait, value)
        widget.prepare_static_frame()
        if widget.error_message:
            message = f"{name} at {knob.label} = {label}: {widget.error_message}"
            widget.close()
            raise ValueError(message)
        frames.append(freeze(widget, shared))
    stack = W.Stack(frames, selected_index=0)
    slider = W.SelectionSlider(options=list(zip(knob.labels(), range(len(frames)))), description=knob.label,
                               continuous_update=True, style={"description_width": "initial"},
                               layout=W.Layout(width="520px"))
    link = W.jslink((slider, "index"), (stack, "selected_index"))
    fixed = fixed_settings(widget, knob.trait)
    header = W.HTML(
        f"<h3 style='margin:4px 0'>{html.escape(widget.TITLE)} <span style='font-weight:normal;color:#555'>"
        f"({html.escape(widget.SECTION)})</span></h3><div style='max-width:860px'>{widget.EXPLANATION}</div>"
        f"<p style='color:#555;font-size:90%'>Static page: the <b>{html.escape(knob.label)}</b> slider is live "
        f"({len(frames)} precomputed values, from {html.escape(knob.labels()[0])} to "
        f"{html.escape(knob.labels()[-1])}); the other settings are fixed: {html.escape(fixed)}. "
        "Run the widget in Jupyter to move them all.</p>")
    widget.close()  # the frames are copies
    page = W.VBox([header, slider, stack], layout=W.Layout(max_width="900px"))
    page.knob_link = link  # closed with the page (see export_site)
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
    if js == "local":
        return ("<script src='js/require.js'></script>\n<script>require.config({paths: "
                "{bqplot: 'js/bqplot/index', bqscales: 'js/bqscales/index'}});</script>\n"
                "<script src='js/html-manager/embed-amd.js'></script>")
    return (f"<script src='{CDN_REQUIRE}' crossorigin='anonymous'></script>\n"
            f"<script src='{CDN_EMBED}' crossorigin='anonymous' data-jupyter-widgets-cdn='https://cdn.jsdelivr.net/npm/'>"
            "</script>")


def page_html(page: W.Widget, title: str, js: str) -> str:
    """A standalone HTML document embedding ``page``'s state (every default included: see the notes)."""
    # only the page's own widgets: by default every widget the process ever made would be embedded
    data = embed_data([page], drop_defaults=False, state=dependency_state([page], drop_defaults=False))
    state = escape_script(json.dumps(data["manager_state"], separators=(",", ":")))
    views = "\n".join("<script type='application/vnd.jupyter.widget-view+json'>"
                      f"{escape_script(json.dumps(v))}</script>" for v in data["view_specs"])
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>{html.escape(title)}</title>\n{NO_FAVICON}\n"
            f"{_head(js)}\n</head>\n<body style='font-family:sans-serif;margin:16px'>\n"
            f"<script type='application/vnd.jupyter.widget-state+json'>{state}</script>\n{views}\n</body>\n</html>\n")


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
                options: dict[str, dict] | None = None) -> list[Path]:
    """Write one page per widget (all by default) and an index into ``out``; returns the pages written.

    ``js="cdn"`` pages load require.js, the widget manager and bqplot from public CDNs (for course sites);
    ``js="local"`` copies them into ``out/js`` so the pages work offline. ``options`` maps a widget name to
    constructor arguments (its settings on the page).
    """
    if js not in ("cdn", "local"):
        raise ValueError(f"js must be 'cdn' or 'local', got {js!r}")
    names = list(names or WIDGETS)
    unknown = [n for n in [*names, *(options or {})] if n not in KNOBS]
    if unknown:
        raise ValueError(f"unknown widget(s) {', '.join(unknown)}; choose from {', '.join(KNOBS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if js == "local":
        copy_local_js(out)
    pages = []
    for name in names:
        path = out / f"{name}.html"
        page = build_page(name, **(options or {}).get(name, {}))
        path.write_text(page_html(page, f"{name} · rnn-widgets", js), encoding="utf-8")
        page.knob_link.close()  # a link outliving its slider breaks the next page's embedding
        close_tree(page)
        page.close()
        pages.append(path)
    (out / "index.html").write_text(index_html(pages), encoding="utf-8")
    return pages


def first_sentence(explanation: str) -> str:
    """The first sentence of a widget's explanation, as plain text."""
    text = re.sub(r"<sup>(.*?)</sup>", lambda m: sup(m.group(1)), explanation)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def index_html(pages: list[Path]) -> str:
    """The site's front page: for each page, what it teaches (title, section, one sentence) and its live knob."""
    items = []
    for p in pages:
        cls = getattr(__import__("rnn_widgets"), p.stem)
        items.append(
            f"<li style='margin-bottom:12px'><a href='{html.escape(p.name)}'><b>{html.escape(cls.TITLE)}</b></a> "
            f"({html.escape(cls.SECTION)})<br>{html.escape(first_sentence(cls.EXPLANATION))}<br>"
            f"<span style='color:#555'>Live on the page: {html.escape(KNOBS[p.stem].label)}.</span></li>")
    body = "\n".join(items)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>rnn-widgets</title>"
            f"{NO_FAVICON}</head>"
            "<body style='font-family:sans-serif;margin:16px;max-width:900px'>"
            "<h1 style='font-size:1.5em'>rnn-widgets: widgets that teach recurrent networks</h1>"
            "<p>One page per lecture idea, in lecture order. Each keeps its main knob live without a kernel.</p>"
            f"<ol>\n{body}\n</ol></body></html>\n")
