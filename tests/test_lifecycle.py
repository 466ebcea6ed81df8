"""Widgets that live and die cleanly (contract 13, issue 14): close() releases the whole tree, background
training is stopped and survives bad luck, and values no knob accepts (NaN, ±inf, lone surrogates) are refused
with a clear TraitError in Python and a banner from a control."""
import gc
import math
import subprocess
import sys
import textwrap
import time
import weakref

import psutil
import pytest
import traitlets
from ipywidgets.widgets.widget import _instances

import rnn_widgets
from rnn_widgets.core import Trainer
from rnn_widgets.widgets.common import widget_tree
from rnn_widgets.widgets.live_training import LiveTraining

NAMES = list(rnn_widgets.WIDGETS)


def widget_class(name):
    return getattr(rnn_widgets, name)


def traits_of(name, kind):
    cls = widget_class(name)
    return [t for t, trait in cls.class_traits(config=True).items() if type(trait) is kind and t != "device"]


def wait_until(condition, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# ---------------------------------------------------------------------- close()
@pytest.mark.parametrize("name", NAMES)
def test_close_closes_every_widget_of_the_tree_and_drops_what_it_holds(name):
    w = widget_class(name)()
    tree = widget_tree(w)
    ids = [t.model_id for t in tree]
    assert len(tree) > 30  # controls, figures, marks, scales, axes, layouts, styles
    w.close()
    still_open = [type(t).__name__ for t in tree if t.comm is not None]
    assert still_open == []
    assert not set(ids) & set(_instances)
    assert w.closed and w.children == () and w.controls == {} and w.figures == {}
    w.close()  # closing twice does nothing
    for trait in w.class_traits(config=True):  # a knob set after close() says the widget is closed (issue 28)
        if trait != "device":
            with pytest.raises(RuntimeError, match=f"^{name} is closed: cannot set {trait}"):
                setattr(w, trait, getattr(widget_class(name), trait).default_value)


@pytest.mark.slow
def test_two_hundred_widgets_made_and_closed_leave_nothing_behind():
    for name in NAMES:  # the caches and the shipped models loaded once
        widget_class(name)().close()
    gc.collect()
    registry, rss = len(_instances), psutil.Process().memory_info().rss
    alive = []
    for i in range(200):
        w = widget_class(NAMES[i % len(NAMES)])()
        alive.append(weakref.ref(w))
        w.close()
        del w
    gc.collect()
    assert len(_instances) == registry
    assert sum(ref() is not None for ref in alive) == 0
    grown = (psutil.Process().memory_info().rss - rss) / 2**20
    assert grown < 20, f"RSS grew by {grown:.1f} MB"


# ---------------------------------------------------------------------- NaN, inf, surrogates
FLOATS = [(n, t) for n in NAMES for t in traits_of(n, traitlets.Float)]
TEXTS = [(n, t) for n in NAMES for t in traits_of(n, traitlets.Unicode)]


def test_every_widget_with_a_number_or_a_text_knob_is_covered():
    assert {n for n, _ in FLOATS} >= {"GradientFlowWidget", "LSTMGatesWidget", "GenerationWidget",
                                       "UnrollingWidget", "WeightSharingWidget"}
    assert {n for n, _ in TEXTS} >= {"UnrollingWidget", "LSTMGatesWidget", "GenerationWidget"}


@pytest.mark.parametrize("name, trait", FLOATS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_a_clear_trait_error_in_the_constructor(name, trait, bad):
    with pytest.raises(traitlets.TraitError) as err:
        widget_class(name)(**{trait: bad})
    message = str(err.value)
    assert trait in message and ("finite" in message or "should not be" in message)
    assert "Broken link" not in message


@pytest.mark.parametrize("name, trait", TEXTS)
def test_lone_surrogates_are_a_clear_trait_error_in_the_constructor(name, trait):
    with pytest.raises(traitlets.TraitError, match="lone surrogate \\(U\\+D800\\) at position 2"):
        widget_class(name)(**{trait: "ab\ud800cd"})


@pytest.fixture(scope="module")
def widgets():
    made = {name: widget_class(name)() for name in NAMES}
    yield made
    for w in made.values():
        w.close()


@pytest.mark.parametrize("name, trait", [*FLOATS, *TEXTS])
def test_a_refused_value_from_a_control_is_a_banner_and_changes_nothing(widgets, name, trait):
    w = widgets[name]
    control = w.controls.get(trait)
    if control is None:
        pytest.skip(f"{trait} has no control")
    before = getattr(w, trait)
    bad = "ab\ud800cd" if isinstance(before, str) else math.nan
    control.value = bad  # what a comm message from the browser does; must not raise
    assert getattr(w, trait) == before and control.value == before
    assert trait in w.error_message and ("finite" in w.error_message or "surrogate" in w.error_message)
    assert "role='alert'" in w.error.value
    control.value = before
    w._run(lambda: None)
    assert w.error_message == ""


# ---------------------------------------------------------------------- live training
def test_training_reads_a_snapshot_of_its_text():
    panel = LiveTraining(steps=120)
    try:
        assert panel.start()
        assert wait_until(lambda: panel.progress.value >= 2, 60)
        panel.text_area.value = "Ω" * 200  # a character the model being trained has never seen
        panel.join(120)
        assert not panel.running and panel.error is None, panel.message.value
        assert panel.progress.value == 120 and "step 120:" in panel.samples.value
        assert not panel.train_button.disabled and panel.stop_button.disabled
    finally:
        panel.close()


def test_an_exception_in_the_training_thread_is_a_message_with_the_buttons_restored(monkeypatch):
    real = Trainer.train_step

    def failing(trainer):
        if trainer.step == 3:
            raise RuntimeError("out of memory (simulated)")
        return real(trainer)

    monkeypatch.setattr(Trainer, "train_step", failing)
    panel = LiveTraining(steps=100)
    assert panel.start()
    panel.join(60)
    assert not panel.running
    assert "out of memory (simulated)" in panel.message.value and "step 3" in panel.message.value
    assert not panel.train_button.disabled and panel.stop_button.disabled
    assert "failed" in panel.progress.description
    panel.close()


def test_close_stops_training_within_a_second():
    w = widget_class("GenerationWidget")()
    panel = w.training
    panel.steps.value = 2000
    assert panel.start()
    assert wait_until(lambda: panel.progress.value >= 1, 60)
    thread = panel._thread
    started = time.monotonic()
    w.close()
    assert wait_until(lambda: not thread.is_alive(), 3.0), "training went on after close()"
    assert time.monotonic() - started < 3.0
    assert panel.model is None and panel.trainer is None and panel.children == ()


def test_the_interpreter_exits_cleanly_while_training():
    script = textwrap.dedent("""
        import time
        from rnn_widgets.widgets.live_training import LiveTraining
        panel = LiveTraining(steps=2000)
        assert panel.start()
        deadline = time.monotonic() + 60
        while panel.progress.value < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert panel.running
        print("leaving at step", panel.progress.value, flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False)
    assert "leaving at step" in done.stdout, done.stderr
    assert done.returncode == 0, done.stderr
    assert "terminate called" not in done.stderr


def test_updates_run_on_one_thread_without_onednn_and_restore_the_users_settings():
    import torch

    seen = []
    w = widget_class("WeightSharingWidget")()
    before = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(2)
    torch.backends.mkldnn.enabled = True
    try:
        w._run(lambda: seen.append((torch.get_num_threads(), torch.backends.mkldnn.enabled)))
        assert seen == [(1, False)]
        assert torch.get_num_threads() == 2 and torch.backends.mkldnn.enabled
    finally:
        torch.set_num_threads(before[0])
        torch.backends.mkldnn.enabled = before[1]
        w.close()


def test_an_update_asked_for_during_an_update_runs_after_it_not_inside_it():
    w = widget_class("WeightSharingWidget")()
    order = []

    def outer():
        order.append("outer starts")
        w._run(lambda: order.append("inner"))  # e.g. a slider clamped by a new max moves its trait
        order.append("outer ends")

    assert w._run(outer)
    assert order == ["outer starts", "outer ends", "inner"]
    w.seq_len = 5  # the step slider's max drops below its value: the clamped step redraws after, not inside
    assert w.step <= 5 and w.error_message == ""
    w.close()
