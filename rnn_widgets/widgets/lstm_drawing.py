"""§2: the LSTM (and GRU) cell drawn as colah draws it, with one step's values (split from lstm_gates.py)."""
from __future__ import annotations

import math

import torch

from .charts.cell import Part
from .numbers import fmt

# ---------------------------------------------------------------------- the cell, drawn as colah draws it
#: the data ranges of the cell drawing: c (GRU: h) along the top at y = 3.7, the gates at 1.3, [h; x] at 0.4
CELL_X, CELL_Y = (-0.2, 10.4), (-0.6, 4.4)
SIGMA_BOX, TANH_BOX, OP_FILL = "#fbe98e", "#bfe3f5", "#f6d5e6"  # colah's yellow boxes, light blue, pink ops
LSTM_NOTE = ("<b>The cell</b>, drawn as in colah's <i>Understanding LSTM Networks</i>: c runs straight along the "
             "top and is only scaled (⊙ f) and added to (+ i); each box (σ, or the candidate's φ: tanh unless "
             "Candidate φ says otherwise) is one part of the affine map of [h<sup>(l)</sup>; x[l]], with its value "
             "for the drawn unit at this step.")
GRU_NOTE = ("<b>The GRU cell</b> has one state h, carried along the top: the update gate z keeps z ⊙ h<sup>(l)</sup> "
            "and lets in (1 − z) ⊙ n (PyTorch's convention: z = 1 keeps h; colah's post writes (1 − z) ⊙ h + z ⊙ h̃, "
            "where z = 1 replaces it), where the candidate n = tanh(W<sub>x</sub>x[l] + b + r ⊙ "
            "(W<sub>h</sub>h<sup>(l)</sup> + b)) reads h through the reset gate r. No cell state, no output gate: "
            "with z ≈ 1, h itself is the skip path (Remark 2.1). Its knobs move z and r.")


def _state_part(x: float, y: float, label: str, key: str, value: float, place: str) -> Part:
    return Part(x, y, "point", label=f"{label} = {fmt(value)}", place=place, key=key, value=value)


def _box(x: float, fn: str, name: str, key: str, value: float) -> Part:
    return Part(x, 1.3, "box", f"{fn}\n{name} = {fmt(value)}", color=SIGMA_BOX if fn == "σ" else TANH_BOX,
                key=key, value=value)


def _op(x: float, y: float, glyph: str, label: str = "", key: str = "", value: float | None = None) -> Part:
    return Part(x, y, "op", glyph, f"{label} = {fmt(value)}" if label else "", color=OP_FILL, key=key, value=value)


def _bus(l: int, token: str, x_label: float, feeds: list[float]) -> tuple[list[Part], list[tuple[int, int]]]:
    """The bottom line [h^(l); x[l]]: x[l] enters from below at x = 0.9 and the line feeds each gate above
    ``feeds``; part 0 is where h^(l) joins it (at x = 0.5 … the caller links it), part 1 the x junction."""
    parts = [Part(0.9, 0.4), Part(0.9, -0.3, label=f"x[{l}]{token}", place="right"),
             Part(x_label, 0.4, label="[h⁽ˡ⁾; x[l]]", place="below")]
    parts += [Part(x, 0.4) for x in feeds]
    edges = [(1, 0), (0, 3)] + [(3 + k, 4 + k) for k in range(len(feeds) - 1)]
    return parts, edges


def lstm_parts(tr, l: int, unit: int, token: str, phi: str = "tanh") -> tuple[list[Part], list[tuple[int, int]]]:
    """The LSTM cell at step l for one unit: c along the top (c^(l) → ⊙ f → + i → c^(l+1)), then tanh and ⊙ o
    down to h^(l+1); four gate boxes fed from [h^(l); x[l]] along the bottom (the candidate's box named by its
    nonlinearity ``phi`` as shown: tanh, ReLU, identity, σ)."""
    v = {k: float(tr[k][l, unit]) for k in ("f", "input_gate", "candidate", "o", "i")}
    c, c1, h, h1 = (float(tr[k][l + d, unit]) for k, d in (("c", 0), ("c", 1), ("h", 0), ("h", 1)))
    parts = [
        _state_part(0.0, 3.7, "c⁽ˡ⁾", "c", c, "above-right"),  # 0
        _op(1.9, 3.7, "⊙", "c⁽ˡ⁾⊙f", "c*f", c * v["f"]),  # 1
        _op(4.3, 3.7, "+"),  # 2
        Part(8.1, 3.7),  # 3: c^(l+1) goes on, and down to tanh
        _state_part(10.2, 3.7, "c⁽ˡ⁺¹⁾", "c+1", c1, "above-left"),  # 4
        _op(8.1, 2.85, "tanh", "tanh c⁽ˡ⁺¹⁾", "tanh c+1", math.tanh(c1)),  # 5
        _op(8.1, 2.0, "⊙"),  # 6
        _state_part(10.2, 2.0, "h⁽ˡ⁺¹⁾", "h+1", h1, "above-left"),  # 7
        _box(1.9, "σ", "f", "f", v["f"]),  # 8
        _box(3.5, "σ", "in", "input_gate", v["input_gate"]),  # 9
        _box(5.1, phi, "cand", "candidate", v["candidate"]),  # 10
        _box(6.7, "σ", "o", "o", v["o"]),  # 11
        _op(4.3, 2.6, "⊙", "i", "i", v["i"]),  # 12
        Part(3.5, 2.6), Part(5.1, 2.6), Part(6.7, 2.0),  # 13-15: corners
        _state_part(0.0, 0.4, "h⁽ˡ⁾", "h", h, "above-right"),  # 16
    ]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (8, 1), (9, 13), (13, 12), (10, 14), (14, 12),
             (12, 2), (11, 15), (15, 6)]
    bus, bus_edges = _bus(l, token, 2.7, [1.9, 3.5, 5.1, 6.7])
    n = len(parts)
    edges += [(16, n)] + [(a + n, b + n) for a, b in bus_edges] + [(n + 3 + k, 8 + k) for k in range(4)]
    return parts + bus, edges


def gru_parts(tr, model, l: int, unit: int, token: str) -> tuple[list[Part], list[tuple[int, int]]]:
    """The GRU cell at step l for one unit: h along the top (h^(l) → ⊙ z → + (1−z)⊙n → h^(l+1)); z, r and the
    candidate n fed from [h^(l); x[l]] along the bottom, r multiplying n's h-part."""
    v = {k: float(tr[k][l, unit]) for k in ("z", "r", "n")}
    h, h1 = float(tr.h[l, unit]), float(tr.h[l + 1, unit])
    H = model.hidden_size
    with torch.no_grad():  # n's h-part, W_hn h^(l) + b_hn, which r multiplies
        hn = float(model.Wh[2 * H + unit] @ tr.h[l] + model.bh[2 * H + unit])
    parts = [
        _state_part(0.0, 3.7, "h⁽ˡ⁾", "h", h, "above-right"),  # 0
        Part(0.5, 3.7),  # 1: h^(l) goes on, and down into [h; x]
        _op(2.4, 3.7, "⊙", "z⊙h⁽ˡ⁾", "z*h", v["z"] * h),  # 2
        _op(6.5, 3.7, "+"),  # 3
        _state_part(10.2, 3.7, "h⁽ˡ⁺¹⁾", "h+1", h1, "above-left"),  # 4
        _box(2.4, "σ", "z", "z", v["z"]),  # 5
        _box(4.0, "σ", "r", "r", v["r"]),  # 6
        _op(5.2, 1.3, "⊙", "r⊙(W h⁽ˡ⁾+b)", "r*hn", v["r"] * hn),  # 7
        _box(6.5, "tanh", "n", "n", v["n"]),  # 8
        Part(2.4, 2.6),  # 9: z goes up to ⊙, and right to 1 − z
        _op(3.8, 2.6, "1−", "1−z", "1-z", 1 - v["z"]),  # 10
        _op(6.5, 2.6, "⊙", "(1−z)⊙n", "(1-z)*n", (1 - v["z"]) * v["n"]),  # 11
        Part(0.5, 0.4),  # 12: h^(l) joins the bottom line
    ]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (1, 12), (5, 9), (9, 2), (9, 10), (10, 11), (8, 11), (11, 3), (6, 7),
             (7, 8)]
    bus, bus_edges = _bus(l, token, 1.65, [2.4, 4.0, 5.2, 6.5])
    n = len(parts)
    edges += [(12, n)] + [(a + n, b + n) for a, b in bus_edges] + [(n + 3 + k, t) for k, t in enumerate((5, 6, 7, 8))]
    return parts + bus, edges
