"""examples/04_generation.ipynb's questions (§1.4): every truth read from the widget's own session.

Sampling is seeded, so a question that needs generated text presses Generate N before the question is built and
its truth is deterministic. The generated text lives in the widget's session, not in its traits: until the
student commits, Step, Generate N and Reset are disabled (they would change what the truth was computed from), and
Commit or Try again rebuild the question's text if the student's moves replaced it (a new seed starts again)."""
from __future__ import annotations

import math

import numpy as np

from ..core import next_distribution, repeating_tail
from ..widgets.generation import DIAGRAM_STEPS, GenerationWidget
from ..widgets.numbers import fmt
from ..widgets.question import Choice, Number, Question


def _generated(presses: int, steps: int | None = None, **settings) -> GenerationWidget:
    """The widget after ``presses`` presses of Generate N (or one Step of ``steps`` characters)."""
    w = GenerationWidget(**settings)
    for _ in range(presses):
        w.generate(steps or w.n_generate)
    return w


def _keep_generated(q: Question, chars: int) -> Question:
    """Hold the question's generated text: the buttons that change it are disabled until commit, and after Commit
    or Try again (which put the traits back) a session that is no longer the question's is generated again."""
    w = q.widget
    text = w.session.text
    buttons = (w.step_button, w.run_button, w.reset_button)

    def follow(change) -> None:
        committed = bool(change.new)
        for button in buttons:
            button.disabled = not committed
        if w.session is None or w.session.text != text:
            w._run(lambda: (w.reset(), w.generate(chars)))

    for button in buttons:
        button.disabled = True
    q.result.observe(follow, names="value")
    return q


# ---------------------------------------------------------------------- 1. does greedy text loop?
def _loops(w: GenerationWidget) -> str:
    return "yes: a stretch repeats" if repeating_tail(w.session.new_text) else "no loop yet"


def greedy_loops() -> Question:
    w = _generated(2, greedy=True)
    q = Question(
        f"Greedy always takes the most likely character. From the default prompt, greedy has generated "
        f"{len(w.session.generated)} characters (<b>Generate N</b> pressed twice, N = {w.n_generate}). Has the text "
        "fallen into a loop, one stretch repeating again and again?",
        w, Choice(_loops, ["yes: a stretch repeats", "no loop yet"]),
        hide=[*w.figures, "output"],
        explanation="Greedy is deterministic: the next character depends only on the state, so once the state "
                    "comes back close to an earlier one, the same characters follow and the text repeats. The "
                    "sentence under the entropy plot names the stretch. Now try Reset and Generate N once: after "
                    "200 characters there is no loop yet.")
    return _keep_generated(q, len(w.session.generated))


# ---------------------------------------------------------------------- 2. temperature and uncertainty
def _mean_entropy(w: GenerationWidget) -> float:
    return float(np.mean(w.session.entropies))


def temperature_entropy() -> Question:
    w = _generated(1, temperature=3.0)
    V = len(w.session.model.vocab)
    mean = _mean_entropy(w)
    q = Question(
        f"At <b>temperature 3</b>, {len(w.session.generated)} characters have been generated from the default "
        "prompt. What is the mean <b>entropy</b> per step, in nats, of the distributions they were drawn from? "
        f"(Entropy −Σ p ln p: a uniform choice among all {V} characters has ln {V} = {fmt(math.log(V))} nats, a "
        "sure choice 0.)",
        w, Number(_mean_entropy, unit="nats", abs=0.5, lo=0, hi=round(math.log(V), 2), label="Mean entropy"),
        hide=[*w.figures, "output"],
        explanation="Dividing the logits by T > 1 flattens the distribution toward uniform, so every step is "
                    "uncertain and the text turns to noise. It does not reach uniform: the mean entropy is "
                    f"{fmt(mean)} nats, not ln {V} = {fmt(math.log(V))}, because logits divided by 3 still differ, "
                    "and their gaps still favour some characters. Now try temperature 0.3, Reset and Generate N: "
                    "T < 1 sharpens it and the mean entropy falls to about half a nat.")
    return _keep_generated(q, len(w.session.generated))


# ---------------------------------------------------------------------- 3. the model's uncertainty under greedy
def _model_distribution(w: GenerationWidget):
    """The distribution greedy's character was taken from, at temperature 1 (the model's own)."""
    return next_distribution(w.session.last_logits, 1.0, w.top_k or None).cpu().numpy()


def _top_probability(w: GenerationWidget) -> float:
    probs = _model_distribution(w)
    return float(probs[w.session.generated[-1]])


def _entropy(w: GenerationWidget) -> float:
    p = _model_distribution(w)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def greedy_uncertainty() -> Question:
    w = _generated(1, steps=1, greedy=True)
    top, spread = _top_probability(w), _entropy(w)
    q = Question(
        "In greedy mode, after one press of <b>Step</b> from the default prompt: what probability did the model give "
        "the character greedy took, and what is the entropy (nats) of the model's distribution it was taken from?",
        w, Number(_top_probability, abs=0.15, lo=0, hi=1, label="Probability of greedy's character"),
        Number(_entropy, unit="nats", abs=0.5, lo=0, hi=4.2, label="Entropy of the distribution"),
        hide=[*w.figures, "output"],
        explanation="Greedy takes the top of the model's distribution, but the model itself is far from sure: "
                    f"it gave greedy's character p = {fmt(top)}, and its distribution has entropy {fmt(spread)} "
                    "nats, not 0. The bars show that distribution (temperature 1) with greedy's character "
                    "highlighted. Now "
                    "press Step a few more times and watch how the top's probability changes.")
    return _keep_generated(q, 1)


# ---------------------------------------------------------------------- 4. the grey boxes
PROMPT_CHARS = "the prompt's next characters"
OPTIONS_4 = ["the model's most likely next characters", "characters sampled from the model", PROMPT_CHARS]


def _grey_boxes(w: GenerationWidget) -> str:
    """What the loop diagram's grey boxes (the steps whose next input is not a sample) hold in this state."""
    s = w.session
    text = s.text
    n = min(DIAGRAM_STEPS, len(text) - 1) if s.generated else min(DIAGRAM_STEPS, len(text))
    start = len(text) - n - (1 if s.generated else 0)
    grey = [l for l in range(start, start + n) if l + 1 < len(s.prompt)]
    if grey and all(text[l + 1] == s.prompt[l + 1] for l in grey):
        return PROMPT_CHARS
    return OPTIONS_4[1]


def grey_boxes() -> Question:
    w = GenerationWidget()
    q = Question(
        "Before any character is generated, the loop diagram draws the prompt's last steps: an x below each step "
        "and a box above it, grey for every step but the last, whose box is orange. What do the grey boxes hold?",
        w, Choice(_grey_boxes, OPTIONS_4),
        hide=[*w.figures, "output"],
        explanation="They are the prompt's own next characters: on the prompt, the next x is the prompt's next "
                    "character whatever the model predicts, so the model is conditioned on the prompt (§1.4). The "
                    "orange box, the last step's ŷ, shows \"?\" until Step is pressed: nothing is sampled yet. Now "
                    "press Step: the orange box holds a sampled ŷ, fed back as the next x.")
    return _keep_generated(q, 0)


QUESTIONS = [greedy_loops, temperature_entropy, greedy_uncertainty, grey_boxes]
