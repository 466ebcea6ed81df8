"""A character-level language model built from the core LSTM (§1.4), and the shipped pretrained one."""
from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor, nn

from .cells import GRU, LSTM
from .device import resolve_device
from .sampling import make_generator, sample_next
from .vocab import CharVocab


class CharModel(nn.Module):
    """Embedding → stacked core :class:`~rnn_widgets.core.LSTM` (or GRU) layers → next-character logits.

    x[l] is the embedding of character l (Remark 1.2: a learned vector, the same length for
    every token). ``forward(ids, state)`` returns logits ``(T, [B,] V)`` and the new state, a
    list of ``(c, h)`` per layer, so generation can feed one character at a time (§1.4).
    """

    def __init__(self, vocab: CharVocab, hidden_size: int = 256, num_layers: int = 2, embed_size: int = 32,
                 dropout: float = 0.0, cell: str = "lstm"):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.vocab = vocab
        self.hidden_size, self.num_layers, self.embed_size, self.cell = hidden_size, num_layers, embed_size, cell
        self.dropout = nn.Dropout(dropout)  # between layers, in training only
        self.embed = nn.Embedding(len(vocab), embed_size)
        sizes = [embed_size] + [hidden_size] * num_layers
        layer = LSTM if cell == "lstm" else GRU
        self.layers = nn.ModuleList(layer(sizes[k], hidden_size) for k in range(num_layers))
        self.readout = nn.Linear(hidden_size, len(vocab))

    def config(self) -> dict:
        return {"hidden_size": self.hidden_size, "num_layers": self.num_layers, "embed_size": self.embed_size,
                "cell": self.cell}

    @property
    def device(self) -> torch.device:
        return self.readout.weight.device

    def forward(self, ids: Tensor, state: list | None = None):
        x = self.embed(ids.to(self.device))  # (T, [B,] E)
        new_state = []
        for k, layer in enumerate(self.layers):
            x, s = layer(x, None if state is None else state[k])
            x = self.dropout(x)
            new_state.append(s)
        return self.readout(x), new_state

    def loss(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy in nats per character of predicting ``targets`` from ``inputs`` ``(T, B)``."""
        logits, _ = self(inputs)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.to(self.device).reshape(-1))

    @torch.no_grad()
    def evaluate(self, ids: Tensor, streams: int = 16, chunk: int = 256) -> float:
        """Held-out cross-entropy (nats/char): the text read in ``streams`` contiguous parts, state carried."""
        self.eval()
        n = (ids.numel() - 1) // streams
        if n < 1:
            raise ValueError(f"need more than {streams} characters to evaluate, got {ids.numel()}")
        inputs = ids[: n * streams].reshape(streams, n).T  # (n, streams)
        targets = ids[1 : n * streams + 1].reshape(streams, n).T
        state, total = None, 0.0
        for t in range(0, n, chunk):
            logits, state = self(inputs[t : t + chunk], state)
            total += float(nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets[t : t + chunk].to(self.device).reshape(-1), reduction="sum"))
        return total / (n * streams)

    def encode(self, text: str, errors: str = "strict") -> Tensor:
        return self.vocab.encode(text, errors)

    def decode(self, ids) -> str:
        return self.vocab.decode(ids)

    @torch.no_grad()
    def next_logits(self, text: str, state: list | None = None):
        """Read ``text`` (after ``state``) and return the logits for the next character and the new state."""
        if not text:
            raise ValueError("the prompt is empty: give the model at least one character to start from")
        self.eval()
        logits, state = self(self.encode(text), state)
        return logits[-1], state

    @torch.no_grad()
    def generate(self, prompt: str, n: int, temperature: float = 1.0, top_k: int | None = None,
                 greedy: bool = False, seed: int = 0) -> str:
        """Sample ``n`` characters after ``prompt``, feeding each one back (§1.4). Same seed, same text."""
        gen = make_generator(seed)
        logits, state = self.next_logits(prompt)
        out = []
        for _ in range(n):
            idx = sample_next(logits, temperature, top_k, greedy=greedy, generator=gen)
            out.append(idx)
            logits, state = self(torch.tensor([idx]), state)
            logits = logits[-1]
        return self.decode(out)

    def save(self, path: str | Path, **card) -> None:
        """Save weights (float16: half the size, no visible change in samples), vocabulary and config.

        Only tensors, strings and numbers: loadable with ``torch.load(weights_only=True)``.
        """
        state = {k: v.detach().cpu().half() for k, v in self.state_dict().items()}
        torch.save({"state": state, "chars": "".join(self.vocab.chars), "config": self.config(), "card": card}, path)

    @classmethod
    def load(cls, path: str | Path, device=None) -> CharModel:
        """Load a model saved by :meth:`save` (never unpickles arbitrary objects)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = cls(CharVocab(blob["chars"]), **blob["config"])
        model.load_state_dict({k: v.float() for k, v in blob["state"].items()})
        model.card = blob.get("card", {})
        return model.to(resolve_device(device)).eval()


#: the shipped models: the generation model, and two small one-layer twins for the gates widget
SHIPPED = ("char_lstm", "small_lstm", "small_gru")


@functools.cache
def _pretrained_cpu(name: str) -> CharModel:
    if name not in SHIPPED:
        raise ValueError(f"no shipped model called {name!r}; there are {SHIPPED}")
    path = resources.files("rnn_widgets.core") / "data" / f"{name}.pt"
    with resources.as_file(path) as p:
        if not Path(p).exists():
            raise FileNotFoundError(f"the pretrained model {name}.pt is missing from the package at {p}")
        return CharModel.load(p, device="cpu")


def load_char_model(name: str = "char_lstm", device=None) -> CharModel:
    """A shipped character-level model trained on Shakespeare (see ``data/MODEL_CARD.md``).

    ``"char_lstm"`` (default) is the generation model of §1.4; ``"small_lstm"`` and ``"small_gru"``
    are one-layer twins of equal size for comparing the LSTM's and the GRU's gates (Remark 2.1).
    Each call returns an independent copy (a widget may change its biases without affecting
    another), on ``device`` (default: the global choice of :func:`set_device`).
    """
    base = _pretrained_cpu(name)
    model = copy.deepcopy(base)
    model.card = base.card
    return model.to(resolve_device(device))
