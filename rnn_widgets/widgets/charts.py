"""bqplot builders shared by the widgets: built once, then only their marks' data change.

Each builder returns the Figure and the marks a widget updates; none of them computes anything.
"""
from __future__ import annotations

from dataclasses import dataclass

import bqplot as bq
import numpy as np

from .common import DIVERGING, GREY, PALETTE, SEQUENTIAL

FIG_MARGIN = {"top": 36, "bottom": 46, "left": 62, "right": 16}
_SUP = str.maketrans("0123456789()+-lkLT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻ˡᵏᴸᵀ")


def sup(text: object) -> str:
    """Lecture superscripts in plain text: sup('(l+1)') → '⁽ˡ⁺¹⁾' (works in SVG labels and static pages)."""
    return str(text).translate(_SUP)


def _figure(title: str, marks, axes, height: int, **kw) -> bq.Figure:
    return bq.Figure(
        marks=marks, axes=axes, title=title, fig_margin=dict(FIG_MARGIN),
        layout={"width": "100%", "max_width": "880px", "height": f"{height}px"},
        title_style={"font-size": "14px"}, **kw,
    )


def line_chart(title: str, x_label: str, y_label: str, n_lines: int = 1, *, log_y: bool = False,
               labels: list[str] | None = None, colors: list[str] | None = None, height: int = 240,
               markers: bool = False):
    """A Lines mark (n_lines series) on linear x and linear or log y. Returns ``(fig, lines, scales)``."""
    sx = bq.LinearScale()
    sy = bq.LogScale() if log_y else bq.LinearScale()
    lines = bq.Lines(
        x=np.zeros(2), y=np.ones((n_lines, 2)) if n_lines > 1 else np.ones(2), scales={"x": sx, "y": sy},
        colors=colors or PALETTE[:n_lines], labels=labels or [], display_legend=bool(labels), stroke_width=2.5,
        marker="circle" if markers else None, marker_size=24,
    )
    axes = [bq.Axis(scale=sx, label=x_label, grid_lines="none"),
            bq.Axis(scale=sy, label=y_label, side="left", tick_format=".0e" if log_y else None,
                    grid_lines="dashed")]
    fig = _figure(title, [lines], axes, height, legend_location="top-left")
    return fig, lines, {"x": sx, "y": sy}


def bar_chart(title: str, x_label: str, y_label: str, *, height: int = 240, log_y: bool = False):
    """Bars on an ordinal x with one colour per bar (``bars.colors``). Returns ``(fig, bars, scales)``."""
    sx = bq.OrdinalScale()
    sy = bq.LogScale() if log_y else bq.LinearScale()
    bars = bq.Bars(x=["·"], y=[0.0], scales={"x": sx, "y": sy}, colors=[PALETTE[0]], color_mode="no_group",
                   padding=0.15, stroke="white")
    axes = [bq.Axis(scale=sx, label=x_label, tick_style={"font-size": "11px"}),
            bq.Axis(scale=sy, label=y_label, side="left", grid_lines="dashed",
                    tick_format=".0e" if log_y else None)]
    return _figure(title, [bars], axes, height), bars, {"x": sx, "y": sy}


def _heat(title: str, row_label: str, column_label: str, signed: bool, height: int, lo, hi, row_scale=None,
          column_scale=None, tick_format=None):
    sc = bq.ColorScale(colors=DIVERGING if signed else SEQUENTIAL, mid=0.0 if signed else None, min=lo, max=hi)
    scales = {"color": sc, **({"row": row_scale} if row_scale else {}), **({"column": column_scale} if column_scale else {})}
    grid = bq.GridHeatMap(color=np.zeros((2, 2)), scales=scales, stroke="white" if row_scale is None else None,
                          anchor_style={"fill": "none"})
    axes = [bq.ColorAxis(scale=sc, side="right", tick_format=".2g", num_ticks=3),
            bq.Axis(scale=grid.scales["column"], label=column_label, tick_style={"font-size": "10px"},
                    tick_format=tick_format),
            bq.Axis(scale=grid.scales["row"], label=row_label, side="left", tick_style={"font-size": "10px"},
                    tick_format=tick_format)]
    fig = _figure(title, [grid], axes, height)
    fig.fig_margin = {"top": 36, "bottom": 46, "left": 62, "right": 70}
    return fig, grid, sc


def heat_map(title: str, row_label: str, column_label: str, *, signed: bool = True, height: int = 220,
             lo: float | None = None, hi: float | None = None):
    """A GridHeatMap on ordinal rows and columns; signed maps are centred on 0 (white).

    Returns ``(fig, grid, colour scale)``.
    """
    return _heat(title, row_label, column_label, signed, height, lo, hi)


def timeline_map(title: str, row_label: str = "unit", *, signed: bool = True, height: int = 190,
                 lo: float | None = None, hi: float | None = None):
    """Units × time on linear scales, with a vertical cursor line at the chosen step.

    Set ``grid.color`` (units, T), then the cell boundaries with :func:`grid_edges`, so that cell (r, l) is
    centred on the integers (r, l); move the cursor with :func:`place_cursor`. Returns ``(fig, grid, cursor)``.
    """
    rows, cols = bq.LinearScale(reverse=True), bq.LinearScale()
    fig, grid, _ = _heat(title, row_label, "step l", signed, height, lo, hi, rows, cols, tick_format="d")
    cursor = bq.Lines(x=[0.5, 0.5], y=[0, 1], scales={"x": cols, "y": rows}, colors=["#000000"], stroke_width=2,
                      line_style="dashed")
    fig.marks = [grid, cursor]
    return fig, grid, cursor


def grid_edges(grid: bq.GridHeatMap, n_rows: int, n_columns: int, first_column: int = 0) -> None:
    """Cell boundaries that centre row r and column l on the integers (set after ``grid.color``)."""
    grid.row = np.arange(n_rows + 1) - 0.5
    grid.column = np.arange(n_columns + 1) - 0.5 + first_column


def place_cursor(cursor: bq.Lines, step: int, n_rows: int) -> None:
    """Put the cursor on column ``step``."""
    with cursor.hold_sync():
        cursor.x = [step, step]
        cursor.y = [-0.5, n_rows - 0.5]


@dataclass
class Node:
    """A box in an unrolled-network diagram: position, text, colour index (into the palette + grey)."""

    x: float
    y: float
    text: str
    color: int = 0
    below: bool = False  # put the text under the box (inputs) instead of over it


class UnrolledDiagram:
    """Boxes (x[l], a^(l), outputs, losses) joined by edges, drawn with bqplot marks.

    Time runs left to right; inputs sit at y = 0, states at y = 1, outputs at y = 2, the loss
    at y = 3. ``draw`` replaces the nodes and edges in place; the figure is never rebuilt.
    """

    COLORS = PALETTE + [GREY, "#ffffff"]  # index 8: grey (a missing or unused box), 9: white

    def __init__(self, title: str, height: int = 250):
        self.sx = bq.LinearScale(min=-1.0, max=8.0)
        self.sy = bq.LinearScale(min=-0.6, max=3.6)
        self.color_scale = bq.OrdinalColorScale(domain=list(range(len(self.COLORS))), colors=self.COLORS)
        scales = {"x": self.sx, "y": self.sy}
        self.edges = bq.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=scales, colors=["#555555"],
                              stroke_width=1.6)
        self.boxes = bq.Scatter(x=[0.0], y=[0.0], color=[0], scales={**scales, "color": self.color_scale},
                                marker="square", default_size=900, stroke="#333333", opacities=[0.9])
        self.highlight = bq.Scatter(x=[0.0], y=[0.0], scales=scales, marker="square", default_size=1900,
                                    colors=["#D55E00"], fill=False, stroke="#D55E00", stroke_width=3,
                                    visible=False)
        self.labels = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=12, align="middle",
                               y_offset=-22, colors=["#222222"], font_weight="normal")
        self.labels_below = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=12, align="middle",
                                     y_offset=30, colors=["#222222"], font_weight="normal")
        self.fig = _figure(title, [self.edges, self.highlight, self.boxes, self.labels, self.labels_below], [],
                           height)
        self.fig.fig_margin = {"top": 36, "bottom": 10, "left": 10, "right": 10}

    def draw(self, nodes: list[Node], edges: list[tuple[int, int]], highlight: list[int] | None = None,
             size: int = 900) -> None:
        """Show ``nodes`` and straight edges between them (pairs of node indices)."""
        xs = np.array([n.x for n in nodes], dtype=float)
        ys = np.array([n.y for n in nodes], dtype=float)
        ex = np.array([[xs[a], xs[b]] for a, b in edges]) if edges else np.zeros((1, 2))
        ey = np.array([[ys[a], ys[b]] for a, b in edges]) if edges else np.zeros((1, 2))
        below = np.array([n.below for n in nodes])
        text = np.array([n.text for n in nodes])
        with self.boxes.hold_sync(), self.edges.hold_sync(), self.labels.hold_sync(), self.highlight.hold_sync(), \
                self.labels_below.hold_sync(), self.sx.hold_sync(), self.sy.hold_sync():
            self.sx.min, self.sx.max = float(xs.min()) - 0.8, float(xs.max()) + 0.8
            self.sy.min, self.sy.max = float(ys.min()) - 0.7, float(ys.max()) + 0.6
            self.edges.x, self.edges.y = ex, ey
            self.boxes.x, self.boxes.y = xs, ys
            self.boxes.color = np.array([n.color for n in nodes])
            self.boxes.default_size = size
            self.labels.x, self.labels.y, self.labels.text = xs[~below], ys[~below], text[~below]
            self.labels_below.x, self.labels_below.y, self.labels_below.text = xs[below], ys[below], text[below]
            if highlight:
                self.highlight.x, self.highlight.y = xs[highlight], ys[highlight]
                self.highlight.default_size = int(size * 2.1)
            self.highlight.visible = bool(highlight)
