"""Tick labels tell the truth (issue 24, items 1 and 5): every tick an axis draws is labelled with its own value
to the digits shown, and log axes write their decades out (0.01, 1, 100), not 1e-2, 1e+0.

Headless: the labels are made from the axis' tick_values and tick_format the way bqplot 0.6 makes them
(a d3 format; bqplot's own guess is made once and goes stale, so every axis with ticks must set one)."""
import math
import re

import bqplot as bq
import pytest

import rnn_widgets
from rnn_widgets.widgets.charts import js_decade, linear_format
from rnn_widgets.widgets.numbers import fmt
from rnn_widgets.widgets.numbers import value_of as number_value
from rnn_widgets.widgets.walk import control_values


def d3_format(spec: str, x: float) -> str:
    """The few d3-format specifiers the widgets use, as d3 writes them ("~" trims zeros; "," groups)."""
    m = re.fullmatch(r"(,)?(?:\.(\d+))?(~)?([fegd])?", spec)
    assert m, f"unmodelled d3 format {spec!r}"
    comma, prec, trim, kind = m.groups()
    kind = kind or "g"
    if kind == "d":
        return f"{round(x):{',' if comma else ''}d}"
    p = 6 if prec is None else int(prec)
    if kind == "g":
        p = max(p, 1)
        exp = math.floor(math.log10(abs(x))) if x else 0
        if exp < -6 or exp >= p:  # Number.toPrecision
            text = f"{x:.{p - 1}e}"
        else:
            text = f"{x:{',' if comma else ''}.{max(p - 1 - exp, 0)}f}"
    else:
        text = f"{x:{',' if comma else ''}.{p}{kind}}"
    if "e" in text:
        mant, e = text.split("e")
        text = mant + "e" + ("-" if e[0] == "-" else "+") + str(int(e[1:]))
    if trim and "." in text:
        mant, _, e = text.partition("e")
        mant = mant.rstrip("0").rstrip(".")
        text = mant + ("e" + e if e else "")
    return text


def labels(axis: bq.Axis) -> list[tuple[float, str]]:
    """What bqplot writes at each tick. With no tick_format bqplot guesses a precision once, from the ticks it
    has when the formatter is made, and keeps it when tick_values change (WeightSharing: "0" and "1" at first,
    then 0, 0.5, 1, 1.5 labelled 0, 0.5, 1, 2 — Axis.tickformat_changed runs on tick_format only): an axis
    with tick_values must carry its own format."""
    assert axis.tick_format, f"axis {axis.label!r} has tick_values {list(axis.tick_values)} but no tick_format"
    given = axis.tick_labels or {}  # bqplot: tick_labels[String(value)], else the format
    return [(float(t), given.get(js_key(float(t))) or d3_format(axis.tick_format, float(t)))
            for t in axis.tick_values]


def js_key(t: float) -> str | None:
    """String(t) in JavaScript for a power of ten (the only ticks given labels), else None."""
    e = round(math.log10(t)) if t > 0 else None
    return js_decade(e) if e is not None and t == float(f"1e{e}") else None


def value_of(text: str) -> float:
    """A label's number: 1,000 → 1000, 10⁻² → 0.01, 10³ → 1000, 2.5 × 10⁶ → 2500000."""
    return number_value(text)


def check(widget, state: str) -> None:
    for name, fig in widget.figures.items():
        for axis in fig.axes:
            if isinstance(axis, bq.ColorAxis) or isinstance(axis.scale, bq.OrdinalScale) or not axis.visible:
                continue
            if (axis.label or "").startswith(("character read", "token read")):
                # the steps of a text labelled with its characters (issue 24, item 4): one for every tick
                assert all(str(round(t)) in (axis.tick_labels or {}) for t in axis.tick_values), axis.label
                continue
            # with no tick_values bqplot picks ticks for the domain and guesses their precision once, from the
            # first domain: at GradientFlow's L = 2 the ticks 0, 0.2, … read 0, 0, 0, 1, 1 …
            assert axis.tick_values is not None and len(axis.tick_values), \
                f"{type(widget).__name__} {state}, figure {name!r}: axis {axis.label!r} leaves its ticks to bqplot"
            pairs = labels(axis)
            top = max(abs(t) for t, _ in pairs) or 1.0
            log = isinstance(axis.scale, bq.LogScale)
            for value, text in pairs:
                shown = value_of(text)
                assert abs(shown - value) <= 1e-9 * (value if log else top), \
                    f"{type(widget).__name__} {state}, figure {name!r}, axis {axis.label!r}: tick {value} labelled {text!r}"
                if log:
                    assert "e" not in text and "." not in text, f"{type(widget).__name__} {state}, {name!r}: log tick {value} as {text!r}"


def test_the_reported_lie_weight_sharing_norm_bars():
    w = rnn_widgets.WeightSharingWidget(seq_len=30, weight_scale=0.1, entry="norm")
    check(w, "L=30, scale 0.1, norm")


def test_formats_label_each_tick_with_its_value():
    assert [d3_format(linear_format([0, .5, 1, 1.5]), t) for t in (0, .5, 1, 1.5)] == ["0.0", "0.5", "1.0", "1.5"]
    assert [d3_format(linear_format([0, 2000, 4000]), t) for t in (0, 2000, 4000)] == ["0", "2,000", "4,000"]
    assert [js_decade(e) for e in (-2, 0, -6, -7, 21, 20)] == \
        ["0.01", "1", "0.000001", "1e-7", "1e+21", "100000000000000000000"]  # String(10 ** e) in JavaScript


def test_log_axes_write_powers_of_ten():
    w = rnn_widgets.LSTMGatesWidget()
    axis = next(a for f in w.figures.values() for a in f.axes if isinstance(a.scale, bq.LogScale))
    shown = [text for _, text in labels(axis)]
    assert "1" in shown and all(t == "1" or t == "10" or t.startswith("10") for t in shown), shown
    assert any("⁻" in t for t in shown), shown


def test_percentages_are_written_out():
    assert fmt(100, 2) == "100" and fmt(99.97, 2) == "100" and fmt(1234.5) == "1234" and fmt(45.6, 2) == "46"


@pytest.mark.parametrize("name", list(rnn_widgets.WIDGETS))
def test_every_tick_label_equals_its_value(name):
    w = getattr(rnn_widgets, name)()
    check(w, "defaults")
    for trait, control in w.controls.items():
        if getattr(control, "disabled", False):
            continue
        start, values = control.value, control_values(control)
        for value in (values[0], values[-1]) if values else ():
            control.value = value
            check(w, f"{trait}={value!r}")
        control.value = start
