"""A character vocabulary with an explicit policy for characters it does not know."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch

Errors = Literal["strict", "replace", "drop"]


class UnknownCharacterError(ValueError):
    """Raised by ``encode(..., errors="strict")``; ``.characters`` lists what the vocabulary lacks."""

    def __init__(self, characters: list[str]):
        self.characters = characters
        shown = ", ".join(repr(c) for c in characters[:10]) + (" …" if len(characters) > 10 else "")
        super().__init__(f"{len(characters)} character(s) are not in the vocabulary: {shown}")


class CharVocab:
    """Characters ↔ integer ids, for the character-level models of §1.4.

    Policy for characters outside the vocabulary (``errors=``), chosen per call like
    :meth:`str.encode`:

    - ``"strict"`` (default): raise :class:`UnknownCharacterError` naming them. Never a bare KeyError.
    - ``"replace"``: map them to ``replacement`` (by default ``"?"`` if known, else a space).
    - ``"drop"``: leave them out.
    """

    def __init__(self, chars: Iterable[str]):
        chars = list(dict.fromkeys(chars))  # keep first occurrences, in order
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("a vocabulary needs at least one character, each a string of length 1")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}
        self.replacement = "?" if "?" in self.index else (" " if " " in self.index else chars[0])

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The sorted set of characters in ``text``."""
        if not text:
            raise ValueError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: str) -> bool:
        return ch in self.index

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that the vocabulary lacks, in order of appearance."""
        return [c for c in dict.fromkeys(text) if c not in self.index]

    def encode(self, text: str, errors: Errors = "strict") -> torch.Tensor:
        """``text`` as a 1-D ``LongTensor`` of ids."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        missing = self.unknown(text)
        if missing:
            if errors == "strict":
                raise UnknownCharacterError(missing)
            if errors == "replace":
                text = "".join(c if c in self.index else self.replacement for c in text)
            elif errors == "drop":
                text = "".join(c for c in text if c in self.index)
            else:
                raise ValueError(f"errors must be 'strict', 'replace' or 'drop', got {errors!r}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """Ids (a tensor or a sequence of ints) back to text; an out-of-range id raises ValueError."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        bad = [i for i in ids if not 0 <= int(i) < len(self.chars)]
        if bad:
            raise ValueError(f"ids outside the vocabulary of {len(self.chars)} characters: {bad[:10]}")
        return "".join(self.chars[int(i)] for i in ids)

    @staticmethod
    def display(ch: str) -> str:
        """A readable label for a character: '␣' for a space, '⏎' for a newline, '⇥' for a tab."""
        return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(ch, ch)
