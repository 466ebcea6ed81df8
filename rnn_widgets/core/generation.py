"""An autoregressive generation session (§1.4): sample a character, feed it back, repeat."""
from __future__ import annotations

import torch

from .charmodel import CharModel
from .sampling import entropy, make_generator, next_distribution, sample_next

MAX_PROMPT = 2000


class GenerationSession:
    """The state of one generation: the prompt, the characters drawn so far, the recurrent state.

    ``logits`` are the model's scores for the next character; ``step`` draws it (greedy, or at a
    temperature and top-k), remembers the distribution it came from (``last_logits``), and feeds
    it back. The same seed and settings give the same text.
    """

    def __init__(self, model: CharModel, prompt: str, seed: int = 0):
        if not prompt:
            raise ValueError("The prompt is empty: give the model at least one character to continue.")
        if len(prompt) > MAX_PROMPT:
            raise ValueError(f"The prompt has {len(prompt):,} characters; use at most {MAX_PROMPT:,}.")
        unknown = model.vocab.unknown(prompt)
        if unknown:
            shown = " ".join(repr(c) for c in unknown[:10])
            raise ValueError(f"The model does not know these characters of the prompt: {shown}. It knows only "
                             f"the {len(model.vocab)} characters of the text it was trained on.")
        self.model, self.prompt = model, prompt
        self.logits, self.state = model.next_logits(prompt)
        self.last_logits = self.logits
        self.generated: list[int] = []
        self.entropies: list[float] = []
        self.generator = make_generator(seed)

    @property
    def text(self) -> str:
        return self.prompt + self.model.decode(self.generated)

    @property
    def new_text(self) -> str:
        return self.model.decode(self.generated)

    @torch.no_grad()
    def step(self, temperature: float = 1.0, top_k: int | None = None, greedy: bool = False) -> int:
        """Draw the next character from the current distribution and feed it back.

        ``entropies`` records the entropy of the distribution drawn from; greedy draws record the model's own
        distribution (temperature 1), whose most likely character they take.
        """
        probs = next_distribution(self.logits, 1.0 if greedy else temperature, top_k)
        idx = sample_next(self.logits, temperature, top_k, greedy=greedy, generator=self.generator)
        self.entropies.append(entropy(probs))
        self.generated.append(idx)
        self.last_logits = self.logits
        logits, self.state = self.model(torch.tensor([idx]), self.state)
        self.logits = logits[-1]
        return idx


def repeating_tail(text: str, min_len: int = 40, max_period: int = 80) -> str | None:
    """The cycle the text has fallen into, if its end repeats one block three times over (§1.4's warning)."""
    if len(text) < min_len:
        return None
    for period in range(1, max_period + 1):
        block = text[-period:]
        if len(text) >= 3 * period and text[-3 * period:] == block * 3 and 3 * period >= min_len // 2:
            return block
    return None
