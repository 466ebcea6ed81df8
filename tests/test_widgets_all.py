"""Every exported widget: built with no arguments, every control moved over its range, marks stay finite."""
import ipywidgets as W
import pytest

import rnn_widgets
from rnn_widgets.widgets.walk import assert_marks_finite, control_values

WIDGET_NAMES = list(rnn_widgets.WIDGETS)


@pytest.fixture(scope="module", params=WIDGET_NAMES)
def widget(request):
    return getattr(rnn_widgets, request.param)()


def test_builds_with_no_arguments_and_says_what_it_teaches(widget):
    assert isinstance(widget, W.Box)
    assert widget.TITLE and widget.SECTION.startswith(("§", "Remark"))
    assert widget.error.value == ""
    assert widget.figures and set(widget.figures) == set(widget.summaries)
    for name, summary in widget.summaries.items():
        assert summary.value, f"figure {name} has no summary in words"
    assert_marks_finite(widget, "defaults")


def test_every_control_over_its_full_range(widget):
    for trait, control in widget.controls.items():
        if getattr(control, "disabled", False):
            continue
        start = control.value
        for value in control_values(control):
            control.value = value
            assert getattr(widget, trait) == pytest.approx(value) if isinstance(value, float) else \
                getattr(widget, trait) == value
            assert widget.error.value == "", f"{trait}={value!r}: {widget.error.value}"
            assert_marks_finite(widget, f"{trait}={value!r}")
        control.value = start


def test_traits_settable_in_the_constructor_and_validated():
    for name in WIDGET_NAMES:
        cls = getattr(rnn_widgets, name)
        w = cls(device="cpu")
        assert w.device == "cpu"
        with pytest.raises(Exception) as err:
            cls(device="tpu")
        assert "device must be one of" in str(err.value)


def test_unknown_widget_name_is_a_clear_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchWidget"):
        _ = rnn_widgets.NoSuchWidget
