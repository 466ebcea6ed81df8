"""examples/02_weight_sharing.ipynb's questions (§1.3, Remark 1.1): every truth computed from the widget's traits
with the functions the widget itself uses (its per-step gradients, and the shipped tied/untied run)."""
from __future__ import annotations

import numpy as np

from ..core.tied_untied import load_tied_untied
from ..core.tied_untied import summary as tied_untied_summary
from ..widgets.question import Choice, Number, Question
from ..widgets.weight_sharing import (
    ENTRIES,
    WeightSharingWidget,
    weight_sharing_gradients,
    with_bias,
)

#: the Σ and autograd bars stand in a figure of their own beside the per-step bars: hidden with them
SUM_BARS = "sum_fig"


def _hide_all(w: WeightSharingWidget, *more: str) -> list[str]:
    return [*w.figures, SUM_BARS, *more]


def _contributions(w: WeightSharingWidget) -> tuple[np.ndarray, np.ndarray]:
    """Each step's [dℓ/dW | dℓ/db] (L, H, H + I + 1) and autograd's (H, H + I + 1), as the widget computes them."""
    shared, _ = weight_sharing_gradients(w.seq_len, w.weight_scale, w.loss_at)
    return with_bias(shared.contributions), with_bias(shared.total)


def _entry_name(w: WeightSharingWidget) -> str:
    return {v: k for k, v in ENTRIES}[w.entry]


AGREE = ["yes, up to rounding error", "no, they differ"]


def _agrees(w: WeightSharingWidget) -> str:
    contrib, total = _contributions(w)
    i, j = map(int, w.entry.split(","))
    summed, auto = float(contrib[:, i, j].sum()), float(total[i, j])
    return AGREE[0] if abs(summed - auto) <= 1e-9 * max(1.0, abs(auto)) else AGREE[1]


def sum_over_steps() -> Question:
    w = WeightSharingWidget()
    name = _entry_name(w)
    return Question(
        f"The RNN applies the same W, b at each of its L = {w.seq_len} steps, and the loss is taken at the last step. "
        f"Backpropagation gives each use of W, at step k, a contribution to dℓ/d{name}: the blue bars, one per "
        f"step. Will the {w.seq_len} contributions add up to the dℓ/d{name} that autograd computes?",
        w, Choice(_agrees, AGREE, label="Do they add up?"),
        hide=_hide_all(w),
        explanation="Yes: W is used at every step, so its gradient is the sum of one contribution per use, "
                    "dℓ/dW = Σ<sub>k</sub> (dℓ/dz<sup>(k)</sup>) [a<sup>(k−1)</sup>; x[k−1]]<sup>⊤</sup> (Remark "
                    "1.1). The Σ bar and the autograd bar stand equal, and the equation line shows their difference: "
                    "rounding error. Now try another entry in <b>Bars show</b>: every entry of W and b adds up the "
                    "same way.")


SIZE = ["smaller", "about the same", "larger"]


def _norms(w: WeightSharingWidget) -> np.ndarray:
    contrib, _ = _contributions(w)
    return np.sqrt((contrib ** 2).sum(axis=(-2, -1)))


def _first_against_last(w: WeightSharingWidget) -> str:
    norms = _norms(w)
    ratio = norms[0] / norms[-1]
    return SIZE[0] if ratio < 0.5 else (SIZE[2] if ratio > 2 else SIZE[1])


def _ratio(w: WeightSharingWidget) -> float:
    norms = _norms(w)
    return float(norms[0] / norms[-1])


def which_steps() -> Question:
    w = WeightSharingWidget(seq_len=20, weight_scale=0.3, entry="norm")
    L = w.seq_len
    return Question(
        f"The RNN runs L = {L} steps and the loss is taken at the last one. The block of W that reads the state, "
        f"W<sub>a</sub>, is an orthogonal matrix times the <b>weight scale</b>, here {w.weight_scale:g}: it "
        "stretches every vector by exactly that factor. The bars show the norm of each step's contribution to "
        f"[dℓ/dW | dℓ/db]. Is step 1's contribution smaller or larger than step {L}'s, and by how much?",
        w,
        Choice(_first_against_last, SIZE, label=f"Step 1's contribution, against step {L}'s, is"),
        Number(_ratio, factor=100, lo=0, hi=1e6, label=f"‖step 1‖ / ‖step {L}‖"),
        hide=_hide_all(w),
        explanation=f"Much smaller: a contribution made k steps before the loss is multiplied by k Jacobians "
                    f"diag(σ′(z)) W<sub>a</sub>, each of which shrinks a vector to at most {w.weight_scale:g} of its "
                    f"length. Over the {L - 1} steps from step 1 to step {L}, {w.weight_scale:g}<sup>{L - 1}</sup> "
                    "alone is about 10⁻¹⁰, and tanh′ ≤ 1 shrinks it further: a first look at the vanishing gradients "
                    "of §1.5. Now try weight scale 0.9 and 1.5.")


NORMS_ADD = ["the sum of the blue bars", "smaller than the sum of the blue bars", "larger than the sum of the blue bars"]


def _norm_of_sum(w: WeightSharingWidget) -> str:
    contrib, _ = _contributions(w)
    of_sum, sum_of = float(np.linalg.norm(contrib.sum(0))), float(_norms(w).sum())
    if of_sum < sum_of * (1 - 1e-9):
        return NORMS_ADD[1]
    return NORMS_ADD[2] if of_sum > sum_of * (1 + 1e-9) else NORMS_ADD[0]


def norms_add() -> Question:
    w = WeightSharingWidget(entry="norm")
    return Question(
        f"The blue bars show the norm of each step's contribution to [dℓ/dW | dℓ/db] (L = {w.seq_len} steps, the "
        "loss at the last one); the Σ bar shows the norm of the gradient, the sum of those contributions. Is the "
        "Σ bar the sum of the blue bars?",
        w, Choice(_norm_of_sum, NORMS_ADD, label="The Σ bar is"),
        hide=_hide_all(w),
        explanation="Smaller: the contributions are matrices. They add entry by entry, and where their signs differ "
                    "they partly cancel, so the norm of the sum is at most the sum of the norms (the triangle "
                    "inequality), and equal only when every contribution points the same way. Now pick an entry "
                    "in <b>Bars show</b>: a single entry's bars do add up to the Σ bar.")


B_STEPS = ["from every step", "from the last step only", "from some steps, not all", "from no step"]


def _b_from(w: WeightSharingWidget) -> str:
    contrib, _ = _contributions(w)
    nonzero = np.abs(contrib[:, :, -1]).sum(axis=1) > 0  # the last column of [W | b] is b
    if nonzero.all():
        return B_STEPS[0]
    if not nonzero.any():
        return B_STEPS[3]
    return B_STEPS[1] if nonzero[-1] and not nonzero[:-1].any() else B_STEPS[2]


def and_b() -> Question:
    w = WeightSharingWidget()
    return Question(
        f"The RNN adds the same b at each of its L = {w.seq_len} steps, z<sup>(k)</sup> = W[a<sup>(k−1)</sup>; "
        "x[k−1]] + b, and the loss is taken at the last step. From which steps does b get a contribution to its "
        "gradient dℓ/db?",
        w, Choice(_b_from, B_STEPS, label="b gets a contribution"),
        hide=_hide_all(w),
        explanation="From every step, as W does: dℓ/db = Σ<sub>k</sub> dℓ/dz<sup>(k)</sup>. The loss at the last "
                    "step reaches every earlier z<sup>(k)</sup> through the states, so each step adds its share. Now "
                    "move <b>Step k</b>: the right map shows each step's share of the last column (b) too.")


def _long_lengths() -> tuple[int, int]:
    return tied_untied_summary(load_tied_untied())["long"]


def _long_updates(w: WeightSharingWidget) -> float:
    first, last = _long_lengths()
    return float(sum(load_tied_untied()["untied_updates"][first - 1:last]))


def _untied_long(w: WeightSharingWidget) -> float:
    return float(100 * tied_untied_summary(load_tied_untied())["untied_long"])


def longer_inputs() -> Question:
    w = WeightSharingWidget()
    r = load_tied_untied()
    n, s = tied_untied_summary(r), r["settings"]
    first, last = n["long"]
    return Question(
        "§1.2 warns that with one layer per token \"the later layers get trained very rarely, so it's hard to "
        "generalise to longer sequences\". Two networks, the untied one (its own W<sup>(l)</sup> for each layer l) "
        "and the RNN (one W), learned to say whether a sum of numbers is positive, on the same "
        f"{s['steps']:,} batches of sequences whose lengths were drawn around {s['mean_len']:g} (the longest: "
        f"{n['longest']}). How many updates did the untied network's layers {first}–{last} get, all together? And "
        f"on inputs {first}–{last} long, how often is the untied network right (chance is 50%)?",
        w,
        Number(_long_updates, abs=0.5, lo=0, hi=1e6, label=f"Updates of layers {first}–{last}"),
        Number(_untied_long, unit="%", abs=10, lo=0, hi=100, label=f"Untied, right on lengths {first}–{last}"),
        hide=_hide_all(w, "lengths_note"),
        explanation=f"None: layer l is trained only by sequences at least l long, and none was longer than "
                    f"{n['longest']}. On lengths {first}–{last} the untied network is right "
                    f"{100 * n['untied_long']:.1f}% of the time on average, barely above chance (from length to "
                    "length it swings, since those layers were never trained), while the RNN is still right "
                    f"{100 * n['tied_long']:.1f}% of the time: sharing W means that every training sequence, short or "
                    f"long, trains the weights that read position {last}.")


QUESTIONS = [sum_over_steps, which_steps, norms_add, and_b, longer_inputs]
