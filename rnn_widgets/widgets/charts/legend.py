"""Legends off the data (issue 24, item 2; design.md, contract 12): a row of entries under the x axis, in the
figure's bottom margin, never inside the plot area where bqplot puts its own legend (on the lines it names).

A chart registers the marks its legend names with :func:`show_in_legend`; :func:`draw_legend` (called by
``fit_y`` after every update) writes one entry per visible series: a swatch in the series' colour and style
(a line, a dashed line, a marker, a bar) and its label in dark text, laid out left to right and wrapped to a
new row when the plot is too narrow. The figure's bottom margin grows by the rows it needs.
"""
from __future__ import annotations

import bqplot as bq

from .figure import FIG_MARGIN, KEY_BAND, plot_size
from .geometry import text_px

LEGEND_FONT = 12  # px, the entries' text
ROW_PX = 18  # px between the rows' centres
FIRST_ROW_PX = 50  # px from the plot's bottom edge to the first row's centre: under the x axis' ticks and title
SWATCH_PX = 28  # px a swatch takes ("━━", "━●━", "■"), its gap to the text included
ENTRY_GAP_PX = 18  # px between one entry's text and the next entry's swatch
#: the widest row: a "100%" figure is as narrow as its notebook column allows (a 600-px window), so a row
#: never counts on more than this even where the figure's layout promises more
MAX_ROW_PX = 460
TEXT_COLOR = "#222222"


def show_in_legend(fig: bq.Figure, *marks) -> None:
    """Name ``marks`` (their ``labels``) in the figure's legend row; bqplot's own legend, drawn inside the plot
    area, stays off."""
    registered = list(getattr(fig, "_legend_marks", []))
    for mark in marks:
        mark.display_legend = False
        if mark not in registered:
            registered.append(mark)
    fig._legend_marks = registered


def legend_marks(fig: bq.Figure) -> list:
    """The marks the figure's legend names (in order)."""
    return [m for m in getattr(fig, "_legend_marks", []) if m in fig.marks]


def _glyph(mark) -> str:
    if isinstance(mark, bq.Bars):
        return "■"
    if isinstance(mark, bq.Scatter):
        return {"square": "■", "triangle-up": "▲", "diamond": "◆"}.get(mark.marker, "●")
    line = "━ ━" if mark.line_style == "dashed" else "┅┅" if mark.line_style == "dotted" else "━━"
    return {"circle": "━●━", "square": "━■━"}.get(mark.marker, line) if mark.marker else line


def legend_entries(fig: bq.Figure) -> list[tuple[str, str, str]]:
    """(label, colour, swatch glyph) for each visible series the legend names."""
    entries = []
    for mark in legend_marks(fig):
        if not mark.visible:
            continue
        colors = list(mark.colors or ["#000000"])
        for i, text in enumerate(mark.labels or []):
            if text:
                entries.append((str(text), colors[i % len(colors)], _glyph(mark)))
    return entries


def layout_entries(entries, width: float) -> list[tuple[float, int]]:
    """Each entry's left edge (px from the plot's left) and row: left to right, a new row when one would run
    past ``width``."""
    out, x, row = [], 0.0, 0
    for text, _, _ in entries:
        w = SWATCH_PX + text_px(text)
        if x > 0 and x + w > width:
            x, row = 0.0, row + 1
        out.append((x, row))
        x += w + ENTRY_GAP_PX
    return out


def legend_rows(fig: bq.Figure) -> int:
    """How many rows the legend takes (0: no legend)."""
    entries = legend_entries(fig)
    return max((row for _, row in layout_entries(entries, _row_width(fig))), default=-1) + 1


def _row_width(fig: bq.Figure) -> float:
    return min(plot_size(fig)[0], MAX_ROW_PX)


def _base_bottom(fig: bq.Figure) -> int:
    """The bottom margin the figure has without its legend (a heat map keeps its colour key's band)."""
    keyed = any(isinstance(a, bq.ColorAxis) for a in fig.axes)
    return FIG_MARGIN["bottom"] + (KEY_BAND if keyed else 0)


def legend_boxes(fig: bq.Figure) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each entry's box (left, top, right, bottom), px from the plot area's top-left corner, y down: what the
    tests compare with the plot area, where every data mark is drawn."""
    entries = legend_entries(fig)
    _, plot_h = plot_size(fig)
    boxes = []
    for (text, _, _), (x, row) in zip(entries, layout_entries(entries, _row_width(fig))):
        mid = plot_h + FIRST_ROW_PX + row * ROW_PX
        boxes.append((text, (x, mid - ROW_PX / 2, x + SWATCH_PX + text_px(text), mid + ROW_PX / 2)))
    return boxes


def _label(scales) -> bq.Label:
    return bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=LEGEND_FONT, align="start",
                    colors=[TEXT_COLOR], font_weight="normal", apply_clip=False, enable_hover=False)


def draw_legend(fig: bq.Figure) -> None:
    """Write the legend row under the x axis for the series shown now (nothing when the figure names none)."""
    if not getattr(fig, "_legend_marks", None):
        return
    entries = legend_entries(fig)
    placed = layout_entries(entries, _row_width(fig))
    rows = max((row for _, row in placed), default=-1) + 1
    pool = getattr(fig, "_legend_labels", None)
    if pool is None:
        # its own scales: x 0 … 1 across the plot, y 0 at the plot's bottom edge; px offsets place the entries
        scales = {"x": bq.LinearScale(min=0.0, max=1.0, allow_padding=False),
                  "y": bq.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        pool = fig._legend_labels = []
        pool_scales = fig._legend_scales = scales
    else:
        pool_scales = fig._legend_scales
    while len(pool) < 2 * len(entries):
        pool.append(_label(pool_scales))
    if any(m not in fig.marks for m in pool):
        fig.marks = [m for m in fig.marks if m not in pool] + pool
    bottom = _base_bottom(fig) + (rows * ROW_PX + FIRST_ROW_PX - FIG_MARGIN["bottom"] + 4 if rows else 0)
    if fig.fig_margin.get("bottom") != bottom:
        fig.fig_margin = {**fig.fig_margin, "bottom": bottom}
    for k, mark in enumerate(pool):
        entry = k // 2
        with mark.hold_sync():
            if entry >= len(entries):
                mark.visible = False
                continue
            text, color, glyph = entries[entry]
            x, row = placed[entry]
            swatch = k % 2 == 0
            mark.text = [glyph if swatch else text]
            mark.colors = [color if swatch else TEXT_COLOR]
            mark.default_size = LEGEND_FONT + (2 if swatch and glyph in ("■", "●", "▲", "◆") else 0)
            mark.x_offset = round(x if swatch else x + SWATCH_PX)
            mark.y_offset = round(FIRST_ROW_PX + row * ROW_PX)
            mark.visible = True
