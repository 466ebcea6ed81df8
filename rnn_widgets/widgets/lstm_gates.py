"""§2 and Remark 2.1: the LSTM's gates at work (and the GRU's), and the cell state as a skip path."""
from __future__ import annotations

import copy
import functools

import ipywidgets as W
import numpy as np
import torch
import traitlets

from ..core import RNN, load_char_model, seeded
from ..core.jacobians import backward_states
from ..core.memory import remember_gru, remember_inputs, remember_lstm
from .charts import (
    Node,
    UnrolledDiagram,
    fill_grid,
    fit_y,
    line_chart,
    place_cursor,
    set_key,
    timeline_map,
)
from .common import (
    DIVERGING,
    PALETTE,
    SEQUENTIAL,
    LessonWidget,
    esc,
    finite,
    fmt,
    slider,
)

MAX_CHARS = 200
SHOWN_UNITS = 16
#: the six maps: (LSTM trace key, title) and the GRU's in the same slots (None: not shown)
LSTM_MAPS = [("f", "forget gate f"), ("input_gate", "input gate"), ("candidate", "candidate (tanh)"),
             ("o", "output gate o"), ("c", "cell state c⁽ˡ⁺¹⁾"), ("h", "hidden state h⁽ˡ⁺¹⁾")]
GRU_MAPS = [("z", "update gate z (keep h)"), ("r", "reset gate r"), ("n", "candidate n"), (None, ""), (None, ""),
            ("h", "hidden state h⁽ˡ⁺¹⁾")]
SIGNED = {"candidate", "c", "h", "n"}


def gate_bias_slices(cell: str, H: int) -> dict[str, slice]:
    """Where each knob's offset goes in the bias vector: LSTM b = [f; input gate; candidate; o];
    GRU bx = [r; z; n] (forget knob → z, the keep gate; input knob → r; no output gate)."""
    if cell == "lstm":
        return {"forget": slice(0, H), "input": slice(H, 2 * H), "output": slice(3 * H, 4 * H)}
    return {"forget": slice(H, 2 * H), "input": slice(0, H)}


@functools.lru_cache(maxsize=2)
def small_char_model(cell: str):
    """The shipped one-layer Shakespeare model for ``cell``, loaded once and only read from here
    (``load_char_model`` returns a fresh copy on every call, too costly for every slider move)."""
    return load_char_model(f"small_{cell}", device="cpu")


def check_text(text: str, cell: str) -> None:
    """Clear messages for text the character model cannot read."""
    if not text:
        raise ValueError("The text is empty: type a few characters for the model to read.")
    if len(text) > MAX_CHARS:
        raise ValueError(f"The text has {len(text)} characters; this view reads at most {MAX_CHARS}.")
    unknown = small_char_model(cell).vocab.unknown(text)
    if unknown:
        raise ValueError("The model was trained on Shakespeare and does not know these characters: "
                         + " ".join(repr(c) for c in unknown[:10]))


@functools.lru_cache(maxsize=8)
def gates_input(source: str, text: str, length: int, cell: str):
    """The model the knobs start from, and its input sequence x ``(T, input)``."""
    if source == "remember":
        return (remember_lstm() if cell == "lstm" else remember_gru()), remember_inputs(length)
    char_model = small_char_model(cell)
    with torch.no_grad():
        return char_model.layers[0], char_model.embed(char_model.encode(text))


def gradient_norms_at_each_step(model, x: torch.Tensor, state: str) -> np.ndarray:
    """‖dℓ/d(state^(k))‖ for k = 0 … T, ℓ = unit 0 of the output state after the last step (float64 norms)."""
    u = torch.zeros(model.hidden_size, dtype=x.dtype)
    u[0] = 1.0
    states, _ = backward_states(model, x.unsqueeze(1), u)
    return states[state][:, 0].double().norm(dim=-1).numpy()  # float64: ‖·‖² of tiny values must not underflow


@functools.lru_cache(maxsize=8)
def plain_rnn_norms(source: str, text: str, length: int, cell: str) -> np.ndarray:
    """The plain RNN's ‖dℓ/da^(k)‖ on the same input (it does not depend on the gate knobs)."""
    base, x = gates_input(source, text, length, cell)
    rnn = seeded(0, lambda: RNN(base.input_size, base.hidden_size))
    return gradient_norms_at_each_step(rnn, x, "a")


@functools.lru_cache(maxsize=32)  # the step and unit controls only redraw
def gates_run(source: str, text: str, length: int, cell: str, forget: float, input_: float, output: float):
    """The trace with the knobs' bias offsets applied, and ‖dℓ/dc^(k)‖ (GRU: h) beside a plain RNN's ‖dℓ/da^(k)‖.

    ℓ reads unit 0 of h at the last step (in the synthetic task, the remembered value).
    """
    base, x = gates_input(source, text, length, cell)
    model = copy.deepcopy(base)
    bias = model.b if cell == "lstm" else model.bx
    offsets = {"forget": forget, "input": input_, "output": output}
    with torch.no_grad():
        for knob, sl in gate_bias_slices(cell, model.hidden_size).items():
            bias[sl] += offsets[knob]
        tr = model.trace(x)
    flow = gradient_norms_at_each_step(model, x, "c" if cell == "lstm" else "h")
    return tr, (text or None), flow, plain_rnn_norms(source, text, length, cell)


class LSTMGatesWidget(LessonWidget):
    """Heat maps of the gates, c and h over time, the cell drawn with the current step's values,
    and ‖dℓ/dc^(k)‖ beside a plain RNN's ‖dℓ/da^(k)‖.

    Traits
    ------
    source : {"remember", "text"}   a synthetic "remember the first input" signal, or text through a
                                    character model trained on Shakespeare
    text : str                      the text (source "text")
    length : int                    steps of the remember signal
    cell : {"lstm", "gru"}
    forget_bias, input_bias, output_bias : float   offsets added to those gates' biases
    step : int                      the step shown on the cell drawing
    unit : int                      the unit (row) shown on the cell drawing
    """

    TITLE = "LSTM gates: the cell state as a memory"
    SECTION = "§2, Remark 2.1"
    EXPLANATION = (
        "The LSTM splits its state a = [c; h]. One affine map of [h<sup>(l)</sup>; x[l]] gives four parts: the "
        "<b>forget gate f</b>, the <b>input gate</b>, the <b>candidate</b> and the <b>output gate o</b>. The cell "
        "state is only scaled and added to, c<sup>(l+1)</sup> = c<sup>(l)</sup> ⊙ f + i with i = input gate ⊙ "
        "candidate, so with f ≈ 1 it carries information (and gradient) across many steps: a skip path. "
        "Push the forget bias down and the memory fades. (PyTorch calls our input gate i and our candidate g, "
        "in the order i, f, g, o.) The GRU has no output gate and performs about as well (Remark 2.1)."
    )

    source = traitlets.Enum(["remember", "text"], "remember").tag(config=True)
    text = traitlets.Unicode("To be, or not to be, that is the question:").tag(config=True)
    length = traitlets.Int(30, min=2, max=120).tag(config=True)
    cell = traitlets.Enum(["lstm", "gru"], "lstm").tag(config=True)
    forget_bias = traitlets.Float(0.0, min=-6.0, max=6.0).tag(config=True)
    input_bias = traitlets.Float(0.0, min=-6.0, max=6.0).tag(config=True)
    output_bias = traitlets.Float(0.0, min=-6.0, max=6.0).tag(config=True)
    step = traitlets.Int(0, min=0, max=MAX_CHARS).tag(config=True)
    unit = traitlets.Int(0, min=0, max=SHOWN_UNITS - 1).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.maps = [timeline_map(f"slot {k}", signed=True, lo=-1.0, hi=1.0, height=170) for k in range(6)]
        self.cell_diagram = UnrolledDiagram("The cell at step l", height=300)
        self.grad_fig, self.grad_lines, _ = line_chart(
            "The cell state as a skip path: gradient reaching step k", "step k", "‖dℓ/d·‖ (log)", 2, log_y=True,
            labels=["LSTM ‖dℓ/dc⁽ᵏ⁾‖", "plain RNN ‖dℓ/da⁽ᵏ⁾‖"], colors=[PALETTE[2], PALETTE[5]], height=240)
        bias = {"float_": True, "readout_format": ".1f"}
        controls = [
            self._control("source", W.ToggleButtons(options=[("remember the first input", "remember"),
                                                             ("text (Shakespeare model)", "text")], description="Input")),
            self._control("cell", W.ToggleButtons(options=[("LSTM", "lstm"), ("GRU", "gru")], description="Cell")),
            self._control("text", W.Text(description="Text", continuous_update=False, layout=W.Layout(width="420px"))),
            self._control("length", slider("Steps", 2, 120)),
            self._control("forget_bias", slider("Forget-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("input_bias", slider("Input-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("output_bias", slider("Output-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("step", slider("Step l", 0, MAX_CHARS)),
            self._control("unit", slider("Row (drawn cell)", 0, SHOWN_UNITS - 1)),
        ]
        pairs = [W.HBox([self._figure(f"map{k}", self.maps[k][0], half=True),
                         self._figure(f"map{k + 1}", self.maps[k + 1][0], half=True)]) for k in (0, 2, 4)]
        self._assemble(controls, [self._figure("cell", self.cell_diagram.fig), *pairs,
                                  self._figure("gradients", self.grad_fig)])
        self.observe(lambda _: self._run(self._update), names=[
            "source", "text", "length", "cell", "forget_bias", "input_bias", "output_bias", "step", "unit"])
        self._run(self._update)

    # ------------------------------------------------------------------ computing
    def _compute(self):
        if self.source == "text":
            check_text(self.text, self.cell)
        return gates_run(self.source, self.text if self.source == "text" else "", self.length, self.cell,
                         self.forget_bias, self.input_bias, self.output_bias)

    # ------------------------------------------------------------------ drawing
    def _update(self) -> None:
        tr, text, lstm_flow, rnn_flow = self._compute()
        T = tr.x.shape[0]
        self.controls["step"].max = T - 1
        step = min(self.step, T - 1)
        units = self._units(tr)
        slots = LSTM_MAPS if self.cell == "lstm" else GRU_MAPS
        # the step and the drawn row only move cursors: the maps are redrawn when what they show changes
        before = getattr(self, "_maps_drawn", None)  # (the trace drawn — cached, so the same object —, units, cell)
        redraw = before is None or before[0] is not tr or before[1:] != (tuple(units), self.cell)
        self._maps_drawn = (tr, tuple(units), self.cell)
        for k, ((key, title), (fig, grid, cursor)) in enumerate(zip(slots, self.maps)):
            self.figures[f"map{k}"].layout.display = "" if key else "none"
            self.summaries[f"map{k}"].layout.display = "" if key else "none"
            if key is None:
                continue
            values = tr[key][1:] if key in ("c", "h") else tr[key]  # state after step l, at column l
            data = finite(values[:, units].T.numpy())  # (units, T)
            # gates run 0 → 1 (light → dark blue: a half-open gate is mid-blue, not blank); states and the
            # candidate −1 → 1 around a white 0
            signed = key in SIGNED
            if redraw:
                color = grid.scales["color"]
                with color.hold_sync():
                    color.colors = DIVERGING if signed else SEQUENTIAL
                    color.mid = 0.0 if signed else None
                set_key(fig, -1.0 if signed else 0.0, 1.0)
                fig.axes[0].label = "value, −1 → 1" if signed else "gate value, 0 → 1"
                fill_grid(fig, grid, data, characters=text)
                fig.title = title
            place_cursor(cursor, step, len(units))
            self.summaries[f"map{k}"].value = esc(
                f"{title}: mean {fmt(float(data.mean()))} over {len(units)} units × {T} steps; at step {step}, "
                f"unit {units[0]}: {fmt(float(data[0, step]))}.")
        self._draw_cell(tr, step, units[min(self.unit, len(units) - 1)], text)
        with self._holding(self.grad_lines):
            self.grad_lines.x = np.arange(T + 1)
            self.grad_lines.y = np.clip(finite(np.stack([lstm_flow, rnn_flow])), 1e-30, 1e30)
            self.grad_lines.labels = ["LSTM ‖dℓ/dc⁽ᵏ⁾‖" if self.cell == "lstm" else "GRU ‖dℓ/dh⁽ᵏ⁾‖",
                                      "plain RNN ‖dℓ/da⁽ᵏ⁾‖"]
        fit_y(self.grad_fig, self.grad_lines.y)
        self.grad_fig.title = ("The cell state as a skip path" if self.cell == "lstm" else
                               "h kept by the update gate as a skip path") + ": gradient reaching step k"
        name = "LSTM's ‖dℓ/dc" if self.cell == "lstm" else "GRU's ‖dℓ/dh"
        self.summaries["gradients"].value = esc(
            f"Loss on unit 0 of h at step {T}. Back at step 0 the {name}⁽⁰⁾‖ is {fmt(float(lstm_flow[0]))}, the plain "
            f"RNN's ‖dℓ/da⁽⁰⁾‖ is {fmt(float(rnn_flow[0]))}.")

    def _units(self, tr) -> list[int]:
        """The units drawn: all of a small model; of the text model, the 16 whose state varies most."""
        H = tr.h.shape[-1]
        if H <= SHOWN_UNITS:
            return list(range(H))
        h = tr.h[1:]
        spread = h.std(0) if h.shape[0] > 1 else h.abs()[0]  # one step has no spread: the largest values
        return sorted(torch.argsort(spread, descending=True)[:SHOWN_UNITS].tolist())

    def _draw_cell(self, tr, l: int, unit: int, text: str | None) -> None:
        v = {k: float(tr[k][l, unit]) for k in tr.keys() if k != "x"}  # gates at step l, and c^(l), h^(l)
        nxt = {k: float(tr[k][l + 1, unit]) for k in ("h", "c") if k in tr.values}  # c^(l+1), h^(l+1)
        token = f" ('{text[l]}')" if text else ""
        if self.cell == "lstm":
            # c runs along the top; [h; x] feeds each gate's own rows of W along the bottom, each gate sits
            # under the node it acts on, and each text goes where no edge runs
            nodes = [Node(0, 3, f"c⁽ˡ⁾ = {fmt(v['c'])}", 2), Node(1.8, 3, "⊙ f", 2), Node(3.9, 3, "+ i", 2),
                     Node(8, 3, f"c⁽ˡ⁺¹⁾ = {fmt(nxt['c'])}", 2),
                     Node(0, 0.35, f"[h⁽ˡ⁾; x[{l}]]{token}", 0, below=True),
                     *(Node(x, 0.35, name, 8, below=True) for x, name in
                       ((1.8, "W_f"), (3.2, "W_in"), (4.6, "W_cand"), (6.4, "W_o"))),
                     Node(1.8, 1.3, f"f = {fmt(v['f'])}", 1, place="left"),
                     Node(3.2, 1.3, f"in = {fmt(v['input_gate'])}", 1, place="left"),
                     Node(4.6, 1.3, f"cand = {fmt(v['candidate'])}", 1, place="right"),
                     Node(3.9, 2.15, f"i = in ⊙ cand = {fmt(v['i'])}", 2, place="right"),
                     Node(6.4, 1.3, f"o = {fmt(v['o'])}", 1, place="right"),
                     Node(8, 2.15, f"tanh c = {fmt(float(np.tanh(nxt['c'])))}", 0, place="left"),
                     Node(8, 0.35, f"h⁽ˡ⁺¹⁾ = {fmt(nxt['h'])}", 0, below=True)]
            edges = [(0, 1), (1, 2), (2, 3), (9, 1), (10, 12), (11, 12), (12, 2), (4, 5), (4, 6), (4, 7), (4, 8),
                     (5, 9), (6, 10), (7, 11), (8, 13), (3, 14), (14, 15), (13, 15)]
            eq = (f"c<sup>({l + 1})</sup> = c<sup>({l})</sup> ⊙ f + i = {fmt(v['c'])} × {fmt(v['f'])} + "
                  f"{fmt(v['i'])} = {fmt(nxt['c'])}; &nbsp; h<sup>({l + 1})</sup> = o ⊙ tanh(c<sup>({l + 1})</sup>)"
                  f" = {fmt(v['o'])} × {fmt(float(np.tanh(nxt['c'])))} = {fmt(nxt['h'])} &nbsp; (unit {unit})")
        else:
            nodes = [Node(0, 3, f"h⁽ˡ⁾ = {fmt(v['h'])}", 2), Node(1.8, 3, "⊙ z", 2),
                     Node(4.6, 3, f"+ (1−z)⊙n = {fmt((1 - v['z']) * v['n'])}", 2),
                     Node(8, 3, f"h⁽ˡ⁺¹⁾ = {fmt(nxt['h'])}", 2),
                     Node(0, 0.35, f"[h⁽ˡ⁾; x[{l}]]{token}", 0, below=True),
                     *(Node(x, 0.35, name, 8, below=True) for x, name in ((1.8, "W_z"), (3.2, "W_r"), (4.6, "W_n"))),
                     Node(1.8, 1.3, f"z = {fmt(v['z'])}", 1, place="left"),
                     Node(3.2, 1.3, f"r = {fmt(v['r'])}", 1, place="left"),
                     Node(4.6, 1.3, f"n = {fmt(v['n'])}", 1, place="right")]
            edges = [(0, 1), (1, 2), (2, 3), (8, 1), (10, 2), (4, 5), (4, 6), (4, 7), (5, 8), (6, 9), (7, 10), (9, 10)]
            eq = (f"h<sup>({l + 1})</sup> = z ⊙ h<sup>({l})</sup> + (1 − z) ⊙ n = {fmt(v['z'])} × {fmt(v['h'])} + "
                  f"{fmt(1 - v['z'])} × {fmt(v['n'])} = {fmt(nxt['h'])} &nbsp; (unit {unit}; no output gate)")
        self.cell_diagram.draw(nodes, edges, size=800)
        row = min(self.unit, tr.h.shape[-1] - 1)
        where = f"unit {unit}" + ("" if row == unit else f" (row {row} of the maps)")
        self.cell_diagram.fig.title = f"The {self.cell.upper()} cell at step l = {l}, {where}"
        remark = ""
        if self.cell == "gru":
            lstm, gru = (small_char_model(c).card.get("held_out_nats_per_char") for c in ("lstm", "gru"))
            remark = (f" Remark 2.1: with no output gate and a quarter fewer parameters, the shipped small GRU reads "
                      f"held-out Shakespeare at {fmt(gru)} nats/char, the same-recipe LSTM at {fmt(lstm)}.")
        self.summaries["cell"].value = esc(
            f"Step {l}, unit {unit}: " + (f"the forget gate keeps {fmt(100 * v['f'], 3)}% of c and adds "
                                          f"{fmt(v['i'])}." if self.cell == "lstm" else
                                          f"the update gate keeps {fmt(100 * v['z'], 3)}% of h.") + remark)
        self.equation.value = f"<div style='font-family:serif;font-size:15px'>{eq}</div>"
        self.controls["output_bias"].disabled = self.cell == "gru"
        # the knobs say which gate they move in this cell (the GRU's keep gate is z, its other gate r)
        lstm = self.cell == "lstm"
        self.controls["forget_bias"].description = "Forget-gate bias +" if lstm else "Update-gate (z) bias +"
        self.controls["input_bias"].description = "Input-gate bias +" if lstm else "Reset-gate (r) bias +"
        self.controls["text"].disabled = self.source != "text"
        self.controls["length"].disabled = self.source != "remember"
