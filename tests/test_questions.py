"""Predict, commit, reveal (issue 23): the Question component, and every notebook question built with it.

Each question's truth is also checked against an independent computation in its notebook's
``tests/test_questions_<module>.py`` (``TRUTHS``: question number → function of nothing giving the truth)."""
import importlib
import math
from pathlib import Path

import ipywidgets as W
import nbformat
import pytest

import rnn_widgets as rw
from rnn_widgets import answers
from rnn_widgets.questions import NOTEBOOKS, all_questions, ask, builders
from rnn_widgets.widgets.question import (
    HIDDEN_CLASS,
    Choice,
    Number,
    Question,
    parse_number,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


# ---------------------------------------------------------------------------------------------- the component
@pytest.mark.parametrize("text, value", [
    ("0.5", 0.5), ("-3", -3.0), ("−2", -2.0), ("1e-6", 1e-6), ("1.6×10⁻⁶", 1.6e-6), ("10^-6", 1e-6),
    ("10⁻⁶", 1e-6), ("2 x 10^3", 2000.0), ("3,264", 3264.0), ("12%", 12.0), (" 7 ", 7.0)])
def test_numbers_are_read_as_students_write_them(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text, words", [
    ("", "Write a number first"), ("abc", "is not a number"), ("nan", "finite"), ("inf", "finite"),
    ("1" * 50, "too long"), ("1,2", "is not a number")])
def test_bad_numbers_get_a_message(text, words):
    with pytest.raises(ValueError, match=words):
        parse_number(text)


def test_tolerances():
    assert Number(lambda w: 1, abs=0.1).within(1.1, 1.0) and not Number(lambda w: 1, abs=0.1).within(1.2, 1.0)
    assert Number(lambda w: 1, rel=0.1).within(1.09, 1.0) and not Number(lambda w: 1, rel=0.1).within(0.8, 1.0)
    factor = Number(lambda w: 1, factor=10)
    assert factor.within(2e-7, 1.6e-6) and not factor.within(1e-8, 1.6e-6) and not factor.within(-1e-6, 1e-6)
    with pytest.raises(ValueError, match="exactly one tolerance"):
        Number(lambda w: 1, abs=1, rel=1)


def _question(**kw):
    widget = rw.GradientFlowWidget(seq_len=10)
    return Question("How large is ‖dℓ/da⁽⁰⁾‖?", widget,
                    Number(lambda w: float(w.seq_len), abs=1, lo=0, hi=100, label="L"),
                    Choice(lambda w: "up", ["up", "down"], label="way"), question_id="t/1", **kw)


def _hidden(q):
    return [p for p in q.hidden if q.concealed(p)]


def test_before_commit_the_answer_is_hidden_and_after_it_shown():
    q = _question(hold=["seq_len"])
    w = q.widget
    assert q.panel in w.children, "the question sits inside the widget, where its live region announces the result"
    parts = [*w.figures.values(), *w.summaries.values(), w.equation]
    assert all(q.concealed(p) for p in parts)
    assert all(HIDDEN_CLASS in s._dom_classes for s in w.summaries.values())  # out of the live region's reach
    assert w.controls["seq_len"].disabled and not w.controls["scale"].disabled
    assert "Hidden until you commit" in q.hidden_note.value and q.result.value == ""
    assert type(w).EXPLANATION not in w.children[0].value, "the explanation often tells the answer"
    w.scale = 1.5  # the student explores before committing: nothing shows, and commit restores the state
    assert q.commit("9.5", "down")
    assert w.scale == 0.9 and not _hidden(q) and not w.controls["seq_len"].disabled
    assert q.correct == [True, False]
    assert "L: you said <strong>9.5</strong>; the widget computes <strong>10</strong>" in q.result.value
    assert "✓ Right: within ±1" in q.result.value and "✗ Not right" in q.result.value
    assert "rnn-summary" in q.result._dom_classes
    assert "<details><summary>What this widget shows</summary>" in w.children[0].value
    q.try_again()
    assert all(q.concealed(p) for p in parts) and q.result.value == "" and not q.committed
    assert q.inputs[0].value == "" and q.inputs[1].value is None
    q.close()


@pytest.mark.parametrize("values, where, words", [
    (("", "up"), 0, "Write a number first"), (("ten", "up"), 0, "is not a number"),
    (("500", "up"), 0, "at most 100"), (("5", None), 1, "Choose one")])
def test_bad_input_gets_a_message_beside_the_entry_and_reveals_nothing(values, where, words):
    q = _question()
    assert not q.commit(*values)
    assert words in q.messages[where].value and "role='alert'" in q.messages[where].value
    assert len(_hidden(q)) == len(q.hidden) and not q.committed and q.result.value == ""
    q.close()


def test_bad_questions_are_refused_with_a_clear_message():
    w = rw.GradientFlowWidget(seq_len=10)
    with pytest.raises(ValueError, match="hide names no part"):
        Question("?", w, Number(lambda w: 1, abs=1), hide=["nope"])
    with pytest.raises(ValueError, match="hold names no control"):
        Question("?", w, Number(lambda w: 1, abs=1), hold=["nope"])
    with pytest.raises(ValueError, match="not one of the options"):
        Question("?", w, Choice(lambda w: "sideways", ["up", "down"]))
    with pytest.raises(ValueError, match="not a finite number"):
        Question("?", w, Number(lambda w: math.nan, abs=1))
    with pytest.raises(TypeError, match="Number"):
        Question("?", w)
    with pytest.raises(TypeError, match="rnn_widgets' widgets"):
        Question("?", W.HTML(), Number(lambda w: 1, abs=1))
    w.close()


def test_nothing_is_handed_on_without_a_receiver_and_a_receiver_is_announced():
    class Poll:
        notice = "Your answer is shared anonymously with your instructor."

        def __init__(self):
            self.got = []

        def receive(self, answer):
            self.got.append(answer)
            return "Shared."

    q = _question()
    assert q.notice.value == "" and not answers.receivers()
    assert q.commit("10", "up") and "Shared" not in q.result.value
    poll = Poll()
    answers.add_receiver(poll)
    try:
        q.try_again()
        assert "shared anonymously" in q.notice.value
        q.commit("3", "up")
        (got,) = poll.got
        assert got == answers.CommittedAnswer("t/1", (3.0, "up"), (10.0, "up"), (False, True))
        assert "Shared." in q.result.value
    finally:
        answers.remove_receiver(poll)
    q.close()


def test_a_failing_receiver_never_stops_the_reveal():
    class Broken:
        notice = "shared"

        def receive(self, answer):
            raise ConnectionError("down")

    answers.add_receiver(Broken())
    try:
        q = _question()
        assert q.commit("10", "up") and not _hidden(q)
        assert "could not be shared" in q.result.value
    finally:
        answers._receivers.clear()
    q.close()


# ---------------------------------------------------------------------------------------------- the notebooks
@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_every_notebook_question_is_a_committed_question(notebook):
    nb = nbformat.read(EXAMPLES / f"{notebook}.ipynb", as_version=4)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("### ")]
    asked = [c.source.strip() for c in nb.cells if c.cell_type == "code" and c.source.strip().startswith("ask(")]
    assert 3 <= len(headings) <= 6, notebook
    assert asked == [f'ask("{notebook}", {n})' for n in range(1, len(headings) + 1)], notebook
    assert len(builders(notebook)) == len(headings), notebook
    assert "**Predict first**" not in "".join(c.source for c in nb.cells), "the Question asks it now"
    answers_ = [c for c in nb.cells if c.cell_type == "markdown" and "<details><summary>Answer</summary>" in c.source]
    assert len(answers_) == len(headings), "the collapsed answers stay for readers of the plain notebook"


@pytest.fixture(scope="module")
def independent():
    """question (notebook, number) → the truth computed independently of the widget."""
    found = {}
    for notebook, module in NOTEBOOKS.items():
        try:
            tests = importlib.import_module(f"test_questions_{module}")
        except ModuleNotFoundError:
            continue
        found.update({(notebook, n): fn for n, fn in tests.TRUTHS.items()})
    return found


@pytest.mark.parametrize("notebook, number", all_questions())
def test_each_question_hides_its_answer_and_its_truth_is_independently_right(notebook, number, independent):
    q = ask(notebook, number)
    try:
        assert q.question_id == f"{notebook}/{number}"
        assert q.hidden and len(_hidden(q)) == len(q.hidden), "what answers it is hidden before commit"
        assert q.result.value == "" and q.explanation.layout.display == "none"
        assert (notebook, number) in independent, "every question's truth is checked independently"
        expected = independent[(notebook, number)]()
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        for entry, truth, want in zip(q.entries, q.truths, expected):
            if isinstance(entry, Number):
                assert truth == pytest.approx(want, rel=1e-5, abs=1e-12), (notebook, number)  # float32 runs
            else:
                assert truth == want, (notebook, number)
        assert q.commit(*[t if isinstance(e, Choice) else repr(t) for e, t in zip(q.entries, q.truths)])
        assert all(q.correct) and not _hidden(q) and q.explanation.layout.display == ""
    finally:
        q.close()
