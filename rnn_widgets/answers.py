"""The one place a committed answer is handed on (design.md contract 15; issue 23's privacy rule).

A :class:`~rnn_widgets.widgets.question.Question` stores nothing and sends nothing by itself: when a student
commits, it builds a :class:`CommittedAnswer` and calls :func:`hand_on`. With no receiver registered (the default)
that does nothing at all. A class poll (opt-in, opened by the instructor) registers a receiver; the receiver's
``notice`` is shown beside the Commit button so the student knows before committing that the answer is shared.

This module imports nothing heavy: no torch, no ipywidgets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommittedAnswer:
    """What one commit of one question says: which question, what the student entered, and the truth.

    ``question_id`` is stable across sessions (e.g. ``"05_gradient_flow/1"``); ``entries`` holds one value per
    part of the question, as entered (a float for a number, the option's text for a choice); ``truths`` the
    values the widget computed in the question's state; ``correct`` whether each entry is within the tolerance.
    """

    question_id: str
    entries: tuple
    truths: tuple
    correct: tuple


class Receiver(Protocol):
    """Something a committed answer can be handed to (a class poll's client)."""

    #: shown beside the Commit button while the receiver is registered ("" for none)
    notice: str

    def receive(self, answer: CommittedAnswer) -> str:
        """Take the answer; return a short message for the student ("" when there is nothing to say).

        Must not raise for a service that is down: return the message instead ("the class poll could not be
        reached; your answer was not shared"). The question reveals whatever this returns."""


_receivers: list[Receiver] = []


def add_receiver(receiver: Receiver) -> None:
    """Register ``receiver``: every later commit is handed to it (registering twice does nothing)."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def remove_receiver(receiver: Receiver) -> None:
    """Stop handing answers to ``receiver`` (nothing happens if it was not registered)."""
    if receiver in _receivers:
        _receivers.remove(receiver)


def receivers() -> tuple[Receiver, ...]:
    return tuple(_receivers)


def notices() -> list[str]:
    """What the registered receivers ask the page to say beside the Commit button."""
    return [r.notice for r in _receivers if getattr(r, "notice", "")]


def hand_on(answer: CommittedAnswer) -> list[str]:
    """Hand ``answer`` to every registered receiver; return their messages for the student.

    A receiver that raises anyway is reported in words, never as a traceback: the question reveals regardless."""
    messages = []
    for receiver in list(_receivers):  # noqa: PERF101 - a copy: a receiver may unregister itself (a closed poll)
        try:
            message = receiver.receive(answer)
        except Exception as exc:  # noqa: BLE001 - a poll's failure must never stop the reveal
            message = f"Your answer could not be shared ({type(exc).__name__}); it is still yours below."
        if message:
            messages.append(str(message))
    return messages
