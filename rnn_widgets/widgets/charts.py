"""bqplot builders shared by the widgets: built once, then only their marks' data change.

Each builder returns the Figure and the marks a widget updates; none of them computes anything. The
``fit_*`` helpers set a figure's axis ranges and ticks for the data just drawn, so that every widget gets
the same legibility rules (design.md, contract 12): log axes tick at powers of ten only, integer axes
label each step once (thinned when crowded), legends sit in a band above the data, colour keys lie under
their heat map with a drawn gradient and a title.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import bqplot as bq
import numpy as np

from .common import DIVERGING, GREY, PALETTE, SEQUENTIAL

#: left 66 px: tick labels up to six characters ("1e-10", "8,000") plus the rotated axis title
FIG_MARGIN = {"top": 36, "bottom": 46, "left": 66, "right": 16}
Y_LABEL_OFFSET = "50px"  # the y-axis title sits left of the tick labels, not on them
#: px under a heat map for its colour key: bqplot puts the 20-px bar (with its ticks) in the bottom margin
KEY_BAND = 48
FULL_WIDTH, HALF_WIDTH = 880, 440
LEGEND_ROW = 16  # px per legend entry (bqplot's legend)
_SUP = str.maketrans("0123456789()+-lkLT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻ˡᵏᴸᵀ")


def sup(text: object) -> str:
    """Lecture superscripts in plain text: sup('(l+1)') → '⁽ˡ⁺¹⁾' (works in SVG labels and static pages)."""
    return str(text).translate(_SUP)


def _figure(title: str, marks, axes, height: int, **kw) -> bq.Figure:
    return bq.Figure(
        marks=marks, axes=axes, title=title, fig_margin=dict(FIG_MARGIN),
        layout={"width": "100%", "max_width": f"{FULL_WIDTH}px", "height": f"{height}px"},
        title_style={"font-size": "14px"}, **kw,
    )


def keep_width(fig: bq.Figure, width: int) -> None:
    """A diagram's texts, boxes and arrowheads (a text map's characters) are placed in px for ``width``: in a
    narrower window bqplot would squeeze the x positions while boxes and texts keep their size (arrows end inside
    boxes, texts sit on lines, characters overlap). So the figure never gets narrower than ``width``; the box
    LessonWidget._figure puts it in scrolls sideways instead (and the accessibility layer makes a box that scrolls
    focusable)."""
    if width != FULL_WIDTH:
        fig.layout.width = f"{width}px"
    fig.layout.min_width = f"{width}px"


def _y_axis(scale, label: str, **kw) -> bq.Axis:
    return bq.Axis(scale=scale, label=label, side="left", label_offset=Y_LABEL_OFFSET, **kw)


def plot_size(fig: bq.Figure) -> tuple[float, float]:
    """The plot area in px (inside the margins), from the figure's layout: what fits on each axis."""
    width = fig.layout.width or ""
    total_w = float(width[:-2]) if width.endswith("px") else FULL_WIDTH
    total_h = float((fig.layout.height or "240px")[:-2])
    m = fig.fig_margin
    return total_w - m["left"] - m["right"], total_h - m["top"] - m["bottom"]


def _axis(fig: bq.Figure, scale) -> bq.Axis:
    return next(a for a in fig.axes if a.scale is scale)


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
        for d in range(0, 7):
            if all(abs(float(f"{v:.{d}e}") - v) <= 1e-9 * top for v in t):
                return f".{d}e"
        return ".6e"
    for d in range(0, 13):
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
    return {0: "1", 1: "10"}.get(exponent, "10" + sup(exponent).replace("-", "⁻"))


def set_ticks(axis: bq.Axis, ticks, log: bool = False) -> None:
    """Ticks and labels that equal their values: the one place the widgets' axis labels are made.

    Linear: a d3 format with the decimals the ticks need (bqplot's own guess is made once and then kept when
    the ticks change: it labelled 1.5 as "2"). Log: powers of ten written 10⁻², 1, 10³ through bqplot's
    ``tick_labels`` (d3-format can only write 1e-2)."""
    ticks = [float(t) for t in ticks]
    with axis.hold_sync():
        if log:
            exponents = [round(math.log10(t)) for t in ticks if t > 0]
            ticks = [float(f"1e{e}") for e in exponents]
            axis.tick_values = ticks
            axis.tick_format = ".0e"
            axis.tick_labels = {js_decade(e): decade_label(e) for e in exponents}
        else:
            axis.tick_values = ticks
            axis.tick_format = linear_format(ticks)


def legend_rows(fig: bq.Figure) -> int:
    """How many entries the figure's legend shows (0: no legend)."""
    return sum(max(1, len(m.labels or [])) for m in fig.marks
               if getattr(m, "display_legend", False) and m.visible)


def fit_y(fig: bq.Figure, values, *, zero: bool = False) -> None:
    """Set the y range and ticks for ``values``: powers of ten on a log axis, a band above the data for
    the legend so it never covers a line, and ``zero`` to start a linear axis at 0."""
    _fit_linear_x(fig)
    scale = fig.marks[0].scales["y"]
    axis = _axis(fig, scale)
    _, plot_h = plot_size(fig)
    rows = legend_rows(fig)
    band = (rows * LEGEND_ROW + 12) / plot_h if rows else 0.0  # fraction of the height the legend takes
    if isinstance(scale, bq.LogScale):
        lo, hi, ticks = log_range(values, int(plot_h // 26))
        top = hi * (hi / lo) ** (band / (1 - band))
        with scale.hold_sync():
            scale.min, scale.max = lo, top
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


def fit_ordinal_x(fig: bq.Figure, labels: list[str]) -> None:
    """Show every label of an ordinal x axis that fits, thinned to every 2nd, 5th… when crowded."""
    axis = _axis(fig, fig.marks[0].scales["x"])
    plot_w = plot_size(fig)[0]
    widest = max((len(str(t)) for t in labels), default=1)
    axis.num_ticks = ordinal_ticks(len(labels), int(plot_w // (7 * widest + 10)))


def line_chart(title: str, x_label: str, y_label: str, n_lines: int = 1, *, log_y: bool = False,
               labels: list[str] | None = None, colors: list[str] | None = None, height: int = 240,
               markers: bool = False):
    """A Lines mark (n_lines series) on linear x and linear or log y. Returns ``(fig, lines, scales)``.

    Call :func:`fit_y` after setting the data: it fixes the y range, the powers-of-ten ticks and the
    legend's band.
    """
    sx = bq.LinearScale()
    sy = bq.LogScale() if log_y else bq.LinearScale()
    lines = bq.Lines(
        x=np.zeros(2), y=np.ones((n_lines, 2)) if n_lines > 1 else np.ones(2), scales={"x": sx, "y": sy},
        colors=colors or PALETTE[:n_lines], labels=labels or [], display_legend=bool(labels), stroke_width=2.5,
        marker="circle" if markers else None, marker_size=24,
    )
    axes = [bq.Axis(scale=sx, label=x_label, grid_lines="none"),
            _y_axis(sy, y_label, tick_format=".0e" if log_y else None, grid_lines="dashed")]
    fig = _figure(title, [lines], axes, height, legend_location="top-left")
    return fig, lines, {"x": sx, "y": sy}


def bar_chart(title: str, x_label: str, y_label: str, *, height: int = 240, log_y: bool = False, y_scale=None):
    """Bars on an ordinal x with one colour per bar (``bars.colors``). Returns ``(fig, bars, scales)``.

    ``y_scale``: share another chart's y scale (bars side by side in two figures read on one ruler).
    Call :func:`fit_y` (and :func:`fit_ordinal_x` for many bars) after setting the data.
    """
    sx = bq.OrdinalScale()
    sy = y_scale or (bq.LogScale() if log_y else bq.LinearScale())
    bars = bq.Bars(x=["·"], y=[0.0], scales={"x": sx, "y": sy}, colors=[PALETTE[0]], color_mode="no_group",
                   padding=0.15, stroke="white")
    axes = [bq.Axis(scale=sx, label=x_label, tick_style={"font-size": "11px"}),
            _y_axis(sy, y_label, grid_lines="dashed", tick_format=".0e" if log_y else None)]
    return _figure(title, [bars], axes, height), bars, {"x": sx, "y": sy}


def grouped_bar_chart(title: str, x_label: str, y_label: str, n_series: int, *, height: int = 220):
    """Bars of ``n_series`` series side by side on an ordinal x (a histogram of several quantities on the same
    bins), one colour per series and a legend above the data. Returns ``(fig, bars, scales)``.

    Set ``bars.x``, ``bars.y`` (one row per series), ``bars.colors`` and ``bars.labels``, then call :func:`fit_y`.
    """
    sx, sy = bq.OrdinalScale(), bq.LinearScale()
    bars = bq.Bars(x=["·"], y=np.zeros((n_series, 1)), scales={"x": sx, "y": sy}, type="grouped",
                   colors=PALETTE[:n_series], labels=[""] * n_series, display_legend=True, padding=0.2,
                   stroke="white")
    axes = [bq.Axis(scale=sx, label=x_label, tick_style={"font-size": "11px"}),
            _y_axis(sy, y_label, grid_lines="dashed")]
    return _figure(title, [bars], axes, height, legend_location="top-left"), bars, {"x": sx, "y": sy}


# ---------------------------------------------------------------------- heat maps and their colour keys
def _heat(title: str, row_label: str, column_label: str, key_label: str, signed: bool, height: int, lo, hi,
          row_scale=None, column_scale=None, extra_axes=()):
    sc = bq.ColorScale(colors=DIVERGING if signed else SEQUENTIAL, mid=0.0 if signed else None, min=lo, max=hi)
    scales = {"color": sc, **({"row": row_scale} if row_scale else {}), **({"column": column_scale} if column_scale else {})}
    grid = bq.GridHeatMap(color=np.zeros((2, 2)), scales=scales, stroke="white" if row_scale is None else None,
                          anchor_style={"fill": "none"})
    # the key lies under the map: bqplot leaves a vertical key (height − 200 px) no room in short figures
    key = bq.ColorAxis(scale=sc, side="bottom", label=key_label, tick_format=".2~g")
    axes = [key, bq.Axis(scale=grid.scales["column"], label=column_label, tick_style={"font-size": "10px"}),
            _y_axis(grid.scales["row"], row_label, tick_style={"font-size": "10px"}), *extra_axes]
    fig = _figure(title, [grid], axes, height + KEY_BAND)
    fig.fig_margin = {**FIG_MARGIN, "bottom": FIG_MARGIN["bottom"] + KEY_BAND}
    if lo is not None and hi is not None:
        set_key(fig, lo, hi)
    return fig, grid, sc


def set_key(fig: bq.Figure, lo: float, hi: float) -> None:
    """The colour range of a heat map and its key's ticks: both ends, and 0 (or the middle) between them."""
    scale = fig.marks[0].scales["color"]
    signed = scale.mid is not None and lo < 0 < hi
    mid = 0.0 if signed else (lo + hi) / 2
    with scale.hold_sync():
        scale.min, scale.max = float(lo), float(hi)
        if scale.mid is not None:
            scale.mid = mid
    key = next(a for a in fig.axes if isinstance(a, bq.ColorAxis))
    key.tick_values = [float(lo), mid, float(hi)]


def heat_map(title: str, row_label: str, column_label: str, key_label: str, *, signed: bool = True,
             height: int = 220, lo: float | None = None, hi: float | None = None):
    """A GridHeatMap on ordinal rows and columns with its colour key underneath; signed maps are
    centred on 0 (white). ``key_label`` says what the colour means. Returns ``(fig, grid, colour scale)``.
    """
    return _heat(title, row_label, column_label, key_label, signed, height, lo, hi)


def timeline_map(title: str, row_label: str = "unit", key_label: str = "value", *, column_label: str = "step l",
                 signed: bool = True, height: int = 190, lo: float | None = None, hi: float | None = None,
                 reverse_rows: bool = True):
    """Rows × steps on linear scales (cells centred on their row and step), a vertical cursor line at the
    chosen step, and a second x axis that shows the characters read when the steps are a text.

    Fill it with :func:`fill_grid`; move the cursor with :func:`place_cursor`. Returns ``(fig, grid, cursor)``.
    """
    rows, cols = bq.LinearScale(reverse=reverse_rows), bq.LinearScale()
    chars = bq.OrdinalScale(domain=[])
    chars_axis = bq.Axis(scale=chars, label="character read at step l", tick_style={"font-size": "11px"},
                         visible=False)
    fig, grid, _ = _heat(title, row_label, column_label, key_label, signed, height, lo, hi, rows, cols,
                         extra_axes=[chars_axis])
    cursor = bq.Lines(x=[0.5, 0.5], y=[0, 1], scales={"x": cols, "y": rows}, colors=["#000000"], stroke_width=2,
                      line_style="dashed")
    fig.marks = [grid, cursor]
    return fig, grid, cursor


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell boundaries half-way between centres (and half a spacing beyond the ends)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mids = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mids[0] - c[0])], mids, [c[-1] + (c[-1] - mids[-1])]])


def _linear_ticks(centres: np.ndarray, room: int) -> list[float]:
    """Ticks on the centres' grid: integers thinned to fit, or round decimals (0.5, 1.0, …)."""
    c = np.asarray(centres, dtype=float)
    if np.allclose(c, np.round(c)):
        return [float(t) for t in integer_ticks(round(c[0]), round(c[-1]), room)]
    span = c[-1] - c[0]
    step = next((s for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0) if span / s + 1 <= max(room, 2)), 10.0)
    return [round(t, 6) for t in np.arange(math.ceil(c[0] / step) * step, c[-1] + 1e-9, step)]


def display_char(ch: str) -> str:
    """A character as an axis label: space, newline and tab made visible."""
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(ch, ch)


def token_label(token: str) -> str:
    """A token as an axis label: a character made visible, a long word cut to six characters."""
    return display_char(token) if len(token) == 1 else (token if len(token) <= 6 else token[:5] + "…")


def fill_grid(fig: bq.Figure, grid: bq.GridHeatMap, data, rows=None, columns=None,
              characters=None, what: str = "character") -> None:
    """Draw ``data`` (rows × columns) with cell (r, l) centred on ``rows[r]``, ``columns[l]`` (default 0, 1, …),
    one tick per row and step (thinned when crowded), and, when the steps read ``characters`` (a string, or
    a list of tokens: ``what`` names them), those along the x axis instead of step numbers."""
    data = np.asarray(data)
    rows = np.arange(data.shape[0]) if rows is None else np.asarray(rows, dtype=float)
    columns = np.arange(data.shape[1]) if columns is None else np.asarray(columns, dtype=float)
    plot_w, plot_h = plot_size(fig)
    row_axis = _axis(fig, grid.scales["row"])
    step_axis = _axis(fig, grid.scales["column"])
    chars_axis = next((a for a in fig.axes if isinstance(a.scale, bq.OrdinalScale)), None)
    row_edges, column_edges = _edges(rows), _edges(columns)
    # bqplot squeezes a single row or column away; a copy of it in a cell one millionth wide keeps the shape
    if data.shape[1] == 1:
        data, column_edges = np.hstack([data, data]), np.append(column_edges, column_edges[-1] + 1e-6)
    if data.shape[0] == 1:
        data, row_edges = np.vstack([data, data]), np.append(row_edges, row_edges[-1] + 1e-6)
    with grid.hold_sync():
        grid.color = data
        grid.row = row_edges
        grid.column = column_edges
    set_ticks(row_axis, _linear_ticks(rows, int(plot_h // 14)))
    digits = len(str(int(abs(columns).max()))) if columns.size else 1
    set_ticks(step_axis, _linear_ticks(columns, int(plot_w // (7 * digits + 26))))
    if chars_axis is None:
        return
    if characters:
        # an ordinal domain must be unique: the k-th repeat of a character carries k zero-width spaces
        seen: dict[str, int] = {}
        domain = []
        for token in characters:
            label = token_label(token)
            seen[label] = seen.get(label, -1) + 1
            domain.append(label + "\u200b" * seen[label])
        widest = max(len(token_label(t)) for t in characters)
        num_ticks = ordinal_ticks(len(domain), int(plot_w // (7 * widest + 5)))
        step = len(domain) // (num_ticks - 1) if num_ticks else 1
        with chars_axis.hold_sync():
            chars_axis.scale.domain = domain
            chars_axis.num_ticks = num_ticks
            chars_axis.label = f"{what} read at step l" + (f" (one label in {step})" if step > 1 else "")
            chars_axis.visible = True
        step_axis.visible = False
    else:
        chars_axis.visible = False
        step_axis.visible = True


def place_cursor(cursor: bq.Lines, step: int, n_rows: int, first_row: float = 0.0) -> None:
    """Put the cursor on column ``step``, across rows first_row … first_row + n_rows − 1."""
    with cursor.hold_sync():
        cursor.x = [step, step]
        cursor.y = [first_row - 0.5, first_row + n_rows - 0.5]


# ---------------------------------------------------------------------- unrolled-network diagrams
def _ramp(stops: list[str], n: int) -> list[str]:
    """``n`` colours evenly along the piecewise-linear path through ``stops`` (hex)."""
    rgb = np.array([[int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in stops], dtype=float)
    t = np.linspace(0, len(stops) - 1, n)
    lo = np.minimum(t.astype(int), len(stops) - 2)
    mix = rgb[lo] + (rgb[lo + 1] - rgb[lo]) * (t - lo)[:, None]
    return ["#" + "".join(f"{round(c):02x}" for c in row) for row in mix]


#: one distinct colour per layer of the §1.2 network (viridis-like: ordered and colour-blind safe)
LAYER_COLORS = _ramp(["#440154", "#3b528b", "#21908d", "#5dc863", "#fde725"], 50)
GREY_INDEX, WHITE_INDEX, FIRST_LAYER_INDEX = 8, 9, 10


def layer_color(l: int) -> int:
    """Colour index of layer l (1-based) of the untied network: no two layers share one."""
    return FIRST_LAYER_INDEX + (l - 1) % len(LAYER_COLORS)


@dataclass
class Node:
    """A box in an unrolled-network diagram: position, text, colour index (into the palette + grey)."""

    x: float
    y: float
    text: str
    color: int = 0
    below: bool = False  # prefer the text under the box (inputs) instead of over it
    place: str = ""  # force the text's place ("above", "below", "right", "left"); "" lets the diagram choose


#: where a box's text can go: (Label alignment, x offset, y offset) in units of half a box
LABEL_PLACES = {"above": ("middle", 0.0, -1.0), "below": ("middle", 0.0, 1.0),
                "right": ("start", 1.0, -0.9), "left": ("end", -1.0, -0.9),
                # over or under the box but ending (starting) at its right (left) side: a wide text by a figure's edge
                "above-end": ("end", 0.7, -1.0), "above-start": ("start", -0.7, -1.0),
                "below-end": ("end", 0.7, 1.0), "below-start": ("start", -0.7, 1.0)}
CHAR_PX = 7.5  # width of one character of a 12-px label, for thinning crowded rows
#: a 12-px label's characters that are wider or narrower than CHAR_PX, generous for every text the diagrams
#: draw (measured in Chromium: "W" 12.0 px, "a⁽¹²⁾ · W⁽¹²⁾" 55.8, "x[10]=-0.15" 60.7, "'t'" 7.9, "ŷ=-0.14" 40.7)
WIDE_CHARS, WIDE_PX = "MWmw@%✗", 12.5
NARROW_CHARS, NARROW_PX = "'\"il.,:;!|()[] ·-tfrj⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹ˡᵏᴸᵀ⁺⁻", 4.5
LABEL_HALF_HEIGHT = 7  # px: bqplot centres a Label's text on its anchor (dominant-baseline: central), 14 px tall
LABEL_PAD = 2  # px kept clear around a text's estimated box (a line's stroke, the font's own overhang)


def text_px(text: str) -> float:
    """Estimated width of a 12-px label's text in px (generous: Chromium drew "ℓ (y=6)" 34.9 px, "ŷ=9" 20 px)."""
    return sum(WIDE_PX if ch in WIDE_CHARS else NARROW_PX if ch in NARROW_CHARS else CHAR_PX for ch in text)


def _label_dy(dy: float, gap: float) -> float:
    """px from a box's centre down to its text's centre when the text is put at a place with y offset ``dy``:
    above and below, the text's near edge just ``gap`` away; beside the box, level with its upper part."""
    return dy * (gap + LABEL_HALF_HEIGHT) if abs(dy) == 1.0 else dy * gap


def _crossings(boxes: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """How many of the line ``segments`` (x0, y0, x1, y1) pass through each box (left, top, right, bottom)."""
    return _crossing_matrix(boxes, segments).sum(axis=1)


def _crossing_matrix(boxes: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Whether each line segment (x0, y0, x1, y1) passes through each box (left, top, right, bottom), boxes ×
    segments: Liang–Barsky clipping, for every box and segment at once."""
    if not len(segments) or not len(boxes):
        return np.zeros((len(boxes), len(segments)), dtype=bool)
    x0, y0, x1, y1 = (segments[:, k][None, :] for k in range(4))
    left, top, right, bottom = (boxes[:, k][:, None] for k in range(4))
    dx, dy = x1 - x0, y1 - y0
    p = [-dx, dx, -dy, dy]
    q = [x0 - left, right - x0, y0 - top, bottom - y0]
    t0 = np.zeros((len(boxes), len(segments)))
    t1 = np.ones_like(t0)
    hit = np.ones_like(t0, dtype=bool)
    for pk, qk in zip(p, q):
        pk = np.broadcast_to(pk, t0.shape)
        qk = np.broadcast_to(qk, t0.shape)
        parallel = np.abs(pk) < 1e-12
        hit &= ~(parallel & (qk < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, qk / np.where(parallel, 1.0, pk))
        t0 = np.where(~parallel & (pk < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (pk > 0), np.minimum(t1, r), t1)
    return hit & (t0 <= t1)


def _overlaps(box: np.ndarray, others: np.ndarray) -> int:
    """How many of the boxes ``others`` (left, top, right, bottom) overlap ``box``."""
    if not len(others):
        return 0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return int(((w > 0) & (h > 0)).sum())


class UnrolledDiagram:
    """Boxes (x[l], a^(l), outputs, losses) joined by directed edges, drawn with bqplot marks.

    Time runs left to right; inputs sit at y = 0, states at y = 1, outputs at y = 2, the loss at y = 3.
    ``draw`` replaces the nodes and edges in place; the figure is never rebuilt. Each box's text goes
    where no edge leaves the box (above, below, or beside it), and a row of texts too long for the
    spacing of its boxes shows every 2nd, 3rd… of them (the highlighted box's always). A text with no
    place clear of every edge, box and other text is left out, never drawn under a line: ``left_out``
    lists them and ``left_out_note`` says so for the title (the figure has the class ``rnn-no-crossing``,
    so the browser's legibility audit checks that no line runs through a text).
    """

    COLORS = PALETTE + [GREY, "#ffffff"] + LAYER_COLORS

    def __init__(self, title: str, height: int = 250, width: int = FULL_WIDTH):
        self.height, self.width = height, width
        # no padding: bqplot would otherwise shrink the range by each Scatter's half size + 1 px and by
        # padding_y (measured in Chromium: rows 53.7 px apart, not the 66 px the placement of texts assumed)
        self.sx = bq.LinearScale(min=-1.0, max=8.0, allow_padding=False)
        self.sy = bq.LinearScale(min=-0.6, max=3.6, allow_padding=False)
        self.color_scale = bq.OrdinalColorScale(domain=list(range(len(self.COLORS))), colors=self.COLORS)
        scales = {"x": self.sx, "y": self.sy}
        self.edges = bq.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=scales, colors=["#555555"],
                              stroke_width=1.6)
        # arrowheads: triangles turned to each edge's direction (0° points up, 90° right)
        self.arrows = bq.Scatter(x=[0.0], y=[0.0], rotation=[0.0], marker="triangle-up", default_size=50,
                                 colors=["#555555"], stroke="#555555",
                                 scales={**scales, "rotation": bq.LinearScale(min=0.0, max=180.0)})
        self.boxes = bq.Scatter(x=[0.0], y=[0.0], color=[0], scales={**scales, "color": self.color_scale},
                                marker="square", default_size=900, stroke="#333333", opacities=[0.9])
        self.highlight = bq.Scatter(x=[0.0], y=[0.0], scales=scales, marker="square", default_size=1400,
                                    colors=["#D55E00"], fill=False, stroke="#D55E00", stroke_width=3,
                                    visible=False)
        self.labels = {place: bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=12, align=align,
                                       colors=["#222222"], font_weight="normal")
                       for place, (align, _, _) in LABEL_PLACES.items()}
        self.fig = _figure(title, [self.edges, self.highlight, self.boxes, self.arrows, *self.labels.values()], [],
                           height)
        self.fig.fig_margin = {"top": 36, "bottom": 10, "left": 10, "right": 10}
        self.fig.add_class("rnn-no-crossing")  # the browser's legibility audit checks that no line crosses a text
        keep_width(self.fig, width)
        self.left_out: list[str] = []  # after a draw: the texts that had no place clear of every edge and box

    def _px_per_unit(self) -> tuple[float, float]:
        m = self.fig.fig_margin
        return ((self.width - m["left"] - m["right"]) / (self.sx.max - self.sx.min),
                (self.height - m["top"] - m["bottom"]) / (self.sy.max - self.sy.min))

    def left_out_note(self) -> str:
        """What the last draw left out, short enough for the figure's title: "" when every text was drawn."""
        n = len(self.left_out)
        return f"  ({n} label{'s' if n > 1 else ''} not drawn: no room)" if n else ""

    @staticmethod
    def _label_boxes(place: str, xs: np.ndarray, ys: np.ndarray, widths: np.ndarray, gap: float) -> np.ndarray:
        """Each text's box (left, top, right, bottom) in px (y down) when put at ``place``."""
        align, dx, dy = LABEL_PLACES[place]
        x = xs + dx * gap
        mid = ys + _label_dy(dy, gap)  # the text's centre (bqplot centres it on its y)
        left = {"middle": x - widths / 2, "start": x, "end": x - widths}[align]
        h = LABEL_HALF_HEIGHT + LABEL_PAD
        return np.stack([left - LABEL_PAD, mid - h, left + widths + LABEL_PAD, mid + h], axis=1)

    @classmethod
    def _places(cls, nodes: list[Node], edges: list[tuple[int, int]], px: float, py: float, gap: float,
                half: float, area: tuple[float, float, float, float] | None = None, first: list[int] = (),
                beside: bool = True) -> tuple[list[str], list[tuple[int, float, float]]]:
        """For each node, the first place (its preferred side, the other side, upper right, upper left)
        where its text crosses no edge, no box and no text placed before it. Failing that, the first place
        above or below where the only edges it crosses are the node's own, running straight up or down
        from it: the text then sits on that edge, which is cut around it (like a label on a wire). Failing
        both, "": the text is left out, never drawn under a line.

        The nodes ``first`` are placed before the others (which follow in their order); ``beside=False``
        leaves out the places right and left of a box (a crowded row where they take each other's room).
        ``area`` (left, top, right, bottom, px at the scale of x·px, −y·py): where a text may go (the figure).
        Arrowheads count as boxes. Returns the places and the cuts: (edge index, top, bottom), the px (y down)
        where an edge stops."""
        xs = np.array([n.x for n in nodes]) * px
        ys = -np.array([n.y for n in nodes]) * py
        widths = np.array([text_px(n.text) for n in nodes])
        seg = np.array([[xs[a], ys[a], xs[b], ys[b]] for a, b in edges]) if edges else np.zeros((0, 4))
        squares = np.stack([xs - half, ys - half, xs + half, ys + half], axis=1)
        tips = cls._arrow_centres(xs, ys, edges, half)  # arrowheads: about 11 px triangles
        tips = np.stack([tips[:, 0] - 6, tips[:, 1] - 6, tips[:, 0] + 6, tips[:, 1] + 6], axis=1)
        boxes = {place: cls._label_boxes(place, xs, ys, widths, gap) for place in LABEL_PLACES}
        hits = {place: _crossing_matrix(b, seg) for place, b in boxes.items()}
        # the edges a node's text may sit on: its own, vertical ones
        vertical = np.array([abs(xs[a] - xs[b]) < 1e-9 for a, b in edges], dtype=bool)
        placed = np.zeros((0, 4))
        places, cuts = [""] * len(nodes), []
        first = [i for i in first if 0 <= i < len(nodes)]
        for i in dict.fromkeys([*first, *range(len(nodes))]):  # ``first`` placed first, then the rest in order
            node = nodes[i]
            sides = ["below", "above"] if node.below else ["above", "below"]
            order = sides + ["right", "left"] * beside + [f"{side}-{end}" for side in sides for end in ("end", "start")]
            if not node.text:
                places[i] = node.place or order[0]
                continue
            order = [node.place] if node.place else order
            others = np.vstack([np.delete(squares, i, 0), tips])
            best = ""
            own = vertical & np.array([i in e for e in edges], dtype=bool)
            for allowed in (np.zeros(len(edges), dtype=bool), own):  # clear of every edge, else on its own
                for place in order:
                    box = boxes[place][i]
                    if place not in ("above", "below") and allowed.any():
                        continue  # beside the box, a text is never put on an edge
                    if (hits[place][i] & ~allowed).any() or _overlaps(box, placed) or _overlaps(box, others):
                        continue
                    if area is not None and (box[0] < area[0] or box[1] < area[1] or box[2] > area[2]
                                             or box[3] > area[3]):
                        continue
                    best = place
                    cuts += [(int(j), float(box[1]), float(box[3])) for j in np.flatnonzero(hits[place][i])]
                    break
                if best:
                    break
            places[i] = best
            if best:
                placed = np.vstack([placed, boxes[best][i]])
        return places, cuts

    @staticmethod
    def _thin(texts: list[str], xs: np.ndarray, px: float, keep: set[int]) -> list[str]:
        """Blank every 2nd, 3rd… text of a row where neighbouring texts are wider than their boxes' spacing."""
        if len(texts) < 2:
            return texts
        order = np.argsort(xs)
        widths = np.array([text_px(texts[i]) for i in order])
        spacing = np.maximum(np.diff(xs[order]) * px, 1e-9)
        needed = (widths[1:] + widths[:-1]) / 2 + 8
        every = max(1, math.ceil(float(np.max(needed / spacing))))
        if every == 1:
            return texts
        # counted from the highlighted text (its neighbours the same 2nd, 3rd… away), else from the first
        phase = min((k for k, i in enumerate(order) if int(i) in keep), default=0) % every
        shown = {int(order[i]) for i in range(phase, len(order), every)} | keep
        return [t if i in shown else "" for i, t in enumerate(texts)]

    def draw(self, nodes: list[Node], edges: list[tuple[int, int]], highlight: list[int] | None = None,
             size: int = 900) -> None:
        """Show ``nodes`` and straight directed edges between them (pairs of node indices, from → to)."""
        xs = np.array([n.x for n in nodes], dtype=float)
        ys = np.array([n.y for n in nodes], dtype=float)
        half = math.sqrt(size) / 2  # px: a square marker of area ``size``
        with self.sx.hold_sync(), self.sy.hold_sync():
            self.sx.min, self.sx.max = float(xs.min()) - 0.8, float(xs.max()) + 0.8
            self.sy.min, self.sy.max = float(ys.min()) - 0.7, float(ys.max()) + 0.6
        px, py = self._px_per_unit()
        gap = half * (1.5 ** 0.5) + 4  # px from a box's centre to its text: clear of the highlight ring
        # a row too crowded for its texts keeps every 2nd, 3rd… (the highlighted box's always); the texts
        # left are then placed one by one where they collide with nothing
        texts = self._thin_rows(nodes, xs, px, set(highlight or []))
        shown = [Node(n.x, n.y, t, n.color, n.below, n.place) for n, t in zip(nodes, texts)]
        area = (self.sx.min * px - 8, -self.sy.max * py, self.sx.max * px + 8, -self.sy.min * py)
        # the highlighted box's text first; a text left out gets its place first in the next try
        # (at most 6), and failing that the texts go nowhere beside their boxes (where they take each other's room)
        tries = []
        for beside in (True, False):
            first = list(highlight or [])
            for _ in range(6):
                places, cuts = self._places(shown, edges, px, py, gap, half, area, first, beside)
                missing = [i for i, p in enumerate(places) if texts[i] and not p]
                tries.append((len(missing), places, cuts))
                if not missing or set(missing) <= set(first):
                    break
                first = list(dict.fromkeys([*first, *missing]))
            if not missing:
                break
        _, places, cuts = min(tries, key=lambda t: t[0])
        # a text with no clear place is left out (never drawn under a line); the widget says so
        self.left_out = [texts[i] for i, p in enumerate(places) if texts[i] and not p]
        texts = [t if p else "" for t, p in zip(texts, places)]
        with self.boxes.hold_sync(), self.edges.hold_sync(), self.highlight.hold_sync(), self.arrows.hold_sync():
            pieces = self._cut(xs, ys, edges, cuts, py)
            self.edges.x = np.array([[x0, x1] for x0, _, x1, _ in pieces]) if pieces else np.zeros((1, 2))
            self.edges.y = np.array([[y0, y1] for _, y0, _, y1 in pieces]) if pieces else np.zeros((1, 2))
            self._draw_arrows(xs, ys, edges, px, py, half)
            self.boxes.x, self.boxes.y = xs, ys
            self.boxes.color = np.array([n.color for n in nodes])
            self.boxes.default_size = size
            if highlight:
                self.highlight.x, self.highlight.y = xs[highlight], ys[highlight]
                self.highlight.default_size = int(size * 1.5)
            self.highlight.visible = bool(highlight)
        for place, mark in self.labels.items():
            idx = [i for i, p in enumerate(places) if p == place and texts[i]]
            _, dx, dy = LABEL_PLACES[place]
            with mark.hold_sync():
                mark.x, mark.y = (xs[idx], ys[idx]) if idx else (np.zeros(1), np.zeros(1))
                mark.text = [texts[i] for i in idx] if idx else [""]
                mark.x_offset = int(round(dx * gap))
                mark.y_offset = int(round(_label_dy(dy, gap)))

    @staticmethod
    def _cut(xs, ys, edges, cuts, py) -> list[tuple[float, float, float, float]]:
        """The edges as drawn (x0, y0, x1, y1 in data units): a vertical edge a text sits on stops at the text's
        box and goes on beyond it (``cuts``: edge index, top, bottom in px, y down)."""
        pieces = []
        for j, (a, b) in enumerate(edges):
            mine = [(-bottom / py, -top / py) for k, top, bottom in cuts if k == j]  # px (y down) → data (y up)
            if not mine:
                pieces.append((xs[a], ys[a], xs[b], ys[b]))
                continue
            # only a vertical edge is ever cut: the data y where its drawn pieces start and end, bottom to top
            spans = sorted([*sorted((ys[a], ys[b])), *(v for cut in mine for v in cut)])
            pieces += [(xs[a], y0, xs[b], y1) for y0, y1 in zip(spans[::2], spans[1::2]) if y1 > y0]
        return pieces

    @classmethod
    def _thin_rows(cls, nodes: list[Node], xs: np.ndarray, px: float, keep: set[int]) -> list[str]:
        """Every node's text, with crowded rows (same height, same preferred side) thinned."""
        texts = [n.text for n in nodes]
        rows: dict = {}
        for i, n in enumerate(nodes):
            if n.text:
                rows.setdefault((n.y, n.below), []).append(i)
        for members in rows.values():
            thinned = cls._thin([texts[i] for i in members], xs[members], px,
                                {k for k, i in enumerate(members) if i in keep})
            for i, t in zip(members, thinned):
                texts[i] = t
        return texts

    @staticmethod
    def _arrow_centres(xs: np.ndarray, ys: np.ndarray, edges, half: float) -> np.ndarray:
        """Each edge's arrowhead centre, (x, y) in px: just outside its target box (xs, ys in px)."""
        out = np.zeros((len(edges), 2))
        for k, (a, b) in enumerate(edges):
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]
            back = (half + 5) / (math.hypot(dx, dy) or 1.0)
            out[k] = xs[b] - dx * back, ys[b] - dy * back
        return out

    def _draw_arrows(self, xs, ys, edges, px, py, half) -> None:
        if not edges:
            self.arrows.visible = False
            return
        ax, ay, rot = [], [], []
        for a, b in edges:
            dx, dy = (xs[b] - xs[a]) * px, (ys[b] - ys[a]) * py
            length = math.hypot(dx, dy) or 1.0
            back = (half + 5) / length  # the tip just outside the target box
            ax.append(xs[b] - (xs[b] - xs[a]) * back)
            ay.append(ys[b] - (ys[b] - ys[a]) * back)
            rot.append(math.degrees(math.atan2(dx, dy)) % 360)
        self.arrows.x, self.arrows.y, self.arrows.rotation = np.array(ax), np.array(ay), np.array(rot)
        self.arrows.visible = True


# ---------------------------------------------------------------------- a recurrent cell, drawn as colah draws it
@dataclass
class Part:
    """One piece of a drawn cell: a gate ``"box"`` (σ or tanh, with its live value inside), a pointwise
    ``"op"`` circle (⊙, +, tanh, 1−), or a ``"point"`` where lines meet, enter or leave (a state's end).

    ``text`` is written inside (lines split on "\\n"); ``label`` outside, where no edge runs and no other
    text or shape sits (``place`` forces one of :data:`CELL_PLACES`). ``key`` and ``value``: the trace
    quantity a number in the drawing shows, and that number (tests compare it with the trace).
    """

    x: float
    y: float
    kind: str = "point"
    text: str = ""
    label: str = ""
    color: str = "#ffffff"
    place: str = ""
    key: str = ""
    value: float | None = None


#: where a part's outside label can go: (alignment, side): the side is (x, y) in −1, 0, 1, y down
CELL_PLACES = {"above": ("middle", 0, -1), "below": ("middle", 0, 1), "right": ("start", 1, 0),
               "left": ("end", -1, 0), "above-right": ("start", 1, -1), "above-left": ("end", -1, -1),
               "below-right": ("start", 1, 1), "below-left": ("end", -1, 1)}
CELL_FONT = 13  # px, every text of the drawing but the ⊙ and + glyphs
GLYPH_FONT = 20  # px, a one-character operator glyph inside its circle
CELL_CHAR_PX = 7.2  # width of one character at CELL_FONT (generous: no two texts may touch)
CELL_LINE_PX = 15  # px between the lines of a box's text
OP_RADIUS = 17  # px: a pointwise-operation circle ("tanh" fits inside)


class CellDiagram:
    """A recurrent cell drawn in the style of colah's "Understanding LSTM Networks": the carried state as a
    straight line along the top, gate boxes fed by [h; x] from a line along the bottom, round ⊙ and + nodes,
    and an arrowhead where each line enters a box, a circle or a state leaving the cell.

    Positions are in data units; sizes (boxes fitted to their text, circles, gaps) in px, converted with
    the figure's size. ``draw`` replaces everything in place; the figure is never rebuilt. After a draw,
    ``label_boxes`` (text, (left, top, right, bottom) px) and ``segments`` (px) say where each outside label and
    edge went, and ``collisions`` counts the labels that could not be placed clear of every edge, shape
    and other label (0 in every state the widgets draw; the tests check it).
    """

    EDGE = "#555555"

    def __init__(self, title: str, height: int = 340, width: int = FULL_WIDTH):
        self.height, self.width = height, width
        self.sx = bq.LinearScale(min=0.0, max=10.0)
        self.sy = bq.LinearScale(min=0.0, max=4.0)
        scales = {"x": self.sx, "y": self.sy}
        self.edges = bq.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=scales, colors=[self.EDGE],
                              stroke_width=1.8)
        self.arrows = bq.Scatter(x=[0.0], y=[0.0], rotation=[0.0], marker="triangle-up", default_size=56,
                                 colors=[self.EDGE], stroke=self.EDGE,
                                 scales={**scales, "rotation": bq.LinearScale(min=0.0, max=180.0)})
        self.boxes = bq.Lines(x=np.zeros((1, 5)), y=np.zeros((1, 5)), scales=scales, colors=["#333333"],
                              fill="inside", fill_colors=["#ffffff"], fill_opacities=[1.0], stroke_width=1.4)
        self.ops = bq.Scatter(x=[0.0], y=[0.0], scales=scales, marker="circle",
                              default_size=int(math.pi * OP_RADIUS ** 2), colors=["#ffffff"], stroke="#333333",
                              stroke_width=1.4)
        self.inner = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=CELL_FONT, align="middle",
                              colors=["#111111"], font_weight="normal")
        self.glyphs = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=GLYPH_FONT, align="middle",
                               colors=["#111111"], font_weight="normal")
        self.labels = {align: bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=CELL_FONT,
                                       align=align, colors=["#222222"], font_weight="normal")
                       for align in ("start", "middle", "end")}
        self.fig = _figure(title, [self.edges, self.arrows, self.boxes, self.ops, self.inner, self.glyphs,
                                   *self.labels.values()], [], height)
        self.fig.fig_margin = {"top": 36, "bottom": 8, "left": 10, "right": 10}
        self.fig.add_class("rnn-no-crossing")  # the browser's legibility audit checks that no line crosses a text
        keep_width(self.fig, width)
        self.parts: list[Part] = []
        self.label_boxes: list[tuple[str, tuple[float, float, float, float]]] = []
        self.segments = np.zeros((0, 4))
        self.collisions = 0

    # sizes -------------------------------------------------------------------------------------
    def _px_per_unit(self) -> tuple[float, float]:
        m = self.fig.fig_margin
        return ((self.width - m["left"] - m["right"]) / (self.sx.max - self.sx.min),
                (self.height - m["top"] - m["bottom"]) / (self.sy.max - self.sy.min))

    @staticmethod
    def half_size(part: Part) -> tuple[float, float]:
        """Half the width and height of a part's shape, in px."""
        if part.kind == "box":
            lines = part.text.split("\n")
            return (max(len(t) for t in lines) * CELL_CHAR_PX + 16) / 2, (len(lines) * CELL_LINE_PX + 10) / 2
        if part.kind == "op":
            return OP_RADIUS, OP_RADIUS
        return 0.0, 0.0

    def _to_px(self, x, y):
        px, py = self._px_per_unit()
        return (np.asarray(x, dtype=float) - self.sx.min) * px, (self.sy.max - np.asarray(y, dtype=float)) * py

    @staticmethod
    def _label_box(place: str, cx: float, cy: float, hw: float, hh: float, width: float):
        """The label's box (left, top, right, bottom) and its anchor (bqplot centres a Label's text
        vertically on its y: ``dominant-baseline: central``), px, y down."""
        align, sx, sy = CELL_PLACES[place]
        gap = 4.0
        if sy < 0:
            bottom = cy - hh - gap
            top = bottom - 14
        elif sy > 0:
            top = cy + hh + gap
            bottom = top + 14
        else:
            top, bottom = cy - 7, cy + 7
        ax = cx + sx * (hw + gap if sy == 0 or hw > 0 else 2.0)
        left = {"start": ax, "middle": ax - width / 2, "end": ax - width}[align]
        return np.array([left, top, left + width, bottom]), (ax, (top + bottom) / 2)

    # drawing -------------------------------------------------------------------------------------
    def draw(self, parts: list[Part], edges: list[tuple[int, int]], x_range: tuple[float, float],
             y_range: tuple[float, float]) -> None:
        """Draw ``parts`` joined by straight ``edges`` (pairs of part indices, from → to) on the given data
        ranges. An arrowhead marks each edge that ends at a box, a circle or a labelled point."""
        with self.sx.hold_sync(), self.sy.hold_sync():
            self.sx.min, self.sx.max = map(float, x_range)
            self.sy.min, self.sy.max = map(float, y_range)
        px, py = self._px_per_unit()
        self.parts = list(parts)
        xs, ys = self._to_px([p.x for p in parts], [p.y for p in parts])
        halves = np.array([self.half_size(p) for p in parts])
        # each edge runs from the border of its source's shape to the border of its target's: never under a text
        clipped = []
        for a, b in edges:
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]
            length = math.hypot(dx, dy) or 1.0
            ux, uy = dx / length, dy / length
            ra, rb = self._reach(parts[a], halves[a], ux, uy), self._reach(parts[b], halves[b], ux, uy)
            clipped.append([xs[a] + ux * ra, ys[a] + uy * ra, xs[b] - ux * rb, ys[b] - uy * rb])
        self.segments = np.array(clipped) if edges else np.zeros((0, 4))
        shapes = np.stack([xs - halves[:, 0], ys - halves[:, 1], xs + halves[:, 0], ys + halves[:, 1]], 1)
        shapes = shapes[[p.kind != "point" for p in parts]]
        area = np.array([0.0, 0.0, self.width - 20, self.height - 44])
        # outside labels, one by one, each where it collides with nothing drawn or placed before it
        placed, chosen, self.collisions = [], [], 0
        for i, part in enumerate(parts):
            if not part.label:
                continue
            width = len(part.label) * CELL_CHAR_PX
            order = [part.place] if part.place else list(CELL_PLACES)
            best = None
            for place in order:
                box, anchor = self._label_box(place, xs[i], ys[i], *halves[i], width)
                cost = int(_crossings(box[None], self.segments)[0]) + _overlaps(box, shapes) \
                    + _overlaps(box, np.array(placed).reshape(-1, 4)) \
                    + int(box[0] < area[0] or box[1] < area[1] or box[2] > area[2] or box[3] > area[3])
                if best is None or cost < best[0]:
                    best = (cost, place, box, anchor)
                if cost == 0:
                    break
            cost, place, box, anchor = best
            self.collisions += cost
            placed.append(box)
            chosen.append((part.label, CELL_PLACES[place][0], anchor, box))
        self.label_boxes = [(text, tuple(float(v) for v in box)) for text, _, _, box in chosen]

        def data(point):
            return self.sx.min + point[0] / px, self.sy.max - point[1] / py

        boxes = [(p, h) for p, h in zip(parts, halves) if p.kind == "box"]
        ops = [p for p in parts if p.kind == "op"]
        inner = []  # (x, y, text, is a glyph): each line of a box, each circle's text, centred
        for p in parts:
            lines = p.text.split("\n") if p.text and p.kind != "point" else []
            for k, line in enumerate(lines):
                dy = (k - (len(lines) - 1) / 2) * CELL_LINE_PX  # px below the centre (text centred on y)
                inner.append((p.x, p.y - dy / py, line, p.kind == "op" and len(line) == 1))
        with self.edges.hold_sync(), self.arrows.hold_sync(), self.boxes.hold_sync(), self.ops.hold_sync():
            seg = self.segments if edges else np.zeros((1, 4))
            self.edges.x = self.sx.min + seg[:, [0, 2]] / px
            self.edges.y = self.sy.max - seg[:, [1, 3]] / py
            self._draw_arrows(parts, edges, xs, ys, halves, px, py)
            if boxes:
                self.boxes.x = np.array([[p.x - w / px, p.x + w / px, p.x + w / px, p.x - w / px, p.x - w / px]
                                         for p, (w, _) in boxes])
                self.boxes.y = np.array([[p.y + h / py, p.y + h / py, p.y - h / py, p.y - h / py, p.y + h / py]
                                         for p, (_, h) in boxes])
                self.boxes.fill_colors = [p.color for p, _ in boxes]
                self.boxes.fill_opacities = [1.0] * len(boxes)
            self.boxes.visible = bool(boxes)
            self.ops.x, self.ops.y = (np.array([p.x for p in ops]), np.array([p.y for p in ops])) if ops else \
                (np.zeros(1), np.zeros(1))
            self.ops.colors = [p.color for p in ops] or ["#ffffff"]
            self.ops.visible = bool(ops)
        for mark, texts in ((self.inner, [t for t in inner if not t[3]]), (self.glyphs, [t for t in inner if t[3]])):
            with mark.hold_sync():
                mark.x = np.array([t[0] for t in texts]) if texts else np.zeros(1)
                mark.y = np.array([t[1] for t in texts]) if texts else np.zeros(1)
                mark.text = [t[2] for t in texts] or [""]
        for align, mark in self.labels.items():
            mine = [(text, data(anchor)) for text, a, anchor, _ in chosen if a == align]
            with mark.hold_sync():
                mark.x = np.array([p[0] for _, p in mine]) if mine else np.zeros(1)
                mark.y = np.array([p[1] for _, p in mine]) if mine else np.zeros(1)
                mark.text = [t for t, _ in mine] or [""]

    @staticmethod
    def _reach(part: Part, half, ux: float, uy: float) -> float:
        """px from a part's centre to its shape's border along the direction (ux, uy): 0 for a point."""
        if part.kind == "op":
            return float(OP_RADIUS)
        if part.kind == "box":
            hw, hh = half
            return float(min(hw / abs(ux) if abs(ux) > 1e-9 else math.inf, hh / abs(uy) if abs(uy) > 1e-9 else math.inf))
        return 0.0

    def _draw_arrows(self, parts, edges, xs, ys, halves, px, py) -> None:
        ax, ay, rot = [], [], []
        for a, b in edges:
            target = parts[b]
            if target.kind == "point" and not target.label:
                continue  # lines meeting at a junction: no arrowhead
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]  # px, y down
            length = math.hypot(dx, dy) or 1.0
            ux, uy = dx / length, dy / length
            back = self._reach(target, halves[b], ux, uy) + 5.0  # the triangle's centre, its tip just touching the target
            ax.append(parts[b].x - ux * back / px)
            ay.append(parts[b].y + uy * back / py)
            rot.append(math.degrees(math.atan2(ux, -uy)) % 360)  # 0°: up, 90°: right
        with self.arrows.hold_sync():
            self.arrows.x = np.array(ax) if ax else np.zeros(1)
            self.arrows.y = np.array(ay) if ay else np.zeros(1)
            self.arrows.rotation = np.array(rot) if rot else np.zeros(1)
            self.arrows.visible = bool(ax)
