"""Hostile input (issue 28): lone surrogates in any text of the tree a student can reach, a Step that generates with
another model than the toggle says, a closed widget that fails deep inside, export settings that change nothing;
and a fuzz test sending every trait of every widget values no knob should take."""
import json
import math

import ipywidgets as W
import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from jupyter_client.jsonutil import json_default

import rnn_widgets
from rnn_widgets import cli
from rnn_widgets.widgets.common import LessonWidget, widget_tree

NAMES = list(rnn_widgets.WIDGETS)


def wire(widget: W.Widget, trait: str | None = None) -> bytes:
    """The bytes an update of ``widget``'s state (all of it, or one trait) would put on the wire, as ipywidgets
    and jupyter_client make them: binary buffers apart, the rest JSON with no NaN, encoded as UTF-8 (strictly:
    jupyter_client's ``surrogateescape`` would send a lone low surrogate as a byte that is not UTF-8)."""
    state, _, buffers = _remove_buffers(widget.get_state(trait if trait in widget.keys else None))
    text = json.dumps(state, default=json_default, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"".join(bytes(b) for b in buffers)


def tree(w: W.Widget) -> list[W.Widget]:
    return widget_tree(w, *vars(w).values())


def assert_sendable(w: W.Widget) -> None:
    for widget in tree(w):
        try:
            wire(widget)
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            pytest.fail(f"{type(widget).__name__} could not be sent: {exc}")


@pytest.fixture(scope="module")
def widgets():
    made = {name: getattr(rnn_widgets, name)() for name in NAMES}
    yield made
    for w in made.values():
        w.close()


# ---------------------------------------------------------------------- 4: lone surrogates anywhere
BAD_TEXTS = ["ab\ud800", "\udc80", "ok\udfff\ud800"]


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_inherited_and_child_texts_refuse_lone_surrogates(widgets, bad):
    w = widgets["GenerationWidget"]
    places = [(w, "tooltip"), (w.controls["prompt"], "description"), (w.controls["prompt"], "placeholder"),
              (w.controls["temperature"], "tooltip"), (w.step_button, "tooltip"), (w.step_button, "description"),
              (w.figures["bars"], "title"), (w.figures["bars"].layout, "width"), (w.training.text_area, "placeholder"),
              (w.training.train_button, "tooltip")]
    for widget, trait in places:
        before = getattr(widget, trait)
        with pytest.raises(traitlets.TraitError, match="lone surrogate"):
            setattr(widget, trait, bad)
        assert getattr(widget, trait) == before, (type(widget).__name__, trait)
    layout, children = w.layout, w.children
    with pytest.raises(traitlets.TraitError, match="lone surrogate"):
        w.layout = {"width": bad}  # a new Layout made from a dict is checked before it joins
    with pytest.raises(traitlets.TraitError, match="lone surrogate"):
        w.children = [*children, W.HTML(bad)]
    assert w.layout is layout and w.children == children
    assert_sendable(w)


def test_the_training_text_from_the_browser_is_not_kept_and_the_panel_says_why(widgets):
    panel = widgets["GenerationWidget"].training
    before = panel.text_area.value
    panel.text_area.set_state({"value": before[:50] + "\ud800"})  # what a comm message does; must not raise
    assert panel.text_area.value == before
    assert "lone surrogate (U+D800) at position 50" in panel.message.value and "role='alert'" in panel.message.value
    wire(panel.text_area)


# ---------------------------------------------------------------------- 5: the toggle and the model agree
def test_step_never_generates_with_another_model_than_the_toggle_says():
    w = rnn_widgets.GenerationWidget()
    t = w.training
    try:
        t.steps.value = 20
        assert t.start(blocking=True)
        t.steps.value = 2000
        t.train_button.click()  # a second run: no model of "your text" until it ends
        w.controls["model_choice"].set_state({"index": 1})
        assert w.model_choice == "yours" and "wait for it to finish" in w.error_message
        shown = w.output.value
        for button in (w.step_button, w.run_button):
            button.click()
            assert "wait for it to finish" in w.error_message  # the banner stays: nothing was generated
            assert w.session.generated == [] and w.output.value == shown
        w.temperature = 1.5
        assert "wait for it to finish" in w.error_message
        t.stop()
        t.join(60)
        w.step_button.click()  # the run has ended: Step starts again from the prompt with the model of your text,
        assert "does not know these characters" in w.error_message  # which does not know Shakespeare's capitals
        assert w.session.generated == []
        w.prompt = "a recurrent"
        w.step_button.click()
        assert w.error_message == "" and w.session.model is t.model and len(w.session.generated) == 1
    finally:
        w.close()


def test_a_failed_training_run_is_not_generated_from():
    w = rnn_widgets.GenerationWidget()
    try:
        w.training.model, w.training.error = w.shakespeare, "RuntimeError: out of memory (simulated)"
        w.controls["model_choice"].disabled = False
        w.model_choice = "yours"
        assert "last training run failed (RuntimeError: out of memory (simulated))" in w.error_message
        w.step_button.click()
        assert "failed" in w.error_message and w.session.generated == []
    finally:
        w.close()


# ---------------------------------------------------------------------- 6: a closed widget says so
@pytest.mark.parametrize("name", NAMES)
def test_a_closed_widget_says_it_is_closed(name):
    w = getattr(rnn_widgets, name)()
    knob = next(iter(w.class_trait_names(config=True)))
    w.close()
    closed = f"^{name} is closed: cannot "
    for act in (lambda: setattr(w, "tooltip", "hi"), lambda: setattr(w, knob, getattr(w, knob)),
                lambda: w.set_trait(knob, getattr(w, knob)), lambda: w.show_error("x"), w.clear_error,
                w.prepare_static_frame):
        with pytest.raises(RuntimeError, match=closed):
            act()
    if name == "GenerationWidget":
        for act in (lambda: w.generate(1), w.reset, lambda: w.model):
            with pytest.raises(RuntimeError, match=closed):
                act()
    w.close()  # closing twice still does nothing
    assert w.closed and w.error_message == ""


# ---------------------------------------------------------------------- 7: export settings that change nothing
@pytest.mark.parametrize("args, message", [
    (["LSTMGatesWidget", "--set", "LSTMGatesWidget.text=To be"],
     "LSTMGatesWidget.text has no effect on this page: the widget does not read text with source=remember"),
    (["LSTMGatesWidget", "--set", "LSTMGatesWidget.text=To be"], "Add --set LSTMGatesWidget.source=text"),
    (["LSTMGatesWidget", "--set", "LSTMGatesWidget.source=text", "--set", "LSTMGatesWidget.length=50"],
     "Add --set LSTMGatesWidget.source=remember"),
    (["LSTMGatesWidget", "--set", "LSTMGatesWidget.cell=gru", "--set", "LSTMGatesWidget.output_bias=2"],
     "Add --set LSTMGatesWidget.cell=lstm"),
    (["UnrollingWidget", "--set", "UnrollingWidget.length=5"], "Add --set UnrollingWidget.token_unit=length"),
    (["TopologiesWidget", "--set", "TopologiesWidget.output_len=3"], "Add --set TopologiesWidget.topology=one-to-many"),
    (["GradientFlowWidget", "--set", "GradientFlowWidget.model=gru", "--set", "GradientFlowWidget.nonlinearity=relu"],
     "GradientFlowWidget.nonlinearity has no effect"),
    (["UnrollingWidget", "--set", "UnrollingWidget.step=50"], "the widget changes it to 6"),
    (["GradientFlowWidget", "--set", "GradientFlowWidget.model=lstm", "--knobs", "GradientFlowWidget=nonlinearity"],
     "the knob nonlinearity would change nothing on this page"),
])
def test_export_refuses_a_setting_the_page_would_ignore(tmp_path, capsys, args, message):
    assert cli.main(["export", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*Widget.html"))


def test_export_takes_the_same_setting_where_the_page_reads_it(tmp_path):
    assert cli.main(["export", "--out", str(tmp_path), "LSTMGatesWidget", "--set", "LSTMGatesWidget.source=text",
                     "--set", "LSTMGatesWidget.text=To be or not", "--knobs", "LSTMGatesWidget=forget_bias"]) == 0
    assert "To be or not" in (tmp_path / "LSTMGatesWidget.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- fuzz
class Opaque:
    """An object no trait should take."""


MEGABYTE = "x" * 2**20
CONTROL = "\x00\x07\x1b[31m\r\n\t\x7f\u2028"
STRINGS = [*BAD_TEXTS, CONTROL, MEGABYTE]
HOSTILE = [math.nan, math.inf, -math.inf, 1e308, -1e308, np.float64("nan"), 10**30, -(10**30), 2**64, None,
           *STRINGS, [1, "a"], ["\ud800"], {"a": 1}, {"\udc80": 1}, Opaque(), b"\xff\xfe"]


def public_traits(widget: W.Widget) -> dict[str, traitlets.TraitType]:
    """What a user may set: every public trait that is synced or a setting (not ipywidgets' comm machinery)."""
    return {n: t for n, t in widget.traits().items()
            if not n.startswith("_") and n not in ("comm", "keys", "log")
            and (t.metadata.get("sync") or t.metadata.get("config"))}


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return a is b or a == b


def send_hostile(widget: W.Widget, trait: str, bad, owner: LessonWidget, state: bytes) -> str:
    """Set ``widget.trait = bad``: "refused" (TraitError, nothing changed: ``state`` is the trait's state on the
    wire before), "banner" (the widget's message), or "accepted"; the trait's state stays sendable either way,
    and putting the old value back clears the banner."""
    before = getattr(widget, trait)
    try:
        setattr(widget, trait, bad)
    except traitlets.TraitError:
        assert same(getattr(widget, trait), before), f"{trait} changed though refused"
        assert wire(widget, trait) == state, f"the state changed though {trait} was refused"
        return "refused"
    wire(widget, trait)
    outcome = "banner" if owner.error_message else "accepted"
    after = getattr(widget, trait)
    setattr(widget, trait, before)
    if isinstance(after, W.Widget) and after is not before:
        after.close()  # a Layout made from a dict
    if outcome == "banner":
        owner._run(lambda: None)
    assert owner.error_message == "", f"{trait}: {owner.error_message}"
    return outcome


def fuzz(widget: W.Widget, owner: LessonWidget, values, traits=None) -> dict[str, int]:
    """Send each of ``values`` to each public trait of ``widget`` (or each of ``traits``); the outcomes counted."""
    counts = {"refused": 0, "banner": 0, "accepted": 0}
    for trait, kind in public_traits(widget).items():
        if traits is not None and trait not in traits:
            continue
        state, whole = wire(widget, trait), wire(widget)
        for bad in values:
            outcome = send_hostile(widget, trait, bad, owner, state)
            counts[outcome] += 1
            knob = isinstance(widget, LessonWidget) and kind.metadata.get("config")
            if knob and outcome == "accepted" and not (bad is None and kind.allow_none):
                # a setting that drives a figure takes only what it can draw: control characters in a sentence
                # may be drawn as such; 1 MB of text or a wrong type never is
                assert isinstance(bad, str) and bad is not MEGABYTE, f"{trait} = {bad!r:.40} taken silently"
        assert wire(widget) == whole, f"{type(widget).__name__}.{trait} set back, but the state differs"
    return counts


def text_traits(widget: W.Widget) -> list[str]:
    return [n for n, t in public_traits(widget).items() if isinstance(t, traitlets.Unicode)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")  # Layout(**a dict)
def test_fuzz_every_trait_of_every_widget(widgets, name):
    """Every public trait of the widget (inherited ones too) and of each of its controls gets every hostile value;
    every text trait of every widget in its tree (buttons, figures, marks, axes, layouts, styles) a lone surrogate,
    and the first of each kind every hostile text."""
    w = widgets[name]
    counts = fuzz(w, w, HOSTILE)
    assert counts["refused"] > counts["accepted"]
    for control in w.controls.values():  # every trait of every control too (a slider's min and max, options…)
        for outcome, n in fuzz(control, w, HOSTILE).items():
            counts[outcome] += n
    seen = set()
    for child in tree(w)[1:]:
        for trait in text_traits(child):
            first = (type(child), trait) not in seen
            seen.add((type(child), trait))
            for outcome, n in fuzz(child, w, STRINGS if first else BAD_TEXTS[:1], [trait]).items():
                counts[outcome] += n
    assert_sendable(w)
    print(f"{name}: {counts}")
