"""examples/06_lstm_gates.ipynb's questions: each truth recomputed with torch.nn.LSTM / GRU / RNN loaded with the
same weights (the hand-built memory LSTM of core/memory.py, the shipped small models) and autograd, stepping one
character at a time so that each state is a tensor of its own: the gradient of ℓ with respect to c⁽ᵏ⁾ as the
next step reads it is the part straight along c (h⁽ᵏ⁾, computed from c⁽ᵏ⁾ inside the step before, is held)."""
import math
from pathlib import Path

import torch
from test_questions_generation import torch_lstm
from torch import nn

from rnn_widgets.core import RNN, load_char_model, seeded
from rnn_widgets.core.memory import remember_inputs, remember_lstm

HELD_OUT = Path(__file__).resolve().parent / "data" / "tinyshakespeare_held_out.txt"
HAMLET = "To be, or not to be, that is the question:"  # LSTMGatesWidget's default text


def remember(forget=0.0, length=30):
    """The hand-built LSTM with the forget-gate offset as nn.LSTM, its input, and its plain twin: (lstm, x)."""
    layer = remember_lstm()
    with torch.no_grad():
        layer.b[: layer.hidden_size] += forget  # the lecture's order: f first
    return torch_lstm([layer]), remember_inputs(length)


def gates(m: nn.LSTM, x, h):
    """PyTorch's (input gate, f, candidate, o) of one step, from the nn.LSTM's own weights."""
    z = x @ m.weight_ih_l0.T + m.bias_ih_l0 + h @ m.weight_hh_l0.T + m.bias_hh_l0
    i, f, g, o = z.chunk(4, -1)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def stepped(m, x, cell="lstm"):
    """Run ``m`` one step at a time: the states h⁽⁰⁾ … h⁽ᵀ⁾ (and c⁽⁰⁾ … c⁽ᵀ⁾), each a tensor autograd can reach."""
    H = m.hidden_size
    h = [torch.zeros(1, 1, H, requires_grad=True)]
    c = [torch.zeros(1, 1, H, requires_grad=True)]
    for t in range(x.shape[0]):
        if cell == "lstm":
            _, (h_next, c_next) = m(x[t:t + 1].unsqueeze(1), (h[-1], c[-1]))
            c.append(c_next)
        else:
            _, h_next = m(x[t:t + 1].unsqueeze(1), h[-1])
        h.append(h_next)
    return h, c


def forget_gate():
    m, x = remember(forget=-6.0)
    with torch.no_grad():
        _, f, _, _ = gates(m, x[0], torch.zeros(8))
    h, c = stepped(m, x)
    (grad,) = torch.autograd.grad(h[-1][0, 0, 0], c[0])  # ℓ = unit 0 of h after the last step
    return 100 * float(f[0]), float(grad.double().norm())


def _rnn_flow_at_0():
    """The untrained random tanh RNN (seed 0) on the same input, as nn.RNN: ‖dℓ/da⁽⁰⁾‖, ℓ = unit 0 of a⁽ᵀ⁾."""
    core = seeded(0, lambda: RNN(2, 8))
    m = nn.RNN(2, 8)
    with torch.no_grad():
        m.weight_hh_l0.copy_(core.W[:, :8])
        m.weight_ih_l0.copy_(core.W[:, 8:])
        m.bias_ih_l0.copy_(core.b)
        m.bias_hh_l0.zero_()
    h, _ = stepped(m, remember_inputs(30), cell="rnn")
    (grad,) = torch.autograd.grad(h[-1][0, 0, 0], h[0])
    return float(grad.double().norm())


def against_plain_rnn():
    m, x = remember()
    h, c = stepped(m, x)
    (grad,) = torch.autograd.grad(h[-1][0, 0, 0], c[0])
    lstm, rnn = float(grad.double().norm()), _rnn_flow_at_0()
    assert f"{lstm:.3g}" == "0.372" and f"{rnn:.3g}" == "1.11e-06"  # the numbers the answer quotes
    return ("the LSTM's ‖dℓ/dc⁽⁰⁾‖" if lstm > rnn else "the plain RNN's ‖dℓ/da⁽⁰⁾‖"), math.log10(lstm / rnn)


def _held_out_nats(cell):
    """Held-out cross-entropy as the cards measure it: the text in 16 contiguous streams, state carried."""
    model = load_char_model(cell, device="cpu")
    ids = torch.tensor([model.vocab.chars.index(ch) for ch in HELD_OUT.read_text(encoding="utf-8")])
    n = (ids.numel() - 1) // 16
    inputs, targets = ids[: n * 16].reshape(16, n).T, ids[1: n * 16 + 1].reshape(16, n).T
    if cell == "lstm":
        m = torch_lstm(list(model.layers))
    else:
        layer, m = model.layers[0], nn.GRU(32, 128)
        with torch.no_grad():  # the core's GRU keeps PyTorch's [r; z; n] order
            for mine, theirs in zip((layer.Wx, layer.Wh, layer.bx, layer.bh),
                                    (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)):
                theirs.copy_(mine)
    with torch.no_grad():
        out, _ = m(model.embed.weight[inputs])
        logits = out @ model.readout.weight.T + model.readout.bias
        loss = float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)))
    assert abs(loss - model.card["held_out_nats_per_char"]) < 0.01  # what the widget's sentence quotes
    return loss


def output_gate():
    gru, lstm = _held_out_nats("gru"), _held_out_nats("lstm")
    if gru > lstm + 0.05:
        return "worse (more than 0.05 nats/char above the LSTM)"
    if gru < lstm - 0.05:
        return "better (more than 0.05 nats/char below the LSTM)"
    return "about as well (within 0.05 nats/char)"


def _text_run(text=HAMLET):
    """The small LSTM reading the text but its last character, stepped; ℓ = −log p(last character)."""
    model = load_char_model("lstm", device="cpu")
    ids = torch.tensor([model.vocab.chars.index(ch) for ch in text])
    x = model.embed.weight.detach()[ids]
    m = torch_lstm(list(model.layers))
    h, c = stepped(m, x[:-1])
    logits = h[-1][0, 0] @ model.readout.weight.detach().T + model.readout.bias.detach()
    loss = -torch.log_softmax(logits, -1)[ids[-1]]
    with torch.no_grad():
        out, _ = m(x.unsqueeze(1))  # every step's h, for the units the maps draw
    return m, x, h, c, loss, out[:, 0]


def gradient_split():
    from rnn_widgets.questions.lstm_gates import ALONG, THROUGH

    m, x, h, c, loss, hs = _text_run()
    l = 30
    unit = int(min(torch.argsort(hs.std(0), descending=True)[:16].tolist()))  # Row 0 of the 16 drawn (sorted)
    grads = torch.autograd.grad(loss, [c[l + 1], h[l + 1]])
    along_c, dh = (g[0, 0].double() for g in grads)  # ∂ℓ/∂c⁽ˡ⁺¹⁾ with h held, dℓ/dh⁽ˡ⁺¹⁾
    with torch.no_grad():
        _, _, _, o = gates(m, x[l], h[l][0, 0])
    through_h = float(dh[unit]) * float(o[unit]) * (1 - math.tanh(float(c[l + 1][0, 0, unit].detach())) ** 2)
    assert f"{float(along_c[unit] + through_h):.3g}" == "-0.00178"  # the numbers the answer quotes
    assert f"{float(along_c.norm()):.3g}" == "0.178" and f"{float(dh.norm()):.2g}" == "0.094"
    larger = ALONG if abs(float(along_c[unit])) > abs(through_h) else THROUGH
    return larger, float(torch.cat([along_c, dh]).norm())


def real_text():
    from rnn_widgets.questions.lstm_gates import CARRIES

    _, _, _, c, loss, _ = _text_run()
    (grad_c,) = torch.autograd.grad(loss, c[0])
    rnn_model = load_char_model("rnn", device="cpu")
    core = rnn_model.layers[0]
    m = nn.RNN(32, 128)
    with torch.no_grad():
        m.weight_hh_l0.copy_(core.W[:, :128])
        m.weight_ih_l0.copy_(core.W[:, 128:])
        m.bias_ih_l0.copy_(core.b)
        m.bias_hh_l0.zero_()
    ids = torch.tensor([rnn_model.vocab.chars.index(ch) for ch in HAMLET])
    h, _ = stepped(m, rnn_model.embed.weight.detach()[ids][:-1], cell="rnn")
    logits = h[-1][0, 0] @ rnn_model.readout.weight.detach().T + rnn_model.readout.bias.detach()
    (grad_a,) = torch.autograd.grad(-torch.log_softmax(logits, -1)[ids[-1]], h[0])
    lstm, rnn = float(grad_c.double().norm()), float(grad_a.double().norm())
    assert f"{lstm:.2g}" == "0.23" and f"{rnn:.3g}" == "3.07e-06"  # the numbers the answer quotes
    decades = math.log10(lstm / rnn)
    return (CARRIES[1] if decades > 1 else CARRIES[0]), decades


TRUTHS = {1: forget_gate, 2: against_plain_rnn, 3: output_gate, 4: gradient_split, 5: real_text}
