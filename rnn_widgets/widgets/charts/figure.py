"""A figure's frame, shared by every chart and diagram: its margins and widths, how one is made, how wide its
plot area is, and the lecture's superscripts for labels."""
from __future__ import annotations

import bqplot as bq

#: left 66 px: tick labels up to six characters ("10⁻¹⁰", "8,000") plus the rotated axis title
FIG_MARGIN = {"top": 36, "bottom": 46, "left": 66, "right": 16}
Y_LABEL_OFFSET = "50px"  # the y-axis title sits left of the tick labels, not on them
#: px under a heat map for its colour key: bqplot puts the 20-px bar (with its ticks) in the bottom margin
KEY_BAND = 48
FULL_WIDTH, HALF_WIDTH = 880, 440
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
