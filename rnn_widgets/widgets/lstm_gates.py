"""§2 and Remark 2.1: the LSTM's gates at work (and the GRU's), and the cell state as a skip path."""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import torch
import traitlets

from .charts.axes import fit_y
from .charts.builders import line_chart, set_key, timeline_map
from .charts.cell import CellDiagram
from .charts.figure import FULL_WIDTH, HALF_WIDTH, sup
from .charts.maps import cursor_colour, display_char, fill_grid, place_cursor, show_step
from .common import DIVERGING, PALETTE, SEQUENTIAL, LessonWidget, esc, finite, slider
from .lstm_drawing import CELL_X, CELL_Y, GRU_NOTE, LSTM_NOTE, gru_parts, lstm_parts
from .lstm_runs import (
    CANDIDATES,
    MAX_CHARS,
    GatesRun,
    check_text,
    gates_run,
    held_sentence,
    same_recipe,
    small_char_model,
)
from .lstm_split import (
    along_share,
    gru_equation,
    gru_gradient_split,
    lstm_equation,
    lstm_gradient_split,
    split_sentence,
    state_split,
)
from .numbers import fmt

SHOWN_UNITS = 16
#: the six maps: (LSTM trace key, title) and the GRU's in the same slots (None: not shown)
LSTM_MAPS = [("f", "forget gate f"), ("input_gate", "input gate"), ("candidate", "candidate ({})"),
             ("o", "output gate o"), ("c", "cell state c⁽ˡ⁺¹⁾"), ("h", "hidden state h⁽ˡ⁺¹⁾")]
GRU_MAPS = [("z", "update gate z (1 keeps h)"), ("r", "reset gate r"), ("n", "candidate n"), (None, ""), (None, ""),
            ("h", "hidden state h⁽ˡ⁺¹⁾")]
SIGNED = {"candidate", "c", "h", "n"}


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
    candidate : {"tanh", "relu", "identity", "sigmoid"}   the candidate's nonlinearity φ of the hand-built LSTM
                                    (source "remember"; the trained text models use tanh)
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
    candidate = traitlets.Enum(list(CANDIDATES), "tanh").tag(config=True)
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
            self._control("candidate", W.ToggleButtons(
                options=[(name, key) for key, name in CANDIDATES.items()], description="Candidate φ",
                tooltips=["the candidate's nonlinearity (§2: doesn't matter which one); the hand-built LSTM only"]
                * len(CANDIDATES), style={"button_width": "80px"})),
            self._control("text", W.Text(description="Text", continuous_update=False, layout=W.Layout(width="420px"))),
            self._control("length", slider("Steps", 2, 120)),
            self._control("forget_bias", slider("Forget-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("input_bias", slider("Input-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("output_bias", slider("Output-gate bias +", -6.0, 6.0, 0.5, **bias)),
            self._control("step", slider("Step l", 0, MAX_CHARS)),
            self._control("unit", slider("Row (drawn cell)", 0, SHOWN_UNITS - 1)),
        ]
        # side by side in pairs; on a text, each map the full width, under each other (see _map_width)
        pairs = [W.HBox([self._figure(f"map{k}", self.maps[k][0], half=True),
                         self._figure(f"map{k + 1}", self.maps[k + 1][0], half=True)],
                        layout=W.Layout(flex_flow="row wrap")) for k in (0, 2, 4)]
        self._map_boxes = [box for pair in pairs for box in pair.children]
        self._assemble(controls, [self.cell_note, self._figure("cell", self.cell_diagram.fig), *pairs,
                                  self._figure("gradients", self.grad_fig)])
        self.observe(lambda _: self._run(self._update), names=[
            "source", "text", "length", "cell", "candidate", "forget_bias", "input_bias", "output_bias", "step",
            "unit"])
        self._run(self._update)

    # ------------------------------------------------------------------ computing
    def _compute(self):
        if self.source == "text":
            check_text(self.text, self.cell)
        return gates_run(self.source, self.text if self.source == "text" else "", self.length, self.cell,
                         self.forget_bias, self.input_bias, self.output_bias, self.phi)

    @property
    def phi(self) -> str:
        """The candidate nonlinearity in use: the control's on the hand-built LSTM, tanh on the trained models."""
        return self.candidate if self.source == "remember" and self.cell == "lstm" else "tanh"

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
        if redraw:
            self._map_width()
        self._maps_drawn = (tr, tuple(units), self.cell)
        for k, ((key, title), (fig, grid, cursor)) in enumerate(zip(slots, self.maps)):
            self.figures[f"map{k}"].layout.display = "" if key else "none"
            self.summaries[f"map{k}"].layout.display = "" if key else "none"
            if key is None:
                continue
            title = title.format(CANDIDATES[self.phi])
            values = tr[key][1:] if key in ("c", "h") else tr[key]  # state after step l, at column l
            data = finite(values[:, units].T.numpy())  # (units, T)
            # gates run 0 → 1 (light → dark blue: a half-open gate is mid-blue, not blank); states and the
            # candidate −1 → 1 around a white 0 (wider where an unbounded candidate φ writes more than 1)
            signed = key in SIGNED
            top = 1.0
            if self.phi in ("relu", "identity") and key in ("candidate", "c"):
                top = max(1.0, math.ceil(2 * float(np.abs(data).max())) / 2)
            if redraw:
                color = grid.scales["color"]
                with color.hold_sync():
                    color.colors = DIVERGING if signed else SEQUENTIAL
                    color.mid = 0.0 if signed else None
                set_key(fig, -top if signed else 0.0, top)
                fig.axes[0].label = f"value, −{fmt(top)} → {fmt(top)}" if signed else "gate value, 0 → 1"
                fill_grid(fig, grid, data, characters=text, step=step)
                fig.title = title
            place_cursor(cursor, step, len(units))
            cursor.colors = [cursor_colour(grid.scales["color"], data[:, min(step, data.shape[1] - 1)])]
            show_step(fig, step)  # on text: the window of characters around the step, every one labelled
            held = (held_sentence(self.length, self.forget_bias, self.input_bias, self.output_bias, self.phi)
                    if key == "c" and self.source == "remember" and self.cell == "lstm" else "")
            self.summaries[f"map{k}"].value = esc(
                f"{title}: mean {fmt(float(data.mean()))} over {len(units)} units × {T} steps; at step {step}, "
                f"unit {units[0]}: {fmt(float(data[0, step]))}." + held)
        self._draw_cell(run, step, units[min(self.unit, len(units) - 1)])
        self._draw_gradients(run, T)
        lstm = self.cell == "lstm"
        self.cell_note.value = LSTM_NOTE if lstm else GRU_NOTE
        self.controls["output_bias"].disabled = not lstm
        self.controls["candidate"].disabled = not (lstm and self.source == "remember")
        # the knobs say which gate they move in this cell (the GRU's keep gate is z, its other gate r)
        self.controls["forget_bias"].description = "Forget-gate bias +" if lstm else "Update-gate (z) bias +"
        self.controls["input_bias"].description = "Input-gate bias +" if lstm else "Reset-gate (r) bias +"
        self.controls["text"].disabled = self.source != "text"
        self.controls["length"].disabled = self.source != "remember"

    def _map_width(self) -> None:
        """On a text the maps are drawn the full width, one under the other, so that every character the gates
        read is written under its column (61 of them at a time, a window that follows Step l on a longer
        text); half a width held 27 (issue 24, item 4: it labelled one character in two)."""
        wide = self.source == "text"
        for fig, _, _ in self.maps:
            fig.layout.width = f"{FULL_WIDTH}px" if wide else f"{HALF_WIDTH}px"
            fig.layout.min_width = f"{FULL_WIDTH}px" if wide else None
        for k in range(6):
            self.summaries[f"map{k}"].layout.max_width = f"{FULL_WIDTH if wide else HALF_WIDTH}px"
        for box in self._map_boxes:  # in a narrower window a full-width map scrolls sideways (charts.keep_width)
            box.layout.overflow = "auto hidden" if wide else None

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
            parts, edges = lstm_parts(tr, l, unit, token, CANDIDATES[self.phi])
            self.split = lstm_gradient_split(run, l, unit)
            eq = lstm_equation(tr, l, unit, self.split, state_split(run, l))
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
