"""§1.2: "the later layers get trained very rarely, so it's hard to generalise to longer sequences", measured
(core.tied_untied, shipped in data/tied_untied.json and drawn under WeightSharingWidget)."""
import html

import pytest
import torch

from rnn_widgets import WeightSharingWidget
from rnn_widgets.core.tied_untied import (
    SumSign,
    draw_length,
    load_tied_untied,
    run_experiment,
    summary,
)
from rnn_widgets.core.untied import UntiedRNN
from rnn_widgets.widgets.numbers import fmt


@pytest.fixture(scope="module")
def small():
    return run_experiment(steps=150, batch=16, hidden=8, max_len=12, test_batch=200, seed=3)


def test_a_small_rerun_has_the_shape_and_the_update_counts_follow_the_lengths(small):
    L = 12
    assert small["lengths"] == list(range(1, L + 1))
    for key in ("batches_of_length", "untied_updates", "accuracy_tied", "accuracy_untied"):
        assert len(small[key]) == L, key
    assert sum(small["batches_of_length"]) == 150
    # layer l is updated exactly by the batches at least l long: updates = the tail sums of the length counts
    tails = [sum(small["batches_of_length"][l:]) for l in range(L)]
    assert small["untied_updates"] == tails
    assert small["untied_updates"][0] == 150 and small["untied_updates"][-1] < 10  # the last layer: rarely
    assert all(a >= b for a, b in zip(small["untied_updates"], small["untied_updates"][1:]))
    assert all(0.0 <= a <= 1.0 for a in small["accuracy_tied"] + small["accuracy_untied"])


def test_the_same_seed_gives_the_same_run():
    a = run_experiment(steps=20, batch=4, hidden=4, max_len=8, test_batch=20, seed=5)
    b = run_experiment(steps=20, batch=4, hidden=4, max_len=8, test_batch=20, seed=5)
    assert a == b


def test_a_layer_that_got_no_gradient_did_not_move():
    net = SumSign(UntiedRNN(1, 4, 6))
    before = net.cell.W.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    x = torch.rand(3, 5, 1)
    torch.nn.functional.binary_cross_entropy_with_logits(net(x), torch.ones(5)).backward()
    opt.step()
    assert torch.equal(net.cell.W[3:], before[3:]) and not torch.equal(net.cell.W[:3], before[:3])


def test_lengths_are_drawn_around_the_mean_and_clipped():
    g = torch.Generator().manual_seed(0)
    drawn = [draw_length(g, 6.0, 2.0, 16) for _ in range(2000)]
    assert min(drawn) >= 1 and max(drawn) <= 16 and abs(sum(drawn) / len(drawn) - 6.0) < 0.2


def test_the_shipped_run_shows_what_the_notes_claim():
    r = load_tied_untied()
    n = summary(r)
    assert r["settings"]["mean_len"] == 6.0 and r["settings"]["max_len"] == 16 and r["settings"]["seed"] == 0
    assert r["untied_updates"] == [sum(r["batches_of_length"][l:]) for l in range(16)]
    # late layers: few or no updates; the first ones: every batch
    assert r["untied_updates"][0] == r["settings"]["steps"] and n["zero_layers"] >= 3
    # short inputs: both learned the task; past the training lengths only the tied RNN still does
    assert n["tied_short"] > 0.9 and n["untied_short"] > 0.9
    assert n["tied_long"] > 0.8 and n["untied_long"] < 0.7 and n["tied_long"] - n["untied_long"] > 0.2


def test_the_widget_draws_the_shipped_numbers_and_says_them():
    r, w = load_tied_untied(), WeightSharingWidget()
    n = summary(r)
    assert list(w.update_bars.y) == r["untied_updates"]
    assert w.length_lines.y.tolist() == [r["accuracy_tied"], r["accuracy_untied"]]
    updates, lengths = html.unescape(w.summaries["updates"].value), html.unescape(w.summaries["lengths"].value)
    assert f"Layer 1 of the untied network got {r['untied_updates'][0]} updates" in updates
    assert "layers 14–16 none" in updates
    assert f"the tied RNN is still right {fmt(100 * n['tied_long'], 3)}% of the time" in lengths
    assert f"the untied network {fmt(100 * n['untied_long'], 3)}%" in lengths
    w.weight_scale = 2.0  # the controls leave the shipped figure alone
    assert list(w.update_bars.y) == r["untied_updates"]
    w.close()


def test_the_accuracy_legend_sits_under_the_lines():
    from rnn_widgets.widgets.charts.figure import plot_size
    from rnn_widgets.widgets.charts.legend import legend_boxes

    w = WeightSharingWidget()
    boxes = legend_boxes(w.length_fig)  # under the x axis, outside the plot area (issue 24, item 2)
    assert [text for text, _ in boxes] == ["tied, one W (§1.3)", "untied (§1.2)"]
    assert all(top > plot_size(w.length_fig)[1] for _, (_, top, _, _) in boxes)
    assert w.length_fig.axes[1].tick_values.tolist() == [0.0, 0.5, 1.0]
    w.close()
