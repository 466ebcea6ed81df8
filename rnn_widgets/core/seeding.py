"""Seeded construction: the same seed gives the same weights, without touching the global RNG."""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TypeVar

import torch

M = TypeVar("M")


def seeded(seed: int, factory: Callable[[], M]) -> M:
    """Call ``factory()`` (e.g. a model constructor) with torch's global RNG seeded, then restore it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory()


def token_vector(token: str, size: int, seed: int = 0) -> torch.Tensor:
    """A fixed random vector for a token (a stand-in for a word2vec embedding, Remark 1.2).

    Derived from a stable hash of the token, so "cat" maps to the same x[l] in every session.
    """
    g = torch.Generator().manual_seed(zlib.crc32(token.encode("utf-8")) + 7919 * seed)
    return torch.randn(size, generator=g)
