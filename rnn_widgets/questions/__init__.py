"""The example notebooks' questions as predict-commit-reveal :class:`~rnn_widgets.widgets.question.Question`\\ s.

Each notebook of ``examples/`` has a module here (``05_gradient_flow`` → :mod:`.gradient_flow`) whose
``QUESTIONS`` lists one builder per question, in the notebook's order. A notebook cell asks one::

    from rnn_widgets.questions import ask
    ask("05_gradient_flow", 1)

Every truth is computed by the widget in the question's state (tests/test_questions.py checks each against an
independent computation, and that what answers it is hidden before commit).
"""
from __future__ import annotations

import importlib
import os

#: notebook stem → module of this package holding its questions
NOTEBOOKS = {
    "01_unrolling": "unrolling",
    "02_weight_sharing": "weight_sharing",
    "03_topologies": "topologies",
    "04_generation": "generation",
    "05_gradient_flow": "gradient_flow",
    "06_lstm_gates": "lstm_gates",
    "07_text_memory": "text_memory",
}


def builders(notebook: str) -> list:
    """The question builders of ``notebook`` (its stem, e.g. ``"05_gradient_flow"``), in order."""
    if notebook not in NOTEBOOKS:
        raise ValueError(f"No questions for {notebook!r}: the notebooks with questions are {sorted(NOTEBOOKS)}.")
    try:
        module = importlib.import_module(f".{NOTEBOOKS[notebook]}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{NOTEBOOKS[notebook]}":
            raise
        return []
    return list(module.QUESTIONS)


_poll_checked = False


def _join_class_poll_once() -> None:
    """Opt-in class polls (docs/class-polls.md): where the instructor's set-up says a poll may be open (the gallery
    or the hub sets ``$RNN_WIDGETS_POLL_URL``; a page opened with ``?poll=CODE``, or the hub's auto-join), join it
    once per kernel, before the first question is built, so that every question says beside Commit that the
    answer is shared. Elsewhere nothing is imported and nothing is sent."""
    global _poll_checked
    if _poll_checked:
        return
    _poll_checked = True
    if os.environ.get("RNN_WIDGETS_POLL_URL"):
        from ..polls.client import autojoin

        autojoin()


def ask(notebook: str, number: int):
    """Question ``number`` (1-based, as numbered in the notebook) of ``notebook``, built in its state."""
    from ..widgets.common import small_tensor_mode

    _join_class_poll_once()

    found = builders(notebook)
    if not 1 <= number <= len(found):
        raise ValueError(f"{notebook} has questions 1 to {len(found)}, not {number}.")
    # as the widgets run their updates: one thread for these small tensors (04's 400 greedy characters took
    # 2.3 CPU-s per 200 with torch's threads on a busy 2-core machine, 0.08 s with one)
    with small_tensor_mode():
        question = found[number - 1]()
    question.question_id = f"{notebook}/{number}"
    return question


def all_questions() -> list[tuple[str, int]]:
    """Every (notebook, number) that :func:`ask` can build."""
    return [(nb, i + 1) for nb in NOTEBOOKS for i in range(len(builders(nb)))]
