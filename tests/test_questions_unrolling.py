"""examples/01_unrolling.ipynb's questions: each truth recomputed without the widget — the layers counted with
torch.nn.Linear layers built as §1.2 and §1.3 describe them, the Poisson tail with torch.distributions, and the
token vectors from the stable hash the core documents."""
import zlib

import torch
from torch import nn

SENTENCE = "the cat sat on the mat and then it slept in the sun"
HIDDEN, INPUT = 6, 4


def layers_needed():
    words = SENTENCE.split()
    assert len(words) == 13  # the notebook's answer: "One per token: 13"
    return [float(len(words)), "it reads the first 12 tokens and has no layer for the rest"]


def _count(modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def parameter_counts():
    # §1.2: layer 1 reads x[0] alone (no previous layer), layers 2 … 50 read [a; x]
    untied = _count([nn.Linear(INPUT, HIDDEN)] + [nn.Linear(HIDDEN + INPUT, HIDDEN) for _ in range(49)])
    shared = _count([nn.Linear(HIDDEN + INPUT, HIDDEN)])  # §1.3: one W, b for every step
    assert (untied, shared) == (3264, 66)  # the numbers the notebook's answer quotes
    return [float(untied), float(shared)]


def reach_percent():
    # a training sequence is 1 + Poisson(5) tokens long; it reaches layer 12 when it has at least 12 tokens
    poisson = torch.distributions.Poisson(torch.tensor(5.0, dtype=torch.float64))
    below = sum(float(poisson.log_prob(torch.tensor(float(k), dtype=torch.float64)).exp()) for k in range(11))
    percent = 100 * (1 - below)
    assert round(percent, 1) == 1.4  # the notebook's answer: "Only 1.4%"
    return percent


def _word_vector(word: str) -> torch.Tensor:
    return torch.randn(INPUT, generator=torch.Generator().manual_seed(zlib.crc32(word.encode("utf-8"))))


def same_vector():
    words = ["the", "cat", "sat", "on", "the", "mat"]
    x0, x4 = _word_vector(words[0]), _word_vector(words[4])
    # what the notebook's answer quotes, to two significant digits as the widget prints it
    assert [float(f"{float(v):.2g}") for v in x0] == [-0.98, 0.67, 2.2, -0.45]
    return "the same vector" if torch.equal(x0, x4) else "different vectors"


TRUTHS = {1: layers_needed, 2: parameter_counts, 3: reach_percent, 4: same_vector}
