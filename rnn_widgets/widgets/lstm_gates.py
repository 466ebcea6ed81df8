"""§2 and Remark 2.1: the LSTM's gates at work (and the GRU's), and the cell state as a skip path."""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
import torch
import traitlets

from ..core import RNN, load_char_model, seeded
from ..core.jacobians import backward_states
from ..core.memory import remember_gru, remember_inputs, remember_lstm
from .charts import (
    CellDiagram,
    Part,
    display_char,
    fill_grid,
    fit_y,
    line_chart,
    place_cursor,
    set_key,
    sup,
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
GRU_MAPS = [("z", "update gate z (1 keeps h)"), ("r", "reset gate r"), ("n", "candidate n"), (None, ""), (None, ""),
            ("h", "hidden state h⁽ˡ⁺¹⁾")]
SIGNED = {"candidate", "c", "h", "n"}


def gate_bias_slices(cell: str, H: int) -> dict[str, slice]:
    """Where each knob's offset goes in the bias vector: LSTM b = [f; input gate; candidate; o];
    GRU bx = [r; z; n] (forget knob → z, the keep gate; input knob → r; no output gate)."""
    if cell == "lstm":
        return {"forget": slice(0, H), "input": slice(H, 2 * H), "output": slice(3 * H, 4 * H)}
    return {"forget": slice(H, 2 * H), "input": slice(0, H)}


@functools.lru_cache(maxsize=3)
def small_char_model(cell: str):
    """The shipped one-layer Shakespeare model for ``cell`` ("lstm", "gru", or "rnn": the tanh RNN they are
    compared with), loaded once and only read from here
    (``load_char_model`` returns a fresh copy on every call, too costly for every slider move)."""
    return load_char_model(f"small_{cell}", device="cpu")


def same_recipe(*cells: str) -> bool:
    """Whether the shipped small models of these cells were trained the same way: their model cards' training
    lines agree, less the time taken (what a comparison may then call "the same protocol")."""
    return len({str(small_char_model(c).card.get("training", "")).rsplit(",", 1)[0] for c in cells}) == 1


def check_text(text: str, cell: str) -> None:
    """Clear messages for text the character model cannot read."""
    if not text:
        raise ValueError("The text is empty: type a few characters for the model to read.")
    if len(text) > MAX_CHARS:
        raise ValueError(f"The text has {len(text)} characters; this view reads at most {MAX_CHARS}.")
    if len(text) < 2:
        raise ValueError("ℓ is the prediction of the text's last character from the ones before it: type at least "
                         "two characters.")
    unknown = small_char_model(cell).vocab.unknown(text) or small_char_model("rnn").vocab.unknown(text)
    if unknown:
        raise ValueError("The model was trained on Shakespeare and does not know these characters: "
                         + " ".join(repr(c) for c in unknown[:10]))


@functools.lru_cache(maxsize=8)
def gates_input(source: str, text: str, length: int, cell: str):
    """The layer the knobs start from, its input sequence x ``(T, input)``, and for text the model's readout
    and the id of the text's last character (the target of ℓ); ``None, None`` for the remember task."""
    if source == "remember":
        return (remember_lstm() if cell == "lstm" else remember_gru()), remember_inputs(length), None, None
    char_model = small_char_model(cell)
    ids = char_model.encode(text)
    with torch.no_grad():
        return char_model.layers[0], char_model.embed(ids), char_model.readout, int(ids[-1])


def state_gradients(model, x: torch.Tensor, readout=None, target: int | None = None):
    """dℓ/d(state^(k)) for every state of ``model`` (``(K + 1, H)`` each, k = 0 … K) and ℓ's value.

    Without a readout (the remember task) ℓ = unit 0 of the output state after the last step (K = T: the
    remembered value). With one (text) ℓ = −log p(target | h^(T−1)), the cross-entropy with which the model
    predicts the text's last character from the ones before it (K = T − 1): the loss it was trained on, so
    two models' gradients are comparable. dℓ/dh^(K) = readoutᵀ (softmax − onehot), and the core's
    ``backward_states`` carries it back.
    """
    H = model.hidden_size
    if readout is None:
        u = torch.zeros(H, dtype=x.dtype)
        u[0] = 1.0
        loss = None
    else:
        x = x[:-1]
        with torch.no_grad():
            h = model.trace(x)[model.output_name][-1]
            logits = readout(h)
            p = torch.softmax(logits, -1)
            loss = float(-torch.log_softmax(logits, -1)[target])
            p[target] -= 1.0
            u = p @ readout.weight
    states, _ = backward_states(model, x.unsqueeze(1), u)
    return {k: v[:, 0] for k, v in states.items()}, loss


def norms(grads: torch.Tensor) -> np.ndarray:
    """‖·‖ of each row, in float64 (‖·‖² of tiny values must not underflow)."""
    return grads.double().norm(dim=-1).numpy()


@dataclass(frozen=True)
class PlainRun:
    """The comparison RNN's ‖dℓ/da^(k)‖, ℓ's value (text), and what it is (for the legend and the summary)."""

    norms: np.ndarray
    loss: float | None
    trained: bool
    name: str


@functools.lru_cache(maxsize=8)
def plain_rnn_run(source: str, text: str, length: int) -> PlainRun:
    """The plain RNN on the same input (it does not depend on the gate knobs).

    Text: the shipped one-layer tanh RNN trained on Shakespeare under the same protocol as the small LSTM and
    GRU (``small_rnn``), reading the same text, with the same ℓ. The remember task has no trained RNN (the
    LSTM and GRU there are hand-built): an untrained, seeded random tanh RNN of the same size, labelled so.
    """
    if source == "text":
        char_model = small_char_model("rnn")
        ids = char_model.encode(text)
        with torch.no_grad():
            x = char_model.embed(ids)
        grads, loss = state_gradients(char_model.layers[0], x, char_model.readout, int(ids[-1]))
        return PlainRun(norms(grads["a"]), loss, True, "trained tanh RNN")
    base, x, _, _ = gates_input(source, text, length, "lstm")
    rnn = seeded(0, lambda: RNN(base.input_size, base.hidden_size))
    grads, _ = state_gradients(rnn, x)
    return PlainRun(norms(grads["a"]), None, False, "untrained random RNN")


@dataclass(frozen=True)
class GatesRun:
    """One run of the cell with the knobs' offsets: its trace, dℓ/d(state^(k)) for k = 0 … K, ℓ, the comparison."""

    trace: object
    text: str | None
    model: object
    grads: dict
    flow: np.ndarray  # ‖dℓ/dc^(k)‖ (GRU: ‖dℓ/dh^(k)‖)
    loss: float | None
    plain: PlainRun


@functools.lru_cache(maxsize=32)  # the step and unit controls only redraw
def gates_run(source: str, text: str, length: int, cell: str, forget: float, input_: float, output: float):
    """The trace with the knobs' bias offsets applied, and ‖dℓ/dc^(k)‖ (GRU: h) beside the plain RNN's ‖dℓ/da^(k)‖
    (ℓ: see :func:`state_gradients`)."""
    base, x, readout, target = gates_input(source, text, length, cell)
    model = copy.deepcopy(base)
    bias = model.b if cell == "lstm" else model.bx
    offsets = {"forget": forget, "input": input_, "output": output}
    with torch.no_grad():
        for knob, sl in gate_bias_slices(cell, model.hidden_size).items():
            bias[sl] += offsets[knob]
        tr = model.trace(x)
    grads, loss = state_gradients(model, x, readout, target)
    flow = norms(grads["c" if cell == "lstm" else "h"])
    return GatesRun(tr, text or None, model, grads, flow, loss, plain_rnn_run(source, text, length))


class LSTMGatesWidget(LessonWidget):
    """Heat maps of the gates, c and h over time, the cell drawn as colah draws it with the current step's
    values and the split of the gradient reaching it (derived from §2's equations), and ‖dℓ/dc^(k)‖ beside a plain tanh RNN's
    ‖dℓ/da^(k)‖ (on text the trained one, under the same ℓ).

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
    text = traitlets.Unicode("To be, or not to be, that is the question:").tag(config=True, max_length=MAX_CHARS)
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
        self.cell_diagram = CellDiagram("The cell at step l", height=340)
        self.cell_note = W.HTML("", layout=W.Layout(max_width="880px", margin="4px 0 0 8px"))
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
        self._assemble(controls, [self.cell_note, self._figure("cell", self.cell_diagram.fig), *pairs,
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
        run = self._compute()
        tr, text = run.trace, run.text
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
        self._draw_cell(run, step, units[min(self.unit, len(units) - 1)])
        self._draw_gradients(run, T)
        lstm = self.cell == "lstm"
        self.cell_note.value = LSTM_NOTE if lstm else GRU_NOTE
        self.controls["output_bias"].disabled = not lstm
        # the knobs say which gate they move in this cell (the GRU's keep gate is z, its other gate r)
        self.controls["forget_bias"].description = "Forget-gate bias +" if lstm else "Update-gate (z) bias +"
        self.controls["input_bias"].description = "Input-gate bias +" if lstm else "Reset-gate (r) bias +"
        self.controls["text"].disabled = self.source != "text"
        self.controls["length"].disabled = self.source != "remember"

    def _draw_gradients(self, run: GatesRun, T: int) -> None:
        flow, plain = run.flow, run.plain
        K = len(flow) - 1  # the last state ℓ reads: T (remember), T − 1 (text)
        lstm = self.cell == "lstm"
        mine = "LSTM ‖dℓ/dc⁽ᵏ⁾‖" if lstm else "GRU ‖dℓ/dh⁽ᵏ⁾‖"
        theirs = f"{plain.name} ‖dℓ/da⁽ᵏ⁾‖"
        with self._holding(self.grad_lines):
            self.grad_lines.x = np.arange(K + 1)
            self.grad_lines.y = np.clip(finite(np.stack([flow, plain.norms])), 1e-30, 1e30)
            self.grad_lines.labels = [mine, theirs]
        fit_y(self.grad_fig, self.grad_lines.y)
        self.grad_fig.title = ("The cell state as a skip path" if lstm else
                               "h kept by the update gate as a skip path") + ": gradient reaching step k"
        name = "LSTM's ‖dℓ/dc" if lstm else "GRU's ‖dℓ/dh"
        if run.loss is None:
            loss = (f"ℓ = unit 0 of h at step {K} (the remembered value). The plain RNN is an untrained random "
                    f"tanh RNN of the same size (seed 0): no RNN is trained on this task. ")
        else:
            loss = (f"ℓ = −log p('{display_char(run.text[-1])}' | the {K} characters before it), the loss the "
                    f"models were trained on: {fmt(run.loss)} nats for the {self.cell.upper()}, "
                    f"{fmt(plain.loss)} for the trained one-layer tanh RNN (shipped small_rnn, "
                    + ("same protocol). " if same_recipe(self.cell, "rnn") else "trained with a different recipe). "))
        share, units, steps = along_share(run)
        state = "c" if lstm else "h"
        rest = "through h" if lstm else "through the gates and n"
        along = ("" if not math.isfinite(share) else
                 f" Summed over {state}{sup('(1)')} … {state}{sup(f'({steps})')} and all {units} units, "
                 f"{fmt(100 * share, 3)}% of the gradient's size comes straight along {state}: "
                 f"Σ|along {state}| / (Σ|along {state}| + Σ|{rest}|).")
        self.summaries["gradients"].value = esc(
            loss + f"Back at step 0 the {name}⁽⁰⁾‖ is {fmt(float(flow[0]))}, the {plain.name}'s ‖dℓ/da⁽⁰⁾‖ is "
            f"{fmt(float(plain.norms[0]))}." + along)

    def _units(self, tr) -> list[int]:
        """The units drawn: all of a small model; of the text model, the 16 whose state varies most."""
        H = tr.h.shape[-1]
        if H <= SHOWN_UNITS:
            return list(range(H))
        h = tr.h[1:]
        spread = h.std(0) if h.shape[0] > 1 else h.abs()[0]  # one step has no spread: the largest values
        return sorted(torch.argsort(spread, descending=True)[:SHOWN_UNITS].tolist())

    def _draw_cell(self, run: GatesRun, l: int, unit: int) -> None:
        tr, text = run.trace, run.text
        token = f" ('{display_char(text[l])}')" if text else ""
        if self.cell == "lstm":
            parts, edges = lstm_parts(tr, l, unit, token)
            self.split = lstm_gradient_split(run, l, unit)
            eq = lstm_equation(tr, l, unit, self.split)
        else:
            parts, edges = gru_parts(tr, run.model, l, unit, token)
            self.split = gru_gradient_split(run, l, unit)
            eq = gru_equation(tr, l, unit, self.split)
        self.cell_diagram.draw(parts, edges, CELL_X, CELL_Y)
        row = min(self.unit, tr.h.shape[-1] - 1)
        where = f"unit {unit}" + ("" if row == unit else f" (row {row} of the maps)")
        self.cell_diagram.fig.title = f"The {self.cell.upper()} cell at step l = {l}, {where}"
        v = {k: float(tr[k][l, unit]) for k in tr.values if k != "x"}
        remark = ""
        if self.cell == "gru":
            lstm, gru = (small_char_model(c).card.get("held_out_nats_per_char") for c in ("lstm", "gru"))
            same = same_recipe("lstm", "gru")
            remark = (f" Remark 2.1: with no output gate and a quarter fewer parameters, the shipped small GRU reads "
                      f"held-out Shakespeare at {fmt(gru)} nats/char (the mean of −ln p(the next character)), "
                      + (f"the same-recipe LSTM at {fmt(lstm)}." if same else
                         f"the small LSTM (trained with a different recipe, see the model card) at {fmt(lstm)}."))
        if self.cell == "lstm":
            first = (f"the forget gate keeps {fmt(100 * v['f'], 3)}% of c and adds {fmt(v['i'])}. "
                     + split_sentence(self.split, "c", l))
        else:
            first = (f"the update gate keeps {fmt(100 * v['z'], 3)}% of h and lets in {fmt(1 - v['z'])} × n. "
                     + split_sentence(self.split, "h", l))
        self.summaries["cell"].value = esc(f"Step {l}, unit {unit}: " + first + remark)
        self.equation.value = f"<div style='font-family:serif;font-size:15px;line-height:1.6'>{eq}</div>"


# ---------------------------------------------------------------------- the cell, drawn as colah draws it
#: the data ranges of the cell drawing: c (GRU: h) along the top at y = 3.7, the gates at 1.3, [h; x] at 0.4
CELL_X, CELL_Y = (-0.2, 10.4), (-0.6, 4.4)
SIGMA_BOX, TANH_BOX, OP_FILL = "#fbe98e", "#bfe3f5", "#f6d5e6"  # colah's yellow boxes, light blue, pink ops
LSTM_NOTE = ("<b>The cell</b>, drawn as in colah's <i>Understanding LSTM Networks</i>: c runs straight along the "
             "top and is only scaled (⊙ f) and added to (+ i); each σ or tanh box is one part of the affine map "
             "of [h<sup>(l)</sup>; x[l]], with its value for the drawn unit at this step.")
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


def lstm_parts(tr, l: int, unit: int, token: str) -> tuple[list[Part], list[tuple[int, int]]]:
    """The LSTM cell at step l for one unit: c along the top (c^(l) → ⊙ f → + i → c^(l+1)), then tanh and ⊙ o
    down to h^(l+1); four gate boxes fed from [h^(l); x[l]] along the bottom."""
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
        _box(5.1, "tanh", "cand", "candidate", v["candidate"]),  # 10
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


# ---------------------------------------------------------------------- the gradient reaching the cell
def lstm_gradient_split(run: GatesRun, l: int, unit: int) -> dict:
    """The split of dℓ/dc^(l+1) for one unit, with the step's numbers. The notes do not write it: it is the chain
    rule through §2's c^(l+2) = c^(l+1) ⊙ f^(l+1) + i^(l+1) and h^(l+1) = o ⊙ tanh(c^(l+1)):

        dℓ/dc^(l+1) = dℓ/dc^(l+2) ⊙ f^(l+1)  (straight along c)  +  dℓ/dh^(l+1) ⊙ o ⊙ (1 − tanh² c^(l+1))  (through h)

    from the core's backward pass (``run.grads``: dℓ/dc^(k), dℓ/dh^(k) for k ≤ K). ``total`` is the core's
    dℓ/dc^(l+1). Beyond K (text: the last character is ℓ's target) nothing reaches the cell.
    """
    tr, g = run.trace, run.grads
    K = g["c"].shape[0] - 1
    if l + 1 > K:
        return {"reaches": False, "K": K}
    c1 = float(tr.c[l + 1, unit])
    o = float(tr.o[l, unit])
    dc2 = float(g["c"][l + 2, unit]) if l + 2 <= K else 0.0
    f1 = float(tr.f[l + 1, unit]) if l + 2 <= K else None
    dh1 = float(g["h"][l + 1, unit])
    direct = dc2 * f1 if f1 is not None else 0.0
    through_h = dh1 * o * (1 - math.tanh(c1) ** 2)
    return {"reaches": True, "K": K, "dc2": dc2, "f1": f1, "dh1": dh1, "o": o, "slope": 1 - math.tanh(c1) ** 2,
            "direct": direct, "through_h": through_h, "total": float(g["c"][l + 1, unit])}


def gru_gradient_split(run: GatesRun, l: int, unit: int) -> dict:
    """dℓ/dh^(l+1) = dℓ/dh^(l+2) ⊙ z^(l+1) (straight along h, the carry) + the rest (through the gates and n
    of step l + 1: the core's total minus the carry)."""
    tr, g = run.trace, run.grads
    K = g["h"].shape[0] - 1
    if l + 1 > K:
        return {"reaches": False, "K": K}
    total = float(g["h"][l + 1, unit])
    dh2 = float(g["h"][l + 2, unit]) if l + 2 <= K else 0.0
    z1 = float(tr.z[l + 1, unit]) if l + 2 <= K else None
    direct = dh2 * z1 if z1 is not None else 0.0
    return {"reaches": True, "K": K, "dh2": dh2, "z1": z1, "direct": direct, "through_gates": total - direct,
            "total": total}


def along_share(run: GatesRun) -> tuple[float, int, int]:
    """How much of the gradient reaching the carried state comes straight along it, summed over every unit and every
    step where both parts exist (c^(l+1) for l + 2 ≤ K): Σ|along| / (Σ|along| + Σ|other|), where for the LSTM
    along = dℓ/dc^(l+2) ⊙ f^(l+1) and other = the part through h^(l+1), and for the GRU along = dℓ/dh^(l+2) ⊙ z^(l+1)
    and other = the rest. Sums, not a median of each entry's share: where both parts are tiny (float32 rounds
    1 − tanh² of a large c to 0) an entry's share is noise, and sums weigh it by its size.
    Returns ``(share, units, steps)``; NaN where no step has both."""
    tr, g = run.trace, run.grads
    lstm = "c" in g
    total = g["c" if lstm else "h"].double()
    K = total.shape[0] - 1
    if K < 2:
        return float("nan"), total.shape[1], 0
    along = total[2:] * (tr.f if lstm else tr.z)[1:K].double()
    if lstm:
        other = g["h"][1:K].double() * tr.o[:K - 1].double() * (1 - torch.tanh(tr.c[1:K].double()) ** 2)
    else:
        other = total[1:K] - along
    size = float(along.abs().sum() + other.abs().sum())
    return (float(along.abs().sum()) / size if size > 0 else float("nan")), total.shape[1], K - 1


def term(x: float) -> str:
    """A number as a term of a sum or product: negative ones in brackets, "a + (-0.5)"."""
    return f"({fmt(x)})" if x < 0 else fmt(x)


def split_sentence(split: dict, state: str, l: int) -> str:
    """The split in words, true for the state shown."""
    s1, s2 = state + sup(f"({l + 1})"), state + sup(f"({l + 2})")
    if not split["reaches"]:
        return f"ℓ predicts the character read at this step, so {s1} does not reach ℓ (dℓ/d{s1} = 0)."
    rest = f"through h{sup(f'({l + 1})')}" if state == "c" else "through the gates and n"
    other = split["through_h"] if state == "c" else split["through_gates"]
    along = (f"{fmt(split['direct'])} straight along {state} (from {s2})" if split.get("f1", split.get("z1"))
             is not None else f"0 straight along {state} ({s2} does not reach ℓ)")
    return f"The gradient reaching {s1}, {fmt(split['total'])}, is {along} + {term(other)} {rest}."


def _sup(text: str) -> str:
    return f"<sup>({text})</sup>"


def lstm_equation(tr, l: int, unit: int, split: dict) -> str:
    v = {k: float(tr[k][l, unit]) for k in ("f", "i", "o")}
    c, c1, h1 = float(tr.c[l, unit]), float(tr.c[l + 1, unit]), float(tr.h[l + 1, unit])
    a, b = _sup(l), _sup(l + 1)
    eq = (f"c{b} = c{a} ⊙ f + i = {term(c)} × {fmt(v['f'])} + {term(v['i'])} = {fmt(c1)}; &nbsp; "
          f"h{b} = o ⊙ tanh(c{b}) = {fmt(v['o'])} × {term(math.tanh(c1))} = {fmt(h1)} &nbsp; (unit {unit})")
    if not split["reaches"]:
        return eq + f"<br>dℓ/dc{b} = 0: ℓ predicts the character read at step {l}"
    c2 = _sup(l + 2)
    head = f"<br>dℓ/dc{b} = dℓ/dc{c2} ⊙ f{b} + dℓ/dh{b} ⊙ o ⊙ (1 − tanh² c{b}) = "
    direct = (f"{term(split['dc2'])} × {fmt(split['f1'])}" if split["f1"] is not None else "0")
    return eq + head + (f"{direct} + {term(split['dh1'])} × {fmt(split['o'])} × {fmt(split['slope'])} = "
                        f"{fmt(split['direct'])} + {term(split['through_h'])} = {fmt(split['total'])}")


def gru_equation(tr, l: int, unit: int, split: dict) -> str:
    z, n = float(tr.z[l, unit]), float(tr.n[l, unit])
    h, h1 = float(tr.h[l, unit]), float(tr.h[l + 1, unit])
    a, b = _sup(l), _sup(l + 1)
    eq = (f"h{b} = z ⊙ h{a} + (1 − z) ⊙ n = {fmt(z)} × {term(h)} + {fmt(1 - z)} × {term(n)} = {fmt(h1)} &nbsp; "
          f"(unit {unit}; no output gate)")
    if not split["reaches"]:
        return eq + f"<br>dℓ/dh{b} = 0: ℓ predicts the character read at step {l}"
    c2 = _sup(l + 2)
    direct = f"{term(split['dh2'])} × {fmt(split['z1'])}" if split["z1"] is not None else "0"
    return eq + (f"<br>dℓ/dh{b} = dℓ/dh{c2} ⊙ z{b} + (through the gates and n) = {direct} + "
                 f"{term(split['through_gates'])} = {fmt(split['total'])}")
