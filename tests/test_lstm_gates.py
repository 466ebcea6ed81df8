"""§2 and Remark 2.1: the gate maps are the core's trace, the bias knobs move the gates, c is a skip path."""
import numpy as np
import pytest
import torch

from rnn_widgets import LSTMGatesWidget
from rnn_widgets.core import load_char_model
from rnn_widgets.core.memory import remember_inputs, remember_lstm
from rnn_widgets.widgets.lstm_gates import gates_run


def test_maps_show_the_core_trace():
    w = LSTMGatesWidget(length=12)
    tr = remember_lstm().trace(remember_inputs(12))
    np.testing.assert_allclose(w.maps[0][1].color, tr.f.detach().numpy().T, atol=1e-6)  # f: units × steps
    np.testing.assert_allclose(w.maps[4][1].color, tr.c[1:].detach().numpy().T, atol=1e-6)  # c^(l+1)
    assert w.maps[0][0].title == "forget gate f"


@pytest.mark.parametrize("knob, key", [("forget_bias", "f"), ("input_bias", "input_gate"), ("output_bias", "o")])
def test_bias_knobs_push_their_gate(knob, key):
    low, high = LSTMGatesWidget(**{knob: -4.0}), LSTMGatesWidget(**{knob: 4.0})
    slot = {"f": 0, "input_gate": 1, "o": 3}[key]
    assert (low.maps[slot][1].color < high.maps[slot][1].color).all()


def test_forget_gate_keeps_or_forgets_the_memory():
    keep = gates_run("remember", "", 30, "lstm", 3.0, 0.0, 0.0)[0]
    forget = gates_run("remember", "", 30, "lstm", -6.0, 0.0, 0.0)[0]
    assert keep.c[-1, 0] > 0.8 * keep.c[1, 0]  # the first input is still there after 30 steps
    assert abs(forget.c[-1, 0]) < 0.05 * abs(forget.c[1, 0])


def test_gradient_plot_is_autograd_and_the_cell_state_beats_the_plain_rnn():
    w = LSTMGatesWidget(length=40)
    lstm = remember_lstm()
    x = remember_inputs(40)
    c0 = torch.zeros(8, requires_grad=True)
    tr = lstm.trace(x, (c0, torch.zeros(8)))
    (g,) = torch.autograd.grad(tr.h[-1, 0], c0)
    assert w.grad_lines.y[0][0] == pytest.approx(g.norm().item(), rel=1e-5)
    assert w.grad_lines.y[0][0] > 1e3 * w.grad_lines.y[1][0]


def test_gru_toggle_shows_its_gates_and_no_output_gate():
    w = LSTMGatesWidget(cell="gru")
    assert w.maps[0][0].title.startswith("update gate z") and w.maps[1][0].title.startswith("reset gate r")
    assert w.figures["map3"].layout.display == "none"
    assert w.controls["output_bias"].disabled
    assert "no output gate" in w.equation.value


def test_text_source_uses_the_char_model_and_bad_text_is_a_message():
    w = LSTMGatesWidget(source="text", text="To be, or not to be")
    tr = gates_run("text", "To be, or not to be", 30, "lstm", 0.0, 0.0, 0.0)[0]
    assert tr.h.shape == (20, 128) and w.maps[0][1].color.shape == (16, 19)
    w.text = "digits 123"
    assert "does not know" in w.error.value and "'1'" in w.error.value.replace("&#x27;", "'")
    w.text = ""
    assert "empty" in w.error.value
    w.text = "Hark"
    assert w.error.value == ""
    assert load_char_model("small_gru").cell == "gru"
