"""Small concrete tasks for the RNN topologies of §1.3, solved by tiny models built from the core.

=================================  ===========================================  =====================
topology                           task (the lecture's application in brackets)  model
=================================  ===========================================  =====================
one-to-one                         the next digit, d → d+1 (a plain network)     one step of count-up
one-to-many                        count up from a digit (image captioning)       RNN, output fed back
many-to-one                        the sign of a sum (sentiment analysis)         RNN, read at the end
many-to-many, encoder-decoder      reverse a digit string (translation)           LSTM encoder/decoder
many-to-many, synced               the running sum (per-token labelling)          RNN, read every step
=================================  ===========================================  =====================

The weights are trained by ``scripts/train_topology_models.py`` and shipped in ``data/``; nothing
trains when a widget is built.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor, nn

from .cells import LSTM, RNN

DIGITS = 10
MAX_LEN = 8  # the models were trained on lengths 1 … MAX_LEN
LONGEST = 16  # the widget lets students go this far: past MAX_LEN the models meet lengths they never saw
WEIGHTS = "topologies.pt"
LENGTHS_FILE = "topology_lengths.json"  # accuracy_by_length, measured by scripts/measure_topology_lengths.py
POSITIONS_FILE = "topology_positions.json"  # accuracy_by_position, written by write_position_table()
#: the running sum's output counts as right within this distance of the true sum (it is a real number)
TOLERANCE = 0.15
#: the topologies whose output is a sequence, so that its positions have an accuracy each
SEQUENCE_OUT = ("one-to-many", "many-to-many (encoder-decoder)", "many-to-many (synced)")


def one_hot(d: Tensor, size: int = DIGITS + 1) -> Tensor:
    """Digits (and the start symbol 10) as one-hot vectors."""
    return nn.functional.one_hot(d, size).float()


class CountUp(nn.Module):
    """One-to-many: x[0] = a digit, then each output digit is fed back as the next input (§1.4)."""

    def __init__(self, hidden: int = 48):
        super().__init__()
        self.cell = RNN(DIGITS + 1, hidden)
        self.readout = nn.Linear(hidden, DIGITS)

    def forward(self, first: Tensor, out_len: int, teacher: Tensor | None = None) -> Tensor:
        """Logits ``(out_len, B, 10)``; ``teacher`` (out_len, B) digits replace the fed-back guesses in training."""
        x, state, logits = one_hot(first), None, []
        for t in range(out_len):
            out, state = self.cell(x.unsqueeze(0), state)
            logits.append(self.readout(out[0]))
            nxt = teacher[t] if teacher is not None else logits[-1].argmax(-1)
            x = one_hot(nxt)
        return torch.stack(logits)


class SignOfSum(nn.Module):
    """Many-to-one: read every number, answer once at the end: P(sum > 0)."""

    def __init__(self, hidden: int = 24):
        super().__init__()
        self.cell = RNN(1, hidden)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:  # x (T, B, 1) → logit (B,)
        out, _ = self.cell(x)
        return self.readout(out[-1]).squeeze(-1)


class RunningSum(nn.Module):
    """Many-to-many, synced: one output per input, the sum so far."""

    def __init__(self, hidden: int = 24):
        super().__init__()
        self.cell = RNN(1, hidden)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:  # (T, B, 1) → (T, B)
        out, _ = self.cell(x)
        return self.readout(out).squeeze(-1)


class Reverser(nn.Module):
    """Many-to-many, encoder then decoder: read the whole string, then write it backwards."""

    def __init__(self, hidden: int = 96):
        super().__init__()
        self.encoder = LSTM(DIGITS + 1, hidden)
        self.decoder = LSTM(DIGITS + 1, hidden)
        self.readout = nn.Linear(hidden, DIGITS)

    def forward(self, digits: Tensor, out_len: int, teacher: Tensor | None = None) -> Tensor:
        _, state = self.encoder(one_hot(digits))  # only the final (c, h) crosses over
        x, logits = one_hot(torch.full_like(digits[0], DIGITS)), []  # the start symbol
        for t in range(out_len):
            out, state = self.decoder(x.unsqueeze(0), state)
            logits.append(self.readout(out[0]))
            x = one_hot(teacher[t] if teacher is not None else logits[-1].argmax(-1))
        return torch.stack(logits)


@dataclass
class Example:
    inputs: list  # what enters at each step
    outputs: list  # what the model answered
    targets: list  # the right answers
    output_steps: list[int]  # the steps whose output is read (decoder steps count after the encoder)

    @property
    def correct(self) -> list[bool]:
        return [_close(o, t) for o, t in zip(self.outputs, self.targets)]


def _close(o, t) -> bool:
    return o == t if isinstance(t, (int, str)) else abs(o - t) < TOLERANCE


def make_models() -> dict[str, nn.Module]:
    return {"count": CountUp(), "sign": SignOfSum(), "running": RunningSum(), "reverse": Reverser()}


@functools.cache
def load_task_models() -> dict[str, nn.Module]:
    """The shipped, trained task models (CPU, eval mode); loaded once, weights only."""
    path = resources.files("rnn_widgets.core") / "data" / WEIGHTS
    with resources.as_file(path) as p:
        if not Path(p).exists():
            raise FileNotFoundError(f"the task weights {WEIGHTS} are missing from the package at {p}")
        blob = torch.load(p, map_location="cpu", weights_only=True)
    models = make_models()
    for name, model in models.items():
        model.load_state_dict(blob[name])
        model.eval()
    return models


def _shown(value) -> float:
    """A value as the diagram prints it: two decimals, and never "-0.0" (adding 0.0 turns -0.0 into 0.0)."""
    return round(float(value), 2) + 0.0


@functools.lru_cache(maxsize=512)
@torch.no_grad()
def run_topology(topology: str, input_len: int, output_len: int, seed: int = 0) -> Example:
    """A concrete example of ``topology`` answered by the shipped model."""
    g = torch.Generator().manual_seed(seed)
    m = load_task_models()
    if topology in ("one-to-one", "one-to-many"):
        n = 1 if topology == "one-to-one" else output_len
        d = torch.randint(0, DIGITS, (1,), generator=g)
        out = m["count"](d, n).argmax(-1)[:, 0].tolist()
        return Example([int(d)], out, [(int(d) + k) % DIGITS for k in range(1, n + 1)], list(range(n)))
    if topology == "many-to-one":
        x = (torch.rand(input_len, 1, 1, generator=g) * 2 - 1)
        p = torch.sigmoid(m["sign"](x)).item()
        s = float(x.sum())
        return Example([_shown(v) for v in x.flatten()], ["+" if p > 0.5 else "−"],
                       ["+" if s > 0 else "−"], [input_len - 1])
    if topology == "many-to-many (synced)":
        x = torch.rand(input_len, 1, 1, generator=g) - 0.5
        y = m["running"](x)[:, 0].tolist()
        return Example([_shown(v) for v in x.flatten()], [_shown(v) for v in y],
                       [_shown(v) for v in x.flatten().cumsum(0)], list(range(input_len)))
    if topology == "many-to-many (encoder-decoder)":
        d = torch.randint(0, DIGITS, (input_len, 1), generator=g)
        out = m["reverse"](d, input_len).argmax(-1)[:, 0].tolist()
        return Example(d.flatten().tolist(), out, d.flatten().flip(0).tolist(),
                       list(range(input_len, 2 * input_len)))
    raise ValueError(f"unknown topology {topology!r}")


def _right_answers(topology: str, lengths: tuple[int, ...], examples: int, seed: int):
    """For each length n in order, ``(n, right)``: which outputs of ``examples`` fresh random examples the shipped
    model got right, ``(outputs, examples)`` bool, outputs in the order written (one row for many-to-one). One
    generator serves all lengths in turn, so the examples of a length depend on the lengths before it."""
    if topology == "one-to-one":
        raise ValueError("one-to-one has no sequence length")
    g = torch.Generator().manual_seed(seed)
    m = load_task_models()
    for n in lengths:
        if topology == "one-to-many":
            d = torch.randint(0, DIGITS, (examples,), generator=g)
            guess = m["count"](d, n).argmax(-1)  # (n, B)
            right = guess == (d + torch.arange(1, n + 1)[:, None]) % DIGITS
        elif topology == "many-to-one":
            x = torch.rand(n, examples, 1, generator=g) * 2 - 1
            right = ((m["sign"](x) > 0) == (x.sum((0, 2)) > 0))[None]
        elif topology == "many-to-many (synced)":
            x = torch.rand(n, examples, 1, generator=g) - 0.5
            right = (m["running"](x) - x[..., 0].cumsum(0)).abs() < TOLERANCE
        elif topology == "many-to-many (encoder-decoder)":
            d = torch.randint(0, DIGITS, (n, examples), generator=g)
            right = m["reverse"](d, n).argmax(-1) == d.flip(0)
        else:
            raise ValueError(f"unknown topology {topology!r}")
        yield n, right


@functools.lru_cache(maxsize=8)
@torch.no_grad()
def accuracy_by_length(topology: str, lengths: tuple[int, ...] = tuple(range(1, LONGEST + 1)),
                       examples: int = 200, seed: int = 12345) -> tuple[float, ...]:
    """The shipped model's accuracy at each length (fraction of output digits or answers right, on
    ``examples`` fresh random examples per length, one batched run each), so a plot shows how the models do
    past the trained lengths 1 … MAX_LEN.

    The length is the output length for one-to-many and the input length for the others.
    """
    return tuple(float(right.float().mean()) for _, right in _right_answers(topology, lengths, examples, seed))


@functools.lru_cache(maxsize=8)
@torch.no_grad()
def accuracy_by_position(topology: str, lengths: tuple[int, ...] = tuple(range(1, LONGEST + 1)),
                         examples: int = 200, seed: int = 12345) -> dict:
    """For each length, the fraction right at each output position (in the order written) and the fraction of
    examples whose outputs are all right: ``{"positions": [[…] per length], "whole": [… per length]}``.

    The same examples as :func:`accuracy_by_length` (same lengths, seed and order), so each length's positions
    average to its accuracy there. The encoder-decoder writes the digit it read first last: where a state cannot
    hold the whole string, the last positions fall to chance (1/10).
    """
    if topology not in SEQUENCE_OUT:
        raise ValueError(f"{topology!r} has no sequence of outputs")
    positions, whole = [], []
    for _, right in _right_answers(topology, lengths, examples, seed):
        positions.append([float(a) for a in right.float().mean(1)])
        whole.append(float(right.all(0).float().mean()))
    return {"positions": positions, "whole": whole}


def write_position_table(path: str | Path | None = None) -> Path:
    """Measure :func:`accuracy_by_position` for lengths 1 … LONGEST and write it beside the weights (seconds:
    too long for a widget, so it ships as data; tests/test_claims.py recomputes it)."""
    table = {t: {k: [[round(a, 4) for a in row] if isinstance(row, list) else round(row, 4) for row in v]
                 for k, v in accuracy_by_position(t).items()} for t in SEQUENCE_OUT}
    out = Path(path) if path else Path(__file__).resolve().parent / "data" / POSITIONS_FILE
    out.write_text(json.dumps({"trained_up_to": MAX_LEN, "lengths": list(range(1, LONGEST + 1)),
                               "examples_per_length": 200, "accuracy": table}) + "\n", encoding="utf-8")
    return out


@functools.cache
def shipped_accuracy_by_position(topology: str) -> dict:
    """:func:`accuracy_by_position` for lengths 1 … LONGEST as measured and shipped."""
    path = resources.files("rnn_widgets.core") / "data" / POSITIONS_FILE
    table = json.loads(path.read_text(encoding="utf-8"))["accuracy"]
    if topology not in table:
        raise ValueError(f"no position measurements for {topology!r}")
    return table[topology]


@functools.cache
def shipped_accuracy_by_length(topology: str) -> tuple[float, ...]:
    """:func:`accuracy_by_length` for lengths 1 … LONGEST as measured and shipped (a widget cannot wait seconds)."""
    path = resources.files("rnn_widgets.core") / "data" / LENGTHS_FILE
    table = json.loads(path.read_text(encoding="utf-8"))["accuracy"]
    if topology not in table:
        raise ValueError(f"no length measurements for {topology!r}")
    return tuple(table[topology])
