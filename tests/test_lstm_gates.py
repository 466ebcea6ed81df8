"""§2 and Remark 2.1: the gate maps are the core's trace, the bias knobs move the gates, c is a skip path."""
import html
import math

import ipywidgets
import numpy as np
import pytest
import torch
import traitlets

from rnn_widgets import LSTMGatesWidget
from rnn_widgets.core import LSTM, load_char_model
from rnn_widgets.core.jacobians import backward_states
from rnn_widgets.core.memory import remember_gru, remember_inputs, remember_lstm
from rnn_widgets.widgets.lstm_gates import gates_run, small_char_model
from rnn_widgets.widgets.numbers import fmt

HAMLET = "To be, or not to be, that is the question:"


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
    keep = gates_run("remember", "", 30, "lstm", 3.0, 0.0, 0.0).trace
    forget = gates_run("remember", "", 30, "lstm", -6.0, 0.0, 0.0).trace
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
    tr = gates_run("text", "To be, or not to be", 30, "lstm", 0.0, 0.0, 0.0).trace
    assert tr.h.shape == (20, 128) and w.maps[0][1].color.shape == (16, 19)
    w.text = "digits 123"
    assert "does not know" in w.error.value and "'1'" in w.error.value.replace("&#x27;", "'")
    w.text = ""
    assert "empty" in w.error.value
    w.text = "H"
    assert "at least two characters" in w.error.value
    w.text = "Hark"
    assert w.error.value == ""
    assert load_char_model("small_gru").cell == "gru"


# ---------------------------------------------------------------------- part 4: the cell drawn as colah draws it
def drawn_value(tr, key: str, l: int, unit: int) -> float:
    """What a part of the drawing with this key must show: the trace's value at step l for the unit."""
    if key in ("c+1", "h+1"):  # c^(l+1), h^(l+1)
        return float(tr[key[0]][l + 1, unit])
    products = {"tanh c+1": lambda: math.tanh(float(tr.c[l + 1, unit])),"c*f": lambda: tr.c[l, unit] * tr.f[l, unit], "z*h": lambda: tr.z[l, unit] * tr.h[l, unit],
                "1-z": lambda: 1 - tr.z[l, unit], "(1-z)*n": lambda: (1 - tr.z[l, unit]) * tr.n[l, unit]}
    if key in products:
        return float(products[key]())
    return float(tr[key][l, unit])


@pytest.mark.parametrize("settings", [
    {"step": 4},
    {"cell": "gru", "step": 3},
    {"source": "text", "text": HAMLET, "step": 7, "unit": 3},
    {"source": "text", "text": HAMLET, "cell": "gru", "step": 12},
    {"forget_bias": 6.0, "input_bias": -6.0, "output_bias": 6.0, "step": 9},
    {"forget_bias": -6.0, "input_bias": 6.0, "output_bias": -6.0, "cell": "gru", "step": 29},
])
def test_the_drawn_cell_has_its_operators_and_the_traces_numbers(settings):
    w = LSTMGatesWidget(**settings)
    assert w.error.value == ""
    run = w._compute()
    tr, l = run.trace, w.step
    unit = int(w.cell_diagram.fig.title.split("unit ")[1].split()[0].rstrip(","))
    parts = w.cell_diagram.parts
    ops = [p.text for p in parts if p.kind == "op"]
    boxes = [p.text.split("\n")[0] for p in parts if p.kind == "box"]
    if w.cell == "lstm":  # ⊙ f and + i on the c line, ⊙ of the input gate and candidate, tanh and ⊙ o on the h side
        assert sorted(ops) == sorted(["⊙", "+", "⊙", "tanh", "⊙"]) and sorted(boxes) == ["tanh", "σ", "σ", "σ"]
    else:  # ⊙ z and + on the h line, 1 − z, (1 − z) ⊙ n and r ⊙ (W h + b)
        assert sorted(ops) == sorted(["⊙", "+", "1−", "⊙", "⊙"]) and sorted(boxes) == ["tanh", "σ", "σ"]
    shown = [p for p in parts if p.key and p.key != "r*hn"]
    assert len(shown) >= (10 if w.cell == "lstm" else 8)
    for p in shown:
        expected = drawn_value(tr, p.key, l, unit)
        assert p.value == pytest.approx(expected, rel=1e-6, abs=1e-9), p.key
        assert f"= {fmt(expected)}" in (p.text + p.label), p.key
    # every outside label clear of every edge, shape and other label (a browser test measures the drawn page)
    assert w.cell_diagram.collisions == 0
    arrows = w.cell_diagram.arrows
    assert arrows.visible and len(arrows.x) >= 12


def test_each_gru_knob_moves_the_gate_it_names():
    low = LSTMGatesWidget(cell="gru", forget_bias=-3.0)
    high = LSTMGatesWidget(cell="gru", forget_bias=3.0)
    assert high.controls["forget_bias"].description.startswith("Update-gate (z)")
    assert high.controls["input_bias"].description.startswith("Reset-gate (r)")
    assert high.maps[0][0].title.startswith("update gate z") and high.maps[1][0].title.startswith("reset gate r")
    z_low, z_high = low.maps[0][1].color, high.maps[0][1].color
    assert (z_low < z_high).all()
    # at step 0 (h^(0) = 0) the update-gate knob leaves r alone: it moves z and nothing else
    np.testing.assert_allclose(low.maps[1][1].color[:, 0], high.maps[1][1].color[:, 0], atol=1e-7)
    low_r, high_r = LSTMGatesWidget(cell="gru", input_bias=-3.0), LSTMGatesWidget(cell="gru", input_bias=3.0)
    assert (low_r.maps[1][1].color < high_r.maps[1][1].color).all()
    np.testing.assert_allclose(low_r.maps[0][1].color[:, 0], high_r.maps[0][1].color[:, 0], atol=1e-7)
    # the knobs' offsets are where the core's GRU keeps z and r: bx = [r; z; n]
    base = remember_gru()
    tr = gates_run("remember", "", 30, "gru", 2.0, -1.0, 0.0).trace
    H = base.hidden_size
    x = remember_inputs(30)
    np.testing.assert_allclose(tr.z[0], torch.sigmoid(x[0] @ base.Wx[H:2 * H].T + base.bx[H:2 * H] + base.bh[H:2 * H]
                                                      + 2.0).detach(), atol=1e-6)
    np.testing.assert_allclose(tr.r[0], torch.sigmoid(x[0] @ base.Wx[:H].T + base.bx[:H] + base.bh[:H] - 1.0).detach(),
                               atol=1e-6)


def test_the_gru_has_its_own_sentence():
    lstm, gru = LSTMGatesWidget(), LSTMGatesWidget(cell="gru")
    assert "update gate z" in gru.cell_note.value and "reset gate r" in gru.cell_note.value
    assert "forget" not in gru.cell_note.value and "c runs straight along the top" in lstm.cell_note.value
    assert "the update gate keeps" in gru.summaries["cell"].value


def lstm_with_offsets(forget=0.0, input_=0.0, output=0.0):
    model = remember_lstm()
    H = model.hidden_size
    with torch.no_grad():
        model.b[:H] += forget
        model.b[H:2 * H] += input_
        model.b[3 * H:] += output
    return model


@pytest.mark.parametrize("step, forget", [(0, 0.0), (5, 0.0), (17, -2.0), (29, 1.0)])
def test_the_gradient_split_adds_up_to_the_cores_gradient(step, forget):
    w = LSTMGatesWidget(step=step, forget_bias=forget, unit=0)
    model = lstm_with_offsets(forget)
    x = remember_inputs(30)
    u = torch.zeros(8)
    u[0] = 1.0
    states, _ = backward_states(model, x.unsqueeze(1), u)
    with torch.no_grad():
        tr = model.trace(x)
    split, l = w.split, step
    assert split["total"] == pytest.approx(float(states["c"][l + 1, 0, 0]), rel=1e-5, abs=1e-12)
    assert split["direct"] + split["through_h"] == pytest.approx(split["total"], rel=1e-4, abs=1e-12)
    direct = float(states["c"][l + 2, 0, 0] * tr.f[l + 1, 0]) if l + 2 <= 30 else 0.0
    assert split["direct"] == pytest.approx(direct, rel=1e-5, abs=1e-12)
    slope = 1 - torch.tanh(tr.c[l + 1, 0]) ** 2
    assert split["through_h"] == pytest.approx(float(states["h"][l + 1, 0, 0] * tr.o[l, 0] * slope), rel=1e-5, abs=1e-12)
    equation = html.unescape(w.equation.value)
    assert f"= {fmt(split['total'])}" in equation and "dℓ/dc<sup>" in equation
    assert fmt(split["total"]) in w.summaries["cell"].value


def test_the_gradient_split_in_text_mode_and_past_the_loss():
    w = LSTMGatesWidget(source="text", text=HAMLET, step=10, unit=2)
    assert w.split["direct"] + w.split["through_h"] == pytest.approx(w.split["total"], rel=1e-4, abs=1e-12)
    w.step = len(HAMLET) - 1  # the last character is ℓ's target: nothing read there reaches ℓ
    assert not w.split["reaches"] and "does not reach ℓ" in w.summaries["cell"].value


# ---------------------------------------------------------------------- part 5: the plain RNN the cell is compared with
def cross_entropy_gradient(layer, char_model, text: str) -> tuple[float, float]:
    """Autograd's ‖dℓ/d(state^(0))‖ and ℓ, for ℓ = −log p(last character | the ones before it)."""
    ids = char_model.encode(text)
    x = char_model.embed(ids[:-1]).detach()
    H = layer.hidden_size
    init = [torch.zeros(H, requires_grad=True) for _ in layer.state_names]
    tr = layer.trace(x, init[0] if len(init) == 1 else tuple(init))
    loss = torch.nn.functional.cross_entropy(char_model.readout(tr[layer.output_name][-1]), ids[-1])
    grads = torch.autograd.grad(loss, init)  # the first state: a^(0) of the RNN, c^(0) of the LSTM
    return float(grads[0].norm()), float(loss.detach())


def test_text_mode_compares_with_the_trained_rnn_under_the_same_loss():
    w = LSTMGatesWidget(source="text", text=HAMLET)
    rnn = load_char_model("small_rnn")
    assert rnn.cell == "rnn" and rnn.num_layers == 1
    norm, loss = cross_entropy_gradient(rnn.layers[0], rnn, HAMLET)
    assert w.grad_lines.y[1][0] == pytest.approx(norm, rel=1e-4)
    lstm = load_char_model("small_lstm")
    lstm_norm, lstm_loss = cross_entropy_gradient(lstm.layers[0], lstm, HAMLET)  # c^(0) comes first
    assert w.grad_lines.y[0][0] == pytest.approx(lstm_norm, rel=1e-4)
    assert len(w.grad_lines.x) == len(HAMLET)  # states 0 … T − 1 feed the prediction of the last character
    assert "trained tanh RNN" in w.grad_lines.labels[1]
    summary = html.unescape(w.summaries["gradients"].value)
    assert "untrained" not in summary and "untrained" not in w.grad_lines.labels[1]
    assert f"{fmt(lstm_loss)} nats for the LSTM, {fmt(loss)} for the trained one-layer tanh RNN" in summary
    same = lstm.card["training"].rsplit(",", 1)[0] == rnn.card["training"].rsplit(",", 1)[0]
    assert ("same protocol" in summary) == same
    assert f"‖dℓ/da⁽⁰⁾‖ is {fmt(norm)}" in summary
    w.cell = "gru"  # the same trained RNN beside the GRU
    assert w.grad_lines.y[1][0] == pytest.approx(norm, rel=1e-4)


def test_remember_mode_says_its_rnn_is_untrained():
    w = LSTMGatesWidget()
    assert w.grad_lines.labels[1].startswith("untrained random RNN")
    assert "untrained random tanh RNN" in w.summaries["gradients"].value


def test_the_gru_remark_says_same_recipe_only_when_the_model_cards_agree():
    summary = html.unescape(LSTMGatesWidget(cell="gru").summaries["cell"].value)
    cards = [load_char_model(f"small_{c}").card for c in ("lstm", "gru")]
    same = len({card["training"].rsplit(",", 1)[0] for card in cards}) == 1
    assert ("same-recipe" in summary) == same
    assert all(fmt(card["held_out_nats_per_char"]) in summary for card in cards)


# ---------------------------------------------------------------------- §2: "a nonlinearity (doesn't matter which one)"
@pytest.mark.parametrize("phi", ["tanh", "relu", "identity", "sigmoid"])
def test_the_candidate_nonlinearity_is_the_cores_and_the_memory_holds(phi):
    w = LSTMGatesWidget(candidate=phi, length=30)
    assert w.error.value == ""
    with torch.no_grad():
        tr = remember_lstm(phi).trace(remember_inputs(30))
    np.testing.assert_allclose(w.maps[2][1].color, tr.candidate.detach().numpy().T, atol=1e-6)
    np.testing.assert_allclose(w.maps[4][1].color, tr.c[1:].detach().numpy().T, atol=1e-6)
    name = {"tanh": "tanh", "relu": "ReLU", "identity": "identity", "sigmoid": "σ"}[phi]
    assert w.maps[2][0].title == f"candidate ({name})"
    assert name in [p.text.split("\n")[0] for p in w.cell_diagram.parts if p.kind == "box"]
    # the memory unit keeps the same share of what it wrote, whichever φ wrote it (59 % ± 3.2 points at 30 steps)
    first, last = float(tr.c[1, 0]), float(tr.c[-1, 0])
    summary = html.unescape(w.summaries["map4"].value)
    assert f"writes c⁽¹⁾ = {fmt(first)} and holds c⁽30⁾ = {fmt(last)}" in summary
    assert f"{fmt(100 * last / first, 3)}% of it" in summary
    assert 0.58 < last / first < 0.63
    shares = [float(m.c[-1, 0].detach() / m.c[1, 0].detach()) for m in
              (remember_lstm(p).trace(remember_inputs(30)) for p in ("tanh", "relu", "identity", "sigmoid"))]
    assert max(shares) - min(shares) < 0.05 and "differ by" not in summary
    # the colour key covers what an unbounded φ writes (ReLU, identity: 2.39 at step 0)
    top = w.maps[2][0].marks[0].scales["color"].max
    assert top >= float(tr.candidate.abs().max())


def test_the_candidate_control_applies_to_the_hand_built_lstm_only():
    w = LSTMGatesWidget()
    control = w.controls["candidate"]
    assert isinstance(control, ipywidgets.ToggleButtons) and control.description == "Candidate φ"
    assert [v for _, v in control.options] == ["tanh", "relu", "identity", "sigmoid"] and not control.disabled
    control.value = "identity"  # the control drives the trait, which recomputes through the core
    assert w.candidate == "identity" and w.maps[2][0].title == "candidate (identity)"
    w.source = "text"  # the trained models' candidate is tanh: shown as such, the control off
    assert control.disabled and w.maps[2][0].title == "candidate (tanh)" and "φ =" not in w.summaries["map4"].value
    w.source, w.cell = "remember", "gru"
    assert control.disabled
    with pytest.raises(traitlets.TraitError):
        w.candidate = "softmax"


def test_where_the_input_gate_stays_open_the_sentence_says_why_they_differ():
    w = LSTMGatesWidget(input_bias=6.0, length=30)
    summary = html.unescape(w.summaries["map4"].value)
    assert "differ by" in summary and "never negative (ReLU, σ)" in summary


@pytest.mark.parametrize("phi", ["relu", "identity", "sigmoid"])
def test_the_cores_lstm_backward_with_another_candidate_is_autograds(phi):
    model = remember_lstm(phi)
    with torch.no_grad():
        model.W[:, :8].normal_(0, 0.3)  # recurrence through h too, so every path is checked
    x = remember_inputs(20)
    c0, h0 = torch.zeros(8, requires_grad=True), torch.zeros(8, requires_grad=True)
    tr = model.trace(x, (c0, h0))
    u = torch.linspace(-1, 1, 8)
    gc, gh = torch.autograd.grad(tr.h[-1] @ u, [c0, h0])
    states, _ = backward_states(model, x.unsqueeze(1), u)
    np.testing.assert_allclose(states["c"][0, 0], gc, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(states["h"][0, 0], gh, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="candidate is tanh"):
        model.to_torch()
    with pytest.raises(ValueError, match="candidate must be one of"):
        LSTM(2, 3, candidate="softmax")


# ---------------------------------------------------------------------- §2: d_c = d_h, d_a = d_c + d_h
def autograd_state_gradient(model, x, l, loss_of_h):
    """dℓ/dc⁽ˡ⁺¹⁾ and dℓ/dh⁽ˡ⁺¹⁾ by autograd: the model run on from its state after step l, made a leaf."""
    with torch.no_grad():
        tr = model.trace(x)
    c1, h1 = (tr[k][l + 1].clone().requires_grad_(True) for k in ("c", "h"))
    last = h1 if l + 1 == x.shape[0] else model.trace(x[l + 1:], (c1, h1)).h[-1]  # ℓ may read h⁽ˡ⁺¹⁾ itself
    return torch.autograd.grad(loss_of_h(last), [c1, h1], allow_unused=True, materialize_grads=True)


@pytest.mark.parametrize("settings", [{"step": 3}, {"step": 29, "forget_bias": 2.0},
                                      {"step": 5, "candidate": "relu"},
                                      {"source": "text", "text": HAMLET, "step": 20}])
def test_the_split_of_a_into_c_and_h_with_the_steps_numbers_is_autograds(settings):
    w = LSTMGatesWidget(**settings)
    run, l = w._compute(), w.step
    equation = html.unescape(w.equation.value)
    if w.source == "text":
        cm = small_char_model("lstm")
        ids = cm.encode(HAMLET)
        with torch.no_grad():
            x = cm.embed(ids)[:-1]
        gc, gh = autograd_state_gradient(
            run.model, x, l, lambda h: torch.nn.functional.cross_entropy(cm.readout(h), ids[-1]))
        H = 128
    else:
        x = remember_inputs(w.length)
        gc, gh = autograd_state_gradient(run.model, x, l, lambda h: h[0])
        H = 8
    ga = torch.cat([gc, gh])
    assert f"d<sub>c</sub> = d<sub>h</sub> = {H}, d<sub>a</sub> = d<sub>c</sub> + d<sub>h</sub> = {H} + {H} = {2 * H}" \
        in equation
    assert (f"‖∂ℓ/∂a<sup>({l + 1})</sup>‖² = ‖∂ℓ/∂c<sup>({l + 1})</sup>‖² + ‖∂ℓ/∂h<sup>({l + 1})</sup>‖² = "
            f"{fmt(float(gc.norm()))}² + {fmt(float(gh.norm()))}² = {fmt(float(ga.norm()))}²") in equation
    if w.source == "text":
        assert float(gh.norm()) > 0 and float(gc.norm()) > 0  # on text both halves carry gradient
    # the c half is the part straight along c of the line above, for the drawn unit
    unit = int(w.cell_diagram.fig.title.split("unit ")[1].split()[0].rstrip(","))
    assert float(gc[unit]) == pytest.approx(w.split["direct"], rel=1e-4, abs=1e-9)


def test_past_the_loss_the_gradient_of_a_is_zero():
    w = LSTMGatesWidget(source="text", text=HAMLET, step=len(HAMLET) - 1)
    assert "= 0" in html.unescape(w.equation.value).split("d<sub>a</sub>")[-1]


@pytest.mark.parametrize("length, forget, input_, output", [(30, 0.0, 0.0, 0.0), (120, 0.0, 6.0, 0.0),
                                                             (7, -3.0, 2.5, 1.0)])
def test_the_lean_memory_comparison_is_the_cores_trace(length, forget, input_, output):
    from rnn_widgets.widgets.lstm_runs import memory_held
    for phi in ("tanh", "relu", "identity", "sigmoid"):
        tr = gates_run("remember", "", length, "lstm", forget, input_, output, phi).trace
        expected = (float(tr.c[1, 0]), float(tr.c[-1, 0]), float(tr.input_gate[1:, 0].mean()))
        assert memory_held(length, forget, input_, output, phi) == pytest.approx(expected, rel=1e-4, abs=1e-6)  # float32
