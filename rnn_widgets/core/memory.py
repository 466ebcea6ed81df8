"""A hand-built LSTM and GRU that remember the first input for as long as their keep-gate lets them (§2).

Input x[l] = [value, is_first]: the value arrives at step 0 only, then noise. Unit 0 is wired as a
memory: its input gate opens only at step 0 (the candidate is the value), and its forget gate sits
at f = σ(4) ≈ 0.98, so c^(l) ≈ 0.98^l · value; its output gate is shut at step 0 and open (o ≈ 0.88)
afterwards, so h shows the stored value from step 1 on. The other units have small random weights. A bias
offset on the forget gate pushes f toward 1 (keep) or 0 (forget) for every unit. The GRU twin keeps
h through its update gate z instead (z ≈ 1 keeps, Remark 2.1: no output gate).
"""
from __future__ import annotations

import torch

from .cells import GRU, LSTM
from .seeding import seeded

HIDDEN = 8
KEEP = 4.0  # pre-activation of the memory unit's keep gate: σ(4) ≈ 0.982


def remember_inputs(length: int, value: float = 0.8, seed: int = 0) -> torch.Tensor:
    """``(length, 2)``: the value then small noise in channel 0, the is-first flag in channel 1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(length, 2)
    x[:, 0] = 0.1 * torch.randn(length, generator=g)
    x[0, 0], x[0, 1] = value, 1.0
    return x


def remember_lstm(candidate: str = "tanh") -> LSTM:
    """The hand-built memory LSTM; ``candidate`` its candidate's nonlinearity (§2: "doesn't matter which one"):
    the same weights whichever it is, so unit 0 writes φ(3 · value) at step 0 and then keeps it through f."""
    def build():
        m = LSTM(2, HIDDEN, candidate=candidate)
        H = HIDDEN
        with torch.no_grad():
            m.W.mul_(0.3)
            m.b.zero_()
            m.W[:, :H].zero_()  # no recurrence through h: the cell state alone carries the memory
            m.W[0, H:] = torch.tensor([0.0, 0.0])  # forget gate of unit 0: bias only
            m.b[0] = KEEP
            m.W[H, H:] = torch.tensor([0.0, 12.0])  # input gate of unit 0: open at step 0 only
            m.b[H] = -6.0
            m.W[2 * H, H:] = torch.tensor([3.0, 0.0])  # candidate of unit 0: the value
            m.W[3 * H, H:] = torch.tensor([0.0, -8.0])  # output gate of unit 0: shut while the value is
            m.b[3 * H] = 2.0  # written (o = σ(−6) ≈ 0 at step 0), then open, σ(2) ≈ 0.88: h shows the memory
        return m

    return seeded(1, build)


def remember_gru() -> GRU:
    def build():
        m = GRU(2, HIDDEN)
        H = HIDDEN
        with torch.no_grad():
            for p in (m.Wx, m.Wh):
                p.mul_(0.3)
            m.Wh.zero_()
            m.bx.zero_()
            m.bh.zero_()
            m.Wx[H] = torch.tensor([0.0, -12.0])  # update gate z of unit 0: ≈ 0 (take the new value) at step 0
            m.bx[H] = KEEP  # … and σ(4) ≈ 0.98 (keep h) afterwards
            m.Wx[2 * H] = torch.tensor([3.0, 0.0])  # candidate n of unit 0: the value
        return m

    return seeded(1, build)
