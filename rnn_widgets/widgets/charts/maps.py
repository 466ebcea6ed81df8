"""Filling a heat map: cells centred on their rows and steps, ticks that fit, the characters a text's steps read
along the x axis, and the cursor on the chosen step."""
from __future__ import annotations

import math

import bqplot as bq
import numpy as np

from .axes import integer_ticks, ordinal_ticks, set_ticks
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
