"""A passage drawn as text whose characters sit on coloured cells (Karpathy's and Distill's pictures of a
unit, or of a gradient, over text), with its colour key underneath, as a bqplot figure like every other.

The characters are a Label mark over a GridHeatMap of the same rows and columns. The colour maps are light
at both ends, so black characters keep 4.5:1 on every cell (WCAG 1.4.3) and one text colour serves every
cell; their white middle (signed) or white start (magnitudes) is also what an empty cell holds (bqplot draws
a NaN cell black, whatever its ``null_color``).
"""
from __future__ import annotations

from dataclasses import dataclass

import bqplot as bq
import numpy as np

from .charts.figure import FIG_MARGIN, FULL_WIDTH, KEY_BAND, keep_width

COLUMNS = 72  # characters per row: a verse line fits on one
ROW_PX = 20
#: blue → white → orange, each end light enough for black text (contrast ≥ 6:1), colour-blind safe
TEXT_DIVERGING = ["#4393c3", "#ffffff", "#e08214"]
#: white → blue for magnitudes (its dark end ≥ 6:1 against black text)
TEXT_SEQUENTIAL = ["#ffffff", "#9ecae1", "#4292c6"]
SHOWN = {"\n": "↵", "\t": "→"}  # what a character with no glyph looks like in a cell


@dataclass
class Layout:
    """Where each character of a passage sits: row and column of character k, and the grid's row count."""

    rows: np.ndarray
    columns: np.ndarray
    n_rows: int


def lay_out(text: str, columns: int = COLUMNS, line_breaks: bool = True) -> Layout:
    """Rows of at most ``columns`` characters; with ``line_breaks`` a newline (drawn ↵) ends its row,
    as in the passage; without, the characters run on evenly (distances read straight off the grid)."""
    rows, cols = np.empty(len(text), dtype=int), np.empty(len(text), dtype=int)
    r = c = 0
    for k, ch in enumerate(text):
        if c == columns:
            r, c = r + 1, 0
        rows[k], cols[k] = r, c
        c += 1
        if line_breaks and ch == "\n":
            r, c = r + 1, 0
    n_rows = (int(rows.max()) + 1) if len(text) else 1
    return Layout(rows, cols, n_rows)


def glyph(ch: str) -> str:
    return SHOWN.get(ch, ch)


def text_map(title: str, key_label: str, *, signed: bool = True, columns: int = COLUMNS):
    """An empty text map: ``(fig, grid, labels)``. Fill it with :func:`fill_text_map`."""
    rows, cols = bq.LinearScale(reverse=True), bq.LinearScale(min=-0.5, max=columns - 0.5)
    color = bq.ColorScale(colors=TEXT_DIVERGING if signed else TEXT_SEQUENTIAL, mid=0.0 if signed else None)
    grid = bq.GridHeatMap(color=np.zeros((2, 2)), row=[0.0, 1.0, 2.0], column=[0.0, 1.0, 2.0],
                          scales={"row": rows, "column": cols, "color": color}, stroke=None,
                          anchor_style={"fill": "none"})
    labels = bq.Label(x=[0.0], y=[0.0], text=[""], scales={"x": cols, "y": rows}, colors=["#000000"],
                      default_size=14, font_unit="px", align="middle", y_offset=4, font_weight="normal", apply_clip=False)
    # the names of the rows (which model, in a comparison) sit left of the text, outside the cells
    row_names = bq.Label(x=[-0.8], y=[0.0], text=[""], scales={"x": cols, "y": rows}, colors=["#000000"],
                         default_size=12, font_unit="px", align="end", y_offset=4, font_weight="bold",
                         apply_clip=False)
    key = bq.ColorAxis(scale=color, side="bottom", label=key_label, tick_format=".2~g")
    # no other axis: the text is the axis
    hidden = [bq.Axis(scale=rows, side="left", visible=False), bq.Axis(scale=cols, visible=False)]
    margin = {**FIG_MARGIN, "bottom": KEY_BAND + 16}
    fig = bq.Figure(marks=[grid, labels, row_names], axes=[key, *hidden], title=title, fig_margin=margin,
                    layout={"width": "100%", "max_width": f"{FULL_WIDTH}px", "height": "200px"},
                    title_style={"font-size": "14px"})
    keep_width(fig, FULL_WIDTH)  # the characters are laid out in cells of fixed px: narrower, they would overlap
    return fig, grid, labels


def fill_text_map(fig: bq.Figure, grid: bq.GridHeatMap, labels: bq.Label, text: str, values, layout: Layout,
                  *, row_names: dict[float, str] | None = None) -> None:
    """Draw ``text`` on the grid laid out by ``layout``, character k on a cell of colour ``values[k]`` (NaN:
    no colour: the map's white). ``row_names`` labels rows on the left (e.g. the model of each band)."""
    color = grid.scales["color"]
    blank = color.mid if color.mid is not None else color.min  # where the colour map is white
    values = np.where(np.isfinite(values), np.asarray(values, dtype=float), blank)
    n_rows = max(layout.n_rows, 1)
    columns = int(grid.scales["column"].max + 0.5)
    data = np.full((n_rows, columns), blank)
    data[layout.rows, layout.columns] = values
    row_edges = np.arange(n_rows + 1, dtype=float) - 0.5
    if n_rows == 1:  # bqplot squeezes a single row away: a copy of it one millionth high keeps the shape
        data, row_edges = np.vstack([data, data]), np.append(row_edges, row_edges[-1] + 1e-6)
    with grid.hold_sync():
        grid.color = data
        grid.row = row_edges
        grid.column = np.arange(columns + 1, dtype=float) - 0.5
    row_scale = grid.scales["row"]
    with row_scale.hold_sync():
        row_scale.min, row_scale.max = -0.5, n_rows - 0.5
    shown = [k for k, ch in enumerate(text) if ch != " "]
    with labels.hold_sync():
        labels.x = layout.columns[shown].astype(float)
        labels.y = layout.rows[shown].astype(float)
        labels.text = [glyph(text[k]) for k in shown]
    names = sorted((row_names or {}).items())
    name_labels = fig.marks[2]
    with name_labels.hold_sync():
        name_labels.x = np.full(len(names), -0.8)
        name_labels.y = np.array([float(r) for r, _ in names])
        name_labels.text = [n for _, n in names]
    fig.layout.height = f"{n_rows * ROW_PX + FIG_MARGIN['top'] + KEY_BAND + 16}px"

