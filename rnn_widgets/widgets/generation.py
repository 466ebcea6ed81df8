"""§1.4: autoregressive generation with a trained character LSTM, and live training on your own text."""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import traitlets

from ..core import (
    CharVocab,
    GenerationSession,
    load_char_model,
    next_distribution,
    repeating_tail,
)
from .charts.axes import fit_y
from .charts.builders import bar_chart, line_chart
from .charts.unrolled import Node, UnrolledDiagram
from .common import PALETTE, LessonWidget, esc, slider, small_tensor_mode
from .live_training import LiveTraining
from .numbers import fmt

TOP = 20  # bars shown
MAX_GENERATED = 5000  # characters (and entropy points) one run keeps before Reset: every click re-sends them
DIAGRAM_STEPS = 5


ENTROPY_TITLE = "Entropy of each step's distribution"
CHARACTER_PX = 14  # the bar chart's characters

class GenerationWidget(LessonWidget):
    """Sample a character, feed it back, repeat: the next-character distribution, temperature, top-k.

    Traits
    ------
    prompt : str          the text the model reads first
    temperature : float   divides the logits before the softmax (0.1–3; log slider)
    top_k : int           sample among the k most likely characters (0: all)
    seed : int            the same seed and settings give the same text
    greedy : bool         always take the most likely character
    n_generate : int      how many characters "Generate N" adds
    model_choice : {"shakespeare", "yours"}   the shipped model, or the one trained below
    """

    TITLE = "Autoregressive generation"
    SECTION = "§1.4"
    EXPLANATION = (
        "A trained RNN writes text <b>autoregressively</b>: it reads the prompt, gives a probability to every "
        "possible next character, we draw one, and that character becomes the next input x. The bars show the "
        "distribution the last character was drawn from (highlighted). <b>Temperature</b> reshapes it: low "
        "values make the most likely character win, and <b>greedy</b> always takes it, so the text falls into "
        "loops (from the default prompt, greedy text repeats itself within 400 characters: Generate N twice); "
        "high values flatten it toward noise. The shipped model is an LSTM trained on Shakespeare."
    )

    prompt = traitlets.Unicode("ROMEO:\nBut soft, what light").tag(config=True)
    temperature = traitlets.Float(0.8, min=0.1, max=3.0).tag(config=True)
    top_k = traitlets.Int(0, min=0, max=100).tag(config=True)
    seed = traitlets.Int(0, min=0, max=999).tag(config=True)
    greedy = traitlets.Bool(False).tag(config=True)
    n_generate = traitlets.Int(200, min=10, max=1000).tag(config=True)
    model_choice = traitlets.Enum(["shakespeare", "yours"], "shakespeare").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shakespeare = load_char_model(device=self.torch_device)
        self.bar_fig, self.bars, _ = bar_chart("Next-character distribution (top 20)", "character",
                                               "probability", height=230)
        self.entropy_fig, self.entropy_line, _ = line_chart(
            ENTROPY_TITLE, "generated character", "nats", 1, colors=[PALETTE[3]], height=200)
        # the characters under the bars: ␣ and ⏎ are small glyphs, drawn at 14 px they read at 11 px or more
        self.bar_fig.axes[0].tick_style = {"font-size": f"{CHARACTER_PX}px"}
        self.loop = UnrolledDiagram("The loop: each sampled ŷ is fed back as the next x", height=250)
        self.output = W.HTML("")
        self.step_button = W.Button(description="Step", icon="step-forward", tooltip="Generate one character")
        self.run_button = W.Button(description="Generate N", icon="forward", button_style="primary")
        self.reset_button = W.Button(description="Reset", icon="undo", tooltip="Back to the prompt")
        self.step_button.on_click(lambda _: self._run(lambda: self.generate(1)))
        self.run_button.on_click(lambda _: self._run(lambda: self.generate(self.n_generate)))
        self.reset_button.on_click(lambda _: self._run(self.reset))
        self.training = LiveTraining(on_trained=lambda _: setattr(self.controls["model_choice"], "disabled", False))
        controls = [
            self._control("prompt", W.Textarea(description="Prompt", rows=2, continuous_update=False,
                                               layout=W.Layout(width="420px"))),
            # a linear slider in steps of 0.05 shows the default 0.8 exactly (a log slider showed 0.794)
            self._control("temperature", slider("Temperature", 0.1, 3.0, 0.05, float_=True, readout_format=".2f")),
            self._control("top_k", slider("Top-k (0: all)", 0, 100)),
            self._control("seed", slider("Seed", 0, 999)),
            self._control("greedy", W.Checkbox(description="Greedy (always the most likely)")),
            self._control("n_generate", slider("N", 10, 1000, 10)),
            self._control("model_choice", W.ToggleButtons(options=[("Shakespeare (shipped)", "shakespeare"),
                                                                  ("your text (train below)", "yours")],
                                                         description="Model")),
            W.HBox([self.step_button, self.run_button, self.reset_button]),
        ]
        self.controls["model_choice"].disabled = True  # until a model has been trained on your text
        # the training panel joins the page when first opened: bqplot figures drawn inside a collapsed
        # accordion have no width and log negative-size errors in the browser console
        train_box = W.Accordion([W.VBox()], titles=("Train a model on your own text",))
        train_box.observe(lambda change: setattr(train_box, "children", [self.training])
                          if change.new is not None else None, names="selected_index")
        self._assemble(controls, [self.output, self._figure("bars", self.bar_fig),
                                  self._figure("loop", self.loop.fig), self._figure("entropy", self.entropy_fig),
                                  train_box])
        self.session: GenerationSession | None = None
        self.observe(lambda _: self._run(self.reset), names=["prompt", "seed", "model_choice"])
        self.observe(lambda _: self._run(self._redraw), names=["temperature", "top_k", "greedy", "n_generate"])
        self._run(self.reset)

    # ------------------------------------------------------------------ actions
    @property
    def model(self):
        """The model the toggle names; ValueError saying why while "your text" has no model to use."""
        if self.model_choice == "yours":
            if self.training.model is None or self.training.running:
                raise ValueError("Train a model on your text first (below), and wait for it to finish.")
            if self.training.error is not None:
                raise ValueError(f"Your last training run failed ({self.training.error}): press Train again "
                                 "(below), or choose the Shakespeare model.")
            return self.training.model.eval()
        return self.shakespeare

    def reset(self) -> None:
        """Start again from the prompt (a new session; the old one stays if the prompt is bad)."""
        self.session = GenerationSession(self.model, self.prompt, self.seed)
        self._draw()

    def generate(self, n: int) -> None:
        """Draw ``n`` characters, each fed back as the next input (at most ``MAX_GENERATED`` in one run:
        beyond it, ValueError asks for Reset)."""
        self._chosen_session()
        room = MAX_GENERATED - len(self.session.generated)
        if room <= 0:
            raise ValueError(f"This run has reached its cap of {MAX_GENERATED:,} generated characters: "
                             "press Reset to start again from the prompt.")
        with small_tensor_mode():  # called from Python too, not only through a control's update (common._run)
            for _ in range(min(n, room)):
                self.session.step(self.temperature, self.top_k or None, self.greedy)
        self._draw()

    def _chosen_session(self) -> GenerationSession:
        """The session of the model the toggle names. When the toggle has moved since it began (a switch that
        failed while that model was training, or a new model trained since), a new one from the prompt; while the
        chosen model is unavailable, ValueError: the banner says why and nothing is generated with another
        model than the toggle says."""
        if self.session is None or self.session.model is not self.model:
            self.reset()
        return self.session

    def _redraw(self) -> None:
        self._chosen_session()
        self._draw()

    def prepare_static_frame(self) -> None:
        """A static page shows a passage generated at each temperature, not just the reshaped bars."""
        self._run(lambda: (self.reset(), self.generate(self.n_generate)))

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s = self.session
        if s is None:
            return
        vocab: CharVocab = s.model.vocab
        # greedy mode shows the model's own distribution (T = 1) with the character greedy takes highlighted
        probs = next_distribution(s.last_logits if s.generated else s.logits,
                                  1.0 if self.greedy else self.temperature, self.top_k or None).cpu().numpy()
        order = np.argsort(-probs, kind="stable")[:TOP]
        chosen = s.generated[-1] if s.generated else None
        with self._holding(self.bars):
            self.bars.x = [f"{vocab.display(vocab.chars[i])}" for i in order]
            self.bars.y = probs[order]
            self.bars.colors = [PALETTE[5] if i == chosen else PALETTE[0] for i in order]
        fit_y(self.bar_fig, self.bars.y, zero=True)
        ent = float(-(probs[probs > 0] * np.log(probs[probs > 0])).sum())
        if chosen is None:
            bar_text = f"Before the first step: the most likely next character is {vocab.display(vocab.chars[order[0]])!r} " \
                       f"(p = {fmt(float(probs[order[0]]))}); entropy {fmt(ent)} nats."
        elif self.greedy:
            bar_text = f"Greedy took {vocab.display(vocab.chars[chosen])!r}, the most likely character under the " \
                       f"model (p = {fmt(float(probs[chosen]))} at temperature 1); the model's distribution has " \
                       f"entropy {fmt(ent)} nats, but greedy ignores everything but its top."
        else:
            bar_text = f"It drew {vocab.display(vocab.chars[chosen])!r} (p = {fmt(float(probs[chosen]))}) from this " \
                       f"distribution; entropy {fmt(ent)} nats (uniform over {len(vocab)} characters: " \
                       f"{fmt(math.log(len(vocab)))})."
        self.summaries["bars"].value = esc(bar_text)
        self.output.value = (
            "<div style='font-family:monospace;white-space:pre-wrap;border:1px solid #ccc;padding:6px;"
            f"max-height:180px;overflow:auto'>{esc(s.prompt)}<span style='color:{PALETTE[0]};"
            f"background:#eef5fb'>{esc(s.new_text)}</span></div>")
        self._draw_loop(s, vocab)
        self._draw_entropy(s)
        self.summaries["entropy"].value = esc(self._entropy_words(s))
        self.equation.value = (
            "<div style='font-family:serif;font-size:15px'>p(x[l+1] = c) = softmax(logits / T)<sub>c</sub>, "
            f"&nbsp; T = {fmt(self.temperature)}" + (" (greedy: argmax)" if self.greedy else "")
            + (f", top-{self.top_k}" if self.top_k else "") + "; &nbsp; the drawn ŷ becomes x[l+1]</div>")

    def _draw_loop(self, s: GenerationSession, vocab: CharVocab) -> None:
        text = s.text
        n = min(DIAGRAM_STEPS, len(text) - 1) if s.generated else min(DIAGRAM_STEPS, len(text))
        start = len(text) - n - (1 if s.generated else 0)
        nodes, edges = [], []
        for j in range(n):
            l = start + j
            sampled = l + 1 >= len(s.prompt)  # on prompt steps the next input is the prompt's, not a sample
            top = (f"ŷ = {vocab.display(text[l + 1])!r}" if sampled else f"next = {vocab.display(text[l + 1])!r}") \
                if l + 1 < len(text) else "ŷ = ?"
            nodes += [Node(j, 0, f"x = {vocab.display(text[l])!r}", 9, below=True), Node(j, 1, "", 0),
                      Node(j, 2, top, 5 if sampled else 8)]
            edges += [(3 * j, 3 * j + 1), (3 * j + 1, 3 * j + 2)]
            if j:
                edges.append((3 * j - 2, 3 * j + 1))  # the state carried to the next step
                if start + j >= len(s.prompt):
                    edges.append((3 * j - 1, 3 * j))  # the sampled ŷ fed back as the next x
        self.loop.draw(nodes, edges, highlight=[3 * n - 1] if s.generated else None, size=700)
        self.summaries["loop"].value = esc(
            f"The last {n} steps (blue: the LSTM, its state carried to the right). Grey boxes: the prompt's next "
            "character, which is read in as the next x whatever the model predicts (conditioning on the prompt); "
            "orange ŷ: characters sampled from the model and fed back as the next x.")

    def _draw_entropy(self, s: GenerationSession) -> None:
        """One point per generated character; before the first, the empty chart says what will appear on it, on
        the axes it will have (steps 1 … N, 0 … log V nats), not a lone "1" tick under nothing."""
        sx = self.entropy_line.scales["x"]
        with self._holding(self.entropy_line):
            if s.entropies:
                e = np.asarray(s.entropies)
                self.entropy_line.x, self.entropy_line.y = np.arange(1, len(e) + 1), e
                with sx.hold_sync():
                    sx.min, sx.max = None, None
            else:
                e = np.array([0.0, math.log(len(s.model.vocab))])
                self.entropy_line.x, self.entropy_line.y = np.array([1.0, float(self.n_generate)]), e
                with sx.hold_sync():
                    sx.min, sx.max = 1.0, float(self.n_generate)
            self.entropy_line.visible = bool(s.entropies)
        fit_y(self.entropy_fig, e, zero=True)
        self.entropy_fig.title = ENTROPY_TITLE if s.entropies else \
            f"{ENTROPY_TITLE}: empty until you press Step or Generate N (one point per character)"

    def _entropy_words(self, s: GenerationSession) -> str:
        if not s.entropies:
            return "No characters generated yet: press Step or Generate N."
        mean = float(np.mean(s.entropies))
        cycle = repeating_tail(s.new_text)
        words = (f"{len(s.entropies)} characters generated (a run keeps at most {MAX_GENERATED:,}; Reset starts "
                 f"again), mean entropy {fmt(mean)} nats per step.")
        if cycle:
            words += f" The text has fallen into a loop: {cycle!r} repeats (low temperature and greedy do this)."
        elif mean > 0.6 * math.log(len(s.model.vocab)):
            words += " The distributions are nearly flat: at this temperature the text turns to noise."
        return words

