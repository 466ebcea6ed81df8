"""The cell-state recurrence c^(t+1) = c^(t) ⊙ f^(t) + i^(t) for all t at once (§2).

PyTorch's fused LSTM kernel returns h for every step but c only for the last one, so the
trace rebuilds c. A Python loop costs a few microseconds of overhead per step, more than the
fused kernel itself for small models; for those we solve the linear recurrence in closed form,
chunk by chunk:

    inside a chunk   c_t = D_t c_start + D_t Σ_{k≤t} i_k / D_k,    D_t = Π_{j≤t} f_j (from the chunk's start)
    across chunks    c_start ← D_end c_start + (the chunk's local sum at its end)

in float64, with log f clamped at −40 (f < 4e-18 counts as 4e-18; that changes c by less than
4e-18 |c|). Then 1/D_k ≤ e^(40·CHUNK) stays far below float64's overflow, and only one small
loop step per chunk is left in Python.
"""
from __future__ import annotations

import torch
from torch import Tensor

#: Above this many units per step (B · H) the plain loop wins: each step then has enough
#: work to hide Python's overhead, while the closed form's exp() calls grow with the width.
SCAN_MAX_WIDTH = 2048
CHUNK = 16  # 40 · 16 = 640 < 709, the largest exponent float64 holds
LOG_F_MIN = -40.0


def cell_states(c0: Tensor, pre_f: Tensor, f: Tensor, i: Tensor) -> Tensor:
    """c^(0..T) ``(T+1, B, H)`` from c^(0) ``(B, H)``, the forget gate (pre-activation and value) and i ``(T, B, H)``."""
    T, B, H = i.shape
    if B * H > SCAN_MAX_WIDTH:
        c = [c0]
        for f_t, i_t in zip(f.unbind(0), i.unbind(0)):
            c.append(torch.addcmul(i_t, c[-1], f_t))  # c^(t+1) = c^(t) ⊙ f + i
        return torch.stack(c)
    n = -(-T // CHUNK)
    pad = n * CHUNK - T  # padded steps have f = 1, i = 0: they change nothing
    log_f = torch.nn.functional.logsigmoid(pre_f.double()).clamp_min(LOG_F_MIN)
    log_f = torch.nn.functional.pad(log_f, (0, 0, 0, 0, 0, pad)).reshape(n, CHUNK, B, H)
    inc = torch.nn.functional.pad(i.double(), (0, 0, 0, 0, 0, pad)).reshape(n, CHUNK, B, H)
    L = log_f.cumsum(1)  # log D_t inside each chunk
    decay = torch.exp(L)
    local = decay * torch.cumsum(torch.exp(-L) * inc, 1)  # each chunk's c if it started from 0
    starts = [c0.double()]
    for j in range(n - 1):
        starts.append(torch.addcmul(local[j, -1], decay[j, -1], starts[-1]))
    c = local + decay * torch.stack(starts).unsqueeze(1)  # (n, CHUNK, B, H)
    return torch.cat([c0.unsqueeze(0), c.reshape(n * CHUNK, B, H)[:T].to(i.dtype)])
