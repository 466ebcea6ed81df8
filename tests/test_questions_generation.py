"""examples/04_generation.ipynb's questions: each truth recomputed with a torch.nn.LSTM loaded with the shipped
model's weights (the lecture's gate order converted here, not by the core), sampled with torch.multinomial from
a generator seeded as the widget's is, and the loop and the entropies measured with numpy."""
import numpy as np
import torch
from torch import nn

from rnn_widgets.core import load_char_model

PROMPT = "ROMEO:\nBut soft, what light"  # GenerationWidget's default prompt


def torch_lstm(layers) -> nn.LSTM:
    """A torch.nn.LSTM with the weights of the core's LSTM ``layers``: W = [W_f; W_input; W_candidate; W_o] on
    [h; x] in the lecture's order, PyTorch's (input gate, forget gate, candidate, output gate) on x and h apart."""
    H = layers[0].hidden_size
    m = nn.LSTM(layers[0].input_size, H, num_layers=len(layers))
    with torch.no_grad():
        for k, layer in enumerate(layers):
            W, b = layer.W.detach().float(), layer.b.detach().float()
            order = [1, 0, 2, 3]  # lecture (f, input gate, candidate, o) → PyTorch (input gate, f, candidate, o)
            W = torch.cat([W[j * H:(j + 1) * H] for j in order])
            b = torch.cat([b[j * H:(j + 1) * H] for j in order])
            getattr(m, f"weight_hh_l{k}").copy_(W[:, :H])
            getattr(m, f"weight_ih_l{k}").copy_(W[:, H:])
            getattr(m, f"bias_ih_l{k}").copy_(b)
            getattr(m, f"bias_hh_l{k}").zero_()
    return m.eval()


class Reader:
    """The shipped generation model as embedding → nn.LSTM → linear, read one character at a time."""

    def __init__(self):
        model = load_char_model(device="cpu")
        self.chars = model.vocab.chars
        self.embed = model.embed.weight.detach().float()
        self.lstm = torch_lstm(list(model.layers))
        self.readout = (model.readout.weight.detach().float(), model.readout.bias.detach().float())

    @torch.no_grad()
    def read(self, ids, state=None):
        out, state = self.lstm(self.embed[torch.as_tensor(ids)].unsqueeze(1), state)
        W, b = self.readout
        return out[:, 0] @ W.T + b, state  # logits after each character

    def ids(self, text):
        return [self.chars.index(ch) for ch in text]

    def generate(self, n, temperature=1.0, greedy=False, seed=0):
        """(the characters drawn, the distribution each was drawn from at its temperature, greedy's at 1)."""
        g = torch.Generator().manual_seed(seed)
        logits, state = self.read(self.ids(PROMPT))
        logits = logits[-1]
        drawn, dists = [], []
        for _ in range(n):
            p = torch.softmax(logits.double() / (1.0 if greedy else temperature), -1)
            idx = int(p.argmax()) if greedy else int(torch.multinomial(p, 1, generator=g))
            drawn.append(idx)
            dists.append(p.numpy())
            logits, state = self.read([idx], state)
            logits = logits[-1]
        return "".join(self.chars[i] for i in drawn), dists


def loops(text, max_period=80, min_len=40):
    """Whether the text ends in one stretch written three times over (at least 20 characters in all)."""
    return any(len(text) >= 3 * p and 3 * p >= min_len // 2 and text[-3 * p:] == text[-p:] * 3
               for p in range(1, max_period + 1))


def entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def greedy_loops():
    text, _ = Reader().generate(400, greedy=True)
    assert not loops(text[:200])  # the answer: not yet after 200 characters
    return "yes: a stretch repeats" if loops(text) else "no loop yet"


def temperature_entropy():
    reader = Reader()
    _, dists = reader.generate(200, temperature=3.0)
    cold = float(np.mean([entropy(p) for p in reader.generate(200, temperature=0.3)[1]]))
    assert f"{cold:.3g}" == "0.503"  # the number the answer quotes for temperature 0.3
    return float(np.mean([entropy(p) for p in dists]))


def greedy_uncertainty():
    _, (p,) = Reader().generate(1, greedy=True)
    return float(p.max()), entropy(p)


def grey_boxes():
    """The grey boxes hold the prompt's characters, and the model would have predicted others: its most likely
    character after the prompt's last steps differs from the prompt's next character."""
    reader = Reader()
    logits, _ = reader.read(reader.ids(PROMPT))
    predicted = [reader.chars[int(i)] for i in logits.argmax(-1)]
    last = range(len(PROMPT) - 5, len(PROMPT) - 1)  # the four grey boxes: steps whose next character is the prompt's
    assert any(predicted[l] != PROMPT[l + 1] for l in last)
    return "the prompt's next characters"


TRUTHS = {1: greedy_loops, 2: temperature_entropy, 3: greedy_uncertainty, 4: grey_boxes}
