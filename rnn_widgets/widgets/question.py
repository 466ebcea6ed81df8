"""Predict, commit, reveal (design.md contract 15): a question that opens a lesson widget in the state it sets,
with what answers it hidden until the student commits a prediction; then the prediction stands beside the truth
the widget computes in that state.

    from rnn_widgets import GradientFlowWidget, Question, Number
    Question("At weight scale 1.7, by what factor does ‖dℓ/da‖ grow over the 50 steps?",
             GradientFlowWidget(scale=1.7),
             Number(lambda w: w.growth_factor, factor=3),
             hide=["lines"], explanation="Each step multiplies the gradient by …")

* The **truth** is never typed in: each entry's ``truth`` is a function of the widget, called once when the
  question is built, in the question's state.
* **Hidden** until commit: the figures named in ``hide`` (all of them by default) with their one-line summaries,
  and the equation with the current numbers. Controls named in ``hold`` are disabled until commit. The student
  may move the other controls before committing; Commit puts the widget back in the question's state, so the
  figures revealed are the ones the truth was computed from.
* **Bad input** (empty, not a number, out of range, no choice made) gets a message beside the entry and reveals
  nothing.
* **Accessible**: the entries and the Commit button are standard inputs, reachable and operable from the
  keyboard; the result is a summary of the widget, so the live region the widget already has announces it along
  with the summaries the commit reveals; right and wrong are said in words and marked ✓/✗, never by colour alone.
* **Private**: the question stores nothing and sends nothing. A commit is handed to :func:`rnn_widgets.answers.hand_on`,
  which does nothing unless a class poll has registered a receiver (and then the page says so beside Commit).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import ipywidgets as W

from .. import answers
from .common import LessonWidget, esc, fmt

HIDDEN_CLASS = "rnn-q-hidden"
#: a figure's box is folded rather than removed: bqplot lays a figure out when it is first drawn, and one drawn
#: under display:none stays blank once shown (seen in JupyterLab); folded, it is drawn at its size, unseen
FOLDED_CLASS = "rnn-q-folded"
#: the rules, in the question's own HTML so they travel to every front end with the widget; hidden or folded, a
#: part is out of the accessibility tree and out of the tab order
STYLE = (f"<style>.{HIDDEN_CLASS}{{display:none !important}}"
         f".{FOLDED_CLASS}{{visibility:hidden !important;height:0 !important;min-height:0 !important;"
         "overflow:hidden !important;margin:0 !important;padding:0 !important}"
         ".rnn-question{border-left:4px solid #0072B2;padding:8px 12px;margin:8px 0;"
         "background:var(--jp-layout-color2,#f2f6fa);color:var(--jp-ui-font-color1,#1a1a1a);line-height:1.5}"
         ".rnn-question p{margin:0 0 6px 0;max-width:80ch}</style>")

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_POWER = re.compile(r"^(?P<m>[-+]?\d*\.?\d*)\s*[×x*·]\s*10\s*\^?\s*(?P<e>[-+]?\d+)$")


def parse_number(text: str) -> float:
    """A number as a student writes it: ``0.5``, ``-3``, ``1e-6``, ``1.6×10⁻⁶``, ``10^-6``, ``3,264``, ``12%``
    (the % is dropped: the unit says what the number means). ValueError with a message a student can act on."""
    raw = str(text).strip()
    if not raw:
        raise ValueError("Write a number first.")
    if len(raw) > 40:
        raise ValueError("That is too long to be a number: write at most 40 characters.")
    s = raw.replace("−", "-").replace(" ", "").rstrip("%").translate(_SUPERSCRIPT)
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", s):  # 3,264 or 1,000.5: thousands separators
        s = s.replace(",", "")
    s = re.sub(r"^([-+]?)10\^?(?=[-+]\d)", r"\g<1>1×10", s)  # 10^-6 or 10-6 after superscripts: 1×10-6
    power = _POWER.match(s)
    if power:
        mantissa = power["m"] or "1"
        s = f"{'-1' if mantissa == '-' else mantissa}e{power['e']}"
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"“{raw}” is not a number: write it like 0.5, 1e-6 or 1.6×10⁻⁶.") from None
    if not math.isfinite(value):
        raise ValueError("Write a finite number (not inf or NaN).")
    return value


class Number:
    """A numeric entry. ``truth(widget) -> float``; the prediction counts as right within one of: ``abs``
    (|guess − truth| ≤ abs), ``rel`` (a fraction of |truth|) or ``factor`` (guess/truth within 1/factor…factor,
    for quantities that span decades, such as a vanished gradient). ``lo``/``hi`` bound what may be entered."""

    kind = "number"

    def __init__(self, truth: Callable, *, unit: str = "", abs: float | None = None, rel: float | None = None,
                 factor: float | None = None, lo: float | None = None, hi: float | None = None,
                 label: str = "Your prediction", digits: int = 3):
        given = [t for t in (abs, rel, factor) if t is not None]
        if len(given) != 1:
            raise ValueError("Number: give exactly one tolerance: abs=, rel= or factor=.")
        if (abs is not None and abs < 0) or (rel is not None and rel < 0) or (factor is not None and factor < 1):
            raise ValueError("Number: abs and rel must be ≥ 0, factor ≥ 1.")
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"Number: lo ({lo}) must be below hi ({hi}).")
        self.truth, self.unit, self.label, self.digits = truth, unit, label, digits
        self.abs, self.rel, self.factor, self.lo, self.hi = abs, rel, factor, lo, hi

    def check_truth(self, value) -> float:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"Number: the truth computed is {value}, not a finite number.")
        return value

    def control(self) -> W.Widget:
        # sent when the student leaves the box (Tab, Enter, or a click on Commit), not at every key: a fast typist's
        # keys then never race the kernel's echo of an earlier value
        return W.Text(value="", description=self.label, placeholder="a number", continuous_update=False,
                      style={"description_width": "initial"}, layout=W.Layout(width="300px"))

    def parse(self, text) -> float:
        value = parse_number(text)
        if self.lo is not None and value < self.lo:
            raise ValueError(f"Enter a number of at least {fmt(self.lo)}.")
        if self.hi is not None and value > self.hi:
            raise ValueError(f"Enter a number of at most {fmt(self.hi)}.")
        return value

    def within(self, guess: float, truth: float) -> bool:
        if self.abs is not None:
            return abs(guess - truth) <= self.abs * (1 + 1e-9)
        if self.rel is not None:
            return abs(guess - truth) <= self.rel * abs(truth) * (1 + 1e-9)
        if guess == truth:
            return True
        if guess == 0 or truth == 0 or (guess > 0) != (truth > 0):
            return False
        return abs(math.log(guess / truth)) <= math.log(self.factor) * (1 + 1e-9)

    def tolerance_words(self) -> str:
        if self.abs is not None and self.unit == "%":  # ±10% would read as relative
            return f"within ±{fmt(self.abs)} percentage point{'' if self.abs == 1 else 's'}"
        if self.abs is not None:
            return f"within ±{fmt(self.abs)}{self.unit_suffix}"
        if self.rel is not None:
            return f"within ±{fmt(100 * self.rel)}%"
        return f"within a factor of {fmt(self.factor)}"

    @property
    def unit_suffix(self) -> str:
        return "" if not self.unit else (self.unit if self.unit == "%" else f" {self.unit}")

    def show(self, value: float) -> str:
        return fmt(value, self.digits) + self.unit_suffix


class Choice:
    """A multiple-choice entry: ``truth(widget)`` returns one of ``options``."""

    kind = "choice"

    def __init__(self, truth: Callable, options: Sequence[str], *, label: str = "Your answer"):
        options = [str(o) for o in options]
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError("Choice: give at least two different options.")
        self.truth, self.options, self.label = truth, options, label

    def check_truth(self, value) -> str:
        if value not in self.options:
            raise ValueError(f"Choice: the truth computed, {value!r}, is not one of the options {self.options}.")
        return value

    def control(self) -> W.Widget:
        return W.RadioButtons(options=self.options, value=None, description=self.label,
                              style={"description_width": "initial"}, layout=W.Layout(width="auto"))

    def parse(self, value) -> str:
        if value is None:
            raise ValueError("Choose one of the answers first.")
        return self.check_truth(value)

    def within(self, guess: str, truth: str) -> bool:
        return guess == truth

    def tolerance_words(self) -> str:
        return ""

    def show(self, value: str) -> str:
        return str(value)


class Question(W.VBox):
    """A prediction to commit before the widget reveals the answer (see the module's docstring).

    ``prompt`` is the question (HTML allowed); ``widget`` a lesson widget already in the question's state;
    ``entries`` one or more :class:`Number`/:class:`Choice`; ``hide`` the names of the figures (keys of
    ``widget.figures``) or other parts (attribute names of the widget, e.g. ``"output"``) hidden until commit:
    by default every figure; ``hold`` trait names whose controls are disabled until commit; ``explanation`` shown
    after commit; ``question_id`` names the question to a class poll (``"05_gradient_flow/1"``).
    """

    def __init__(self, prompt: str, widget: LessonWidget, *entries, hide: Sequence[str] | None = None,
                 hold: Sequence[str] = (), explanation: str = "", question_id: str = "",
                 hide_equation: bool = True):
        if not isinstance(widget, LessonWidget):
            raise TypeError(f"Question: widget must be one of rnn_widgets' widgets, not {type(widget).__name__}.")
        if not entries or not all(isinstance(e, (Number, Choice)) for e in entries):
            raise TypeError("Question: give one or more entries, each a Number(...) or a Choice(...).")
        self.widget, self.entries, self.question_id = widget, list(entries), question_id
        self.prompt, self.explanation_html = prompt, explanation  # as given (static pages write them again)
        names = list(widget.figures) if hide is None else list(hide)
        self.hidden = self._parts(widget, names, hide_equation)
        self._other_parts = [n for n in names if n not in widget.figures]  # named in the note as they are called
        # a figure's box is folded (see FOLDED_CLASS); the figure inside stays displayed, to be drawn at its size
        boxes = [p for p in self.hidden if isinstance(p, W.Box)]
        self._folded = {id(b) for b in boxes}
        self._drawn_unseen = {id(f) for b in boxes for f in b.children if f in widget.figures.values()}
        unknown = [t for t in hold if t not in widget.controls]
        if unknown:
            raise ValueError(f"Question: hold names no control of {type(widget).__name__}: {unknown}; "
                             f"its controls are {sorted(widget.controls)}.")
        self.held = [widget.controls[t] for t in hold]
        self.state = {t: getattr(widget, t) for t in widget.controls}
        try:
            self.truths = [e.check_truth(e.truth(widget)) for e in entries]
        except (AttributeError, KeyError, TypeError, ArithmeticError) as exc:
            raise ValueError(f"Question: computing the truth failed: {exc}") from exc
        self.guesses: list | None = None
        self._explained = bool(type(widget).EXPLANATION)
        self._build(prompt, explanation)
        self._fold_widget_explanation()
        super().__init__([widget])
        self.add_class("rnn-question-host")
        self._hide()
        self._built = True

    # ------------------------------------------------------------------ building
    @staticmethod
    def _box_of(widget: LessonWidget, fig: W.Widget) -> W.Box | None:
        """The box that holds ``fig`` (and its sentence), found in the widget's tree."""
        from .common import widget_tree
        return next((b for b in widget_tree(widget) if isinstance(b, W.Box) and b is not widget
                     and fig in b.children), None)

    @classmethod
    def _parts(cls, widget: LessonWidget, names: list[str], hide_equation: bool) -> list[W.Widget]:
        parts = []
        for name in names:
            if name in widget.figures:
                box = cls._box_of(widget, widget.figures[name])
                if box is not None and widget.summaries[name] in box.children:
                    parts += [box, widget.figures[name], widget.summaries[name]]
                else:
                    parts += [widget.figures[name], widget.summaries[name]]
            elif name in widget.summaries:
                parts.append(widget.summaries[name])
            elif isinstance(getattr(widget, name, None), W.DOMWidget):
                parts.append(getattr(widget, name))
            else:
                raise ValueError(f"Question: hide names no part of {type(widget).__name__}: {name!r}; its figures "
                                 f"are {sorted(widget.figures)}.")
        if hide_equation:
            parts.append(widget.equation)
        return parts

    def _build(self, prompt: str, explanation: str) -> None:
        self.inputs = [e.control() for e in self.entries]
        self.messages = [W.HTML("") for _ in self.entries]
        rows = [W.HBox([i, m], layout=W.Layout(flex_flow="row wrap", align_items="center"))
                for i, m in zip(self.inputs, self.messages)]
        self.commit_button = W.Button(description="Commit", tooltip="Commit your prediction, then see the answer",
                                      icon="check")
        self.commit_button.on_click(lambda _b: self.commit())
        self.again_button = W.Button(description="Try again", tooltip="Hide the answer and predict again",
                                     layout=W.Layout(display="none"))
        self.again_button.on_click(lambda _b: self.try_again())
        self.notice = W.HTML("")
        self.result = W.HTML("")
        self.result.add_class("rnn-summary")  # the widget's live region announces it (widgets/a11y.py)
        self.explanation = W.HTML(f"<div style='max-width:80ch'>{explanation}</div>" if explanation else "",
                                  layout=W.Layout(display="none"))
        names = ", ".join(self._part_names())
        self.hidden_note = W.HTML(f"<p><em>Hidden until you commit: {esc(names)}.</em></p>" if names else "")
        self.panel = W.VBox([
            W.HTML(f"{STYLE}<p><strong>Predict first.</strong> {prompt}</p>"),
            *rows, W.HBox([self.commit_button, self.again_button, self.notice],
                          layout=W.Layout(align_items="center", flex_flow="row wrap")),
            self.result, self.explanation, self.hidden_note,
        ])
        self.panel.add_class("rnn-question")
        self.refresh_notice()
        children = list(self.widget.children)
        at = children.index(self.widget.a11y) + 1 if getattr(self.widget, "a11y", None) in children else 0
        self.widget.children = [*children[:at], self.panel, *children[at:]]

    def _fold_widget_explanation(self) -> None:
        """The widget's long explanation is left out until commit, then comes back folded under the title: it
        tells what the widget shows, and so often the answer (the notebook shows it once, with its main widget)."""
        text = type(self.widget).EXPLANATION
        self._header = next((c for c in self.widget.children if isinstance(c, W.HTML) and text and text in c.value),
                            None)
        if self._header is not None:
            self._header_before = self._header.value.replace(text, "", 1)
            self._header_after = self._header.value.replace(
                text, f"<details><summary>What this widget shows</summary>{text}</details>", 1)
            self._header.value = self._header_before

    def _part_names(self) -> list[str]:
        """What the note says is hidden: counted, not titled (a title can tell the answer: "contribution of
        step 8: too small to colour")."""
        figures = [f for f in self.widget.figures.values() if f in self.hidden and getattr(f, "title", "x")]
        others = [n for n in self._other_parts if not hasattr(getattr(self.widget, n, None), "title")]
        figures += [n for n in self._other_parts if n not in others]  # a figure kept outside widget.figures
        names = []
        if figures:
            names.append(f"the figure{'s' if len(figures) > 1 else ''} and {'their' if len(figures) > 1 else 'its'} "
                         "sentence" + ("s" if len(figures) > 1 else ""))
        for name in others:
            label = getattr(getattr(self.widget, name, None), "description", "")
            names.append(f"the control {label}" if label else f"the {name.replace('_', ' ')}")
        if self.widget.equation in self.hidden:
            names.append("the equation with the current numbers")
        if self._explained:
            names.append("the widget's explanation")
        held = [c.description for c in self.held]
        if held:
            names.append("the control" + ("s " if len(held) > 1 else " ") + ", ".join(held))
        return names

    def refresh_notice(self) -> None:
        """Say beside Commit whether a committed answer is shared (a class poll registered), from now on."""
        said = answers.notices()
        self.notice.value = f"<span style='margin-left:8px'>{esc(' '.join(said))}</span>" if said else ""

    # ------------------------------------------------------------------ state
    @property
    def committed(self) -> bool:
        return self.guesses is not None

    def _hide(self) -> None:
        if self._header is not None:
            self._header.value = self._header_before
        for part in self.hidden:
            if id(part) in self._folded:
                part.add_class(FOLDED_CLASS)
            elif id(part) not in self._drawn_unseen:
                part.add_class(HIDDEN_CLASS)
        for control in self.held:
            control.disabled = True

    def _reveal(self) -> None:
        if self._header is not None:
            self._header.value = self._header_after
        for part in self.hidden:
            part.remove_class(FOLDED_CLASS)
            part.remove_class(HIDDEN_CLASS)
        for control in self.held:
            control.disabled = False

    def concealed(self, part: W.Widget) -> bool:
        """Whether ``part`` is out of sight now (hidden, folded, or a figure inside a folded box)."""
        if HIDDEN_CLASS in part._dom_classes or FOLDED_CLASS in part._dom_classes:
            return True
        return any(FOLDED_CLASS in p._dom_classes and part in p.children for p in self.hidden
                   if id(p) in self._folded)

    def _restore_state(self) -> None:
        with self.widget.hold_trait_notifications():
            for trait, value in self.state.items():
                if getattr(self.widget, trait) != value:
                    setattr(self.widget, trait, value)

    # ------------------------------------------------------------------ actions
    def commit(self, *values) -> bool:
        """Commit the entries (or ``values``, one per entry, as a student would type or choose them). Returns
        False, with a message beside each bad entry and nothing revealed, if any entry is not acceptable."""
        if self.committed:
            return True
        if values:
            if len(values) != len(self.entries):
                raise ValueError(f"Question: give {len(self.entries)} value(s), one per entry; got {len(values)}.")
            for control, value in zip(self.inputs, values):
                control.value = value if isinstance(control, W.RadioButtons) else str(value)
        guesses, ok = [], True
        for entry, control, message in zip(self.entries, self.inputs, self.messages):
            try:
                guesses.append(entry.parse(control.value))
                message.value = ""
            except ValueError as exc:
                ok = False
                message.value = f"<span role='alert' style='margin-left:8px'>⚠ {esc(exc)}</span>"
        if not ok:
            return False
        self.guesses = guesses
        self._restore_state()
        self._reveal()
        for control in self.inputs:
            control.disabled = True
        self.commit_button.layout.display = "none"
        self.again_button.layout.display = ""
        self.explanation.layout.display = ""
        self.hidden_note.layout.display = "none"
        correct = [e.within(g, t) for e, g, t in zip(self.entries, guesses, self.truths)]
        shared = answers.hand_on(answers.CommittedAnswer(self.question_id, tuple(guesses), tuple(self.truths),
                                                         tuple(correct)))
        self.result.value = self._result_html(correct, shared)
        return True

    def try_again(self) -> None:
        """Hide the answer again, clear the entries and put the widget back in the question's state."""
        self.guesses = None
        self._restore_state()
        self._hide()
        for control in self.inputs:
            control.disabled = False
            control.value = None if isinstance(control, W.RadioButtons) else ""
        for message in self.messages:
            message.value = ""
        self.commit_button.layout.display = ""
        self.again_button.layout.display = "none"
        self.explanation.layout.display = "none"
        self.hidden_note.layout.display = ""
        self.result.value = ""
        self.refresh_notice()

    @property
    def correct(self) -> list[bool] | None:
        """Whether each committed entry is within its tolerance of the truth (None before a commit)."""
        if not self.committed:
            return None
        return [e.within(g, t) for e, g, t in zip(self.entries, self.guesses, self.truths)]

    def _result_html(self, correct: list[bool], shared: list[str]) -> str:
        lines = []
        for entry, guess, truth, right in zip(self.entries, self.guesses, self.truths, correct):
            label = f"{esc(entry.label)}: you" if len(self.entries) > 1 else "You"
            said = (f"{label} said <strong>{esc(entry.show(guess))}</strong>; the widget computes "
                    f"<strong>{esc(entry.show(truth))}</strong> in this state.")
            words = entry.tolerance_words()
            verdict = (f"✓ Right{': ' + words if words else ''}." if right
                       else f"✗ Not right{': not ' + words if words else ''}.")
            lines.append(f"<p>{said} <strong>{verdict}</strong></p>")  # said in words and a mark, not colour
        lines += [f"<p>{esc(s)}</p>" for s in shared]
        return "".join(lines)

    def close(self) -> None:
        """Close the question and its widget (the whole tree). A question whose construction failed leaves the
        widget it was given alone."""
        if self.__dict__.get("_built"):
            self._built = False
            self.widget.close()
            for w in (*self.inputs, *self.messages, self.commit_button, self.again_button, self.notice,
                      self.result, self.explanation, self.hidden_note, self.panel):
                w.close()
        super().close()
