"""§1.3, Remark 1.1: a shared W gets a gradient from every step, and autograd sums them."""
from __future__ import annotations

import functools

import bqplot as bq
import ipywidgets as W
import numpy as np
import torch
import traitlets

from ..core import RNN, UntiedRNN, seeded, step_gradients
from ..core.tied_untied import load_tied_untied
from ..core.tied_untied import summary as tied_untied_summary
from .charts.axes import fit_ordinal_x, fit_y
from .charts.builders import bar_chart, heat_map, line_chart, set_key
from .common import PALETTE, LessonWidget, esc, finite, slider
from .numbers import fmt

INPUT_SIZE, HIDDEN_SIZE = 2, 4
#: what the bars can show: one entry of W or b (signed: the bars then add up to the Σ bar), or the norm
ENTRIES = [(f"W[{i},{j}]", f"{i},{j}") for i in range(HIDDEN_SIZE) for j in range(HIDDEN_SIZE + INPUT_SIZE)] + [
    (f"b[{i}]", f"{i},{HIDDEN_SIZE + INPUT_SIZE}") for i in range(HIDDEN_SIZE)] + [
    ("‖[W | b]‖ (Frobenius norm)", "norm")]
#: the heat maps' columns: W's state columns, its input columns, then b
COLUMNS = [f"a{i}" for i in range(HIDDEN_SIZE)] + [f"x{i}" for i in range(INPUT_SIZE)] + ["b"]


def with_bias(grads: dict) -> np.ndarray:
    """[dℓ/dW | dℓ/db]: b's gradient as one more column beside W's (any leading step or layer axes)."""
    return np.concatenate([grads["W"].numpy(), grads["b"].numpy()[..., None]], axis=-1)


@functools.lru_cache(maxsize=64)  # the entry and step controls re-read the same gradients
def weight_sharing_gradients(seq_len: int, weight_scale: float, loss_at: str, seed: int = 0):
    """The per-step contributions, their sum and autograd's dℓ/dW for the shared RNN, and the untied twin's.

    The recurrent part of W is scaled to spectral radius ``weight_scale`` (below 1 the contributions
    fade with distance from the loss, above 1 they can grow: §1.5). Float64, so the sum and autograd
    agree to ~1e-16.
    """
    rnn = seeded(seed, lambda: RNN(INPUT_SIZE, HIDDEN_SIZE, dtype=torch.float64))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        Wa = torch.linalg.qr(torch.randn(HIDDEN_SIZE, HIDDEN_SIZE, generator=g, dtype=torch.float64))[0]
        rnn.W[:, :HIDDEN_SIZE] = weight_scale * Wa  # orthogonal × scale: spectral radius = weight_scale
    x = torch.randn(seq_len, INPUT_SIZE, generator=g, dtype=torch.float64)
    target = torch.randn(seq_len, HIDDEN_SIZE, generator=g, dtype=torch.float64) * 0.5

    def loss(tr):
        err = tr.a[1:] - target  # (T, H)
        return 0.5 * (err[-1] ** 2).sum() if loss_at == "last" else 0.5 * (err ** 2).sum()

    shared = step_gradients(rnn, x, loss)
    untied = step_gradients(UntiedRNN.from_shared(rnn, seq_len), x, loss)
    return shared, untied


#: below this share of the colour key's end a cell is white to the eye (1% of the way from white to the end colour)
BLANK_SHARE = 0.01

class WeightSharingWidget(LessonWidget):
    """Per-step contributions to dℓ/dW, their sum, and autograd's gradient side by side.

    Traits
    ------
    seq_len : int           number of steps L
    weight_scale : float    spectral radius of the recurrent part of W
    loss_at : {"last", "every"}   the loss on a^(L) only, or on every step's state
    entry : str             "norm" or "i,j" (which number of dℓ/dW the bars show)
    step : int              the step k whose contribution the right heat map shows
    """

    TITLE = "Weight sharing: the gradient of W is a sum over steps"
    SECTION = "§1.3, Remark 1.1"
    EXPLANATION = (
        "An RNN applies the <b>same W, b at every step</b>. Backpropagation gives W a gradient signal from "
        "<b>each application k</b> and adds them up (Remark 1.1): the bars show each step's contribution, "
        "their sum, and autograd's dℓ/dW, which must agree. Lower the weight scale and the contributions "
        "of early steps fade (a first look at §1.5). In the untied network of §1.2 each W<sup>(k)</sup> "
        "would receive only its own step's bar (◆)."
    )

    seq_len = traitlets.Int(8, min=2, max=30).tag(config=True)
    weight_scale = traitlets.Float(0.9, min=0.1, max=3.0).tag(config=True)
    loss_at = traitlets.Enum(["last", "every"], "last").tag(config=True)
    entry = traitlets.Enum([v for _, v in ENTRIES], "0,5").tag(config=True)
    step = traitlets.Int(8, min=1, max=30).tag(config=True)  # default: the last step, whose share is largest

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bar_fig, self.bars, scales = bar_chart("Contribution of each step k to dℓ/dW", "step k",
                                                    "contribution")
        # the sum and autograd's answer get a figure of their own on the same ruler, so that their labels
        # always show however many step labels the left figure has to thin out
        self.sum_fig, self.sum_bars, _ = bar_chart("Σ and autograd", "", "", y_scale=scales["y"])
        self.bar_fig.layout.width, self.sum_fig.layout.width = "680px", "200px"
        self.untied_marks = bq.Scatter(x=["1"], y=[0.0], scales=scales, marker="diamond", colors=["#000000"],
                                       default_size=60, display_legend=False)
        self.bar_fig.marks = [self.bars, self.untied_marks]
        self.total_fig, self.total_map, _ = heat_map("dℓ/d[W | b] (autograd)", "row of W", "column of [W | b]",
                                                     "dℓ/dW or dℓ/db entry", height=180)
        self.step_fig, self.step_map, _ = heat_map("contribution of step k", "row of W",
                                                   "column of [W | b]", "step k's share", height=180)
        controls = [
            self._control("seq_len", slider("Steps L", 2, 30)),
            self._control("weight_scale", slider("Weight scale", 0.1, 3.0, 0.05, float_=True)),
            self._control("loss_at", W.ToggleButtons(options=[("loss at the last step", "last"),
                                                              ("loss at every step", "every")], description="Loss")),
            self._control("entry", W.Dropdown(options=ENTRIES, description="Bars show")),
            self._control("step", slider("Step k (right map)", 1, 30)),
        ]
        # §1.2's warning, measured: the untied network's late layers are rarely trained (shipped, drawn once)
        self.updates_fig, self.update_bars, _ = bar_chart(
            "Untied (§1.2): updates each layer l got", "layer l", "training updates", height=220)
        self.length_fig, self.length_lines, _ = line_chart(
            "Accuracy against input length", "input length T", "accuracy", 2, height=220, markers=True,
            labels=["tied, one W (§1.3)", "untied (§1.2)"], colors=[PALETTE[2], PALETTE[5]])
        self.lengths_note = W.HTML("", layout=W.Layout(max_width="880px", margin="8px 0 0 8px"))
        self._assemble(controls, [
            W.HBox([self._figure("bars", self.bar_fig), self.sum_fig]),
            W.HBox([self._figure("total", self.total_fig, half=True), self._figure("step", self.step_fig, half=True)]),
            self.lengths_note,
            W.HBox([self._figure("updates", self.updates_fig, half=True),
                    self._figure("lengths", self.length_fig, half=True)]),
        ])
        self._draw_lengths()
        self.observe(lambda _: self._run(self._update), names=["seq_len", "weight_scale", "loss_at", "entry", "step"])
        self._run(self._update)

    def _draw_lengths(self) -> None:
        """§1.2's "later layers get trained very rarely, so it's hard to generalise to longer sequences": the shipped
        run of core.tied_untied (it does not depend on the controls)."""
        r = load_tied_untied()
        n = tied_untied_summary(r)
        lengths = r["lengths"]
        with self._holding(self.update_bars, self.length_lines):
            self.update_bars.x = [str(T) for T in lengths]
            self.update_bars.y = np.asarray(r["untied_updates"], dtype=float)
            self.update_bars.colors = [PALETTE[5]] * len(lengths)
            self.length_lines.x = np.asarray(lengths, dtype=float)
            self.length_lines.y = np.asarray([r["accuracy_tied"], r["accuracy_untied"]])
        fit_y(self.updates_fig, self.update_bars.y, zero=True)
        fit_ordinal_x(self.updates_fig, self.update_bars.x)
        fit_y(self.length_fig, np.append(self.length_lines.y, 1.0), zero=True)  # 0 … 100%, ticks 0, 0.5, 1
        self.length_fig.marks[0].scales["y"].max = 1.02  # the markers at 100% drawn whole
        s, updates = r["settings"], r["untied_updates"]
        question = r["task"].split(": ", 1)[-1]
        self.lengths_note.value = (
            "<b>§1.2, trained.</b> The untied network (one layer per token, its own W<sup>(l)</sup>) and the RNN "
            f"(one W) learned the same task ({esc(question)}) on {s['steps']} batches whose lengths were drawn "
            f"around {fmt(s['mean_len'])} (the longest: {n['longest']}). Layer l of the untied network is trained "
            "only by sequences at least l long.")
        last, longest, first_zero = n["last_trained"], n["longest"], len(lengths) - n["zero_layers"] + 1
        self.summaries["updates"].value = esc(
            f"Layer 1 of the untied network got {updates[0]} updates, layer {last} {updates[last - 1]}"
            + (f", layer {longest} {updates[longest - 1]}" if longest != last else "")
            + (f", and layers {first_zero}–{len(lengths)} none: no training sequence was that long."
               if n["zero_layers"] else "."))
        self.summaries["lengths"].value = esc(
            f"On lengths {n['short'][0]}–{n['short'][1]} both are right about as often (tied "
            f"{fmt(100 * n['tied_short'], 3)}%, untied {fmt(100 * n['untied_short'], 3)}%); on lengths "
            f"{n['long'][0]}–{n['long'][1]}, longer than every training sequence, the tied RNN is still right "
            f"{fmt(100 * n['tied_long'], 3)}% of the time, the untied network {fmt(100 * n['untied_long'], 3)}% "
            f"(chance: 50%): it reads them with layers that were never trained.")

    def _pick(self, matrices: np.ndarray) -> np.ndarray:
        """One number per matrix: the Frobenius norm, or entry (i, j)."""
        if self.entry == "norm":
            return np.sqrt((matrices ** 2).sum(axis=(-2, -1)))
        i, j = map(int, self.entry.split(","))
        return matrices[..., i, j]

    def _update(self) -> None:
        shared, untied = weight_sharing_gradients(self.seq_len, self.weight_scale, self.loss_at)
        contrib = with_bias(shared.contributions)  # (L, H, H+I+1): [W | b] per step
        total = with_bias(shared.total)
        summed = contrib.sum(0)
        L = self.seq_len
        self.controls["step"].max = L
        k = min(self.step, L)
        labels = [str(i) for i in range(1, L + 1)]
        values = finite(np.concatenate([self._pick(contrib), [self._pick(summed)], [self._pick(total)]]))
        with self._holding(self.bars, self.sum_bars, self.untied_marks):
            self.bars.x, self.bars.y = labels, values[:L]
            self.bars.colors = [PALETTE[0]] * L
            self.sum_bars.x, self.sum_bars.y = ["Σₖ", "autograd"], values[L:]
            self.sum_bars.colors = [PALETTE[1], PALETTE[2]]
            self.untied_marks.x = labels
            self.untied_marks.y = finite(self._pick(with_bias(untied.total)[:L]))
        for fig in (self.bar_fig, self.sum_fig):
            fit_y(fig, np.concatenate([values, self.untied_marks.y, [0.0]]))
        fit_ordinal_x(self.bar_fig, labels)
        lim = float(np.abs(total).max()) or 1.0
        with self._holding(self.total_map, self.step_map):
            self.total_map.color, self.total_map.column = finite(total), COLUMNS
            self.step_map.color, self.step_map.column = finite(contrib[k - 1]), COLUMNS
        for fig in (self.total_fig, self.step_fig):  # one colour range: the step's share reads against the total
            set_key(fig, -lim, lim)
        diff = float(np.abs(summed - total).max())
        what = "‖contribution‖" if self.entry == "norm" else "dℓ/d" + {v: k for k, v in ENTRIES}[self.entry]
        strongest = int(np.argmax(np.abs(self._pick(contrib)))) + 1
        self.summaries["bars"].value = esc(
            f"{what} per step: largest at step {strongest} ({fmt(values[strongest - 1])}), step 1 gives "
            f"{fmt(values[0])}; the sum over steps is {fmt(values[L])} and autograd says {fmt(values[L + 1])}."
            + (" (Norms do not add: the Σ bar is the norm of the summed matrix.)" if self.entry == "norm" else ""))
        self.summaries["total"].value = esc(
            f"dℓ/dW has entries from {fmt(total[:, :-1].min())} to {fmt(total[:, :-1].max())}; dℓ/db (last column) "
            f"from {fmt(total[:, -1].min())} to {fmt(total[:, -1].max())}.")
        largest = float(np.abs(contrib[k - 1]).max())
        blank = largest < BLANK_SHARE * lim  # no cell tinted: say why the map is white, lest it look broken
        self.step_fig.title = f"contribution of step {k}" + (": too small to colour" if blank else "")
        self.summaries["step"].value = esc(
            f"Step {k}'s contribution has norm {fmt(float(np.linalg.norm(contrib[k - 1])))} (the whole gradient: "
            f"{fmt(float(np.linalg.norm(total)))}); in the untied network this is all W⁽{k}⁾, b⁽{k}⁾ would get."
            + (f" The map is blank, not broken: its largest entry, {fmt(largest)}, is {fmt(largest / lim)} of the "
               f"colour key's end ({fmt(lim)}), too small to tint a cell." if blank else ""))
        self.equation.value = (
            "<div style='font-family:serif;font-size:15px'>dℓ/dW = Σ<sub>k=1…L</sub> (dℓ/da<sup>(k)</sup>)"
            "(da<sup>(k)</sup>/dW) (§1.5) = Σ<sub>k</sub> (dℓ/dz<sup>(k)</sup>) [a<sup>(k−1)</sup>; x[k−1]]"
            "<sup>⊤</sup>, &nbsp; dℓ/dz<sup>(k)</sup> = dℓ/da<sup>(k)</sup> ⊙ σ′(z<sup>(k)</sup>), &nbsp; "
            "z<sup>(k)</sup> = W[a<sup>(k−1)</sup>; x[k−1]] + b; &nbsp; dℓ/db = Σ<sub>k</sub> dℓ/dz<sup>(k)</sup>"
            f" &nbsp;&nbsp; now: max |Σ<sub>k</sub> − autograd| = <b>{esc(fmt(diff, 2))}</b>"
            f"{' (equal up to rounding)' if diff < 1e-9 else ''}</div>")
