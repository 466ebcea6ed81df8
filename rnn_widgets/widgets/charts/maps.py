"""Filling a heat map: cells centred on their rows and steps, ticks that fit, the characters a text's steps read
under their columns (every one, or a window of them that follows the chosen step), and the cursor on that step."""
from __future__ import annotations

import math

import bqplot as bq
import numpy as np

from .axes import integer_ticks, set_ticks
from .figure import _axis, plot_size


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


#: px a column needs for its character (a 12-px glyph, ␣ and ⏎ the widest, and a gap): narrower columns show a
#: window of the text, every character of it, rather than every 2nd or 5th character of all of it
CHAR_SLOT_PX = 13


def _slot(labels: list[str]) -> float:
    widest = max((len(t) for t in labels), default=1)
    return max(CHAR_SLOT_PX, 7 * widest + 6)


def fill_grid(fig: bq.Figure, grid: bq.GridHeatMap, data, rows=None, columns=None,
              characters=None, what: str = "character", step: int = 0) -> None:
    """Draw ``data`` (rows × columns) with cell (r, l) centred on ``rows[r]``, ``columns[l]`` (default 0, 1, …),
    one tick per row and step (thinned when crowded), and, when the steps read ``characters`` (a string, or
    a list of tokens: ``what`` names them), those along the x axis instead of step numbers: every one of them,
    or where the figure is too narrow for all, every one of a window around ``step`` (:func:`show_step`
    scrolls it; issue 24, item 4: a map that labelled one character in two could not be read)."""
    data = np.asarray(data)
    rows = np.arange(data.shape[0]) if rows is None else np.asarray(rows, dtype=float)
    columns = np.arange(data.shape[1]) if columns is None else np.asarray(columns, dtype=float)
    plot_w, plot_h = plot_size(fig)
    row_axis = _axis(fig, grid.scales["row"])
    step_axis = _axis(fig, grid.scales["column"])
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
    if not hasattr(fig, "_step_label"):
        fig._step_label = step_axis.label
    if characters:
        fig._column_texts = ([token_label(t) for t in characters], columns, what)
        show_step(fig, step)
        return
    fig._column_texts = None
    column_scale = grid.scales["column"]
    if isinstance(column_scale, bq.LinearScale) and column_scale.min is not None:
        with column_scale.hold_sync():
            column_scale.min, column_scale.max = None, None
    digits = len(str(int(abs(columns).max()))) if columns.size else 1
    with step_axis.hold_sync():
        step_axis.label = fig._step_label
        step_axis.tick_labels = None
        set_ticks(step_axis, _linear_ticks(columns, int(plot_w // (7 * digits + 26))))


def character_window(n: int, step: int, room: int) -> tuple[int, int]:
    """The steps [start, stop) shown of ``n``: all when ``room`` holds them, else ``room`` of them around ``step``."""
    if n <= room:
        return 0, n
    start = min(max(step - room // 2, 0), n - room)
    return start, start + room


def show_step(fig: bq.Figure, step: int) -> None:
    """On a map whose steps read a text, show the characters around ``step`` (all of them where they fit), each
    under its column; nothing on a map of numbered steps."""
    texts = getattr(fig, "_column_texts", None)
    if not texts:
        return
    labels, columns, what = texts
    grid = fig.marks[0]
    axis = _axis(fig, grid.scales["column"])
    room = max(1, int(plot_size(fig)[0] // _slot(labels)))
    start, stop = character_window(len(labels), int(step), room)
    shown = [float(c) for c in columns[start:stop]]
    scale = grid.scales["column"]
    with scale.hold_sync():
        scale.min, scale.max = shown[0] - 0.5, shown[-1] + 0.5
    window = "" if (start, stop) == (0, len(labels)) else \
        f", steps {start}–{stop - 1} of 0–{len(labels) - 1} (Step l moves the window)"
    with axis.hold_sync():
        axis.tick_values = shown
        axis.tick_format = ".0f"
        # bqplot looks a tick's label up under String(value): a whole step is written as Python writes an int
        axis.tick_labels = {str(round(c)): labels[start + k] for k, c in enumerate(shown)}
        axis.label = f"{what} read at step l{window}"


def place_cursor(cursor: bq.Lines, step: int, n_rows: int, first_row: float = 0.0) -> None:
    """Put the cursor on column ``step``, across rows first_row … first_row + n_rows − 1."""
    with cursor.hold_sync():
        cursor.x = [step, step]
        cursor.y = [first_row - 0.5, first_row + n_rows - 0.5]


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def cell_luminance(scale: bq.ColorScale, value: float) -> float:
    """The luminance of the cell ``scale`` paints for ``value``: its colour stops spread evenly over min…max (the
    middle stop at ``mid`` where there is one), mixed linearly in RGB between them, as bqplot (d3) does."""
    stops, lo, hi = list(scale.colors), float(scale.min), float(scale.max)
    if scale.mid is not None and len(stops) == 3:
        domain = [lo, float(scale.mid), hi]
    else:
        domain = list(np.linspace(lo, hi, len(stops)))
    v = min(max(float(value), domain[0]), domain[-1])
    k = max(0, min(len(stops) - 2, int(np.searchsorted(domain, v, side="right")) - 1))
    t = 0.0 if domain[k + 1] == domain[k] else (v - domain[k]) / (domain[k + 1] - domain[k])
    a, b = ([int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in (stops[k], stops[k + 1]))
    mixed = "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))
    return _luminance(mixed)


def cursor_colour(scale: bq.ColorScale, column) -> str:
    """Black or white, whichever stands out more against the cells the cursor runs over (their median luminance):
    a black marker on a dark-blue gate map measured 1.7:1, and a line needs 3:1 (WCAG 1.4.11); no one colour
    reaches that against both ends of the maps' scales."""
    lum = float(np.median([cell_luminance(scale, v) for v in np.ravel(column)]))
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"
