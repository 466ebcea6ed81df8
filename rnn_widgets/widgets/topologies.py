"""§1.3's diagrams: one-to-one, one-to-many, many-to-one, and the two many-to-many topologies, each run live."""
from __future__ import annotations

import bqplot as bq
import ipywidgets as W
import numpy as np
import traitlets

from ..core.tasks import (
    LONGEST,
    MAX_LEN,
    SEQUENCE_OUT,
    TOLERANCE,
    run_topology,
    shipped_accuracy_by_length,
    shipped_accuracy_by_position,
)
from .charts.axes import fit_y
from .charts.builders import line_chart
from .charts.legend import show_in_legend
from .charts.unrolled import Node, UnrolledDiagram
from .common import GREY, PALETTE, LessonWidget, esc, show_or_hide, slider
from .numbers import fmt

TOPOLOGIES = {
    "one-to-one": (("Not an RNN: one input, one output, no state carried over, like the fully-connected or "
                    "convolutional networks before (§1.3)."), "any feed-forward task", "the next digit"),
    "one-to-many": ("One input, then a sequence out: each output is fed back in as the next input.",
                    "image captioning", "count up from a digit"),
    "many-to-one": ("A sequence in, a single answer read from the last state.",
                    "sentiment analysis", "is the sum positive?"),
    "many-to-many (encoder-decoder)": (
        ("An encoder reads the whole input first (its last state carries it over), then a decoder with its "
         "own weights writes the output: we must see the whole sentence before translating."),
        "translation", "reverse the digits"),
    "many-to-many (synced)": ("One output per input, read at every step.",
                              "per-token labelling, text generation", "the running sum"),
}
#: the accuracy plot's y range reaches this far above 1, so that the markers at 100% are drawn whole
HEADROOM = 1.04
STATE, DECODER, RIGHT, WRONG, LOSS, PLAIN = 0, 1, 2, 5, 8, 9  # colour indices of the diagram's palette


def topology_nodes(topology: str, ex) -> tuple[list[Node], list[tuple[int, int]]]:
    """Boxes and edges of the unrolled diagram for one example: x at y=0, states y=1, outputs y=2, losses y=3."""
    nodes, edges = [], []
    n_in = len(ex.inputs)
    steps = max(ex.output_steps) + 1 if topology != "many-to-many (encoder-decoder)" else n_in + len(ex.outputs)
    state_at = {}
    for t in range(steps):
        decoder = topology == "many-to-many (encoder-decoder)" and t >= n_in
        # one name per group of boxes that share weights (the colour says the rest): the first encoder box
        # and the last decoder box, so no name sits in the crowded hand-over from encoder to decoder
        label = ("W_dec" if decoder else ("W_enc" if topology.endswith("decoder)") else "W"))
        named = t == 0 or (decoder and t == steps - 1)
        nodes.append(Node(t, 1, label if named else "", DECODER if decoder else STATE))
        state_at[t] = len(nodes) - 1
        if t and topology != "one-to-one":
            edges.append((state_at[t - 1], state_at[t]))
        if t < n_in and (topology not in ("one-to-many",) or t == 0):
            nodes.append(Node(t, 0, f"x[{t}]={ex.inputs[t]}", PLAIN, below=True))
            edges.append((len(nodes) - 1, state_at[t]))
        elif t == n_in and topology == "many-to-many (encoder-decoder)":
            nodes.append(Node(t, 0, "x=start", PLAIN, below=True))  # the decoder's first input: a start symbol
            edges.append((len(nodes) - 1, state_at[t]))
    for k, t in enumerate(ex.output_steps):
        ok = ex.correct[k]
        nodes.append(Node(t, 2, f"ŷ={ex.outputs[k]}{'' if ok else ' ✗'}", RIGHT if ok else WRONG))
        edges.append((state_at[t], len(nodes) - 1))
        nodes.append(Node(t, 3, f"ℓ (y={ex.targets[k]})", LOSS))
        edges.append((len(nodes) - 2, len(nodes) - 1))
        if topology in ("one-to-many", "many-to-many (encoder-decoder)") and t + 1 in state_at:
            edges.append((len(nodes) - 2, state_at[t + 1]))  # the output fed back as the next input
    return nodes, edges


class TopologiesWidget(LessonWidget):
    """The RNN topologies of §1.3, each drawn unrolled and answering a small concrete task.

    Traits
    ------
    topology : str     one of ``TOPOLOGIES``
    input_len : int    the input sequence's length (many-to-one, many-to-many)
    output_len : int   the output sequence's length (one-to-many)
    seed : int         which random example
    """

    TITLE = "RNN topologies"
    SECTION = "§1.3"
    EXPLANATION = (
        "Different applications wire the same recurrent step differently: where inputs x[l] enter, where "
        "outputs ŷ are read and where the loss ℓ is taken. Boxes of the same colour share W, b. The numbers "
        "are live: a tiny network trained on the task (shipped with the package) answers each example; "
        f"✗ marks a wrong answer (for the running sum: off by {TOLERANCE} or more). The networks were trained on lengths "
        "1 to 8 only: go longer and the encoder-decoder fails. Not for §1.2's reason, layers that are rarely "
        "trained: W is shared, so every step's weights learn from every example. What fails is memory: one state "
        "must hold the whole string, and past 8 digits the encoder-decoder loses those it read first, which it "
        "writes last (the accuracy by output position falls to about chance, 1 in 10, by length 16)."
    )

    topology = traitlets.Enum(list(TOPOLOGIES), "many-to-many (encoder-decoder)").tag(config=True)
    input_len = traitlets.Int(5, min=1, max=LONGEST).tag(config=True)
    output_len = traitlets.Int(4, min=1, max=LONGEST).tag(config=True)
    seed = traitlets.Int(0, min=0, max=99).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.diagram = UnrolledDiagram("", height=330)
        controls = [
            self._control("topology", W.Dropdown(options=list(TOPOLOGIES), description="Topology",
                                                 layout=W.Layout(width="380px"))),
            self._control("input_len", slider("Input length", 1, LONGEST)),
            self._control("output_len", slider("Output length", 1, LONGEST)),
            self._control("seed", slider("Example", 0, 99)),
        ]
        self.acc_fig, self.acc_line, scales = line_chart(
            f"Accuracy against length (trained on lengths 1–{MAX_LEN})", "length, or output position", "accuracy", 1,
            labels=["by length"], colors=[PALETTE[0]], height=240, markers=True)
        # at the length shown: each output position's accuracy, first written to last (sequence outputs only)
        self.position_line = bq.Lines(x=[1.0], y=[1.0], scales=scales, colors=[PALETTE[2]], stroke_width=2,
                                      marker="square", marker_size=16, labels=["by output position"])
        # the edge of the training lengths, and the length shown above
        self.trained_edge = bq.Lines(x=[MAX_LEN + 0.5] * 2, y=[0.0, 1.0], scales=scales, colors=[GREY],
                                     line_style="dashed", stroke_width=1.5)
        self.current = bq.Scatter(x=[1.0], y=[1.0], scales=scales, colors=[PALETTE[5]], default_size=120)
        self.acc_fig.marks = [self.acc_line, self.position_line, self.trained_edge, self.current]
        show_in_legend(self.acc_fig, self.position_line)
        self._assemble(controls, [self._figure("diagram", self.diagram.fig), self._figure("lengths", self.acc_fig)])
        self.observe(lambda _: self._run(self._update), names=["topology", "input_len", "output_len", "seed"])
        self._run(self._update)

    def _update(self) -> None:
        what, application, task = TOPOLOGIES[self.topology]
        ex = run_topology(self.topology, self.input_len, self.output_len, self.seed)
        # a length that does not apply is hidden, so no control contradicts the drawing
        show_or_hide(self.controls["input_len"], self.topology not in ("one-to-one", "one-to-many"))
        show_or_hide(self.controls["output_len"], self.topology == "one-to-many")
        nodes, edges = topology_nodes(self.topology, ex)
        columns = max(n.x for n in nodes) + 2.6  # the drawn steps and the margins beside them
        side = min(30.0, 0.7 * 860 / columns)  # px: boxes shrink with the number of steps, never touching
        self.diagram.draw(nodes, edges, size=int(side * side))
        self._draw_lengths()
        self.diagram.fig.title = (f"{self.topology}: {application}  (task here: {task})"
                                  + self.diagram.left_out_note())
        right = sum(ex.correct)
        correct = f"right to within ±{TOLERANCE}" if self.topology == "many-to-many (synced)" else "correct"
        self.summaries["diagram"].value = esc(
            f"{self.topology}, as in {application}. Input {ex.inputs}; the network answers {ex.outputs}; "
            f"the right answer is {ex.targets} ({right} of {len(ex.targets)} {correct})."
            + (f" The drawing leaves out {len(self.diagram.left_out)} of its labels ("
               + ", ".join(self.diagram.left_out) + "): no place beside their boxes is clear of the lines."
               if self.diagram.left_out else ""))
        self.equation.value = (
            f"<div style='max-width:860px'>{esc(what)} "
            + ("<i>The output length here equals the input length.</i>"
               if self.topology.startswith("many-to-many") else "") + "</div>")

    def _draw_lengths(self) -> None:
        """Accuracy at every length (shipped measurements), the trained range, where this example is, and at its
        length the accuracy of each output position."""
        applies = self.topology != "one-to-one"
        self.acc_fig.layout.display = "" if applies else "none"
        self.summaries["lengths"].layout.display = "" if applies else "none"
        if not applies:
            return
        acc = np.array(shipped_accuracy_by_length(self.topology))
        n = self.output_len if self.topology == "one-to-many" else self.input_len
        lengths = np.arange(1, len(acc) + 1)
        sequence = self.topology in SEQUENCE_OUT
        by_position = shipped_accuracy_by_position(self.topology) if sequence else None
        with self._holding(self.acc_line, self.current, self.position_line):
            self.acc_line.x, self.acc_line.y = lengths, acc
            self.current.x, self.current.y = [float(n)], [float(acc[n - 1])]
            self.position_line.visible = sequence
            if sequence:
                self.position_line.x = np.arange(1, n + 1)
                self.position_line.y = np.array(by_position["positions"][n - 1])
                self.position_line.labels = [f"by output position, at length {n}"]
        fit_y(self.acc_fig, [0.0, 1.0], zero=True)
        self.acc_fig.marks[0].scales["y"].max = HEADROOM
        trained = acc[:MAX_LEN].min()
        synced = self.topology == "many-to-many (synced)"
        what = f"outputs right (to within ±{TOLERANCE})" if synced else "outputs right" if sequence else "answers right"
        text = (f"Fraction of {what} over 200 random examples per length: at least {fmt(100 * trained, 3)}% up "
                f"to the trained length {MAX_LEN}, {fmt(100 * acc[-1], 3)}% at length {len(acc)}; at length {n} "
                f"(orange): {fmt(100 * acc[n - 1], 3)}%.")
        if sequence:
            first, last = by_position["positions"][n - 1][0], by_position["positions"][n - 1][-1]
            chance = "" if synced else " (chance: 10%)"
            text += (f" By output position at length {n} (green), first written to last: {fmt(100 * first, 3)}% to "
                     f"{fmt(100 * last, 3)}%{chance}; every output right: {fmt(100 * by_position['whole'][n - 1], 3)}% "
                     "of the examples.")
        self.summaries["lengths"].value = esc(text)
