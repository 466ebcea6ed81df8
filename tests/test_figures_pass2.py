"""Figures, pass 2 (issue 24): legends off the data (item 2), numbers as a lecture writes them (item 5), the text
that LSTMGates' maps read shown whole (item 4), and the small things a student notices (item 6).

Headless: where a legend entry lies is computed from the figure's layout and margins (charts.legend), and every
data mark is drawn inside the plot area (bqplot clips marks to it), so an entry outside the plot area lies on no
data mark."""
import html
import re

import bqplot as bq
import numpy as np
import pytest

import rnn_widgets
from rnn_widgets.widgets.charts.axes import set_ticks
from rnn_widgets.widgets.charts.figure import plot_size
from rnn_widgets.widgets.charts.legend import legend_boxes, legend_entries
from rnn_widgets.widgets.numbers import fmt, power_of_ten, value_of
from rnn_widgets.widgets.walk import control_values

#: a number in a programmer's notation: 1.64e-06, 6.08e+05, 1e30
PROGRAMMER = re.compile(r"\d[eE][-+]?\d")


def states(widget):
    """The widget in its default state, then at each end of each control's range (yields a name for each)."""
    yield "defaults"
    for trait, control in widget.controls.items():
        if getattr(control, "disabled", False):
            continue
        start, values = control.value, control_values(control)
        for value in (values[0], values[-1]) if values else ():
            control.value = value
            yield f"{trait}={value!r}"
        control.value = start


def check_legends(widget, state: str) -> int:
    """No legend inside a plot area; every legend entry outside it, inside the figure, clear of the others."""
    entries = 0
    for name, fig in widget.figures.items():
        where = f"{type(widget).__name__} {state}, figure {name!r}"
        drawn_by_bqplot = [m for m in fig.marks if getattr(m, "display_legend", False) and m.visible]
        assert not drawn_by_bqplot, f"{where}: bqplot's legend, drawn inside the plot area (on the data)"
        plot_w, plot_h = plot_size(fig)
        boxes = legend_boxes(fig)
        for k, (text, (left, top, right, bottom)) in enumerate(boxes):
            assert top >= plot_h + 30, f"{where}: legend entry {text!r} reaches into the plot area or its axis"
            assert bottom <= plot_h + fig.fig_margin["bottom"], f"{where}: legend entry {text!r} cut off"
            assert left >= 0 and right <= max(plot_w, 460), f"{where}: legend entry {text!r} past the edge"
            for other, (l2, t2, r2, b2) in boxes[:k]:
                assert min(right, r2) <= max(left, l2) or min(bottom, b2) <= max(top, t2), \
                    f"{where}: legend entries {text!r} and {other!r} overlap"
        entries += len(boxes)
    return entries


@pytest.mark.parametrize("name", list(rnn_widgets.WIDGETS))
def test_no_legend_lies_on_the_data(name):
    w = getattr(rnn_widgets, name)()
    for state in states(w):
        check_legends(w, state)
    w.close()


@pytest.mark.parametrize("make, figure, labels", [
    (lambda: rnn_widgets.LSTMGatesWidget(), "gradients", ["LSTM ‖dℓ/dc⁽ᵏ⁾‖"]),
    (lambda: rnn_widgets.TextMemoryWidget(), "distance", ["RNN", "LSTM", "GRU"]),
    (lambda: rnn_widgets.GradientFlowWidget(), "lines", ["plain RNN", "LSTM", "fitted C·ρᴸ⁻ᵏ"]),
])
def test_the_reported_legends_sit_under_their_plots(make, figure, labels):
    """The three named in the issue: LSTMGates' skip-path chart (the LSTM line ran along the legend box),
    TextMemory's distance plot (the legend over the three lines near d = 0), GradientFlow (the legend took
    ~40% of the plot)."""
    w = make()
    fig = w.figures[figure]
    shown = [text for text, _, _ in legend_entries(fig)]
    assert all(any(text.startswith(label) for text in shown) for label in labels), shown
    _, plot_h = plot_size(fig)
    assert all(top > plot_h for _, (_, top, _, _) in legend_boxes(fig))
    # the plot is the data's: no band of a third of its height kept for a legend above the lines (TextMemory
    # keeps 26 px, a sixth, for the labels of its rule at d = 100; bqplot kept 28–39%)
    scale = fig.marks[0].scales["y"]
    top = max(float(t) for t in fig.axes[1].tick_values)
    span = (np.log10, np.log10) if isinstance(scale, bq.LogScale) else (float, float)
    above = (span[0](float(scale.max)) - span[0](top)) / (span[0](float(scale.max)) - span[1](float(scale.min)))
    assert above <= 0.25, f"{figure}: {above:.0%} of the plot's height above the data"
    w.close()


# ---------------------------------------------------------------------- item 5: numbers
def test_numbers_are_written_as_a_lecture_writes_them():
    assert fmt(1.64e-06) == "1.64 × 10⁻⁶" and fmt(6.08e5) == "6.08 × 10⁵" and fmt(4.5e-19) == "4.50 × 10⁻¹⁹"
    assert fmt(-2.5e-9, 2) == "-2.5 × 10⁻⁹" and fmt(99999.9) == "1.00 × 10⁵"
    assert fmt(100, 2) == "100" and fmt(0.00178) == "0.00178" and fmt(1234.5) == "1234"
    assert [power_of_ten(e) for e in (-2, 0, 1, 2, 30)] == ["10⁻²", "1", "10", "10²", "10³⁰"]
    for x in (1.64e-6, 6.08e5, 1e30, 0.5, 1234.0, 3.2e-24):
        assert value_of(fmt(x)) == pytest.approx(x, rel=5e-3)


def test_linear_ticks_past_a_million_are_written_with_a_power_of_ten():
    axis = bq.Axis(scale=bq.LinearScale())
    set_ticks(axis, [0.0, 2e6, 4e6])
    assert axis.tick_labels == {"0": "0", "2000000": "2 × 10⁶", "4000000": "4 × 10⁶"}
    set_ticks(axis, [0.0, 0.5, 1.0])
    assert not axis.tick_labels and axis.tick_format == ".1f"


def test_the_overflow_sentence_says_ten_to_the_thirty():
    import numpy as np

    from rnn_widgets.widgets.gradient_flow import describe_extremes
    said = describe_extremes(np.array([np.inf, 1e31, 1.0]))
    assert "past 10³⁰" in said and "drawn at 10³⁰" in said and not PROGRAMMER.search(said)
    assert "below 10⁻³⁰" in describe_extremes(np.array([1e-40, 1.0]))


def texts(widget) -> list[tuple[str, str]]:
    """Everything a student reads in the widget's figures and sentences: summaries, equation, titles, labels."""
    out = [(f"summary {k}", html.unescape(v.value)) for k, v in widget.summaries.items()]
    if hasattr(widget, "equation"):
        out.append(("equation", html.unescape(widget.equation.value)))
    for name, fig in widget.figures.items():
        out.append((f"title {name}", fig.title or ""))
        out += [(f"axis {name}", a.label or "") for a in fig.axes]
        out += [(f"label {name}", str(t)) for m in fig.marks if isinstance(m, bq.Label) for t in list(m.text if m.text is not None else [])]
    return out


@pytest.mark.parametrize("name", list(rnn_widgets.WIDGETS))
def test_no_programmer_notation_anywhere_a_student_reads(name):
    w = getattr(rnn_widgets, name)()
    for state in states(w):
        for where, text in texts(w):
            assert not PROGRAMMER.search(text), f"{name} {state}, {where}: {text!r}"
    w.close()


@pytest.mark.parametrize("make, key, words", [
    (lambda: rnn_widgets.GradientFlowWidget(), "clipping", "‖dℓ/da⁽⁰⁾‖ = 1.64 × 10⁻⁶"),
    (lambda: rnn_widgets.GradientFlowWidget(scale=2.0, nonlinearity="relu"), "lines",
     "it grows by a factor 4.78 × 10⁹ over the 50 steps"),
    (lambda: rnn_widgets.GradientFlowWidget(scale=2.0, nonlinearity="sigmoid"), "lines",
     "it shrinks by a factor 2.22 × 10¹⁸ over the 50 steps"),
])
def test_the_reported_summaries(make, key, words):
    w = make()
    assert words in html.unescape(w.summaries[key].value)
    w.close()


# ---------------------------------------------------------------------- item 4: every character the gates read
def characters_shown(fig) -> list[str]:
    axis = fig.axes[1]
    assert axis.label.startswith("character read at step l"), axis.label
    return [axis.tick_labels[str(round(t))] for t in axis.tick_values]


def test_lstm_gates_on_a_text_labels_every_character():
    text = "To be, or not to be, that is the question:"
    w = rnn_widgets.LSTMGatesWidget(source="text", text=text)
    for k in range(6 if w.cell == "lstm" else 0):
        fig = w.maps[k][0]
        shown = characters_shown(fig)
        assert "".join(shown) == text.replace(" ", "␣"), shown  # every one, in order: not one in two
        assert fig.marks[0].scales["column"].min == -0.5 and fig.marks[0].scales["column"].max == len(text) - 0.5
    w.close()


def test_a_long_text_shows_a_readable_window_that_follows_the_step():
    text = ("It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
            "foolishness, it was the epoch of belief")
    w = rnn_widgets.LSTMGatesWidget(source="text", text=text)
    fig = w.maps[0][0]
    for step in (0, 70, len(text) - 1):
        w.step = step
        ticks = [round(t) for t in fig.axes[1].tick_values]
        shown = characters_shown(fig)
        assert ticks == list(range(ticks[0], ticks[-1] + 1)) and step in ticks  # consecutive, around the step
        assert "".join(shown) == text[ticks[0]:ticks[-1] + 1].replace(" ", "␣")
        scale = fig.marks[0].scales["column"]
        assert scale.min == ticks[0] - 0.5 and scale.max == ticks[-1] + 0.5  # the map shows those steps only
        assert plot_size(fig)[0] / len(ticks) >= 13, "characters closer than 13 px overlap"
        assert f"steps {ticks[0]}–{ticks[-1]} of 0–{len(text) - 1}" in fig.axes[1].label
    w.close()


# ---------------------------------------------------------------------- item 6: what a student notices
def px(style: dict) -> float:
    return float(str(style.get("font-size", "0")).removesuffix("px"))


def luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_generation_writes_its_characters_large_enough():
    w = rnn_widgets.GenerationWidget()
    assert px(w.bar_fig.axes[0].tick_style) >= 13  # ␣ and ⏎ are small glyphs: ~9 px tall at an 11-px font
    w.close()


def test_generation_entropy_chart_says_what_will_appear_before_the_first_character():
    w = rnn_widgets.GenerationWidget()
    assert "empty until you press Step or Generate N" in w.entropy_fig.title and not w.entropy_line.visible
    assert len(w.entropy_fig.axes[0].tick_values) > 1  # the axis it will have, not a lone "1"
    w.generate(5)
    assert w.entropy_fig.title == "Entropy of each step's distribution" and w.entropy_line.visible
    assert list(w.entropy_line.x) == [1, 2, 3, 4, 5]
    w.close()


def test_weight_sharing_says_why_a_contribution_map_is_blank():
    w = rnn_widgets.WeightSharingWidget(seq_len=30, weight_scale=0.1, step=1)
    said = html.unescape(w.summaries["step"].value)
    assert w.step_fig.title.endswith("too small to colour") and "The map is blank, not broken" in said
    assert "× 10⁻³¹" in said  # its largest entry, against the key's end
    w.step = 30
    assert w.step_fig.title == "contribution of step 30" and "blank" not in w.summaries["step"].value
    w.close()


@pytest.mark.parametrize("name", list(rnn_widgets.WIDGETS))
def test_heat_map_ticks_are_legible(name):
    """11 px or more and dark on the figure's white (Unrolling's were 10 px and grey)."""
    w = getattr(rnn_widgets, name)()
    for fig_name, fig in w.figures.items():
        if not any(isinstance(m, bq.GridHeatMap) for m in fig.marks):
            continue
        for axis in fig.axes:
            if isinstance(axis, bq.ColorAxis) or not axis.visible or not axis.tick_style:
                continue
            assert px(axis.tick_style) >= 11, f"{name} {fig_name}: {axis.label!r} ticks {axis.tick_style}"
            fill = axis.tick_style.get("fill", "#000000")
            assert 1.05 / (luminance(fill) + 0.05) >= 7, f"{name} {fig_name}: {axis.label!r} ticks in {fill}"
    w.close()


def test_unrolling_first_bar_clears_the_top_ticks_label():
    w = rnn_widgets.UnrollingWidget()
    plot_w, _ = plot_size(w.reach_fig)
    slot = plot_w / len(w.reach_bars.x)
    assert w.reach_bars.padding / 2 * slot >= 6  # d3's band scale: the gap before the first bar, px
    assert max(w.reach_bars.y) == pytest.approx(1.0)  # the bar that reached the "1.0" label
    w.close()


EXTREME_GATES = {"source": "text", "text": "Now is the winter of our discontent, made glorious", "step": 40,
                 "forget_bias": 6.0, "input_bias": -6.0, "output_bias": 6.0}


@pytest.mark.parametrize("settings", [{}, EXTREME_GATES])
def test_the_gate_maps_step_marker_stands_out_from_the_cells_it_crosses(settings):
    """A line needs 3:1 against what is behind it (WCAG 1.4.11): the marker is black on light cells, white on dark
    ones (a black marker on the saturated gates of the extreme state measured 1.7:1 in the legibility audit)."""
    import numpy as np

    from rnn_widgets.widgets.charts.maps import cell_luminance

    w = rnn_widgets.LSTMGatesWidget(**settings)
    try:
        colours = []
        for fig, grid, cursor in w.maps:
            if fig.layout.display == "none":
                continue
            column = np.asarray(grid.color)[:, int(cursor.x[0])]
            lum = float(np.median([cell_luminance(grid.scales["color"], v) for v in column]))
            mark = 0.0 if cursor.colors[0] == "#000000" else 1.0
            ratio = (max(lum, mark) + 0.05) / (min(lum, mark) + 0.05)
            assert ratio >= 3, (fig.title, cursor.colors, ratio)
            colours.append(cursor.colors[0])
        assert colours and (settings == {} or "#ffffff" in colours)
    finally:
        w.close()
