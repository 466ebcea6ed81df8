"""The notebooks' answers quote numbers; each one must be what the widget shows in the state the question sets.

Each row: the notebook, how the question sets the widget up, which sentence to read, and the words quoted in the
answer (they must appear in both)."""
import functools
import html
from pathlib import Path

import nbformat
import numpy as np
import pytest

import rnn_widgets as rw
from rnn_widgets.questions import ask, builders

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SENTENCE = "the cat sat on the mat and then it slept in the sun"


def generated(**settings):
    """The generation widget after one press of Generate N."""
    w = rw.GenerationWidget(**settings)
    w.generate(w.n_generate)
    return w


def greedy_stepped():
    """The generation widget in greedy mode after one press of Step (one character)."""
    w = rw.GenerationWidget(greedy=True)
    w.generate(1)
    return w


def greedy_twice(w):
    w.generate(w.n_generate)
    first = w.summaries["entropy"].value
    w.generate(w.n_generate)
    return first


ANSWERS = [
    ("01_unrolling", lambda: rw.UnrollingWidget(text=SENTENCE, mode="untied", max_len=12), "diagram",
     "12 different layers W⁽¹⁾…W⁽¹²⁾"),
    ("01_unrolling", lambda: rw.UnrollingWidget(max_len=50), "parameters", "3,264"),
    ("01_unrolling", lambda: rw.UnrollingWidget(max_len=50), "parameters", "66"),
    ("01_unrolling", lambda: rw.UnrollingWidget(), "reach", "1.4%"),
    ("01_unrolling", lambda: rw.UnrollingWidget(step=5), "inputs", "[-0.98, 0.67, 2.2, -0.45]"),
    ("01_unrolling", lambda: rw.UnrollingWidget(step=1), "inputs", "[-0.98, 0.67, 2.2, -0.45]"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(), "bars", "the sum over steps is 1.23 and autograd says 1.23"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(seq_len=20, weight_scale=0.3, entry="norm"), "bars", "2.71"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(seq_len=20, weight_scale=0.3, entry="norm"), "bars",
     "1.38 × 10⁻¹¹"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(entry="norm"), "bars", "the sum over steps is 2.89"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(), "total", "dℓ/db (last column) from -0.56 to 1.4"),
    ("03_topologies", lambda: rw.TopologiesWidget(input_len=16), "lengths", "59.7%"),
    ("03_topologies", lambda: rw.TopologiesWidget(input_len=16), "lengths", "100%"),
    ("03_topologies", lambda: rw.TopologiesWidget(topology="many-to-one", input_len=16), "lengths", "95.5% at length 16"),
    ("03_topologies", lambda: rw.TopologiesWidget(input_len=16), "lengths", "every output right: 0% of the examples"),
    ("03_topologies", lambda: rw.TopologiesWidget(input_len=16), "lengths",
     "first written to last: 100% to 10% (chance: 10%)"),
    ("04_generation", lambda: generated(temperature=3.0), "entropy", "3.06 nats per step"),
    ("04_generation", lambda: generated(temperature=0.3), "entropy", "0.503 nats per step"),
    ("04_generation", greedy_stepped, "bars",
     "'␣', the most likely character under the model (p = 0.51 at temperature 1)"),
    ("04_generation", greedy_stepped, "bars", "the model's distribution has entropy 1.46 nats"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(), "updates", "layer 12 13, layer 13 2, and layers 14–16 none"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(), "lengths", "tied 96.8%, untied 98%"),
    ("02_weight_sharing", lambda: rw.WeightSharingWidget(), "lengths",
     "the tied RNN is still right 87.2% of the time, the untied network 59.8%"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(), "map", "it first exceeds 1 at scale 1.6"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(nonlinearity="identity"), "map", "1.1"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(nonlinearity="sigmoid"), "map",
     "it stays below 1 up to scale 2.0"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(), "lines", "0.763"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(), "lines", "0.897"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(), "lines", "the weight scale × the RMS slope is 0.766"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(model="skip", scale=0.5), "lines",
     "it grows by a factor 52.9 over the 50 steps"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(model="skip", scale=0.5), "lines", "1.13"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "lines",
     "it grows by a factor 51.6 over the 50 steps"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "clipping", "‖dℓ/d(W, b)‖ = 259"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "clipping", "multiplied by 0.00387 to 1"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "clipping", "cosine 1.000000"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "clipping", "it would turn: cosine 0.806"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=1.7), "clipping",
     "move the weights by 25.9; clipped, by 0.1"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(), "clipping", "‖dℓ/da⁽⁰⁾‖ = 1.64 × 10⁻⁶"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0), "lines",
     "it grows by a factor 241 over the 50 steps"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0), "lines", "max |a| = 0.9996"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0, nonlinearity="relu"), "lines",
     "it grows by a factor 4.78 × 10⁹ over the 50 steps"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0, nonlinearity="relu"), "lines",
     "reach max |a| = 1.76 × 10⁹"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0, nonlinearity="sigmoid"), "lines",
     "it shrinks by a factor 2.22 × 10¹⁸ over the 50 steps"),
    ("05_gradient_flow", lambda: rw.GradientFlowWidget(scale=2.0, nonlinearity="sigmoid"), "lines",
     "no step's factor exceeds the weight scale/4 = 0.5"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(forget_bias=-6.0), "cell", "11.9%"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(forget_bias=-6.0), "gradients", "1.71 × 10⁻²⁸"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(), "gradients", "0.372"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(), "gradients", "1.11 × 10⁻⁶"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(cell="gru"), "cell", "1.58 nats/char"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(cell="gru"), "cell", "1.57"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=30), "cell", "-0.00178"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=30), "cell", "-0.0014 straight along c"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=9), "cell", "0.00397"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=9), "cell", "0.00383 through h⁽¹⁰⁾"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=9), "cell", "keeps 0.0133% of c"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text", step=9), "cell", "times f⁽¹⁰⁾ = 0.916"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text"), "gradients",
     "49% of the gradient's size comes straight along c"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(), "gradients",
     "100% of the gradient's size comes straight along c"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text"), "gradients", "0.23"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(source="text"), "gradients", "3.07 × 10⁻⁶"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(candidate="relu"), "map4", "c⁽¹⁾ = 2.39"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(candidate="relu"), "map4", "59.3% of it"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(candidate="relu"), "map4", "φ = tanh 59%, identity 59%, σ 62.1%"),
    ("06_lstm_gates", lambda: rw.LSTMGatesWidget(length=120), "map4", "differ by 6.7 points"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(feature="position in the line"), "activation", "unit 24"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(feature="position in the line"), "activation", "r = +0.85"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(signal="h", feature="after a space"), "activation", "unit 84"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(signal="h", feature="after a space"), "activation", "r = +0.52"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "RNN at d = 16"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "LSTM at d = 24"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "GRU at d = 26"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "RNN 1.20 × 10⁻²⁴"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "LSTM 1.08 × 10⁻⁷"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance", "GRU 1.31 × 10⁻⁶"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(feature="position in the line"), "activation",
     "Unit 24: max |c| = 1.64, max |h| = 0.928"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "distance",
     "no training gradient ran more than 99 characters back"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "gates",
     "34% of the values of the LSTM's forget gate f lie between 0.1 and 0.9"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "gates", "26% at or below 0.1, 40% at or above 0.9"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "gates", "input gate: 20%"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(), "gates", "output gate o: 23%"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(model="gru"), "gates", "72%"),
    ("07_text_memory", lambda: rw.TextMemoryWidget(model="gru"), "gates", "reset gate r: 37%"),
]


@functools.lru_cache(maxsize=None)
def answers_text(name: str) -> str:
    """What a student reads of the notebook's questions: its markdown (the collapsed answers) and each question's
    prompt and explanation (rnn_widgets.questions)."""
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for number in range(1, len(builders(name)) + 1):
        question = ask(name, number)
        texts += [question.prompt, question.explanation_html]
        question.close()
    return "\n".join(texts)


def shown(widget, key: str) -> str:
    return html.unescape(widget.summaries[key].value)


@pytest.mark.parametrize("name, make, key, words", ANSWERS, ids=[f"{a[0]}:{a[3][:30]}" for a in ANSWERS])
def test_the_answer_quotes_what_the_widget_shows(name, make, key, words):
    assert words in answers_text(name), f"{name}'s answers no longer quote {words!r}"
    assert words in shown(make(), key)


def test_greedy_loops_after_400_characters_not_200():
    w = rw.GenerationWidget(greedy=True)
    after_200 = html.unescape(greedy_twice(w))
    assert "200 characters generated" in after_200 and "fallen into a loop" not in after_200
    assert "fallen into a loop" in shown(w, "entropy")
    assert "fallen into a loop" in answers_text("04_generation")


def test_norms_of_contributions_add_up_to_more_than_the_norm_of_their_sum():
    w = rw.WeightSharingWidget(entry="norm")
    assert np.sum(w.bars.y) > 1.5 * w.sum_bars.y[0]  # "the blue bars add up to much more"


# ---------------------------------------------------------------------- numbers the answers compute, not the widgets
def test_a_uniform_choice_with_the_entropy_of_temperature_3():
    w = generated(temperature=3.0)
    mean = float(np.mean(w.session.entropies))
    assert f"{mean:.3g}" == "3.06" and round(np.exp(3.06)) == 21  # "a uniform choice among about 21 characters"
    assert "about 21 characters, e³·⁰⁶" in answers_text("04_generation")


def test_the_skip_connections_vanishing_example():
    import torch

    from rnn_widgets.core import RNN
    from rnn_widgets.core.jacobians import backward_states

    rnn = RNN(4, 16, "identity", skip=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.W[:, :16] = -0.9 * torch.eye(16, dtype=torch.float64)
    x = torch.randn(50, 1, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u = torch.full((16,), 0.25, dtype=torch.float64)  # a unit vector
    states, _ = backward_states(rnn, x, u)
    norms = states["a"][:, 0].norm(dim=-1)
    assert float(norms[0] / norms[-1]) == pytest.approx(1e-50, rel=1e-9)
    assert "the gradient shrinks to 10⁻⁵⁰ of itself" in answers_text("05_gradient_flow")
    assert "cannot vanish" not in answers_text("05_gradient_flow")
    plain_default = rw.GradientFlowWidget().lines.y[0]
    assert plain_default[0] / plain_default[-1] > 1e-50  # "faster than the plain RNN's at the defaults"


def test_rho_and_the_rms_slope_agree_within_half_a_percent():
    import torch

    from rnn_widgets.core.flow import decay_rate
    from rnn_widgets.widgets.gradient_flow import rms_slope_factor

    w = rw.GradientFlowWidget()
    rho = decay_rate(torch.from_numpy(w.lines.y[0]))
    assert abs(rms_slope_factor("tanh", 50, 0.9, 0, "cpu") - rho) / rho < 0.005
    assert "within 0.5% of ρ" in answers_text("05_gradient_flow")
    assert "misalign" not in answers_text("05_gradient_flow")


def test_sigmoid_factors_are_at_most_half_up_to_scale_2():
    from rnn_widgets.core.flow import flow_model, step_jacobian_norms

    assert float(step_jacobian_norms(flow_model("rnn", "sigmoid"), 50, 2.0).max()) <= 0.5
    assert "up to scale 2 every one is at most 0.5" in answers_text("05_gradient_flow")


def test_nats_per_character_of_a_uniform_guess():
    from rnn_widgets.widgets.lstm_gates import small_char_model

    V = len(small_char_model("gru").vocab)
    assert V == 65 and f"{np.log(V):.3g}" == "4.17"
    assert "a uniform guess among the 65 characters scores ln 65 ≈ 4.17" in answers_text("06_lstm_gates")


def test_no_answer_calls_the_prompt_teacher_forcing_or_the_notes_the_author_of_the_split():
    assert "teacher forcing" not in answers_text("04_generation")
    assert "the notes split" not in answers_text("06_lstm_gates") and "The notes do not write this split" in \
        answers_text("06_lstm_gates")
    assert "§1.2's warning, that" not in answers_text("03_topologies")


def test_the_weight_scale_stretches_every_vector_by_itself():
    import torch

    from rnn_widgets.widgets.weight_sharing import weight_sharing_gradients

    shared, _ = weight_sharing_gradients(20, 0.3, "last")
    inputs = torch.stack([use.inp for use in shared.trace.affine]).reshape(20, -1).detach()
    outputs = torch.stack([use.out for use in shared.trace.affine]).reshape(20, -1).detach()
    # W and b from what each step put in and got out: out = [inp, 1] @ [W | b]ᵀ
    Wb = torch.linalg.lstsq(torch.cat([inputs, torch.ones(20, 1, dtype=inputs.dtype)], 1), outputs).solution.T
    H = outputs.shape[1]
    stretch = torch.linalg.svdvals(Wb[:, :H])
    torch.testing.assert_close(stretch, torch.full_like(stretch, 0.3))
    assert "it stretches every vector by exactly that factor" in answers_text("02_weight_sharing")


def test_the_training_windows_rule_is_labelled_as_07_quotes_it():
    w = rw.TextMemoryWidget()
    assert w.window_labels[1].text[0] == "never trained on (d ≥ 100)" and w.window_rule.visible
    assert "*never trained on (d ≥ 100)*" in answers_text("07_text_memory")
    assert w.position == 233 and "at t = 233, the passage began 233 characters ago" in answers_text("07_text_memory")
    w.close()


def test_06_q4_quotes_the_equations_split_of_a():
    """06 Q4: d_c = d_h, d_a = d_c + d_h and the gradient's split, as the equation's third line writes them."""
    eq = html.unescape(rw.LSTMGatesWidget(source="text", step=30).equation.value)
    for words in ("d<sub>c</sub> = d<sub>h</sub> = 128, d<sub>a</sub> = d<sub>c</sub> + d<sub>h</sub> = 128 + 128 = 256",
                  "0.178² + 0.094² = 0.201²"):
        assert words in answers_text("06_lstm_gates") and words in eq, words
    assert "d<sub>a</sub> = d<sub>c</sub> + d<sub>h</sub> = 8 + 8 = 16" in html.unescape(rw.LSTMGatesWidget().equation.value)


def test_the_encoder_decoders_wrong_digits_are_past_the_trained_positions():
    from rnn_widgets.core.tasks import MAX_LEN, shipped_accuracy_by_position

    errors = 1 - np.asarray(shipped_accuracy_by_position("many-to-many (encoder-decoder)")["positions"][15])
    assert MAX_LEN == 8 and f"{100 * errors[MAX_LEN:].sum() / errors.sum():.0f}" == "96"
    assert "output positions 9–16, which the decoder never wrote in training (96% of the wrong digits are there)" \
        in answers_text("03_topologies")


# ---------------------------------------------------------------------- numbers a question's explanation computes
COMPUTED = [
    ("03_topologies", 1, "output positions 9–16, which the decoder never wrote in training (96% of the wrong digits "
                         "are there)"),
    ("06_lstm_gates", 2, "o · tanh′(c⁽³⁰⁾) = 0.881 × 0.727 = 0.641"),
    ("06_lstm_gates", 2, "0.58 × 0.641 = 0.372"),
    ("06_lstm_gates", 5, "summed over c⁽¹⁾ … c⁽⁴⁰⁾ and all 128 units, 49% of the gradient's size comes straight along c"),
    ("07_text_memory", 1, "unit 24's h has r = +0.79 with the position in the line (its c: +0.85), and where c "
                          "reaches 1.64, h reaches only 0.928"),
    ("07_text_memory", 3, "1.5 and 1.62 times as far"),
    ("07_text_memory", 4, "At d = 142 this is beyond the training window: it shows how the models compute, not what "
                          "they learned."),
]


@pytest.mark.parametrize("name, number, words", COMPUTED, ids=[f"{c[0]}/{c[1]}:{c[2][:30]}" for c in COMPUTED])
def test_the_answer_quotes_what_the_question_computes(name, number, words):
    question = ask(name, number)
    explanation = html.unescape(question.explanation_html)
    question.close()
    assert words in explanation
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    assert any(words in c.source for c in nb.cells if c.cell_type == "markdown"), f"{name} no longer quotes {words!r}"
