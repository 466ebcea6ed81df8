"""§1.2's "the later layers get trained very rarely, so it's hard to generalise to longer sequences", measured.

Two networks learn the same task on short sequences: the §1.2 network with one layer per token (an
:class:`~rnn_widgets.core.untied.UntiedRNN`, a separate W^(l), b^(l) for every position) and the §1.3 RNN
(one W, b shared by every position). The task is many-to-one: read x[0] … x[T−1], each uniform in (−1, 1), and
say whether their sum is positive (a linear readout of the last state). Each training batch has one length T,
drawn around ``mean_len`` (a rounded normal, standard deviation ``spread``, clipped to 1 … ``max_len``), so
layer l of the untied network gets a gradient — an update, with plain SGD — only from batches at least l long.
Afterwards both are tested at every length 1 … ``max_len``.

``scripts/measure_tied_untied.py`` runs it at full size (seeded) and ships the result in
``data/tied_untied.json``; :func:`load_tied_untied` reads it; a test reruns it small.
"""
from __future__ import annotations

import functools
import json
from importlib import resources

import torch
from torch import nn

from .cells import RNN
from .seeding import seeded
from .untied import UntiedRNN

FILE = "tied_untied.json"


def draw_length(g: torch.Generator, mean_len: float, spread: float, max_len: int) -> int:
    """One training length: round(N(mean_len, spread²)), clipped to 1 … max_len."""
    return int(min(max_len, max(1, round(mean_len + spread * float(torch.randn((), generator=g))))))


def sum_sign_batch(g: torch.Generator, length: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x ``(length, batch, 1)`` uniform in (−1, 1), and the label (sum > 0) as 0/1 ``(batch,)``."""
    x = 2 * torch.rand(length, batch, 1, generator=g) - 1
    return x, (x.sum(0)[:, 0] > 0).float()


class SumSign(nn.Module):
    """A recurrent layer (tied or untied) and a linear readout of its last state."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell
        self.readout = nn.Linear(cell.hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.cell(x)
        return self.readout(out[-1]).squeeze(-1)


def run_experiment(*, steps: int = 3000, batch: int = 32, hidden: int = 16, mean_len: float = 6.0,
                   spread: float = 2.0, max_len: int = 16, lr: float = 0.3, test_batch: int = 1000,
                   seed: int = 0) -> dict:
    """Train the tied and the untied network on the same batches (plain SGD, clipped at norm 1: a layer with no
    gradient does not move) and return the per-layer update counts, the training lengths and the accuracy of
    each at every length 1 … ``max_len`` (``test_batch`` fresh sequences per length)."""
    nets = {
        "tied": seeded(seed, lambda: SumSign(RNN(1, hidden))),
        "untied": seeded(seed, lambda: SumSign(UntiedRNN(1, hidden, max_len))),
    }
    opts = {k: torch.optim.SGD(m.parameters(), lr=lr) for k, m in nets.items()}
    g = torch.Generator().manual_seed(seed + 1)
    updates = [0] * max_len  # optimiser steps in which layer l (1-based: index l − 1) got a nonzero gradient
    trained = [0] * max_len  # how many training batches had each length
    for _ in range(steps):
        T = draw_length(g, mean_len, spread, max_len)
        trained[T - 1] += 1
        x, y = sum_sign_batch(g, T, batch)
        for key, net in nets.items():
            opts[key].zero_grad()
            nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
            if key == "untied":
                grad = net.cell.W.grad.flatten(1).abs().sum(1) + net.cell.b.grad.abs().sum(1)
                for layer in torch.nonzero(grad > 0).flatten().tolist():
                    updates[layer] += 1
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opts[key].step()
    accuracy = {k: [] for k in nets}
    with torch.no_grad():
        for T in range(1, max_len + 1):
            x, y = sum_sign_batch(g, T, test_batch)
            for key, net in nets.items():
                accuracy[key].append(float(((net(x) > 0).float() == y).float().mean()))
    return {"task": "many-to-one: is the sum of x[0] … x[T−1], each uniform in (−1, 1), positive?",
            "settings": {"steps": steps, "batch": batch, "hidden": hidden, "mean_len": mean_len,
                         "spread": spread, "max_len": max_len, "lr": lr, "test_batch": test_batch, "seed": seed,
                         "optimiser": "SGD, gradient clipped at norm 1"},
            "lengths": list(range(1, max_len + 1)), "batches_of_length": trained, "untied_updates": updates,
            "accuracy_tied": accuracy["tied"], "accuracy_untied": accuracy["untied"]}


@functools.lru_cache(maxsize=1)
def load_tied_untied() -> dict:
    """The shipped result of :func:`run_experiment` (``data/tied_untied.json``)."""
    return json.loads(resources.files(__package__).joinpath("data", FILE).read_text(encoding="utf-8"))


def summary(result: dict) -> dict:
    """The numbers a sentence quotes: the last layer the untied net updated at least ``10`` times, the longest
    training length, the mean accuracies on the lengths trained often (≤ mean) and on those past the longest
    length trained (or the top quarter of lengths), and the lengths where each is worst."""
    updates, lengths = result["untied_updates"], result["lengths"]
    longest = max(T for T, n in zip(lengths, result["batches_of_length"]) if n > 0)
    last_trained = max((l for l, n in zip(lengths, updates) if n >= 10), default=0)
    mean = result["settings"]["mean_len"]
    short = [k for k, T in enumerate(lengths) if T <= mean]
    long = [k for k, T in enumerate(lengths) if T > longest] or [k for k, T in enumerate(lengths) if
                                                                   T > 0.75 * lengths[-1]]
    avg = lambda key, idx: sum(result[key][k] for k in idx) / len(idx)
    return {"longest": longest, "last_trained": last_trained, "zero_layers": sum(1 for n in updates if n == 0),
            "short": (lengths[short[0]], lengths[short[-1]]), "long": (lengths[long[0]], lengths[long[-1]]),
            "tied_short": avg("accuracy_tied", short), "untied_short": avg("accuracy_untied", short),
            "tied_long": avg("accuracy_tied", long), "untied_long": avg("accuracy_untied", long)}
