"""examples/05_gradient_flow.ipynb's questions (§1.5): every truth read from the widget's own computation."""
from __future__ import annotations

import numpy as np
import torch

from ..core.flow import clip_summary, decay_rate
from ..widgets.gradient_flow import MAP_SCALES, GradientFlowWidget
from ..widgets.numbers import fmt
from ..widgets.question import Choice, Number, Question


def _rows(w: GradientFlowWidget, kind: str | None = None, nonlinearity: str | None = None):
    """‖dℓ/da⁽ᵏ⁾‖ as the widget computes it: row 0 at the widget's scale, rows 1… at MAP_SCALES; and dℓ/d(W, b)."""
    from ..widgets.gradient_flow import flow_rows
    return flow_rows(kind or w.model, nonlinearity or w.nonlinearity, w.seq_len, round(w.scale, 4), w.seed,
                     str(w.torch_device), True)


def first_scale_above_one(w: GradientFlowWidget) -> float:
    """The smallest scale of the map at which the gradient reaching step 0 exceeds 1 (inf: none up to 2.0)."""
    step0 = np.nan_to_num(_rows(w)[0][1:, 0], nan=np.inf)
    above = np.nonzero(step0 > 1.0)[0]
    return float(MAP_SCALES[above[0]]) if above.size else float("inf")


def where_vanishing_stops() -> Question:
    return Question(
        "With σ = tanh and L = 50, at what <b>weight scale</b> does the gradient reaching step 0, ‖dℓ/da⁽⁰⁾‖, "
        "first exceed 1? (The map tries scales 0.1, 0.2, …, 2.0.)",
        GradientFlowWidget(),
        Number(first_scale_above_one, abs=0.25, lo=0.1, hi=2.0, label="Your predicted scale"),
        explanation="Each step multiplies the gradient by diag(σ′(z)) W<sub>a</sub>. With σ = identity that is "
                    "W<sub>a</sub> alone, so the gradient would pass 1 just above a scale of 1 (choose σ = identity: "
                    "1.1 on this map); tanh′ ≤ 1 shrinks every factor, so the weights must be larger to make up for "
                    "it. Now try σ = sigmoid too.")


def _compare_rho(w: GradientFlowWidget) -> str:
    from ..widgets.gradient_flow import step_jacobian_norm
    rho = decay_rate(torch.from_numpy(_rows(w)[0][0]))
    jac = step_jacobian_norm(w.model, w.nonlinearity, w.seq_len, round(w.scale, 4), w.seed, str(w.torch_device))
    if rho < 0.98 * jac:
        return "ρ is smaller"
    return "ρ is larger" if rho > 1.02 * jac else "about the same"


def fitted_decay_against_jacobians() -> Question:
    from ..widgets.gradient_flow import rms_slope_factor

    w = GradientFlowWidget()
    rho = decay_rate(torch.from_numpy(_rows(w)[0][0]))
    rms = rms_slope_factor(w.nonlinearity, w.seq_len, round(w.scale, 4), w.seed, str(w.torch_device))
    return Question(
        "At the defaults (tanh, scale 0.9), is the fitted per-step factor ρ of the gradient larger or smaller "
        "than the average norm of one step's Jacobian da⁽ᵏ⁺¹⁾/da⁽ᵏ⁾?",
        w, Choice(_compare_rho, ["ρ is smaller", "about the same", "ρ is larger"]),
        explanation="The norm is the weight scale × the step's <i>largest</i> slope σ′, but W<sub>a</sub> turns "
                    "the gradient at every step onto every unit's slope, the small slopes of saturated units too. "
                    f"Here the weight scale × the RMS slope is {fmt(rms)}, against ρ = {fmt(rho)}: a closer guide "
                    "than the norm, though not a law. The product of the norms is only a bound.")


def _growth(w: GradientFlowWidget) -> str:
    norms = _rows(w)[0][0]
    ratio = float(norms[0] / norms[-1])
    if ratio < 0.5:
        return "it shrinks"
    return "it grows" if ratio > 2 else "it stays about the same"


def skip_connection() -> Question:
    w = GradientFlowWidget(model="skip", scale=0.5)
    norms = _rows(w)[0][0]
    growth = float(norms[0] / norms[-1])
    return Question(
        "With an <b>RNN + skip connection</b> at weight scale 0.5 (L = 50), how does ‖dℓ/da‖ change from step 50 "
        "back to step 0?",
        w, Choice(_growth, ["it shrinks", "it stays about the same", "it grows"]),
        explanation=f"It grows, by a factor {fmt(growth)} over the {w.seq_len} steps (about "
                    f"{fmt(growth ** (1 / w.seq_len))} per step): a skip connection does not pass the gradient "
                    "unchanged. Each step's Jacobian is I + J, and I + J has norm above 1 where J adds to I. A skip "
                    "connection makes vanishing less likely, not impossible: I + J shrinks the gradient where J "
                    "nearly cancels I (W<sub>a</sub> = −0.9·I with σ = identity gives 0.1·I per step).")


def _direction(w: GradientFlowWidget) -> str:
    cosine = clip_summary(_rows(w)[1], w.clip)[3]
    return "the same direction" if cosine > 0.999999 else "a different direction"


def clipping_direction() -> Question:
    return Question(
        "At weight scale 1.7 the tanh RNN's gradient explodes, and it is clipped by its norm to 1. Does the clipped "
        "gradient point in the same direction as the gradient?",
        GradientFlowWidget(scale=1.7), Choice(_direction, ["the same direction", "a different direction"]),
        explanation="Clipping by norm multiplies all weights' and biases' gradients by one factor: the length "
                    "changes, the direction does not. Clipping each entry to ±1 (by value) would turn it. Clipping "
                    "cannot help a vanishing gradient: it never lengthens one (set the scale back to 0.9).")


def _relu_against_tanh(w: GradientFlowWidget) -> str:
    relu, tanh = _rows(w, nonlinearity="relu")[0][0][0], _rows(w, nonlinearity="tanh")[0][0][0]
    return "larger than tanh's" if relu > tanh else "smaller than tanh's"


def why_tanh() -> Question:
    return Question(
        "At weight scale 2.0 (L = 50) the tanh RNN's gradient grows. With σ = <b>relu</b> instead, is the gradient "
        "reaching step 0 larger or smaller than tanh's?",
        GradientFlowWidget(scale=2.0, nonlinearity="relu"),
        Choice(_relu_against_tanh, ["larger than tanh's", "smaller than tanh's"]),
        explanation="ReLU′ is 1 on every active unit and 0 on the others: the active units pass the factor "
                    "undamped, and nothing bounds the state: the forward pass explodes with the gradient. tanh saturates, and a saturated unit's slope near 0 "
                    "damps the growth; sigmoid′ ≤ ¼ makes the gradient vanish at every scale of the map.")


QUESTIONS = [where_vanishing_stops, fitted_decay_against_jacobians, skip_connection, clipping_direction, why_tanh]
