"""A picture of a widget's first state, shown while the live widget starts.

A Voila page draws its first live figure only after its scripts have loaded, the kernel connection has opened
and the widgets' state has arrived: about 3 s on a small server (``python benchmarks/gallery.py``). The page's
HTML comes much sooner: at once from a preheated kernel (the gallery's pool), and otherwise (Binder, the hub) as
soon as the kernel has run the cells up to the first widget. So the tour's first widget also carries a picture
of itself (a PNG taken in Chromium by ``scripts/make_preview.py``), which the gallery's Voila template
(``share/voila/templates/rnn-widgets``) shows at once and replaces by the live widget once it has drawn.

A picture is shown only when it is a picture of *this* widget: each PNG is stored with a fingerprint of the
widget's synced state (every model of its tree, numbers to 4 significant digits), and a widget built with other
arguments, or by code that draws differently, gets no picture (``tests/test_preview.py`` says when a stored
picture is out of date, and how to take it again).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from pathlib import Path

import ipywidgets as W
import numpy as np

DATA = Path(__file__).parent / "widgets" / "data"

#: what the page says over the picture until the live widget replaces it
CAPTION = ("This is only a picture of the widget: dragging or typing here does nothing yet. The live widget "
           "takes its place as soon as it has started.")


def _number(x: float) -> str:
    """``x`` to 4 significant digits, with -0 and anything within 1e-9 of 0 written as 0 (a computed zero can
    come out as -0.0 or 1e-17 on another BLAS)."""
    if math.isnan(x):
        return "nan"
    return "0" if abs(x) < 1e-9 else f"{x:.4g}"


def _normal(value, index: dict[int, int], todo: list):
    """``value`` as plain JSON: widgets by their place in the tree, numbers to 4 significant digits."""
    if isinstance(value, W.Widget):
        if id(value) not in index:
            index[id(value)] = len(index)
            todo.append(value)
        return ["widget", index[id(value)]]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return ["array", list(value.shape), [_number(float(x)) for x in np.real(value).ravel()]]
        return ["array", list(value.shape), [str(x) for x in value.ravel()]]
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_normal(v, index, todo) for v in value]
    if isinstance(value, dict):
        return {str(k): _normal(v, index, todo) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (bytes, bytearray, memoryview)):  # an Image's or a file's bytes
        return ["bytes", hashlib.sha256(bytes(value)).hexdigest()]
    if isinstance(value, (set, frozenset)):
        return sorted((_normal(v, index, todo) for v in value), key=json.dumps)
    # anything else has no stable form here (a repr may hold an address): no fingerprint, so no picture
    raise TypeError(f"cannot fingerprint a trait value of type {type(value).__name__}")


def fingerprint(widget: W.Widget) -> str:
    """A hash of everything the browser is sent to draw ``widget``: the synced traits of every model it reaches,
    in a fixed order, with model ids replaced by places in the tree and numbers rounded to 4 significant digits
    (so that the last bits of a computation, which differ between BLAS builds and devices, usually change
    nothing; a number that falls on a rounding boundary still can, and then the page just shows no picture).
    Raises TypeError for a trait value it has no stable form for."""
    index = {id(widget): 0}
    todo, states = [widget], []
    while todo:
        w = todo.pop(0)
        state = {name: _normal(getattr(w, name, None), index, todo)
                 for name in sorted(w.keys) if name not in ("_model_id", "comm")}
        states.append([type(w).__module__ + "." + type(w).__qualname__, state])
    return hashlib.sha256(json.dumps(states, sort_keys=True).encode()).hexdigest()


def stored(name: str) -> dict | None:
    """The stored picture of widget class ``name`` (its fingerprint, size, figure count and PNG bytes), or None
    when there is none."""
    meta_path, png_path = DATA / f"preview_{name}.json", DATA / f"preview_{name}.png"
    if not (meta_path.exists() and png_path.exists()):
        return None
    meta = json.loads(meta_path.read_text())
    meta["png"] = png_path.read_bytes()
    return meta


def _plain(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def describe(widget: W.Widget) -> str:
    """The picture's text alternative: the widget's title and the one-line summary of each of its figures."""
    title = getattr(widget, "TITLE", "") or type(widget).__name__
    lines = [f"A picture of the widget “{title}” in its first state"]
    lines += [_plain(s.value) for s in getattr(widget, "summaries", {}).values() if _plain(s.value)]
    return ". ".join(line.rstrip(".") for line in lines) + "."


def preview_html(widget: W.Widget) -> str | None:
    """The HTML of the picture of ``widget`` (``<figure class="rnn-preview">``), or None when no stored picture
    shows this widget in this state."""
    meta = stored(type(widget).__name__)
    if meta is None or meta.get("fingerprint") != fingerprint(widget):
        return None
    src = "data:image/png;base64," + base64.b64encode(meta["png"]).decode("ascii")
    return (f'<figure class="rnn-preview" aria-busy="true" data-figures="{int(meta["figures"])}">'
            f'<figcaption class="rnn-preview-caption" role="status">{html.escape(CAPTION)}</figcaption>'
            f'<img src="{src}" width="{int(meta["width"])}" height="{int(meta["height"])}" '
            f'alt="{html.escape(describe(widget))}"></figure>')


class WithPreview:
    """What a cell displays: ``widget`` itself, plus its picture as ``text/html``, marked
    (``{"rnn_widgets": {"preview": true}}`` in the output's metadata) so that the rnn-widgets Voila template shows
    the picture while the live widget starts. A front end that draws widgets draws the widget view, which comes
    first in the bundle. (The tour uses it under Voila only, for its first widget.)"""

    def __init__(self, widget: W.Widget, picture: str | None):
        self.widget, self.picture = widget, picture

    def close(self) -> None:
        self.widget.close()

    def _repr_mimebundle_(self, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs)
        if not self.picture or not data:
            return data
        return {**data, "text/html": self.picture}, {"rnn_widgets": {"preview": True}}
