"""UnrollingWidget, WeightSharingWidget, TopologiesWidget: marks and numbers after a control moves."""
import numpy as np
import pytest
import torch

from rnn_widgets import TopologiesWidget, UnrollingWidget, WeightSharingWidget
from rnn_widgets.core import parameter_count
from rnn_widgets.core.tasks import run_topology
from rnn_widgets.widgets.unrolling import reach_probability, tokenize
from rnn_widgets.widgets.weight_sharing import weight_sharing_gradients


def test_unrolling_diagram_follows_the_text_and_mode():
    w = UnrollingWidget(text="a b c d")
    boxes = w.diagram.boxes
    assert len(boxes.x) == 1 + 2 * 4  # a^(0), then x[l] and a^(l+1) per token
    assert len(set(boxes.color[2::2])) == 1  # shared: one colour for every step
    w.mode = "untied"
    assert len(set(boxes.color[2::2])) == 4  # one layer, one colour per token
    w.token_unit = "characters"
    assert len(boxes.x) == 1 + 2 * 7  # "a b c d" has 7 characters
    assert w.strip.color.shape == (6, 8)


def test_unrolling_states_come_from_the_core():
    w = UnrollingWidget(text="x y")
    from rnn_widgets.core import token_vector
    x = torch.stack([token_vector(t, 4) for t in ["x", "y"]])
    np.testing.assert_allclose(w.strip.color.T, w._shared.trace(x).a.detach().numpy(), atol=1e-6)


def test_unrolling_untied_network_runs_out_of_layers_and_bad_text_is_a_message():
    w = UnrollingWidget(mode="untied", max_len=2, text="one two three")
    assert "only 2 layers" in w.summaries["diagram"].value
    w.text = "   "
    assert "empty" in w.error.value and len(w.diagram.boxes.x) == 5  # previous picture kept
    w.text = "back again"
    assert w.error.value == ""


def test_unrolling_counts_and_reach():
    w = UnrollingWidget(max_len=20)
    np.testing.assert_array_equal(w.count_lines.y[0][:3], [parameter_count(4, 6, n, tied=False) for n in (1, 2, 3)])
    r = reach_probability(20, 6.0)
    assert r[0] == pytest.approx(1.0) and np.all(np.diff(r) <= 1e-12) and r[-1] < 0.01
    np.testing.assert_allclose(w.reach_bars.y, r)
    assert tokenize("a  b\tc", "words") == ["a", "b", "c"]


def test_weight_sharing_bars_sum_to_autograd():
    w = WeightSharingWidget(seq_len=6, entry="0,4")
    y = np.concatenate([w.bars.y, w.sum_bars.y])  # six steps, then Σₖ and autograd beside them
    assert len(y) == 6 + 2
    assert y[:6].sum() == pytest.approx(y[6], abs=1e-12) == pytest.approx(y[7], abs=1e-12)
    assert "equal up to rounding" in w.equation.value
    # the untied network's W^(k) gets exactly step k's bar
    np.testing.assert_allclose(w.untied_marks.y, y[:6], atol=1e-12)


def test_weight_scale_makes_early_contributions_fade():
    small, _ = weight_sharing_gradients(20, 0.3, "last")
    norms = small.contributions["W"].flatten(1).norm(dim=1)
    assert norms[0] < 1e-6 * norms[-1]
    w = WeightSharingWidget(seq_len=20, weight_scale=0.3)
    assert w.bars.y[0] < 1e-6 * w.bars.y[19]


def test_weight_sharing_heat_maps():
    w = WeightSharingWidget(seq_len=5, step=3)
    shared, _ = weight_sharing_gradients(5, w.weight_scale, "last")
    np.testing.assert_allclose(w.step_map.color[:, :-1], shared.contributions["W"][2].numpy())
    np.testing.assert_allclose(w.total_map.color[:, :-1], shared.total["W"].numpy())
    # b beside W: the last column is dℓ/db, and its per-step contributions add up to it too (Remark 1.1)
    np.testing.assert_allclose(w.total_map.color[:, -1], shared.total["b"].numpy())
    np.testing.assert_allclose(shared.contributions["b"].sum(0).numpy(), shared.total["b"].numpy(), atol=1e-12)


@pytest.mark.parametrize("topology", ["one-to-one", "one-to-many", "many-to-one", "many-to-many (encoder-decoder)",
                                      "many-to-many (synced)"])
def test_topologies_solve_their_tasks(topology):
    right = total = 0
    for seed in range(20):
        ex = run_topology(topology, 6, 5, seed)
        right, total = right + sum(ex.correct), total + len(ex.correct)
    assert right / total > 0.9


def test_topologies_diagram_places_inputs_and_outputs():
    w = TopologiesWidget(topology="many-to-one", input_len=4)
    ys = np.asarray(w.diagram.boxes.y)
    assert (ys == 0).sum() == 4 and (ys == 2).sum() == 1 and (ys == 3).sum() == 1
    w.topology = "many-to-many (synced)"
    ys = np.asarray(w.diagram.boxes.y)
    assert (ys == 0).sum() == 4 and (ys == 2).sum() == 4
    w.topology = "one-to-many"
    w.output_len = 6
    ys = np.asarray(w.diagram.boxes.y)
    assert (ys == 0).sum() == 1 and (ys == 2).sum() == 6
    assert w.controls["input_len"].disabled and not w.controls["output_len"].disabled


def test_unrolling_length_slider_replaces_the_text():
    w = UnrollingWidget(token_unit="length", length=11)
    assert len(w.diagram.boxes.x) == 1 + 2 * 11
    assert w.controls["text"].disabled and not w.controls["length"].disabled
    w.length = 3
    assert len(w.diagram.boxes.x) == 1 + 2 * 3 and w.strip.color.shape == (6, 4)
    w.token_unit = "words"
    assert w.controls["length"].disabled


@pytest.mark.parametrize("make", [lambda: UnrollingWidget(text="hello"), lambda: UnrollingWidget(mode="untied", max_len=1),
                                  lambda: UnrollingWidget(token_unit="length", length=1)])
def test_a_single_token_draws(make):
    w = make()  # bqplot squeezes a one-column colour array: the heat maps must still draw it
    assert w.error.value == "" and w.strip.color.shape[0] == 6 and w.x_map.color.shape[0] == 4


def drawn_label_boxes(diagram):
    """Every text an UnrolledDiagram shows and its box (left, top, right, bottom), px from the plot's top left,
    recomputed from the marks as the browser draws them (bqplot centres a Label's text on its y)."""
    from rnn_widgets.widgets.charts import LABEL_HALF_HEIGHT, text_px
    px, py = diagram._px_per_unit()
    found = []
    for mark in diagram.labels.values():
        for x, y, text in zip(np.asarray(mark.x), np.asarray(mark.y), mark.text):
            if not text:
                continue
            ax = (x - diagram.sx.min) * px + mark.x_offset
            ay = (diagram.sy.max - y) * py + mark.y_offset
            w = text_px(text)
            left = {"middle": ax - w / 2, "start": ax, "end": ax - w}[mark.align]
            found.append((text, np.array([left, ay - LABEL_HALF_HEIGHT, left + w, ay + LABEL_HALF_HEIGHT])))
    return found


def drawn_edges(diagram):
    px, py = diagram._px_per_unit()
    x, y = np.asarray(diagram.edges.x, dtype=float), np.asarray(diagram.edges.y, dtype=float)
    return np.stack([(x[:, 0] - diagram.sx.min) * px, (diagram.sy.max - y[:, 0]) * py,
                     (x[:, 1] - diagram.sx.min) * px, (diagram.sy.max - y[:, 1]) * py], axis=1)


@pytest.mark.parametrize("make", [
    lambda: TopologiesWidget(topology="many-to-many (encoder-decoder)", input_len=16),
    lambda: TopologiesWidget(topology="many-to-many (synced)", input_len=16),
    lambda: TopologiesWidget(topology="one-to-many", output_len=16),
    lambda: TopologiesWidget(topology="many-to-one", input_len=16),
    lambda: TopologiesWidget(),
    lambda: UnrollingWidget(),
    lambda: UnrollingWidget(text="recurrent networks read text", token_unit="characters", step=28, mode="untied",
                            max_len=50),
])
def test_unrolled_diagram_texts_are_clear_of_every_edge(make):
    """No line runs through a text (the browser audit checks the same on the class rnn-no-crossing), and no
    text had to be left out in the widgets' default and extreme states."""
    from rnn_widgets.widgets.charts import _crossings
    diagram = make().diagram
    assert "rnn-no-crossing" in diagram.fig._dom_classes
    assert diagram.left_out == []
    labels = drawn_label_boxes(diagram)
    assert labels
    crossed = _crossings(np.array([box for _, box in labels]), drawn_edges(diagram))
    assert [text for (text, _), n in zip(labels, crossed) if n] == []


def test_encoder_decoder_outputs_sit_on_their_cut_edges():
    """16 steps leave no room beside the decoder's ŷ boxes: each ŷ text sits on its own edge up to ℓ, cut
    around it; the title says nothing was left out."""
    w = TopologiesWidget(topology="many-to-many (encoder-decoder)", input_len=16)
    shown = [text for text, _ in drawn_label_boxes(w.diagram) if text.startswith("ŷ")]
    assert len(shown) >= 8
    assert len(w.diagram.edges.x) > len(w.diagram.arrows.x)  # some edges drawn in two pieces
    assert "not drawn" not in w.diagram.fig.title
