"""Autoregressive sampling (§1.4): turn next-token logits into a choice, then feed it back."""
from __future__ import annotations

import torch
from torch import Tensor

#: Below this temperature sampling is greedy: dividing by ~0 would overflow, and the
#: distribution's limit as the temperature goes to 0 is the one-hot argmax anyway.
GREEDY_BELOW = 1e-3


def next_distribution(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """The probabilities we sample from: softmax(logits / temperature), restricted to the top k.

    ``temperature`` < 1 sharpens the distribution, > 1 flattens it; at or below
    :data:`GREEDY_BELOW` it becomes one-hot on the argmax (greedy). ``top_k=None`` or 0
    keeps every token. Works on ``(V,)`` or ``(..., V)``; computed in float64 for stable bars.
    """
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 0):
        raise ValueError(f"top_k must be a non-negative integer or None, got {top_k!r}")
    logits = logits.double()
    V = logits.shape[-1]
    if temperature <= GREEDY_BELOW:
        return torch.nn.functional.one_hot(logits.argmax(-1), V).double()
    scaled = logits / temperature
    if top_k and top_k < V:
        kth = scaled.topk(int(top_k), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.softmax(scaled, dim=-1)


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None, *,
                greedy: bool = False, generator: torch.Generator | None = None) -> int:
    """One token id drawn from :func:`next_distribution` (the argmax when ``greedy``)."""
    if greedy:
        return int(logits.argmax(-1))
    probs = next_distribution(logits, temperature, top_k)
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


def entropy(probs: Tensor) -> float:
    """The entropy in nats of a distribution (0 for one-hot)."""
    p = probs.double()
    return float(-(p * torch.log(p.clamp_min(1e-300))).sum())


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: the same seed gives the same text on any device."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g
