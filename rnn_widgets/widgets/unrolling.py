"""§1.2–1.3: feeding a variable-length input one token per step, with and without shared weights."""
from __future__ import annotations

import re

import ipywidgets as W
import numpy as np
import torch
import traitlets

from ..core import RNN, UntiedRNN, parameter_count, seeded, token_vector
from .charts.axes import fit_ordinal_x, fit_y
from .charts.builders import bar_chart, line_chart, timeline_map
from .charts.figure import sup
from .charts.maps import fill_grid, place_cursor
from .charts.unrolled import LAYER_COLORS, Node, UnrolledDiagram, layer_color
from .common import PALETTE, LessonWidget, esc, show_or_hide, slider
from .numbers import fmt

INPUT_SIZE, HIDDEN_SIZE = 4, 6
MAX_DRAWN = 24  # more boxes than this do not fit a 900-px column
MAX_TOKENS = 200
MAX_WORD = 40  # characters in one token: longer ones would not fit the diagram or the equation line


def tokenize(text: str, unit: str, length: int = 8) -> list[str]:
    """Words (runs of non-space), characters, or (unit "length") ``length`` placeholder tokens x0, x1, …"""
    if unit == "length":
        return [f"x{l}" for l in range(length)]
    return re.findall(r"\S+", text) if unit == "words" else list(text)


def reach_probability(max_len: int, mean_length: float) -> np.ndarray:
    """P(a training sequence is at least l tokens long), l = 1 … max_len, for lengths 1 + Poisson(mean − 1).

    Only those sequences reach layer l of the §1.2 network, so this is how often layer l is trained.
    """
    lam = max(mean_length - 1.0, 1e-9)
    k = np.arange(max_len)
    log_pmf = -lam + k * np.log(lam) - np.cumsum(np.log(np.maximum(k, 1)))
    pmf = np.exp(log_pmf)  # P(length = k + 1)
    return np.clip(1.0 - np.concatenate([[0.0], np.cumsum(pmf)[:-1]]), 0.0, 1.0)


class UnrollingWidget(LessonWidget):
    """One token per step (§1.2), then the same W, b at every step (§1.3).

    Traits
    ------
    text : str            the sentence fed to the network
    token_unit : {"words", "characters", "length"}   split the text, or ignore it and feed ``length`` tokens
    length : int          the number of tokens when token_unit is "length"
    mode : {"untied", "shared"}   one layer per token (§1.2) or an RNN (§1.3)
    step : int            the step l highlighted; its state a^(l) is shown as a heat strip
    max_len : int         the longest sequence the §1.2 network must handle (its number of layers)
    mean_length : float   mean length of the training sequences (how often each layer is trained)
    """

    TITLE = "Unrolling: one token per step"
    SECTION = "§1.2–1.3"
    EXPLANATION = (
        "A sentence has no fixed length, so the network reads it <b>one token per step</b>: step l takes "
        "[a<sup>(l)</sup>; x[l]] and produces a<sup>(l+1)</sup>. With <b>one layer per token</b> (§1.2) every "
        "step has its own W<sup>(l)</sup>, b<sup>(l)</sup>: the network needs as many layers as the longest "
        "input, its parameters grow with that length, and late layers are rarely trained. <b>Sharing</b> one W, b "
        "across steps (§1.3) fixes all three; starting from a fixed a<sup>(0)</sup> gives the first step a "
        "'previous layer' too."
    )

    text = traitlets.Unicode("the cat sat on the mat").tag(config=True)
    token_unit = traitlets.Enum(["words", "characters", "length"], "words").tag(config=True)
    length = traitlets.Int(8, min=1, max=MAX_TOKENS).tag(config=True)
    mode = traitlets.Enum(["untied", "shared"], "shared").tag(config=True)
    step = traitlets.Int(1, min=0, max=MAX_TOKENS).tag(config=True)
    max_len = traitlets.Int(12, min=1, max=50).tag(config=True)
    mean_length = traitlets.Float(6.0, min=1.0, max=40.0).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._shared = seeded(0, lambda: RNN(INPUT_SIZE, HIDDEN_SIZE))
        self._untied = seeded(0, lambda: UntiedRNN(INPUT_SIZE, HIDDEN_SIZE, 50))  # layers beyond max_len unused
        self.diagram = UnrolledDiagram("The unrolled network", height=230)
        self.strip_fig, self.strip, self.cursor = timeline_map(
            "States a⁽ˡ⁾ of every step (units × l)", key_label="a⁽ˡ⁾ unit value", height=170, lo=-1.0, hi=1.0)
        self.x_fig, self.x_map, _ = timeline_map(
            "Inputs x[l]: each token as a vector (Remark 1.2)", "component", "x[l] component", height=130,
            lo=-2.5, hi=2.5)
        self.x_fig.marks[1].visible = False  # no step cursor on the inputs
        self.count_fig, self.count_lines, _ = line_chart(
            "Parameters against the longest input", "maximum length (layers)", "parameters", 2,
            labels=["one layer per token (§1.2)", "shared W, b (§1.3)"], colors=[PALETTE[1], PALETTE[0]])
        self.reach_fig, self.reach_bars, _ = bar_chart("How often layer l is trained (§1.2)", "layer l",
                                                       "fraction of sequences")
        self.reach_fig.axes[1].tick_format = ".1f"
        controls = [
            self._control("text", W.Text(description="Sentence", continuous_update=True,
                                         layout=W.Layout(width="420px"))),
            self._control("token_unit", W.ToggleButtons(options=[("words", "words"), ("characters", "characters"),
                                                                 ("a length", "length")], description="Tokens")),
            self._control("length", slider("Length", 1, 60)),
            self._control("mode", W.ToggleButtons(
                options=[("one layer per token (§1.2)", "untied"), ("shared weights: an RNN (§1.3)", "shared")],
                description="Network")),
            self._control("step", slider("Step l", 0, MAX_TOKENS)),
            self._control("max_len", slider("Max length", 1, 50)),
            self._control("mean_length", slider("Mean training length", 1.0, 40.0, 0.5, float_=True)),
        ]
        self._assemble(controls, [
            self._figure("diagram", self.diagram.fig), self._figure("inputs", self.x_fig),
            self._figure("state", self.strip_fig),
            W.HBox([self._figure("parameters", self.count_fig, half=True),
                    self._figure("reach", self.reach_fig, half=True)]),
        ])
        self.observe(lambda _: self._run(self._update), names=["text", "token_unit", "length", "mode", "step",
                                                                "max_len", "mean_length"])
        self._run(self._update)

    def _tokens(self) -> list[str]:
        # only the control that sets the tokens shows: a hidden length never contradicts the sentence drawn
        show_or_hide(self.controls["length"], self.token_unit == "length")
        show_or_hide(self.controls["text"], self.token_unit != "length")
        tokens = tokenize(self.text, self.token_unit, self.length)
        if not tokens:
            raise ValueError("Type at least one token: the sentence is empty.")
        if len(tokens) > MAX_TOKENS:
            raise ValueError(f"The sentence has {len(tokens)} tokens; this widget reads at most {MAX_TOKENS}.")
        long = max(tokens, key=len)
        if len(long) > MAX_WORD:
            raise ValueError(f"The word {long[:12] + '…'!r} has {len(long):,} characters; this widget reads words of "
                             f"at most {MAX_WORD}. Put spaces between the words.")
        return tokens

    def _update(self) -> None:
        tokens = self._tokens()
        untied = self.mode == "untied"
        notes = []
        if untied and len(tokens) > self.max_len:
            notes.append(f"The §1.2 network has only {self.max_len} layers, so it cannot read token "
                         f"{self.max_len + 1} and beyond (it needs as many layers as the longest input).")
            tokens = tokens[: self.max_len]
        x = torch.stack([token_vector(t, INPUT_SIZE) for t in tokens])  # (T, input)
        with torch.no_grad():
            a = (self._untied if untied else self._shared).trace(x).a.numpy()  # (T+1, H)
        step = min(self.step, len(tokens))
        self.controls["step"].max = len(tokens)
        self._draw_diagram(tokens, untied, step)
        with self._holding(self.strip):
            fill_grid(self.strip_fig, self.strip, a.T)  # (H, T+1): row = unit, column = step l
        place_cursor(self.cursor, step, HIDDEN_SIZE)
        fill_grid(self.x_fig, self.x_map, x.numpy().T, characters=tokens,
                  what="character" if self.token_unit == "characters" else "token", step=max(step - 1, 0))
        self.summaries["inputs"].value = esc(
            f"The network never sees the text itself: each token becomes {INPUT_SIZE} numbers (here a fixed random "
            f"vector derived from the token, standing in for a word2vec embedding), the same for every occurrence"
            + (f"; x[{step - 1}] = {tokens[step - 1]!r} is [{', '.join(fmt(float(v), 2) for v in x[step - 1])}]."
               if step else "."))
        self._draw_counts_and_reach(untied)
        self.summaries["diagram"].value = esc(
            f"{len(tokens)} tokens → {len(tokens)} steps; " +
            (f"{len(tokens)} different layers W⁽¹⁾…W{sup(f'({len(tokens)})')}." if untied else
             "every step applies the same W, b.") + (" " + notes[0] if notes else ""))
        self.summaries["state"].value = esc(
            f"a{sup(f'({step})')} " + ("is the initial state a⁽⁰⁾ = 0." if step == 0 else
                                      f"after reading {tokens[step - 1]!r}: values from {fmt(a[step].min())} "
                                      f"to {fmt(a[step].max())}, ‖a‖ = {fmt(float(np.linalg.norm(a[step])))}."))
        sigma = "tanh"
        W_l = f"W{sup(f'({step})')}" if untied else "W"
        b_l = f"b{sup(f'({step})')}" if untied else "b"
        self.equation.value = (
            f"<div style='font-family:serif;font-size:15px'>a<sup>(l+1)</sup> = {sigma}("
            f"{'W<sup>(l+1)</sup>' if untied else 'W'}[a<sup>(l)</sup>; x[l]] + {'b<sup>(l+1)</sup>' if untied else 'b'})"
            + (f" &nbsp;&nbsp; now: a<sup>({step})</sup> = {sigma}({esc(W_l)}"
               + (f"x[0] + {esc(b_l)}) (layer 1 reads no a<sup>(0)</sup>)" if untied and step == 1 else
                  f"[a<sup>({step - 1})</sup>; x[{step - 1}]] + {esc(b_l)})")
               + f", x[{step - 1}] = '{esc(tokens[step - 1])}'" if step else "")
            + "</div>")

    def _draw_diagram(self, tokens: list[str], untied: bool, step: int) -> None:
        n = min(len(tokens), MAX_DRAWN)
        start = max(0, min(step - n // 2, len(tokens) - n))  # keep the chosen step in view
        # §1.2's first layer has no previous layer to read: a grey box, and no edge out of it
        nodes = [Node(start, 1, "no a⁽⁰⁾" if untied else "a⁽⁰⁾ = 0", 8 if untied else 2)]
        edges = []
        for j, l in enumerate(range(start, start + n)):
            label = tokens[l] if len(tokens[l]) <= 6 else tokens[l][:5] + "…"
            nodes.append(Node(l + 1, 0, f"x[{l}] {label!r}" if n <= 10 else repr(label), 9, below=True))
            layer = f"W{sup(f'({l + 1})')}" if untied else "W"
            nodes.append(Node(l + 1, 1, f"a{sup(f'({l + 1})')} · {layer}", layer_color(l + 1) if untied else 0))
            x_idx, a_idx = len(nodes) - 2, len(nodes) - 1
            edges.append((x_idx, a_idx))
            if j or not untied or start > 0:
                edges.append((a_idx - 2 if j else 0, a_idx))
        highlight = [0] if step == start else ([2 * (step - start)] if start < step <= start + n else [])
        self.diagram.draw(nodes, edges, highlight, size=900 if n <= 12 else 500)
        self.diagram.fig.title = "The unrolled network" + self.diagram.left_out_note()

    def _draw_counts_and_reach(self, untied: bool) -> None:
        lengths = np.arange(1, 51)
        tied = parameter_count(INPUT_SIZE, HIDDEN_SIZE, 1, tied=True)
        untied_counts = np.array([parameter_count(INPUT_SIZE, HIDDEN_SIZE, n, tied=False) for n in lengths])
        with self._holding(self.count_lines):
            self.count_lines.x = lengths
            self.count_lines.y = np.stack([untied_counts, np.full(50, tied)])
        fit_y(self.count_fig, self.count_lines.y, zero=True)
        reach = reach_probability(self.max_len, self.mean_length)
        with self._holding(self.reach_bars):
            self.reach_bars.x = [str(l) for l in range(1, self.max_len + 1)]
            self.reach_bars.y = reach
            self.reach_bars.colors = LAYER_COLORS[: self.max_len] if untied else [PALETTE[0]] * self.max_len
        fit_y(self.reach_fig, [0.0, 1.0], zero=True)
        fit_ordinal_x(self.reach_fig, self.reach_bars.x)
        self.summaries["parameters"].value = esc(
            f"At maximum length {self.max_len}: {untied_counts[self.max_len - 1]:,} parameters with one layer per token "
            f"(layer 1 has no state columns: nothing comes before it), "
            f"{tied:,} with shared weights.")
        self.summaries["reach"].value = esc(
            f"With training sequences {fmt(self.mean_length)} tokens long on average, layer 1 sees every "
            f"sequence but layer {self.max_len} only {fmt(100 * reach[-1], 2)}% of them"
            + ("; shared weights learn from every step instead." if not untied else "."))
