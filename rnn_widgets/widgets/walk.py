"""Walking a widget's controls: the values to move each control through, and its marks' data (tests, benchmarks)."""
from __future__ import annotations

import ipywidgets as W
import numpy as np


def control_values(control: W.Widget, n_between: int = 3) -> list:
    """Min, max and a few values between for a slider; every option for a selection; both for a checkbox."""
    if isinstance(control, (W.IntSlider, W.FloatSlider, W.FloatLogSlider, W.BoundedIntText, W.BoundedFloatText)):
        lo, hi = control.min, control.max
        if isinstance(control, W.FloatLogSlider):
            lo, hi = control.base ** control.min, control.base ** control.max
            between = list(np.geomspace(lo, hi, n_between + 2)[1:-1])
        else:
            between = list(np.linspace(lo, hi, n_between + 2)[1:-1])
        if isinstance(control, (W.IntSlider, W.BoundedIntText)):
            between = [int(round(v)) for v in between]
        return [lo, hi, *between, lo]
    if isinstance(control, (W.Dropdown, W.ToggleButtons, W.RadioButtons, W.SelectionSlider)):
        return [value for _, value in control._options_full] if hasattr(control, "_options_full") else \
            list(control.options)
    if isinstance(control, (W.Checkbox, W.ToggleButton)):
        return [not control.value, control.value]
    return []


def mark_arrays(widget):
    """Every numeric data array of every mark of every figure of the widget: (figure, mark, attr, array)."""
    for name, fig in widget.figures.items():
        for mark in fig.marks:
            for attr in ("x", "y", "color", "size", "opacity"):
                value = getattr(mark, attr, None)
                if value is None:
                    continue
                arr = np.asarray(value)
                if arr.dtype.kind in "fiu" and arr.size:
                    yield name, type(mark).__name__, attr, arr


def assert_marks_finite(widget, context: str = "") -> None:
    for name, mark, attr, arr in mark_arrays(widget):
        assert np.isfinite(arr.astype(float)).all(), f"{context}: {name}/{mark}.{attr} has NaN or inf"
