"""Memory over real text: the three shipped models' cards, connectivity against autograd, "find units", and the
TextMemoryWidget's controls."""
from pathlib import Path

import numpy as np
import pytest
import torch
import traitlets

from rnn_widgets import TextMemoryWidget
from rnn_widgets.core import CharModel, CharVocab, load_char_model
from rnn_widgets.core.text_memory import (
    DEFAULT_PASSAGE,
    MAX_PASSAGE,
    connectivity,
    fall_distance,
    find_units,
    read_passage,
    text_features,
)
from rnn_widgets.widgets.text_memory import MAX_DISTANCE, units_found

HERE = Path(__file__).resolve().parent
#: the last 10% of tinyshakespeare.txt, which the shipped models never trained on (checked against the corpus
#: below when ../shared/data has it)
HELD_OUT = (HERE / "data" / "tinyshakespeare_held_out.txt").read_text(encoding="utf-8")
CORPUS = HERE.parent.parent / "shared" / "data" / "tinyshakespeare.txt"


def test_the_shipped_held_out_text_is_the_corpus_last_tenth():
    if not CORPUS.exists():
        pytest.skip(f"the corpus is not at {CORPUS}")
    text = CORPUS.read_text(encoding="utf-8")
    assert HELD_OUT == text[int(len(text) * 0.9):]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_each_small_model_reads_held_out_text_as_its_card_says(kind):
    model = load_char_model(kind, device="cpu")
    assert model.cell == kind and model.num_layers == 1 and model.hidden_size == 128
    loss = model.evaluate(model.encode(HELD_OUT, errors="replace"))
    assert loss == pytest.approx(model.card["held_out_nats_per_char"], abs=0.01)


def small_model(cell: str, seed: int = 0) -> CharModel:
    torch.manual_seed(seed)
    return CharModel(CharVocab.from_text(HELD_OUT), hidden_size=12, num_layers=1, embed_size=6, cell=cell)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_connectivity_is_autograds_gradient_of_the_next_character_loss(cell):
    model = small_model(cell)
    text = HELD_OUT[1000:1060]
    passage = read_passage(model, text)
    ids = model.encode(text)
    x = model.embed(ids).detach().requires_grad_(True)
    for t in (0, 25, 58):
        out, _ = model.layers[0](x.unsqueeze(1))
        loss = torch.nn.functional.cross_entropy(model.readout(out[t, 0])[None], ids[t + 1 : t + 2])
        (g,) = torch.autograd.grad(loss, x)
        expected = g[: t + 1].norm(dim=-1).numpy()[::-1]  # distance 0, 1, … back from t
        np.testing.assert_allclose(connectivity(model, passage, t), expected, rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(connectivity(model, passage, t, max_distance=10), expected[:11], rtol=1e-4,
                                   atol=1e-9)
    with pytest.raises(ValueError, match="position t"):
        connectivity(model, passage, len(text) - 1)  # no next character to predict


def test_lstm_and_gru_reach_further_back_than_the_trained_rnn():
    """Median over held-out positions of ‖dℓ_t/dx[t − 30]‖ (§1.5: the RNN's product of Jacobians shrinks)."""
    text = HELD_OUT[20000 : 20000 + MAX_PASSAGE]
    medians = {}
    for kind in ("rnn", "lstm", "gru"):
        model = load_char_model(kind, device="cpu")
        passage = read_passage(model, text)
        medians[kind] = np.median([connectivity(model, passage, t, max_distance=30)[30]
                                   for t in range(40, len(text) - 1, 7)])
    assert medians["lstm"] > medians["rnn"] and medians["gru"] > medians["rnn"], medians


def test_fall_distance_is_where_the_norm_stays_below_one_percent():
    assert fall_distance(np.array([1.0, 0.5, 0.005, 0.02, 0.001, 0.0])) == 4
    assert fall_distance(np.array([1.0, 0.5, 0.2])) is None  # never within the window


def test_features_of_the_text():
    f = text_features("Ab (c)\no'er 'x'")
    assert f["upper case"].tolist()[:2] == [1.0, 0.0]
    assert f["inside quotes or brackets"][3:6].tolist() == [1.0, 1.0, 1.0]  # "(c)"
    assert f["inside quotes or brackets"][9] == 0.0  # the apostrophe in o'er is no quote
    assert f["inside quotes or brackets"][12:15].tolist() == [1.0, 1.0, 1.0]  # 'x'
    assert f["position in the line"][6:9].tolist() == [6.0, 0.0, 1.0]  # the newline, then a new line
    assert f["after a space"][3] == 1.0 and f["vowel"][0] == 1.0


def test_find_units_recovers_a_planted_unit():
    """A tanh RNN whose unit 5 reads only an 'upper case' input dimension: find_units names unit 5."""
    model = small_model("rnn", seed=3)
    H, chars = model.hidden_size, model.vocab.chars
    with torch.no_grad():
        model.embed.weight.mul_(0.1)
        model.embed.weight[:, 0] = torch.tensor([1.0 if c.isupper() else 0.0 for c in chars])
        model.layers[0].W.mul_(0.2)
        model.layers[0].W[5] = 0.0
        model.layers[0].W[5, H + 0] = 4.0  # unit 5 ← x[l]'s first dimension only
        model.layers[0].b[5] = -2.0
        model.layers[0].W[:, H] = torch.where(torch.arange(H) == 5, 4.0, 0.0)  # no other unit sees it
    text = HELD_OUT[3000:3600]
    found = {f.feature: f for f in find_units(read_passage(model, text).signal("a"), text)}
    assert found["upper case"].unit == 5 and found["upper case"].r > 0.95


# ---------------------------------------------------------------------- the widget
@pytest.fixture(scope="module")
def widget():
    return TextMemoryWidget()


def test_the_unit_map_shows_the_models_values(widget):
    widget.model, widget.signal, widget.unit = "lstm", "c", 7
    c = read_passage(load_char_model("lstm", device="cpu"), widget.text).signal("c")[:, 7]
    grid = widget.activation_grid
    row0 = DEFAULT_PASSAGE.index("\n")  # the first row: "BIANCA:" and its newline
    np.testing.assert_allclose(grid.color[0, : row0 + 1], c[: row0 + 1], rtol=1e-5)
    assert "unit 7" in widget.activation_fig.title and "cell state c" in widget.activation_fig.title
    widget.unit = 8
    assert "unit 8" in widget.activation_fig.title


def test_the_value_offered_follows_the_model(widget):
    widget.model, widget.signal = "lstm", "c"
    widget.model = "gru"
    assert widget.signal == "h" and [v for _, v in widget.controls["signal"].options] == ["h", "z", "r", "n"]
    widget.signal = "z"
    assert "update gate z" in widget.activation_fig.title
    widget.model = "rnn"
    assert widget.signal == "a" and widget.error_message == ""
    widget.model = "lstm"


def test_find_units_moves_the_unit_and_a_moved_unit_forgets_the_feature(widget):
    widget.model, widget.signal = "lstm", "h"
    best = {f.feature: f for f in units_found(widget.text, "lstm", "h")}["upper case"]
    widget.controls["feature"].value = "upper case"
    assert widget.unit == best.unit and widget.feature == "upper case"
    assert f"unit {best.unit}" in dict((v, k) for k, v in widget.controls["feature"].options)["upper case"]
    widget.model = "gru"  # the feature stays chosen; the unit follows it to the GRU's best
    assert widget.unit == {f.feature: f for f in units_found(widget.text, "gru", "h")}["upper case"].unit
    widget.unit = (widget.unit + 1) % 128
    assert widget.feature == ""
    widget.model = "lstm"


def test_a_feature_chosen_in_the_constructor_picks_its_unit():
    w = TextMemoryWidget(model="gru", signal="h", feature="after a space")
    best = {f.feature: f for f in units_found(w.text, "gru", "h")}["after a space"]
    assert w.unit == best.unit and f"unit {best.unit}" in w.activation_fig.title and w.error_message == ""
    assert w.feature == "after a space" and w.controls["feature"].value == "after a space"
    w.position = 50  # a redraw relabels "find units" and keeps the choice
    w.model = "lstm"
    assert w.feature == "after a space" and w.controls["feature"].value == "after a space"
    assert w.controls["feature"].label.startswith("after a space: unit ")
    w.close()


def test_the_position_moves_the_gradient_maps_and_the_distance_plot(widget):
    widget.position = 120
    before = (widget.reach_grid.color.copy(), np.array(widget.distance_lines.y))
    widget.position = 200
    assert not np.array_equal(before[0], widget.reach_grid.color)
    passage = read_passage(load_char_model("gru", device="cpu"), widget.text)
    np.testing.assert_allclose(widget.distance_lines.y[2],
                               np.clip(connectivity(load_char_model("gru", device="cpu"), passage, 200,
                                                    max_distance=MAX_DISTANCE), 1e-30, None), rtol=1e-6)
    assert "t = 200" in widget.reach_fig.title
    assert "Below 1% of its largest value" in widget.summaries["distance"].value


@pytest.mark.parametrize("text, message", [
    ("digits 12 <b>", "do not know these characters: '1' '2' '<' '>'"),
    ("", "empty"),
    ("a", "at least two characters"),
    ("ab", "at least three characters"),
    ("x" * (MAX_PASSAGE + 1), "at most 2,000"),
    ("ab\ud800cd", "surrogate"),
])
def test_bad_passages_are_a_message_and_the_last_good_one_stays(text, message):
    w = TextMemoryWidget(text="To be, or not to be")
    drawn = w.activation_grid.color.copy()
    w.controls["text"].value = text
    assert message in w.error_message.replace("&#x27;", "'")
    assert w.text == "To be, or not to be" and w.controls["text"].value == "To be, or not to be"
    np.testing.assert_array_equal(w.activation_grid.color, drawn)
    with pytest.raises(traitlets.TraitError, match="characters|empty|surrogate"):
        TextMemoryWidget(text=text)
    w.close()


def test_a_short_passage_clamps_the_position():
    w = TextMemoryWidget(text="To be, or not", position=300)
    assert w.error_message == "" and w.position == len("To be, or not") - 2
    assert w.controls["position"].max == len("To be, or not") - 2
    w.close()


def test_black_characters_keep_their_contrast_on_every_cell_colour():
    """WCAG 1.4.3 for text on the maps' cells: black on the maps' stops (and so on every mix between a stop and
    white) is at least 4.5:1."""
    from rnn_widgets.widgets.text_map import TEXT_DIVERGING, TEXT_SEQUENTIAL

    def luminance(colour):
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    assert min((luminance(c) + 0.05) / 0.05 for c in TEXT_DIVERGING + TEXT_SEQUENTIAL) >= 4.5


# ---------------------------------------------------------------------- misconceptions (issue 22): soft gates, c vs h,
# the training window
def test_the_gate_histogram_is_the_lstms_gates_and_a_third_of_f_is_soft(widget):
    import html

    widget.model = "lstm"
    passage = read_passage(load_char_model("lstm", device="cpu"), widget.text)
    for row, gate in enumerate(("f", "input_gate", "o")):
        v = passage.signal(gate).ravel()
        counts, _ = np.histogram(v, bins=10, range=(0.0, 1.0))
        np.testing.assert_allclose(widget.gate_bars.y[row], 100 * counts / v.size, rtol=1e-6)
    f = passage.signal("f")
    soft = np.mean((f > 0.1) & (f < 0.9))
    assert f"{100 * soft:.0f}%" == "34%"  # the number issue 22 and 07 Q5 quote
    said = html.unescape(widget.summaries["gates"].value)
    assert "34% of the values of the LSTM's forget gate f lie between 0.1 and 0.9" in said
    assert f"{100 * np.mean(f <= 0.1):.0f}% at or below 0.1" in said and f"{100 * np.mean(f >= 0.9):.0f}% at or above 0.9" in said
    widget.model = "gru"
    assert widget.gate_bars.labels == ["update gate z", "reset gate r"] and "GRU's gates" in widget.gate_fig.title
    widget.model = "rnn"  # no gates of its own: the LSTM's, said in the title
    assert "the RNN has no gates" in widget.gate_fig.title and len(widget.gate_bars.y) == 3
    widget.model = "lstm"


def test_the_counter_unit_holds_past_one_in_c_and_not_in_h():
    import html

    w = TextMemoryWidget(feature="position in the line")
    passage = read_passage(load_char_model("lstm", device="cpu"), w.text)
    c, h = passage.signal("c")[:, w.unit], passage.signal("h")[:, w.unit]
    assert w.unit == 24 and f"{np.abs(c).max():.3g}" == "1.64" and f"{np.abs(h).max():.3g}" == "0.928"
    assert np.abs(passage.signal("h")).max() <= 1 < np.abs(passage.signal("c")).max()  # (float32 can round to 1)
    assert "Unit 24: max |c| = 1.64, max |h| = 0.928" in html.unescape(w.summaries["activation"].value)
    w.close()


def test_the_training_window_is_the_cards_and_marked_on_the_distance_plot(widget):
    import html

    from rnn_widgets.core import TrainConfig, Trainer
    from rnn_widgets.core.text_memory import training_window

    assert {training_window(load_char_model(k, device="cpu")) for k in ("rnn", "lstm", "gru")} == {100}
    # the Trainer's windows: seq_len inputs, each read from a zero state (the model is called without one)
    model = small_model("lstm")
    inputs, _ = Trainer(model, model.encode(HELD_OUT[:500]), TrainConfig(seq_len=100, batch_size=2)).batch()
    assert inputs.shape == (100, 2)
    widget.position = DEFAULT_PASSAGE.index("wedding-day") + len("wedding-d") - 1
    assert MAX_DISTANCE >= 100 and widget.window_rule.visible and list(widget.window_rule.x) == [100, 100]
    assert [label.text[0] for label in widget.window_labels] == ["trained on (d < 100)", "never trained on (d ≥ 100)"]
    said = html.unescape(widget.summaries["distance"].value)
    assert "no training gradient ran more than 99 characters back" in said and "(d ≥ 100)" in said
    widget.position = 50  # the plot reaches 50 back: no rule
    assert not widget.window_rule.visible and "up to d = 50) lies inside that window" in html.unescape(
        widget.summaries["distance"].value)
