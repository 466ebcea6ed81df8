"""Chart builders: line, bar and grouped-bar charts, and heat maps with their colour keys underneath. Each
returns the Figure and the marks a widget updates; none of them computes anything."""
from __future__ import annotations

import bqplot as bq
import numpy as np

from ..common import DIVERGING, PALETTE, SEQUENTIAL
from .figure import FIG_MARGIN, KEY_BAND, _figure, _y_axis
from .legend import show_in_legend


def line_chart(title: str, x_label: str, y_label: str, n_lines: int = 1, *, log_y: bool = False,
               labels: list[str] | None = None, colors: list[str] | None = None, height: int = 240,
               markers: bool = False):
    """A Lines mark (n_lines series) on linear x and linear or log y. Returns ``(fig, lines, scales)``.

    Call :func:`fit_y` after setting the data: it fixes the y range, the powers-of-ten ticks and the
    legend's row under the x axis (``labels``: one entry per line).
    """
    sx = bq.LinearScale()
    sy = bq.LogScale() if log_y else bq.LinearScale()
    lines = bq.Lines(
        x=np.zeros(2), y=np.ones((n_lines, 2)) if n_lines > 1 else np.ones(2), scales={"x": sx, "y": sy},
        colors=colors or PALETTE[:n_lines], labels=labels or [], display_legend=False, stroke_width=2.5,
        marker="circle" if markers else None, marker_size=24,
    )
    axes = [bq.Axis(scale=sx, label=x_label, grid_lines="none"),
            _y_axis(sy, y_label, tick_format=".0e" if log_y else None, grid_lines="dashed")]
    fig = _figure(title, [lines], axes, height)
    if labels:
        show_in_legend(fig, lines)
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
    bins), one colour per series and a legend under the x axis. Returns ``(fig, bars, scales)``.

    Set ``bars.x``, ``bars.y`` (one row per series), ``bars.colors`` and ``bars.labels``, then call :func:`fit_y`.
    """
    sx, sy = bq.OrdinalScale(), bq.LinearScale()
    bars = bq.Bars(x=["·"], y=np.zeros((n_series, 1)), scales={"x": sx, "y": sy}, type="grouped",
                   colors=PALETTE[:n_series], labels=[""] * n_series, display_legend=False, padding=0.2,
                   stroke="white")
    axes = [bq.Axis(scale=sx, label=x_label, tick_style={"font-size": "11px"}),
            _y_axis(sy, y_label, grid_lines="dashed")]
    fig = _figure(title, [bars], axes, height)
    show_in_legend(fig, bars)
    return fig, bars, {"x": sx, "y": sy}


#: a heat map's tick labels: 11 px or more, dark (issue 24, item 6: 10-px grey ticks were hard to read)
MAP_TICKS = {"font-size": "11px", "fill": "#333333"}


def _heat(title: str, row_label: str, column_label: str, key_label: str, signed: bool, height: int, lo, hi,
          row_scale=None, column_scale=None):
    sc = bq.ColorScale(colors=DIVERGING if signed else SEQUENTIAL, mid=0.0 if signed else None, min=lo, max=hi)
    scales = {"color": sc, **({"row": row_scale} if row_scale else {}), **({"column": column_scale} if column_scale else {})}
    grid = bq.GridHeatMap(color=np.zeros((2, 2)), scales=scales, stroke="white" if row_scale is None else None,
                          anchor_style={"fill": "none"})
    # the key lies under the map: bqplot leaves a vertical key (height − 200 px) no room in short figures
    key = bq.ColorAxis(scale=sc, side="bottom", label=key_label, tick_format=".2~g")
    axes = [key, bq.Axis(scale=grid.scales["column"], label=column_label, tick_style=dict(MAP_TICKS)),
            _y_axis(grid.scales["row"], row_label, tick_style=dict(MAP_TICKS))]
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
    chosen step; when the steps read a text, the x axis shows its characters (:func:`.maps.fill_grid`).

    Fill it with :func:`fill_grid`; move the cursor with :func:`place_cursor`. Returns ``(fig, grid, cursor)``.
    """
    rows, cols = bq.LinearScale(reverse=reverse_rows), bq.LinearScale()
    fig, grid, _ = _heat(title, row_label, column_label, key_label, signed, height, lo, hi, rows, cols)
    cursor = bq.Lines(x=[0.5, 0.5], y=[0, 1], scales={"x": cols, "y": rows}, colors=["#000000"], stroke_width=2,
                      line_style="dashed")
    fig.marks = [grid, cursor]
    return fig, grid, cursor
