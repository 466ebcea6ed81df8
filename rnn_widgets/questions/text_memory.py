"""examples/07_text_memory.ipynb's questions (§1.5, §2, Remark 2.1): every truth read from the widget's own
computations over the passage (the cached traces and gradients it draws)."""
from __future__ import annotations

import math

from ..core.text_memory import correlations, text_features
from ..widgets.numbers import fmt
from ..widgets.question import Choice, Number, Question
from ..widgets.text_memory import (
    MAX_DISTANCE,
    MODELS,
    SOFT,
    TextMemoryWidget,
    connectivity_at,
    fall_distance,
    gate_shares,
    read_all,
    trained,
    units_found,
    window_of_training,
)

#: what answers a "find units" question outside the figures: the Find units menu labels each feature with its
#: best unit and that unit's r
FIND_MENU = "controls_find"


def _position(w: TextMemoryWidget) -> int:
    return min(w.position, len(w.text) - 2)


def _found_r(w: TextMemoryWidget) -> float:
    """The correlation of the unit "find units" chose for the widget's feature."""
    found = {f.feature: f for f in units_found(w.text, w.model, w.signal)}
    return found[w.feature].r


# ---------------------------------------------------------------------- 1. a unit that counts along the line
H_SQUASHED = "no: its c passes 1, its h stays inside (−1, 1)"
C_AGAINST_H = ["yes: its h reaches as far as its c", H_SQUASHED]


def _c_against_h(w: TextMemoryWidget) -> str:
    passage = read_all(w.text)["lstm"]
    most_c = float(abs(passage.signal("c")[:, w.unit]).max())
    most_h = float(abs(passage.signal("h")[:, w.unit]).max())
    return H_SQUASHED if most_c > 1 > most_h else C_AGAINST_H[0]


def line_counter() -> Question:
    w = TextMemoryWidget(feature="position in the line")
    passage, position = read_all(w.text)["lstm"], text_features(w.text)["position in the line"]
    c, h = (passage.signal(s)[:, w.unit].astype(float) for s in ("c", "h"))
    r_c, r_h = (float(correlations(v[:, None], position)[0]) for v in (c, h))
    return Question(
        "A verse line is 30–50 characters long, and a new one starts after each newline. <b>Find units</b> has "
        f"picked the LSTM cell-state unit (of {trained('lstm').hidden_size}) whose c follows the position in the "
        "line most closely. How closely: what is its correlation r with the position in the line? And can that "
        "unit's hidden state h hold a count as large as its cell state c?",
        w, Number(_found_r, abs=0.15, lo=-1, hi=1, label="Correlation r"),
        Choice(_c_against_h, C_AGAINST_H, label="Can h hold it?"),
        hide=[*w.figures, FIND_MENU],
        explanation="Nobody told the model about lines: predicting the newline (and the capital after it) is easier "
                    "when you know how long the line already is, so training built a counter. It lives in c: "
                    "c⁽ˡ⁺¹⁾ = c⁽ˡ⁾ ⊙ f⁽ˡ⁾ + i⁽ˡ⁾ is a running sum that no nonlinearity squashes, while h = o ⊙ tanh(c) "
                    f"stays inside (−1, 1). h still follows the count, only squashed: unit {w.unit}'s h has r = "
                    f"{r_h:+.2f} with the position in the line (its c: {r_c:+.2f}), and where c reaches "
                    f"{fmt(abs(c).max())}, h reaches only {fmt(abs(h).max())}. Now switch <b>Value</b> to hidden "
                    "state h to see the same unit squashed.")


# ---------------------------------------------------------------------- 2. units that change at spaces
def word_starts() -> Question:
    w = TextMemoryWidget(signal="h", feature="after a space")
    r = _found_r(w)
    return Question(
        "A space ends a word. <b>Find units</b> has picked the unit of the LSTM's hidden state h that follows "
        "“after a space” (the character after a space, the start of a new word) most closely. What is its "
        "correlation r with that feature (1: high exactly at word starts)?",
        w, Number(_found_r, abs=0.15, lo=-1, hi=1, label="Correlation r"),
        hide=[*w.figures, FIND_MENU],
        explanation=f"r = {r:+.2f}: the unit follows word starts only loosely. Units rarely mean one clean thing: "
                    "try a few other units to see how mixed most of them are.")


# ---------------------------------------------------------------------- 3. how far back each model looks
def _falls(w: TextMemoryWidget) -> dict[str, int]:
    """The distance at which each model's gradient falls below 1% of its largest for good (beyond the plot: one
    past its end)."""
    norms = connectivity_at(w.text, _position(w))
    return {c: (fall_distance(norms[c]) if fall_distance(norms[c]) is not None else len(norms[c])) for c in MODELS}


def _rnn_fall(w: TextMemoryWidget) -> float:
    return float(_falls(w)["rnn"])


CLEARLY = 1.25  # "clearly farther": more than a quarter farther back
FARTHEST = ["the RNN", "the LSTM and GRU, clearly farther than the RNN", "all three about the same"]


def _farthest(w: TextMemoryWidget) -> str:
    """The RNN if its distance is more than CLEARLY times both others'; the LSTM and GRU if both of theirs are more
    than CLEARLY times the RNN's; else all three about the same."""
    falls = _falls(w)
    gated = [falls["lstm"], falls["gru"]]
    if falls["rnn"] > CLEARLY * max(gated):
        return FARTHEST[0]
    return FARTHEST[1] if min(gated) > CLEARLY * falls["rnn"] else FARTHEST[2]


def how_far_back() -> Question:
    w = TextMemoryWidget()
    t = _position(w)
    falls = _falls(w)
    return Question(
        f"At the default position (t = {t}: reading the '{w.text[t]}' of “wedding-day”, predicting "
        f"'{w.text[t + 1]}'), each model's ‖dℓₜ/dx[t − d]‖ falls with the distance d. At what distance does the "
        "RNN's fall below 1% of its largest value for good, and whose stays above 1% farthest back? (Clearly "
        f"farther: more than {fmt(CLEARLY)} times the distance.)",
        w, Number(_rnn_fall, abs=5, lo=0, hi=MAX_DISTANCE, label="The RNN's distance d"),
        Choice(_farthest, FARTHEST, label="Farthest back"),
        explanation=f"Measured against each model's own largest value: the RNN's falls below 1% at d = "
                    f"{falls['rnn']}, the LSTM's at {falls['lstm']} and the GRU's at {falls['gru']}, "
                    f"{fmt(falls['lstm'] / falls['rnn'])} and {fmt(falls['gru'] / falls['rnn'])} times as far: "
                    "the skip paths of the LSTM and the GRU help at this position. Now move <b>Position t</b>: the "
                    "order can change from character to character; the next question looks farther back.")


# ---------------------------------------------------------------------- 4. far back: vanishing, and the window
def _far(w: TextMemoryWidget) -> int:
    return len(connectivity_at(w.text, _position(w))["lstm"]) - 1


def _decades_apart(w: TextMemoryWidget) -> float:
    """log₁₀ of the LSTM's gradient over the RNN's at the farthest distance, to the nearest whole power of ten (the
    RNN's, near 10⁻²⁴, is computed in float32 steps: its last digits are not to be asked for)."""
    norms, far = connectivity_at(w.text, _position(w)), _far(w)
    return float(round(math.log10(float(norms["lstm"][far]) / float(norms["rnn"][far]))))


def _trained_that_far(w: TextMemoryWidget) -> str:
    window = window_of_training()
    return "no" if window is not None and _far(w) >= window else "yes"


def far_back() -> Question:
    w = TextMemoryWidget()
    far, window = _far(w), window_of_training()
    return Question(
        f"The models trained on windows of {window} characters, each read from a zero state (truncated "
        f"backpropagation through time). {far} characters back from the default position, by how many powers of "
        "ten (to the nearest whole one) is the LSTM's gradient ‖dℓₜ/dx[t − d]‖ larger than the RNN's (negative if "
        "smaller)? And did training "
        "ever use a gradient that far back?",
        w, Number(_decades_apart, abs=2, lo=-40, hi=40, label="log₁₀(LSTM's ÷ RNN's)"),
        Choice(_trained_that_far, ["yes", "no"], label="Trained that far back?"),
        explanation="All three vanish, but the RNN's product of one Jacobian through tanh per character vanishes "
                    "many powers of ten faster (§1.5): slower vanishing along the LSTM's cell state and the GRU's "
                    "carried h is what “better gradient flow” means on real text. In a window of "
                    f"{window} characters the last prediction reaches back {window - 1} steps and no further: right "
                    "of the dashed line the plot shows a gradient the model can compute but never learned from."
                    + (f" At d = {far} this is beyond the training window: it shows how the models compute, not "
                       "what they learned." if window is not None and far >= window else ""))


# ---------------------------------------------------------------------- 5. are gates switches?
def _soft_percent(w: TextMemoryWidget) -> float:
    return 100 * gate_shares(w.text, "lstm")["f"][1]


def soft_gates() -> Question:
    w = TextMemoryWidget()
    H = trained("lstm").hidden_size
    _, soft, shut, open_ = gate_shares(w.text, "lstm")["f"]
    return Question(
        "The notes describe the forget gate f as forgetting (close to 0) or retaining (close to 1). Over this "
        f"passage, what share of the trained LSTM's forget-gate values ({H} units × {len(w.text)} characters) lie "
        f"between {SOFT[0]} and {SOFT[1]}, neither shut nor open?",
        w, Number(_soft_percent, unit="%", abs=10, lo=0, hi=100, label="Share of f's values"),
        explanation=f"A gate is a sigmoid, so it passes any fraction. Here {fmt(100 * shut, 2)}% of f's values "
                    f"are at or below {fmt(SOFT[0])}, {fmt(100 * open_, 2)}% at or above {fmt(SOFT[1])}, and "
                    f"{fmt(100 * soft, 2)}% are neither, keeping part of c and letting part go. Now read the "
                    f"histogram for the input and output gates, and choose <b>Model</b> GRU: its update gate z "
                    f"(z = 1 keeps h) is at or below {fmt(SOFT[0])} most of the time.")


QUESTIONS = [line_counter, word_starts, how_far_back, far_back, soft_gates]
