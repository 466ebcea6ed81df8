"""Axes and their ticks: the one place a tick label is made, so that every label equals its tick's value
(design.md, contract 12). Log axes tick at powers of ten written 10⁻², 1, 10³; integer axes label each step
once (thinned when crowded); ``fit_y`` also writes the legend's row, under the x axis."""
from __future__ import annotations

import math

import bqplot as bq
import numpy as np

from ..numbers import power_of_ten, scientific
from .figure import _axis, plot_size
from .legend import draw_legend


def nice_step(span: float, room: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… that labels ``span`` with at most ``room`` ticks."""
    room = max(room, 2)
    for magnitude in range(12):
        for m in (1, 2, 5):
            step = m * 10 ** magnitude
            if span / step + 1 <= room:
                return step
    return 10 ** 12


def integer_ticks(first: int, last: int, room: int) -> list[int]:
    """One tick per integer from first to last, thinned to every 2nd, 5th, 10th… to fit ``room`` labels."""
    step = nice_step(last - first, room)
    start = math.ceil(first / step) * step
    return list(range(start, last + 1, step))


def log_range(values, room: int) -> tuple[float, float, list[float]]:
    """Powers of ten around the positive finite ``values``, and at most ``room`` of them as ticks."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo_exp = math.floor(math.log10(v.min())) if v.size else 0
    hi_exp = math.ceil(math.log10(v.max())) if v.size else 1
    hi_exp = max(hi_exp, lo_exp + 1)
    step = nice_step(hi_exp - lo_exp, room)
    first = math.ceil(lo_exp / step) * step
    return 10.0 ** lo_exp, 10.0 ** hi_exp, [10.0 ** e for e in range(first, hi_exp + 1, step)]


def linear_format(ticks) -> str:
    """A d3 format that labels every one of ``ticks`` with its own value: as many decimals as the ticks need
    (0, 0.5, 1, 1.5 → ".1f"; 0, 2, 4 → ".0f"), never fewer (bqplot's guess labelled 1.5 as "2")."""
    t = [float(v) for v in ticks if math.isfinite(float(v))]
    if not t:
        return ".0f"
    top = max(abs(v) for v in t)
    if top >= 1e6:  # too many digits to write out: as few significant digits as tell the ticks apart
        for d in range(7):
            if all(abs(float(f"{v:.{d}e}") - v) <= 1e-9 * top for v in t):
                return f".{d}e"
        return ".6e"
    for d in range(13):
        if all(abs(round(v, d) - v) <= 1e-9 * max(top, 1e-300) for v in t):
            return f"{',' if top >= 1000 else ''}.{d}f"
    return ".12f"


def js_decade(exponent: int) -> str:
    """How JavaScript writes 10^exponent (String(x)): bqplot looks a tick's label up under this key. JavaScript
    writes it out from 10⁻⁶ to 10²⁰ and in exponent form beyond ("1e-7", "1e+21")."""
    if -7 < exponent < 21:
        return "1" + "0" * exponent if exponent >= 0 else "0." + "0" * (-exponent - 1) + "1"
    return f"1e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def decade_label(exponent: int) -> str:
    """10ⁿ as a lecture writes it: 1, 10, 10², 10⁻³."""
    return power_of_ten(exponent)


def js_large(value: float) -> str:
    """How JavaScript writes a tick of a linear axis reaching 10⁶ or more (String(x)), the key bqplot looks its
    label up under: such ticks are whole numbers, written out below 10²¹ ("2500000"), in the shortest
    exponent form from there on ("2.5e+21", as Python's repr writes it)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)


def set_ticks(axis: bq.Axis, ticks, log: bool = False) -> None:
    """Ticks and labels that equal their values: the one place the widgets' axis labels are made.

    Linear: a d3 format with the decimals the ticks need (bqplot's own guess is made once and then kept when
    the ticks change: it labelled 1.5 as "2"). Log: powers of ten written 10⁻², 1, 10³ through bqplot's
    ``tick_labels`` (d3-format can only write 1e-2); linear ticks past 10⁶ the same way, 2.5 × 10⁶."""
    ticks = [float(t) for t in ticks]
    with axis.hold_sync():
        if log:
            exponents = [round(math.log10(t)) for t in ticks if t > 0]
            ticks = [float(f"1e{e}") for e in exponents]
            axis.tick_values = ticks
            axis.tick_format = ".0e"
            axis.tick_labels = {js_decade(e): decade_label(e) for e in exponents}
        else:
            spec = linear_format(ticks)
            axis.tick_values = ticks
            axis.tick_format = spec
            # d3 would write 2.5e+6: the lecture's 2.5 × 10⁶ instead, each label keyed as bqplot looks it up
            digits = int(spec[1:-1]) + 1 if spec.endswith("e") else 0
            axis.tick_labels = {js_large(t): scientific(t, digits) if t else "0" for t in ticks} if digits else None


def fit_y(fig: bq.Figure, values, *, zero: bool = False, headroom: float = 0.0) -> None:
    """Set the y range and ticks for ``values`` (powers of ten on a log axis; ``zero`` starts a linear axis at
    0), and write the legend's row under the x axis for the series shown (:func:`.legend.draw_legend`): the
    legend takes no room from the data and lies on none of it. ``headroom``: px kept free above the data for
    a text the widget writes there (a rule's labels)."""
    draw_legend(fig)
    _fit_linear_x(fig)
    scale = fig.marks[0].scales["y"]
    axis = _axis(fig, scale)
    _, plot_h = plot_size(fig)
    band = min(max(headroom, 0.0) / plot_h, 0.5)  # the fraction of the plot's height kept free on top
    if isinstance(scale, bq.LogScale):
        lo, hi, ticks = log_range(values, int(plot_h // 26))
        with scale.hold_sync():
            scale.min, scale.max = lo, hi * (hi / lo) ** (band / (1 - band))
        set_ticks(axis, ticks, log=True)
        return
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = 0.0 if zero or not v.size else min(0.0, float(v.min()))
    hi = float(v.max()) if v.size else 1.0
    hi = hi if hi > lo else lo + 1.0
    with scale.hold_sync():
        scale.min, scale.max = lo, hi + (hi - lo) * band / (1 - band)
    set_ticks(axis, linear_ticks(lo, hi, int(plot_h // 28)))


def _fit_linear_x(fig: bq.Figure) -> None:
    """Ticks of a linear x axis for the x data drawn (integers, thinned when crowded), set here rather than
    left to bqplot: its guessed label precision is kept when the domain changes (at L = 2 the ticks 0, 0.2, …
    read 0, 0, 0, 1, 1 …)."""
    scale = fig.marks[0].scales.get("x")
    if not isinstance(scale, bq.LinearScale):
        return
    xs = [np.asarray(m.x, dtype=float).ravel() for m in fig.marks
          if m.scales.get("x") is scale and getattr(m, "x", None) is not None and np.size(m.x)]
    v = np.concatenate(xs) if xs else np.zeros(0)
    v = v[np.isfinite(v)]
    if not v.size:
        return
    lo = float(scale.min) if scale.min is not None else float(v.min())
    hi = float(scale.max) if scale.max is not None else float(v.max())
    digits = len(str(int(max(abs(lo), abs(hi)))))
    room = int(plot_size(fig)[0] // (7 * digits + 26))
    if np.allclose(v, np.round(v)):
        ticks = [float(t) for t in integer_ticks(math.ceil(lo - 1e-9), math.floor(hi + 1e-9), room)]
    else:
        ticks = linear_ticks(lo, hi, room)
    set_ticks(_axis(fig, scale), ticks)


def linear_ticks(lo: float, hi: float, room: int) -> list[float]:
    """Round ticks (steps of 1, 2 or 5 × 10^k) from lo to hi, at most ``room`` of them."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    magnitude = 10.0 ** math.floor(math.log10(span / max(room - 1, 1)))
    step = next(m * magnitude for m in (1, 2, 5, 10) if span / (m * magnitude) + 1 <= max(room, 2))
    first = math.ceil(lo / step - 1e-9) * step
    return [round(t, 12) + 0.0 for t in np.arange(first, hi + step * 1e-9, step)]


def ordinal_ticks(n_labels: int, room: int) -> int | None:
    """``num_ticks`` for an ordinal axis of ``n_labels`` that fits ``room`` labels (None: show them all).

    bqplot ignores ``tick_values`` on ordinal axes; it shows every ⌊n / (num_ticks − 1)⌋-th label."""
    if n_labels <= room:
        return None
    step = nice_step(n_labels - 1, room)
    return max(2, n_labels // step + 1)


#: px between the y axis and the first bar, at least, where the bars are wide enough to give it: the top tick's
#: label ("1.0") sits left of the axis, level with a full bar's top, and touched it (issue 24, item 6)
BAR_CLEARANCE_PX = 6


def bar_padding(n_bars: int, plot_w: float) -> float:
    """bqplot's ``padding`` for ``n_bars`` bars across ``plot_w`` px: the gap before the first bar is half of it
    times a bar's slot (d3's band scale), so at least :data:`BAR_CLEARANCE_PX` (0.15 … 0.5 of a slot)."""
    slot = plot_w / max(n_bars, 1)
    return float(min(0.5, max(0.15, 2 * BAR_CLEARANCE_PX / slot)))


def fit_ordinal_x(fig: bq.Figure, labels: list[str]) -> None:
    """Show every label of an ordinal x axis that fits, thinned to every 2nd, 5th… when crowded, and keep the
    first bar clear of the y axis' labels."""
    scale = fig.marks[0].scales["x"]
    axis = _axis(fig, scale)
    plot_w = plot_size(fig)[0]
    widest = max((len(str(t)) for t in labels), default=1)
    axis.num_ticks = ordinal_ticks(len(labels), int(plot_w // (7 * widest + 10)))
    for bars in fig.marks:
        if isinstance(bars, bq.Bars) and bars.scales.get("x") is scale and bars.type != "grouped":
            bars.padding = bar_padding(len(labels), plot_w)
