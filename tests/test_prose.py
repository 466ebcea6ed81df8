"""The prose around the widgets names only what exists (issue 22): every control, option, figure and drawn text that
docs/lecture-map.md names is read from the widgets themselves, and every question it cites is in its notebook."""
import re
from functools import cache
from pathlib import Path

import bqplot as bq
import ipywidgets as W
import nbformat
import pytest

import rnn_widgets as rw

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "lecture-map.md"
#: how the map's middle column names each widget
WIDGETS = {"Unrolling": "UnrollingWidget", "Weight sharing": "WeightSharingWidget", "Topologies": "TopologiesWidget",
           "Generation": "GenerationWidget", "Gradient flow": "GradientFlowWidget", "LSTM gates": "LSTMGatesWidget",
           "Text memory": "TextMemoryWidget"}
MAX_OPTIONS = 12  # selection controls with more options than this (a long list of entries) are not walked


def rows() -> list[tuple[str, str, str]]:
    """(claim, where, question) of every table row of the lecture map."""
    out = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0] != "claim" and not set(cells[0]) <= set("-"):
            out.append(tuple(cells))
    return out


def named(where: str) -> list[tuple[str, str, str]]:
    """(widget, kind, text) for every *italic* (control, option, figure) and `code` (drawn text) in a row's middle
    column; a segment after ";" that starts with a widget's name switches to that widget."""
    out, widget = [], None
    for segment in where.split(";"):
        segment = segment.strip()
        for name in WIDGETS:
            if segment.startswith(name):
                widget = name
        for text in re.findall(r"(?<![\w*])\*([^*]+)\*(?![\w*])", segment):
            out.append((widget, "italic", text))
        for text in re.findall(r"`([^`]+)`", segment):
            out.append((widget, "code", text))
    return out


def _walk(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from _walk(child)


def _option_labels(control) -> list[str]:
    return [str(o[0] if isinstance(o, tuple) else o) for o in getattr(control, "options", ()) or ()]


def _collect(widget, names: dict[str, set]) -> None:
    for part in _walk(widget):
        if isinstance(part, bq.Figure):
            names["figure"].add(part.title or "")
            for mark in part.marks:
                if isinstance(mark, bq.Label):
                    names["drawn"].update(str(t) for t in mark.text)
        elif isinstance(part, W.Accordion):
            names["control"].update(t for t in part.titles if t)
        elif getattr(part, "description", None):
            names["control"].add(part.description)
            for label in _option_labels(part):
                names["option"].add(label)
                names["control"].add(f"{part.description}: {label}")


@cache
def shown_names(widget_name: str) -> dict[str, frozenset]:
    """Everything the widget names: in its default state and with each option of each selection control chosen
    (one at a time, back to the start after each)."""
    w = getattr(rw, WIDGETS[widget_name])()
    names = {"control": set(), "option": set(), "figure": set(), "drawn": set()}
    _collect(w, names)
    for control in list(w.controls.values()):
        options = getattr(control, "options", None)
        if not options or len(options) > MAX_OPTIONS or getattr(control, "disabled", False):
            continue
        start = control.value
        for option in options:
            control.value = option[1] if isinstance(option, tuple) else option
            _collect(w, names)
        control.value = start
    w.close()
    return {k: frozenset(v) for k, v in names.items()}


def starts(text: str, candidates) -> bool:
    """``text`` is one of ``candidates`` or the start of one, ending at a word's end."""
    return any(c == text or (c.startswith(text) and not c[len(text)].isalnum()) for c in candidates)


ROWS = rows()
NAMED = sorted({n for _, where, _ in ROWS for n in named(where)})


def test_the_map_has_its_rows():
    assert len(ROWS) >= 30 and len(NAMED) >= 40


@pytest.mark.parametrize("widget, kind, text", NAMED, ids=[f"{w}:{t}" for w, _, t in NAMED])
def test_every_named_control_figure_and_label_exists(widget, kind, text):
    assert widget in WIDGETS, f"{text!r} is named before any widget"
    names = shown_names(widget)
    if kind == "code":
        assert starts(text, names["drawn"]), f"{widget} draws no text {text!r}"
    else:
        assert starts(text, names["control"] | names["option"] | names["figure"]), \
            f"{widget} has no control, option or figure {text!r}"


def _questions(notebook: str) -> set[int]:
    path = next((ROOT / "examples").glob(f"{notebook}_*.ipynb"))
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    return {int(n) for n in re.findall(r"^### (\d+)\.", text, re.MULTILINE)}


def cited(question: str) -> list[tuple[str, int | None]]:
    """(notebook, question number or None for the notebook as a whole) for "05 Q1–Q2; 02 Q1, Q3, 04"."""
    out, notebook = [], None
    for token in re.split(r"[;,]", question):
        match = re.fullmatch(r"\s*(0\d)?\s*(?:Q(\d)(?:–Q?(\d))?)?\s*", token)
        if not match or not (match.group(1) or match.group(2)):
            continue
        notebook = match.group(1) or notebook
        if match.group(2):
            out += [(notebook, n) for n in range(int(match.group(2)), int(match.group(3) or match.group(2)) + 1)]
        else:
            out.append((notebook, None))
    return out


def test_every_cited_question_exists():
    assert cited("03 Q1–Q4, 04") == [("03", 1), ("03", 2), ("03", 3), ("03", 4), ("04", None)]
    assert cited("02 Q1, Q3, Q4") == [("02", 1), ("02", 3), ("02", 4)]
    for _, _, question in ROWS:
        for notebook, number in cited(question):
            questions = _questions(notebook)
            assert questions and (number is None or number in questions), f"{notebook} Q{number} ({question})"


def test_the_old_names_are_gone():
    text = MAP.read_text(encoding="utf-8")
    for wrong in ("Row of the maps", "W_f, W_in", "teacher forcing"):
        assert wrong not in text
