"""§1.5, §2 and Remark 2.1 on real text: what one unit of a trained RNN, LSTM or GRU follows in a passage,
and how far back each model's gradient reaches."""
from __future__ import annotations

import functools
import math

import bqplot as bq
import ipywidgets as W
import numpy as np
import traitlets

from ..core import load_char_model
from ..core.text_memory import (
    DEFAULT_PASSAGE,
    GATE_BINS,
    GATES,
    MAX_PASSAGE,
    SIGNALS,
    SOFT,
    STATES,
    check_passage,
    connectivity,
    correlations,
    fall_distance,
    find_units,
    gate_histogram,
    loss_gradient,
    read_passage,
    soft_share,
    text_features,
    training_window,
)
from .charts.axes import fit_ordinal_x, fit_y
from .charts.builders import grouped_bar_chart, line_chart, set_key
from .common import GREY, PALETTE, LessonWidget, _bad_value, esc, slider
from .numbers import fmt
from .text_map import COLUMNS, TEXT_DIVERGING, fill_text_map, glyph, lay_out, text_map

MODELS = ("rnn", "lstm", "gru")
NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
COLORS = {"rnn": PALETTE[5], "lstm": PALETTE[0], "gru": PALETTE[2]}  # vermillion, blue, green: never orange too
FEATURES = tuple(text_features("ab"))
BAND_ROWS = 2  # rows of text per model in the connectivity map
MAX_DISTANCE = BAND_ROWS * COLUMNS - 2  # the characters back that a band shows (with t and t + 1)
MAX_ROWS = 30  # a passage longer than this many lines is drawn with its lines run on
LOG_FLOOR = -4.0  # the connectivity map's colours run from 10⁻⁴ of a model's largest norm to it
DEFAULT_POSITION = DEFAULT_PASSAGE.index("wedding-day") + len("wedding-d") - 1  # reading 'd', predicting 'a'
GATE_COLORS = [PALETTE[0], PALETTE[1], PALETTE[3]]  # blue, orange, pink: f, input gate, o (z, r)
BIN_LABELS = [f"{k / GATE_BINS:.1g}–{(k + 1) / GATE_BINS:.1g}" for k in range(GATE_BINS)]  # "0–0.1" … "0.9–1"


@functools.lru_cache(maxsize=3)
def trained(cell: str):
    """The shipped one-layer Shakespeare model for ``cell``, loaded once and only read from here."""
    return load_char_model(cell, device="cpu")


@functools.lru_cache(maxsize=4)
def read_all(text: str) -> dict:
    """The three models' traces over ``text`` (a new passage: three fused forward passes)."""
    return {cell: read_passage(trained(cell), text) for cell in MODELS}


@functools.lru_cache(maxsize=32)
def connectivity_at(text: str, t: int) -> dict[str, np.ndarray]:
    """‖dℓ_t/dx[t − d]‖ for d = 0 … (up to MAX_DISTANCE), per model: one backward recursion each."""
    passages = read_all(text)
    return {cell: connectivity(trained(cell), passages[cell], t, MAX_DISTANCE) for cell in MODELS}


@functools.lru_cache(maxsize=32)
def losses_at(text: str, t: int) -> dict[str, float]:
    """ℓ_t for each model: −log p(character t + 1 | characters 0 … t), in nats."""
    return {cell: loss_gradient(trained(cell), passage, t)[0] for cell, passage in read_all(text).items()}


@functools.lru_cache(maxsize=4)
def features_of(text: str) -> dict[str, np.ndarray]:
    """The passage's features, once per passage (a unit's summary reads them on every slider move); only read."""
    return text_features(text)


@functools.lru_cache(maxsize=8)
def gate_shares(text: str, cell: str) -> dict[str, tuple[np.ndarray, float, float, float]]:
    """Per gate of ``cell`` over ``text`` (every unit, every character): its histogram over GATE_BINS bins, and the
    shares of its values that are soft (strictly between SOFT's ends), at most SOFT[0] and at least SOFT[1]."""
    passage = read_all(text)[cell]
    out = {}
    for gate in GATES[cell]:
        v = passage.signal(gate)
        out[gate] = (gate_histogram(v), soft_share(v), float(np.mean(v <= SOFT[0])), float(np.mean(v >= SOFT[1])))
    return out


def window_of_training() -> int | None:
    """The training window the three small models' cards name (one protocol: 100 characters), or None."""
    windows = {training_window(trained(cell)) for cell in MODELS}
    return windows.pop() if len(windows) == 1 else None


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


@functools.lru_cache(maxsize=16)
def units_found(text: str, cell: str, signal: str):
    return find_units(read_all(text)[cell].signal(signal), text)


def round_up(x: float) -> float:
    """``x`` rounded up to two significant digits (a key's end: 3.04 → 3.1), at least 1e-6."""
    x = max(x, 1e-6)
    unit = 10.0 ** (math.floor(math.log10(x)) - 1)
    return round(math.ceil(x / unit - 1e-9) * unit, 12)


def default_signal(cell: str) -> str:
    return next(iter(SIGNALS[cell]))


class TextMemoryWidget(LessonWidget):
    """A passage through the three trained character models: one unit's value on each character, and the
    gradient of one prediction on each earlier character, RNN beside LSTM beside GRU.

    Traits
    ------
    text : str            the passage (at most 2,000 characters the models know)
    model : {"rnn", "lstm", "gru"}   the model whose unit is shown over the text
    signal : str          what of it: "c", "h", "f", "input_gate", "o" (LSTM); "h", "z", "r", "n" (GRU); "a" (RNN)
    unit : int            which unit
    feature : str         "" or a feature of the text: the unit follows the best match for it ("find units")
    position : int        t: the gradient of ℓ_t (predicting character t + 1) on the characters before it
    """

    TITLE = "Memory over real text: what a unit follows, how far back the gradient reaches"
    SECTION = "§1.5, §2, Remark 2.1"
    EXPLANATION = (
        "Three models trained the same way on Shakespeare read the passage one character x[l] per step: a plain "
        "tanh RNN, an LSTM and a GRU (Remark 2.1: the LSTM without an output gate). The first map colours each "
        "character by one unit's value after reading it (“find units” picks the unit that follows a feature of "
        "the text best). The second colours each character x[l] up to position t by ‖dℓ<sub>t</sub>/dx[l]‖: "
        "how strongly the loss of predicting character t + 1 responds to it, for all three models. That "
        "gradient is a product of Jacobians, one per step back (§1.5); the LSTM's cell state (§2) and the GRU's "
        "carried h are skip paths for it. The plot underneath shows how each model's gradient falls with the "
        "distance t − l."
    )

    text = traitlets.Unicode(DEFAULT_PASSAGE).tag(config=True)
    model = traitlets.Enum(MODELS, "lstm").tag(config=True)
    signal = traitlets.Enum(sorted({s for names in SIGNALS.values() for s in names}), "c").tag(config=True)
    unit = traitlets.Int(0, min=0, max=127).tag(config=True)
    feature = traitlets.Enum(("", *FEATURES), "").tag(config=True)
    #: from 1: the gradient at t reaches back to at least one earlier character (a line needs two points)
    position = traitlets.Int(DEFAULT_POSITION, min=1, max=MAX_PASSAGE - 2).tag(config=True)

    @traitlets.validate("text")
    def _valid_text(self, proposal):
        """A passage the models cannot read is refused with the reason; the widget keeps the last one."""
        text = proposal["value"]
        why = _bad_value("text", text)  # a lone surrogate
        if why:
            raise traitlets.TraitError(why)
        try:
            check_passage(trained("lstm"), text)
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from exc
        if len(text) < 3:
            raise traitlets.TraitError("The passage needs at least three characters: two to read, one to predict.")
        return text

    def __init__(self, **kwargs):
        signal_given = "signal" in kwargs
        super().__init__(**kwargs)
        if not signal_given and self.signal not in SIGNALS[self.model]:
            self.signal = default_signal(self.model)
        self.activation_fig, self.activation_grid, self.activation_labels = text_map(
            "One unit over the text", "value")
        self.gate_fig, self.gate_bars, _ = grouped_bar_chart(
            "How open the gates are over the passage", "gate value (0 shut … 1 open)",
            "share of values (%)", len(GATES["lstm"]), height=260)
        self.reach_fig, self.reach_grid, self.reach_labels = text_map(
            "Gradient over the text", "log₁₀ ‖dℓₜ/dx[l]‖ ÷ max", signed=False)
        # a box around the character each model predicts (t + 1), in every band
        scales = {"x": self.reach_grid.scales["column"], "y": self.reach_grid.scales["row"]}
        self.predicted_box = bq.Lines(x=np.zeros((len(MODELS), 5)), y=np.zeros((len(MODELS), 5)), scales=scales,
                                      colors=["#000000"], stroke_width=2)
        self.reach_fig.marks = [*self.reach_fig.marks, self.predicted_box]
        self.distance_fig, self.distance_lines, _ = line_chart(
            "‖dℓₜ/dx[t − d]‖ against the distance d", "distance d = t − l (characters back)",
            "‖dℓₜ/dx[l]‖ (log)", 3, log_y=True, labels=[NAMES[c] for c in MODELS],
            colors=[COLORS[c] for c in MODELS], height=260)
        # the training window (truncated backpropagation through time): a dashed rule at d = window, labelled
        dscales = self.distance_lines.scales
        self.window_rule = bq.Lines(x=[0.0, 0.0], y=[1.0, 1.0], scales=dscales, colors=[GREY], stroke_width=2,
                                    line_style="dashed")
        # left of the rule what training reached, right of it what it never did
        self.window_labels = [bq.Label(x=[0.0], y=[1.0], scales=dscales, colors=["#333333"], text=[""], align=align,
                                       font_weight="normal", default_size=12, x_offset=offset, y_offset=16)
                              for align, offset in (("end", -6), ("start", 6))]
        self.distance_fig.marks = [*self.distance_fig.marks, self.window_rule, *self.window_labels]
        # its labels name each feature's best unit once the passage is read (_draw_activation)
        self.controls_find = W.Dropdown(description="Find units", options=[("—", ""), *((f, f) for f in FEATURES)])
        controls = [
            self._control("text", W.Textarea(description="Passage", continuous_update=False, rows=4,
                                             layout=W.Layout(width="860px"))),
            self._control("model", W.ToggleButtons(options=[(NAMES[c], c) for c in MODELS], description="Model")),
            self._control("signal", W.Dropdown(options=self._signal_options(self.model), description="Value")),
            self._control("unit", slider("Unit", 0, 127)),
            self._control("feature", self.controls_find),
            self._control("position", slider("Position t", 1, MAX_PASSAGE - 2)),
        ]
        self._assemble(controls, [self._figure("activation", self.activation_fig),
                                  self._figure("gates", self.gate_fig),
                                  self._figure("reach", self.reach_fig),
                                  self._figure("distance", self.distance_fig)])
        # these run before the redraw: the value offered follows the model, the unit follows the feature
        self.observe(self._offer_values_of_model, names="model")
        self.observe(self._unit_moved, names="unit")
        self.observe(self._follow_feature, names=["feature", "model", "signal", "text"])
        self.observe(lambda _: self._run(self._update), names=[
            "text", "model", "signal", "unit", "feature", "position"])
        self._follow_feature(None)
        self._run(self._update)

    # ------------------------------------------------------------------ the controls follow each other
    @staticmethod
    def _signal_options(cell: str) -> list[tuple[str, str]]:
        return [(name, key) for key, name in SIGNALS[cell].items()]

    def _offer_values_of_model(self, change) -> None:
        """Offer the new model's values; keep the one shown if it has it (h), else its first (the GRU has no c)."""
        keep = self.signal if self.signal in SIGNALS[change.new] else default_signal(change.new)
        control = self.controls["signal"]
        with self.hold_trait_notifications():
            control.options = self._signal_options(change.new)  # (this moves the value to the first option)
            control.value = keep

    def _best_unit(self) -> int | None:
        if not self.feature or self.signal not in SIGNALS[self.model]:
            return None
        try:
            found = {f.feature: f for f in units_found(self.text, self.model, self.signal)}
        except ValueError:
            return None
        return found[self.feature].unit

    def _follow_feature(self, _change) -> None:
        best = self._best_unit()
        if best is not None and best != self.unit:
            self._following = True
            try:
                self.unit = best
            finally:
                self._following = False

    def _unit_moved(self, change) -> None:
        if self.feature and not self.__dict__.get("_following") and change.new != self._best_unit():
            self.feature = ""  # the student chose another unit: the "find units" choice no longer describes it

    # ------------------------------------------------------------------ drawing
    def _update(self) -> None:
        text = self.text
        T = len(text)
        self.controls["position"].max = T - 2
        t = min(self.position, T - 2)
        passages = read_all(text)
        # each figure is redrawn only when what it shows changes (a position move leaves the unit's map alone)
        shown = (text, self.model, self.signal, self.unit)
        if self.__dict__.get("_activation_shown") != shown:
            self._draw_activation(passages[self.model], text)
            self._activation_shown = shown
        gated = self.model if self.model in GATES else "lstm"  # the RNN has no gates: the LSTM's are shown
        if self.__dict__.get("_gates_shown") != (text, gated):
            self._draw_gates(text, gated)
            self._gates_shown = (text, gated)
        if self.__dict__.get("_reach_shown") != (text, t):
            self._draw_reach(text, t)
            self._reach_shown = (text, t)

    def _draw_activation(self, passage, text: str) -> None:
        cell, signal, unit = self.model, self.signal, self.unit
        if signal not in SIGNALS[cell]:
            signal = default_signal(cell)
        values = passage.signal(signal)[:, unit].astype(float)  # (T,): after reading each character
        name = SIGNALS[cell][signal]
        color = self.activation_grid.scales["color"]
        if signal in STATES or signal == "n":  # signed, around a white 0
            bound = round_up(float(np.abs(values).max())) if signal == "c" else 1.0  # c is unbounded
            lo, hi, mid = -bound, bound, 0.0
        else:  # a gate: 0 shut … 1 open, white at half-open
            lo, hi, mid = 0.0, 1.0, 0.5
        with color.hold_sync():
            color.colors = TEXT_DIVERGING
            color.mid = mid
        set_key(self.activation_fig, lo, hi)
        self.activation_fig.axes[0].label = f"{name}, unit {unit}"
        layout = lay_out(text)
        run_on = layout.n_rows > MAX_ROWS  # a long passage: its lines run on (the map stays 30 rows high at most)
        if run_on:
            layout = lay_out(text, line_breaks=False)
        fill_text_map(self.activation_fig, self.activation_grid, self.activation_labels, text, values, layout)
        self.activation_fig.title = f"The {NAMES[cell]}'s {name}, unit {unit}, after reading each character"
        found = units_found(text, cell, signal)
        self._relabel_features([("—", "")] + [
            (f"{f.feature}: unit {f.unit} (r = {f.r:+.2f})" if f.unit is not None else
             f"{f.feature}: not in this passage", f.feature) for f in found])
        # what this unit follows best, from the same correlations "find units" ranks
        features = features_of(text)
        rs = {f: float(correlations(values[:, None], v)[0]) for f, v in features.items() if v.std() > 0}
        best = max(rs, key=lambda f: abs(rs[f])) if rs else None
        follows = (f" Of the features, it follows “{best}” most closely (r = {rs[best]:+.2f})." if best else "")
        if signal not in STATES and signal != "n":
            follows += " A gate runs from 0 (shut) to 1 (open)" + (": z = 1 keeps the old h." if signal == "z" else ".")
        if cell == "lstm" and signal in ("c", "h"):
            follows += self._c_against_h(passage, unit)
        absent = [f.feature for f in found if f.unit is None and f.feature == self.feature]
        if absent:
            follows += f" No character of this passage is “{absent[0]}”: that feature cannot choose a unit here."
        self.summaries["activation"].value = esc(
            f"{NAMES[cell]}, {name}, unit {unit}: from {fmt(float(values.min()))} to {fmt(float(values.max()))} "
            f"over the {len(text)} characters" + (" (its lines run on here, ↵ marking each newline)" if run_on else "")
            + ".") + esc(follows)

    @staticmethod
    def _c_against_h(passage, unit: int) -> str:
        """§2: c is a sum no nonlinearity squashes, h = o ⊙ tanh(c) stays inside (−1, 1): the unit's largest of each."""
        most_c = float(np.abs(passage.signal("c")[:, unit]).max())
        most_h = float(np.abs(passage.signal("h")[:, unit]).max())
        said = f" Unit {unit}: max |c| = {fmt(most_c)}, max |h| = {fmt(most_h)}."
        if most_c > 1:
            return said + (" c⁽ˡ⁺¹⁾ = c⁽ˡ⁾ ⊙ f⁽ˡ⁾ + i⁽ˡ⁾ is a running sum that no nonlinearity squashes, so it can grow "
                           "past 1 (a count along the line can live there); h = o ⊙ tanh(c) always stays inside "
                           "(−1, 1).")
        return said + " Here c stays inside (−1, 1) too; h = o ⊙ tanh(c) always does."

    def _draw_gates(self, text: str, cell: str) -> None:
        """The histogram of every gate of ``cell`` over the passage, and how many of f's (z's) values are soft."""
        shares = gate_shares(text, cell)
        names = [SIGNALS[cell][g] for g in GATES[cell]]
        with self._holding(self.gate_bars):
            self.gate_bars.x = BIN_LABELS
            self.gate_bars.y = np.stack([100 * shares[g][0] for g in GATES[cell]])
            self.gate_bars.colors = GATE_COLORS[: len(names)]
            self.gate_bars.labels = names
        fit_y(self.gate_fig, self.gate_bars.y, zero=True)
        fit_ordinal_x(self.gate_fig, BIN_LABELS)
        none = " (the RNN has no gates: the LSTM's)" if self.model not in GATES else ""
        self.gate_fig.title = f"How open the {NAMES[cell]}'s gates are over the passage{none}"
        first = GATES[cell][0]
        _, soft, shut, open_ = shares[first]
        others = "; ".join(f"{SIGNALS[cell][g]}: {percent(shares[g][1])}" for g in GATES[cell][1:])
        self.summaries["gates"].value = esc(
            f"Over the {len(text)} characters × {trained(cell).hidden_size} units, {percent(soft)} of the "
            f"values of the {NAMES[cell]}'s {SIGNALS[cell][first]} lie between {SOFT[0]} and {SOFT[1]} ({percent(shut)} "
            f"at or below {SOFT[0]}, {percent(open_)} at or above {SOFT[1]}); between {SOFT[0]} and {SOFT[1]} too, "
            f"{others}. A gate is a sigmoid, not a switch: it can pass any fraction between 0 (shut) and 1 (open).")

    def _relabel_features(self, options: list[tuple[str, str]]) -> None:
        """New labels for "find units", keeping the feature chosen (new options select the first, "—", and
        that must not reach the trait)."""
        find = self.controls_find
        if list(find.options) == options:
            return
        link = next(link for link in self._links if link.trait == "feature")
        link.updating = True
        try:
            find.options = options
            find.value = self.feature
        finally:
            link.updating = False

    def _draw_window(self, window: int | None, far: int) -> None:
        """The dashed rule at d = window, from the bottom to the top of the plot, and its two labels; hidden (and
        kept inside the x range) where the plot does not reach that far back."""
        scale = self.distance_lines.scales["y"]
        shown = window is not None and window <= far
        at = float(window) if shown else 0.0
        texts = [f"trained on (d < {window})", f"never trained on (d ≥ {window})"] if shown else ["", ""]
        with self._holding(self.window_rule, *self.window_labels):
            self.window_rule.x, self.window_rule.y = [at, at], [scale.min, scale.max]
            self.window_rule.visible = shown
            for label, text in zip(self.window_labels, texts):
                label.x, label.y, label.text, label.visible = [at], [scale.max], [text], shown

    @staticmethod
    def _window_words(window: int | None, far: int) -> str:
        if window is None:
            return ""
        said = (f" The models trained on windows of {window} characters, each read from a zero state (truncated "
                f"backpropagation through time): no training gradient ran more than {window - 1} characters back")
        if window <= far:
            return said + f", so right of the dashed line (d ≥ {window}) training never used the gradient shown."
        return said + f"; every distance shown here (up to d = {far}) lies inside that window."

    def _draw_reach(self, text: str, t: int) -> None:
        norms = connectivity_at(text, t)
        first = max(0, t - MAX_DISTANCE)
        window = text[first : t + 2]  # the characters read back to the band's start, t, and t + 1 (predicted)
        layout = lay_out(window, line_breaks=False)
        rows, cols, values = [], [], []
        names = {}
        for b, cell in enumerate(MODELS):
            n = norms[cell]  # entry d: distance d back from t
            share = np.full(len(window), np.nan)
            share[: t + 1 - first] = np.log10(np.maximum(n[::-1] / max(float(n.max()), 1e-300), 10 ** LOG_FLOOR))
            offset = b * (BAND_ROWS + 1)
            rows.append(layout.rows + offset)
            cols.append(layout.columns)
            values.append(share)
            names[float(offset + (layout.n_rows - 1) / 2)] = NAMES[cell]  # beside the band's rows in use
        stacked = type(layout)(np.concatenate(rows), np.concatenate(cols), len(MODELS) * (BAND_ROWS + 1) - 1)
        set_key(self.reach_fig, LOG_FLOOR, 0.0)
        fill_text_map(self.reach_fig, self.reach_grid, self.reach_labels, window * len(MODELS),
                      np.concatenate(values), stacked, row_names=names)
        k = t + 1 - first  # the predicted character's place in the window
        r = stacked.rows[[k + b * len(window) for b in range(len(MODELS))]].astype(float)
        c = float(layout.columns[k])
        with self.predicted_box.hold_sync():
            self.predicted_box.x = np.tile([c - 0.5, c + 0.5, c + 0.5, c - 0.5, c - 0.5], (len(MODELS), 1))
            self.predicted_box.y = r[:, None] + np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
        now, nxt = glyph(text[t]), glyph(text[t + 1])
        self.reach_fig.title = (f"Gradient over the text at t = {t} (after '{now}', predicting '{nxt}'): "
                                f"‖dℓₜ/dx[l]‖ on each character l")
        losses = losses_at(text, t)
        # the distance plot: one line per model, up to the band's reach
        d = np.arange(len(norms["lstm"]))
        with self._holding(self.distance_lines):
            self.distance_lines.x = d
            self.distance_lines.y = np.stack([np.clip(norms[c], 1e-30, 1e30) for c in MODELS])
        fit_y(self.distance_fig, self.distance_lines.y, headroom=26)  # the rule's two labels, above the lines
        window = window_of_training()
        far = len(norms["lstm"]) - 1
        self._draw_window(window, far)
        falls = {c: fall_distance(norms[c]) for c in MODELS}
        back = len(norms["lstm"]) - 1
        said = "; ".join(f"{NAMES[c]} at d = {falls[c]}" if falls[c] is not None else
                         f"{NAMES[c]} not within the {back} character{'s' * (back != 1)} back" for c in MODELS)
        at_far = ", ".join(f"{NAMES[c]} {fmt(float(norms[c][far]))}" for c in MODELS)
        self.summaries["distance"].value = esc(
            f"Below 1% of its largest value for good: {said}. Farthest back shown, d = {far}: {at_far}."
            + self._window_words(window, far))
        back = min(30, len(norms["lstm"]) - 1)
        largest = max(MODELS, key=lambda c: float(norms[c][back]))
        self.summaries["reach"].value = esc(
            f"Boxed: the character predicted. Darker: the loss responds more strongly to that character (the colour "
            f"is log₁₀ of ‖dℓₜ/dx[l]‖ divided by that model's largest, from 10⁻⁴ to 1). In absolute size, {back} "
            f"character{'s' * (back != 1)} back from t the {NAMES[largest]}'s gradient is the largest of the three "
            f"(see the plot).")
        self.equation.value = (
            f"<div style='font-family:serif;font-size:15px'>ℓ<sub>t</sub> = −log p(x[t+1] | x[0], …, x[t]) at "
            f"t = {t} ({esc(repr(text[t]))} read, {esc(repr(text[t + 1]))} next): "
            + ", ".join(f"{NAMES[c]} {fmt(losses[c])}" for c in MODELS) + " nats (log to base e)</div>")
