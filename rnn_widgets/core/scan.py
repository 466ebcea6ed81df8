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

Where PyTorch runs the LSTM through oneDNN (the CPU, float32, ``torch.backends.mkldnn.enabled``), nothing
needs rebuilding: asked for the workspace its backward pass reads, oneDNN's kernel leaves there every gate
(activated) and c^(1..T-1), and returns c^(T). :func:`onednn_lstm` and :func:`workspace_internals` take them from
there: the numbers torch.nn.LSTM's own kernel computes (its training variant, within a few float32 roundings of
the inference one), for about the cost of copying them. The workspace's layout is oneDNN's, not a PyTorch API,
so the first run of each shape finds the blocks and checks every value against the gates computed here and the
recurrence; a shape where that fails (another oneDNN) gets the scan from then on.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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




# ------------------------------------------------------------------ gates and c from oneDNN's workspace
#: oneDNN (src/cpu/rnn/rnn_utils.cpp, set_offsets) starts each workspace block on a 4096-byte page. The gates come
#: first, (T, B, ld) in PyTorch's order (i, f, g, o), ld = 4H rounded up to 16 floats (16 more when that is a
#: multiple of 256); in the cell-state block, c^(t) of the layer's output sits at row (T + 1) + t of (B, H) rows.
_PAGE_FLOATS = 4096 // 4
#: Above this many floats of gates the workspace is not worth it: a fresh allocation of tens of MB costs more in
#: page faults than computing the gates and the scan.
KERNEL_GATES_MAX = 1 << 21
_MODE_LSTM = 2  # ideep's rnn_kind::LSTM, the mode argument of aten::mkldnn_rnn_layer
_UNSEEN = (-1, -1)
try:
    _mkldnn_rnn_layer = torch.ops.aten.mkldnn_rnn_layer.default if torch.backends.mkldnn.is_available() else None
except (AttributeError, RuntimeError):  # a build without the op
    _mkldnn_rnn_layer = None
#: (T, B, H) → (gates' ld, page of the cell-state block), or None where the workspace did not check out
_layouts: dict[tuple[int, int, int], tuple[int, int] | None] = {}
_LAYOUTS_KEPT = 4096  # two ints per shape; cleared when full, so a long session cannot grow it


class KernelRun(NamedTuple):
    h: Tensor  # h^(1..T) (T, B, H)
    c_last: Tensor  # c^(T) (B, H)
    workspace: Tensor | None


def onednn_lstm(x: Tensor, h0: Tensor, c0: Tensor, params: list[Tensor]) -> KernelRun | None:
    """PyTorch's oneDNN LSTM kernel on ``x`` ``(T, B, input)``, asked for its workspace; ``None`` where that kernel
    does not run (autograd on, not a float32 CPU tensor, oneDNN disabled or absent), is too large, or a shape's
    workspace did not check out. ``params``: ``[weight_ih, weight_hh, bias_ih, bias_hh]``, without autograd.

    Without autograd only: what the workspace holds carries no gradient.
    """
    T, B, H = x.shape[0], x.shape[1], h0.shape[-1]
    # torch._C's getters: the public wrappers cost as much again as reading the workspace (µs each, a trace at
    # T = 100 is ~0.4 ms)
    if (torch.is_grad_enabled() or not x.is_cpu or x.dtype != torch.float32
            or not torch._C._get_mkldnn_enabled() or _mkldnn_rnn_layer is None
            or T * B * 4 * H > KERNEL_GATES_MAX or _layouts.get((T, B, H), _UNSEEN) is None):
        return None
    w_ih, w_hh, b_ih, b_hh = params
    torch._C._set_grad_enabled(True)  # oneDNN returns its workspace only when autograd could ask for it
    try:
        h, _, c_last, ws = _mkldnn_rnn_layer(x.contiguous(), w_ih, w_hh, b_ih, b_hh, h0.contiguous(),
                                             c0.contiguous(), False, [], _MODE_LSTM, H, 1, True, False, False, True)
    except (RuntimeError, NotImplementedError):  # a build whose op refuses these arguments
        _remember((T, B, H), None)
        return None
    finally:
        torch._C._set_grad_enabled(False)
    if h.requires_grad:  # a parameter needing grad slipped in: do not hand out a graph-less copy
        return None
    return KernelRun(h, c_last, ws)


def workspace_internals(run: KernelRun, c0: Tensor, expected: Callable[[], dict[str, Tensor]]):
    """``(gates (T, B, 4H), c^(0..T) (T+1, B, H))`` copied out of ``run``'s workspace, the gates activated and in
    PyTorch's order (input gate, f, candidate, o); or ``None``.

    ``expected()`` gives the trace's own gates (``input_gate, f, candidate, o, i``); it is called only the first
    time a shape is seen, to find the blocks and check them.
    """
    ws = run.workspace
    if ws is None or ws.dtype != torch.uint8 or ws.numel() % 4:
        return None
    wf = ws.view(torch.float32)
    key = tuple(run.h.shape)
    layout = _layouts.get(key)
    if layout is None:
        layout = _find_layout(wf, run, c0, expected())
        _remember(key, layout)
        if layout is None:
            return None
    return _read(wf, layout, run, c0)


def _remember(key, layout) -> None:
    if len(_layouts) >= _LAYOUTS_KEPT:
        _layouts.clear()
    _layouts[key] = layout


def _read(wf: Tensor, layout: tuple[int, int], run: KernelRun, c0: Tensor):
    T, B, H = run.h.shape
    ld, page = layout
    BH = B * H
    start = page * _PAGE_FLOATS + (T + 2) * BH  # c^(1)
    n = wf.numel()
    if T * B * ld > n or start + (T - 1) * BH > n:
        return None
    # copies: the workspace (several times larger) is freed with the run
    gates = wf.as_strided((T, B, 4 * H), (B * ld, ld, 1)).clone()
    # c^(0), c^(1..T-1), c^(T) as one (T+1, B, H) block: c^(0) and c^(T) viewed as (1, B, H) rows
    return gates, torch.cat([c0.view(1, B, H), wf.as_strided((T - 1, B, H), (BH, H, 1), start),
                             run.c_last.view(1, B, H)])


def _close(a: Tensor, b: Tensor) -> bool:
    # the trace's gates come from its own matmul, so they differ from the kernel's in the last bits; a wrong
    # block differs by far more
    return bool(((a - b).abs() <= 1e-4 * (1 + b.abs())).all())


def _find_layout(wf: Tensor, run: KernelRun, c0: Tensor, g: dict[str, Tensor]) -> tuple[int, int] | None:
    """The gates' ld and the cell-state block's page, every value checked; ``None`` if they are not found."""
    T, B, H = run.h.shape
    BH = B * H
    ours = torch.cat([g["input_gate"], g["f"], g["candidate"], g["o"]], dim=-1)
    r = -(-4 * H // 16) * 16
    for ld in (r, r + 16):
        if T * B * ld <= wf.numel() and _close(wf[: T * B * ld].view(T, B, ld)[..., : 4 * H], ours):
            break
    else:
        return None
    if T == 1:  # no c inside the workspace: c^(0) and c^(T) are all there is
        return ld, 0
    first = (T + 2) * BH  # c^(1)'s offset inside the cell-state block
    c1 = torch.addcmul(g["i"][0], c0, g["f"][0]).reshape(-1)
    starts = torch.arange(0, wf.numel() - first - (T - 1) * BH + 1, _PAGE_FLOATS) + first
    near = (wf[starts] - c1[0]).abs() <= 1e-4 * (1 + c1[0].abs())
    for s in starts[near][:16].tolist():
        layout = (ld, (s - first) // _PAGE_FLOATS)
        _, c = _read(wf, layout, run, c0)
        if _close(c[1:], torch.addcmul(g["i"], c[:-1], g["f"])):
            return layout
    return None
