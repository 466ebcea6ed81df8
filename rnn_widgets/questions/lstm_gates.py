"""examples/06_lstm_gates.ipynb's questions (§2, Remark 2.1): every truth read from the widget's own run."""
from __future__ import annotations

import math

from ..widgets.lstm_gates import LSTMGatesWidget
from ..widgets.lstm_runs import gates_run, small_char_model
from ..widgets.lstm_split import along_share, lstm_gradient_split, state_split
from ..widgets.numbers import fmt
from ..widgets.question import Choice, Number, Question

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _up(n: int) -> str:
    """``n`` in superscript digits, as the widget writes step numbers (c⁽³¹⁾)."""
    return str(n).translate(_SUPERSCRIPT)


def _run(w: LSTMGatesWidget):
    """The run the widget draws in its state (the same cached computation as its own)."""
    return gates_run(w.source, w.text if w.source == "text" else "", w.length, w.cell, w.forget_bias,
                     w.input_bias, w.output_bias, w.phi)


def _drawn_unit(w: LSTMGatesWidget, run) -> int:
    """The unit the cell drawing shows: the Row control's of the units the maps draw."""
    units = w._units(run.trace)
    return units[min(w.unit, len(units) - 1)]


def _step(w: LSTMGatesWidget, run) -> int:
    return min(w.step, run.trace.x.shape[0] - 1)


# ---------------------------------------------------------------------- 1. what the forget gate keeps
def _kept_percent(w: LSTMGatesWidget) -> float:
    run = _run(w)
    return 100 * float(run.trace.f[_step(w, run), _drawn_unit(w, run)])


def _flow_at_0(w: LSTMGatesWidget) -> float:
    return float(_run(w).flow[0])


def forget_gate() -> Question:
    w = LSTMGatesWidget(forget_bias=-6.0)
    return Question(
        "The hand-built LSTM writes the first input into memory unit 0 and should hold it for 30 steps. With the "
        "<b>forget-gate bias at −6</b> (at bias 0, unit 0's forget gate is σ(4) ≈ 0.98): what share of c does unit 0's forget "
        "gate keep per step, and how large is the LSTM's ‖dℓ/dc⁽⁰⁾‖ back at step 0 (ℓ = unit 0 of h at step 30)?",
        w, Number(_kept_percent, unit="%", abs=5, lo=0, hi=100, label="Share of c kept per step"),
        Number(_flow_at_0, factor=10, lo=0, hi=10, label="‖dℓ/dc⁽⁰⁾‖"),
        explanation="f = σ(−2) ≈ 0.12, and the gradient along c is a product of forget gates: about 0.12³⁰, "
                    "vanished, and the memory with it. Now set the bias back to 0 (f = σ(4) ≈ 0.98: ‖dℓ/dc⁽⁰⁾‖ is "
                    "0.372, c is a skip path), then click through <b>Candidate φ</b>: the memory holds with every φ, "
                    "since φ decides what is written and f how long it lasts.")


# ---------------------------------------------------------------------- 2. the cell state against a plain RNN
def _larger(w: LSTMGatesWidget) -> str:
    run = _run(w)
    return "the LSTM's ‖dℓ/dc⁽⁰⁾‖" if run.flow[0] > run.plain.norms[0] else "the plain RNN's ‖dℓ/da⁽⁰⁾‖"


def _decades(w: LSTMGatesWidget) -> float:
    run = _run(w)
    return math.log10(float(run.flow[0]) / float(run.plain.norms[0]))


def against_plain_rnn() -> Question:
    w = LSTMGatesWidget()
    run = _run(w)
    f = run.trace.values["f"][:, 0].double()  # unit 0's forget gate at each step
    o, c = float(run.trace.values["o"][-1, 0]), float(run.trace.values["c"][-1, 0])
    kept, slope = float(f.prod()), 1 - math.tanh(c) ** 2
    return Question(
        "At the defaults (forget gate f ≈ 0.98, 30 steps), whose gradient back at step 0 is larger: the LSTM's cell "
        "state's ‖dℓ/dc⁽⁰⁾‖ or a plain tanh RNN's ‖dℓ/da⁽⁰⁾‖ (an untrained random one of the same size: nothing is "
        "trained on this task)? And by how many powers of ten is the LSTM's larger (negative if smaller)?",
        w, Choice(_larger, ["the LSTM's ‖dℓ/dc⁽⁰⁾‖", "the plain RNN's ‖dℓ/da⁽⁰⁾‖"], label="Larger"),
        Number(_decades, abs=1, lo=-40, hi=40, label="log₁₀(LSTM's ÷ RNN's)"),
        explanation="c is only scaled by f and added to, so the gradient along it is a product of forget gates "
                    f"({fmt(float(f.mean()))} per step), not of Jacobians through a squashing nonlinearity. The "
                    f"LSTM's is the product of unit 0's forget gates over the {f.numel()} steps, {fmt(kept)}, times "
                    f"o · tanh′(c⁽{_up(f.numel())}⁾) = {fmt(o)} × {fmt(slope)} = {fmt(o * slope)} at the last step (ℓ is "
                    f"unit 0 of h = o ⊙ tanh c): {fmt(kept)} × {fmt(o * slope)} = {fmt(kept * o * slope)}, the "
                    f"widget's {fmt(float(run.flow[0]))}. The RNN's is about 10⁻⁶.")


# ---------------------------------------------------------------------- 3. does the output gate matter?
NEAR = 0.05  # nats/char: "about as well"
OPTIONS_3 = [f"worse (more than {NEAR} nats/char above the LSTM)", f"about as well (within {NEAR} nats/char)",
             f"better (more than {NEAR} nats/char below the LSTM)"]


def _gru_against_lstm(w: LSTMGatesWidget) -> str:
    gru, lstm = (small_char_model(c).card["held_out_nats_per_char"] for c in ("gru", "lstm"))
    return OPTIONS_3[0] if gru > lstm + NEAR else (OPTIONS_3[2] if gru < lstm - NEAR else OPTIONS_3[1])


def output_gate() -> Question:
    w = LSTMGatesWidget(cell="gru")
    return Question(
        "The GRU has no output gate and a quarter fewer parameters than the LSTM. The shipped small GRU and LSTM "
        "were trained on Shakespeare under the same protocol. How well does the GRU read held-out Shakespeare "
        "(the mean of −ln p(the next character), in nats per character), compared with the LSTM?",
        w, Choice(_gru_against_lstm, OPTIONS_3),
        explanation="About as well: the cell's sentence gives both models' held-out loss (a uniform guess among the "
                    "65 characters would score ln 65 ≈ 4.17). Some parts of the LSTM matter (the additive path that "
                    "carries the state), others, like the output gate, are fairly arbitrary (Remark 2.1).")


# ---------------------------------------------------------------------- 4. where the gradient reaching c comes from
ALONG, THROUGH = "straight along c (dℓ/dc⁽ˡ⁺²⁾ ⊙ f⁽ˡ⁺¹⁾)", "through h⁽ˡ⁺¹⁾"


def _split(w: LSTMGatesWidget) -> tuple[dict, int, int]:
    run = _run(w)
    l, unit = _step(w, run), _drawn_unit(w, run)
    return lstm_gradient_split(run, l, unit), l, unit


def _larger_part(w: LSTMGatesWidget) -> str:
    split, _, _ = _split(w)
    return ALONG if abs(split["direct"]) > abs(split["through_h"]) else THROUGH


def _whole(w: LSTMGatesWidget) -> float:
    run = _run(w)
    return state_split(run, _step(w, run))["norm_a"]


def gradient_split() -> Question:
    w = LSTMGatesWidget(source="text", step=30)
    run = _run(w)
    l, unit = _step(w, run), _drawn_unit(w, run)
    halves = state_split(run, l)
    split = lstm_gradient_split(run, l, unit)
    return Question(
        f"The trained LSTM reads “{w.text}”; ℓ is the loss of predicting its last character. The gradient "
        f"reaching c⁽ˡ⁺¹⁾ has two parts: one straight along c, dℓ/dc⁽ˡ⁺²⁾ ⊙ f⁽ˡ⁺¹⁾, and one through "
        f"h⁽ˡ⁺¹⁾ = o ⊙ tanh(c⁽ˡ⁺¹⁾). The notes do not write this split: it is the chain rule through §2's two "
        f"equations, c⁽ˡ⁺²⁾ = c⁽ˡ⁺¹⁾ ⊙ f⁽ˡ⁺¹⁾ + i⁽ˡ⁺¹⁾ and h⁽ˡ⁺¹⁾ = o ⊙ tanh(c⁽ˡ⁺¹⁾). At step l = {l}, for unit {unit} "
        f"(the drawn cell's), dℓ/dc⁽{_up(l + 2)}⁾ = {fmt(split['dc2'])}, f⁽{_up(l + 1)}⁾ = {fmt(split['f1'])}, "
        f"dℓ/dh⁽{_up(l + 1)}⁾ = {fmt(split['dh1'])}, o = {fmt(split['o'])} and tanh′(c⁽{_up(l + 1)}⁾) = "
        f"{fmt(split['slope'])}: which part is larger? And ∂ℓ/∂a⁽{_up(l + 1)}⁾ splits the same way, a = [c; h], each half "
        f"with the other held fixed: if the c half has size ‖∂ℓ/∂c‖ = {fmt(halves['norm_c'])} and the h half "
        f"‖∂ℓ/∂h‖ = {fmt(halves['norm_h'])} (all {halves['d_c']} units), what is the size of the whole, ‖∂ℓ/∂a‖?",
        w, Choice(_larger_part, [ALONG, THROUGH], label="The larger part"),
        Number(_whole, rel=0.05, lo=0, hi=10, label="‖∂ℓ/∂a‖"),
        explanation=f"Along c: {fmt(split['dc2'])} × {fmt(split['f1'])} = {fmt(split['direct'])}; through h: "
                    f"{fmt(split['dh1'])} × {fmt(split['o'])} × {fmt(split['slope'])} = {fmt(split['through_h'])}; "
                    f"the part {'along c' if abs(split['direct']) > abs(split['through_h']) else 'through h'} is the "
                    "larger. The two halves of ∂ℓ/∂a are orthogonal parts of one vector of d<sub>a</sub> = d<sub>c</sub> + "
                    f"d<sub>h</sub> = {halves['d_a']} numbers, so their squared sizes add: ‖∂ℓ/∂a‖² = ‖∂ℓ/∂c‖² + "
                    "‖∂ℓ/∂h‖² (not the sizes themselves). Which path carries more depends on the step and the unit: "
                    "now try step 9, where almost all of it comes through h, and read the last sentence under the "
                    "gradient plot: summed over every step and unit, about half comes straight along c.")


# ---------------------------------------------------------------------- 5. on real text, against a trained RNN
CARRIES = ["yes: about as well as the LSTM's cell state", "no: its gradient at step 0 is far smaller"]


def _carries(w: LSTMGatesWidget) -> str:
    return CARRIES[1] if _decades(w) > 1 else CARRIES[0]


def real_text() -> Question:
    w = LSTMGatesWidget(source="text")
    run = _run(w)
    share, units, steps = along_share(run)
    return Question(
        f"On text (“{w.text}”), the LSTM and a one-layer tanh RNN of the same width were both trained on "
        "Shakespeare under one protocol, and ℓ is the loss they were trained on: predicting the text's last "
        "character from the ones before it. Does training teach the tanh RNN to carry the gradient back to step 0 "
        "as well as the LSTM's cell state does? By how many powers of ten is the LSTM's ‖dℓ/dc⁽⁰⁾‖ larger than "
        "the RNN's ‖dℓ/da⁽⁰⁾‖ (negative if smaller)?",
        w, Choice(_carries, CARRIES, label="Does it?"),
        Number(_decades, abs=1, lo=-40, hi=40, label="log₁₀(LSTM's ÷ RNN's)"),
        explanation="The RNN's gradient is a product of one Jacobian through tanh per character; the LSTM's has a "
                    "second path, along c, scaled only by the forget gates: summed over c⁽¹⁾ … "
                    f"c⁽{_up(steps)}⁾ and all {units} units, {fmt(100 * share, 2)}% of the gradient's size comes straight "
                    "along c (question 4). Training does not give the RNN such a path.")


QUESTIONS = [forget_gate, against_plain_rnn, output_gate, gradient_split, real_text]
