"""§1.4: the generation widget and its session; live training on the student's text."""
import numpy as np
import pytest
import torch

from rnn_widgets import GenerationWidget
from rnn_widgets.core import GenerationSession, load_char_model, next_distribution, repeating_tail
from rnn_widgets.widgets.common import PALETTE
from rnn_widgets.widgets.live_training import LiveTraining


@pytest.fixture(scope="module")
def model():
    return load_char_model()


def test_shipped_model_loads_safely_and_predicts(model):
    assert len(model.vocab) == 65 and model.card["held_out_nats_per_char"] < 2.0
    logits, state = model.next_logits("To be, or not to b")
    assert model.vocab.chars[int(logits.argmax())] == "e"
    assert len(state) == model.num_layers


def test_same_seed_same_text_and_greedy_ignores_the_seed(model):
    def run(seed, greedy=False):
        s = GenerationSession(model, "ROMEO:", seed)
        for _ in range(60):
            s.step(1.0, None, greedy)
        return s.text

    assert run(1) == run(1) and run(1) != run(2)
    assert run(1, greedy=True) == run(2, greedy=True)


def test_temperature_reshapes_the_bars_from_the_same_logits():
    w = GenerationWidget()
    w.generate(5)
    before_logits = w.session.last_logits.clone()
    w.temperature = 0.2
    cold = np.asarray(w.bars.y)
    w.temperature = 3.0
    hot = np.asarray(w.bars.y)
    assert torch.equal(w.session.last_logits, before_logits)  # no new sample drawn
    assert cold[0] > hot[0]
    expected = next_distribution(before_logits, 3.0).numpy()
    np.testing.assert_allclose(np.sort(hot)[::-1], np.sort(expected)[::-1][: len(hot)], rtol=1e-10)
    assert len(w.bars.y) == 20


def test_step_highlights_the_sampled_character_and_feeds_it_back():
    w = GenerationWidget(seed=3)
    w.generate(1)
    chosen = w.session.generated[-1]
    label = w.session.model.vocab.display(w.session.model.vocab.chars[chosen])
    highlighted = [x for x, c in zip(w.bars.x, w.bars.colors) if c == PALETTE[5]]
    assert highlighted == [label]
    assert w.session.text == w.prompt + w.session.model.decode([chosen])
    assert "It drew" in w.summaries["bars"].value


def test_greedy_falls_into_a_loop_and_hot_sampling_is_noise():
    w = GenerationWidget(greedy=True)
    w.generate(400)
    assert "loop" in w.summaries["entropy"].value
    w.greedy, w.temperature = False, 3.0
    w.reset()
    w.generate(200)
    assert "noise" in w.summaries["entropy"].value


@pytest.mark.parametrize("prompt, message", [("", "empty"), ("Zoë 42", "ë"), ("a" * 5000, "at most")])
def test_bad_prompts_are_messages_and_keep_the_previous_state(prompt, message):
    w = GenerationWidget()
    w.generate(10)
    text = w.session.text
    w.prompt = prompt
    assert message in w.error.value
    assert w.session.text == text  # nothing lost
    w.prompt = "ROMEO:"
    assert w.error.value == "" and w.session.text == "ROMEO:"


def test_live_training_learns_and_can_be_stopped():
    panel = LiveTraining(steps=60)
    assert panel.start(blocking=True)
    losses = panel._losses
    assert len(losses) == 60 and np.mean(losses[-10:]) < np.mean(losses[:10])
    assert "step 60" in panel.samples.value and panel.progress.value == 60
    panel2 = LiveTraining(steps=200)
    panel2.start()
    panel2.stop()
    panel2.join(30)
    assert not panel2.running and panel2.progress.value < 200


def test_live_training_rejects_short_text_and_model_choice_needs_a_model():
    panel = LiveTraining()
    panel.text_area.value = "too short"
    assert not panel.start(blocking=True)
    assert "needs at least" in panel.message.value and panel.model is None
    w = GenerationWidget()
    w.model_choice = "yours"
    assert "Train a model" in w.error.value
    w.training.steps.value = 20
    w.training.start(blocking=True)
    assert not w.controls["model_choice"].disabled
    w.prompt = "the network "  # the default training text is lower case
    assert w.error.value == "" and w.session.model is w.training.model
    w.generate(20)
    assert len(w.session.generated) == 20


def test_repeating_tail():
    assert repeating_tail("the cat " * 8) == "the cat "
    assert repeating_tail("no repetition in this reasonably long sentence at all, none") is None
