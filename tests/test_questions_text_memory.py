"""examples/07_text_memory.ipynb's questions: each truth recomputed from the shipped small models' weights: the
LSTM's states and gates by the lecture's equations in numpy (float64), the gradients by autograd through
torch.nn.RNN / LSTM / GRU in float64, the features and correlations with numpy."""
import math
import re

import numpy as np
import torch
from test_questions_generation import torch_lstm
from torch import nn

from rnn_widgets.core import load_char_model
from rnn_widgets.core.text_memory import DEFAULT_PASSAGE

T_DEFAULT = DEFAULT_PASSAGE.index("wedding-day") + len("wedding-d") - 1  # reading 'd', predicting 'a'
FAR = 142  # the distance plot reaches 142 characters back (two rows of the text map)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_states(text=DEFAULT_PASSAGE):
    """c, h after each character and f while reading it, ``(T, H)`` each: c' = c ⊙ f + g_in ⊙ tanh(g),
    h' = o ⊙ tanh(c'), one affine map W [h; x] + b = [f; g_in; g; o]."""
    model = load_char_model("lstm", device="cpu")
    layer = model.layers[0]
    W, b = layer.W.detach().double().numpy(), layer.b.detach().double().numpy()
    E = model.embed.weight.detach().double().numpy()
    H = layer.hidden_size
    h, c, cs, hs, fs = np.zeros(H), np.zeros(H), [], [], []
    for ch in text:
        z = W @ np.concatenate([h, E[model.vocab.chars.index(ch)]]) + b
        f, g_in, g, o = sigmoid(z[:H]), sigmoid(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sigmoid(z[3 * H:])
        c = c * f + g_in * g
        h = o * np.tanh(c)
        cs.append(c), hs.append(h), fs.append(f)
    return np.array(cs), np.array(hs), np.array(fs)


def best_unit(values, feature):
    r = np.array([np.corrcoef(values[:, k], feature)[0, 1] if values[:, k].std() > 0 else 0.0
                  for k in range(values.shape[1])])
    k = int(np.argmax(np.abs(r)))
    return k, float(r[k])


def position_in_line(text):
    out, pos = [], 0
    for ch in text:
        out.append(pos)
        pos = 0 if ch == "\n" else pos + 1
    return np.array(out, dtype=float)


def line_counter():
    from rnn_widgets.questions.text_memory import C_AGAINST_H, H_SQUASHED

    c, h, _ = lstm_states()
    unit, r = best_unit(c, position_in_line(DEFAULT_PASSAGE))
    most_c, most_h = np.abs(c[:, unit]).max(), np.abs(h[:, unit]).max()
    assert unit == 24 and f"{r:+.2f}" == "+0.85"  # what the answer quotes
    assert f"{most_c:.3g}" == "1.64" and f"{most_h:.3g}" == "0.928"
    return r, (H_SQUASHED if most_c > 1 > most_h else C_AGAINST_H[0])


def word_starts():
    _, h, _ = lstm_states()
    after_space = np.array([0.0] + [float(ch == " ") for ch in DEFAULT_PASSAGE[:-1]])
    unit, r = best_unit(h, after_space)
    assert unit == 84 and f"{r:+.2f}" == "+0.52"  # what the answer quotes
    return r


def input_gradients(cell, text=DEFAULT_PASSAGE, t=T_DEFAULT):
    """‖dℓ_t/dx[t − d]‖ for d = 0 … t, ℓ_t = −log p(character t + 1 | characters 0 … t), by autograd through the
    torch.nn module loaded with the small model's weights (float64)."""
    model = load_char_model(cell, device="cpu")
    layer = model.layers[0]
    H = layer.hidden_size
    if cell == "lstm":
        m = torch_lstm([layer])
    elif cell == "gru":
        m = nn.GRU(32, H)
        with torch.no_grad():
            for mine, theirs in zip((layer.Wx, layer.Wh, layer.bx, layer.bh),
                                    (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)):
                theirs.copy_(mine)
    else:
        m = nn.RNN(32, H)
        with torch.no_grad():
            m.weight_hh_l0.copy_(layer.W[:, :H])
            m.weight_ih_l0.copy_(layer.W[:, H:])
            m.bias_ih_l0.copy_(layer.b)
            m.bias_hh_l0.zero_()
    m = m.double()
    ids = torch.tensor([model.vocab.chars.index(ch) for ch in text])
    x = model.embed.weight.detach().double()[ids[: t + 1]].unsqueeze(1).requires_grad_(True)
    out, _ = m(x)
    logits = out[-1, 0] @ model.readout.weight.detach().double().T + model.readout.bias.detach().double()
    (grad,) = torch.autograd.grad(-torch.log_softmax(logits, -1)[ids[t + 1]], x)
    return grad[:, 0].norm(dim=-1).numpy()[::-1]  # entry d: distance d back


def falls_below(norms, share=0.01):
    """The first distance from which on every norm is below ``share`` of the largest."""
    big = [d for d, n in enumerate(norms) if n >= share * max(norms)]
    return big[-1] + 1


def how_far_back():
    falls = {cell: falls_below(input_gradients(cell)[: FAR + 1]) for cell in ("rnn", "lstm", "gru")}
    assert falls == {"rnn": 16, "lstm": 24, "gru": 26}  # what the answer quotes
    # "clearly farther": more than 1.25 times the distance (the question's rule)
    if falls["rnn"] > 1.25 * max(falls["lstm"], falls["gru"]):
        farthest = "the RNN"
    elif min(falls["lstm"], falls["gru"]) > 1.25 * falls["rnn"]:
        farthest = "the LSTM and GRU, clearly farther than the RNN"
    else:
        farthest = "all three about the same"
    return float(falls["rnn"]), farthest


def far_back():
    rnn, lstm = input_gradients("rnn")[FAR], input_gradients("lstm")[FAR]
    assert f"{rnn:.3g}" == "1.2e-24" and f"{lstm:.3g}" == "1.08e-07"  # what the answer quotes
    card = load_char_model("lstm", device="cpu").card["training"]
    window = int(re.search(r"x (\d+) chars", card).group(1))  # "batch 64 x 100 chars": the training window
    return float(round(math.log10(lstm / rnn))), ("no" if FAR >= window else "yes")


def soft_gates():
    _, _, f = lstm_states()
    soft, shut, open_ = np.mean((f > 0.1) & (f < 0.9)), np.mean(f <= 0.1), np.mean(f >= 0.9)
    assert [f"{100 * s:.0f}" for s in (soft, shut, open_)] == ["34", "26", "40"]  # what the answer quotes
    return 100 * float(soft)


TRUTHS = {1: line_counter, 2: word_starts, 3: how_far_back, 4: far_back, 5: soft_gates}
