"""A character-level language model built from the core LSTM (§1.4), and the shipped pretrained one."""
from __future__ import annotations

import copy
import functools
import math
from collections import OrderedDict
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor, nn

from .cells import GRU, LSTM, RNN
from .device import resolve_device

# the checks before torch.load; read_saved and the limits it applies stay importable from here too
from .model_file import (  # noqa: F401
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_PARAMETERS,
    MAX_PICKLE_BYTES,
    MAX_RECORDS,
    _clip,
    read_saved,
)
from .sampling import make_generator, sample_next
from .vocab import CharVocab

#: what a weights file may ask for; the shipped models (H ≤ 256, 2 layers, 65 characters) sit far inside
LIMITS = {"hidden_size": (1, 1024), "num_layers": (1, 4), "embed_size": (1, 512)}
MAX_VOCAB = 4096
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
MAX_CARD_ENTRIES, MAX_CARD_TEXT = 16, 400
#: the recurrent layers a character model may be built from: §1.3's tanh RNN, §2's LSTM, Remark 2.1's GRU
CELLS = ("rnn", "lstm", "gru")


def state_shapes(vocab_size: int, hidden_size: int, num_layers: int, embed_size: int, cell: str = "lstm",
                 **_) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor of a :class:`CharModel`'s ``state_dict`` for this config, computed without
    building it (a loaded file is checked against these before anything is allocated)."""
    V, H, E = vocab_size, hidden_size, embed_size
    shapes: dict[str, tuple[int, ...]] = {"embed.weight": (V, E)}
    for k in range(num_layers):
        n_in = E if k == 0 else H
        if cell == "lstm":  # W = [W_f; W_input; W_candidate; W_o] acting on [h; x]
            shapes |= {f"layers.{k}.W": (4 * H, H + n_in), f"layers.{k}.b": (4 * H,)}
        elif cell == "rnn":  # §1.3's a^(l+1) = tanh(W [a^(l); x[l]] + b)
            shapes |= {f"layers.{k}.W": (H, H + n_in), f"layers.{k}.b": (H,)}
        else:
            shapes |= {f"layers.{k}.Wx": (3 * H, n_in), f"layers.{k}.Wh": (3 * H, H), f"layers.{k}.bx": (3 * H,),
                       f"layers.{k}.bh": (3 * H,)}
    return shapes | {"readout.weight": (V, H), "readout.bias": (V,)}


def _summary(value) -> str:
    """A value read from a file, described in a few words safe to put in a message: a number or the start of
    a string as written, anything else by its type and length (never its repr: that can take forever)."""
    if value is None or type(value) in (bool, int, float):
        return _clip(repr(value), 40)
    if type(value) is str:
        shown = repr(value[:30]) + (f"… ({len(value):,} characters)" if len(value) > 30 else "")
        return _clip(shown, 120)
    if type(value) in (list, tuple, dict, set, OrderedDict):
        return f"a {type(value).__name__} of {len(value):,} items"
    return _clip(f"a {type(value).__name__}", 60)


def check_saved(blob) -> tuple[str, dict]:
    """The characters and the config of a file written by :meth:`CharModel.save`, after checking that the
    config is within :data:`LIMITS`, that every tensor has the dtype and the shape the config implies, and
    that the card (:func:`check_card`) is short.

    Raises ValueError naming what is wrong. Nothing is allocated before this passes: a file's ``config``
    is not trusted (``{"hidden_size": 4096, "num_layers": 4}`` would otherwise allocate about 2 GB first).
    Every type is checked before a value is used, and a message quotes a value from the file only as
    :func:`_summary` describes it, so a message stays short whatever the file holds.
    """
    if not isinstance(blob, dict) or not all(key in blob for key in ("state", "chars", "config")):
        raise ValueError("not a character model saved by CharModel.save: it needs 'state', 'chars' and 'config'")
    config = _checked_config(blob["config"])
    chars = _checked_chars(blob["chars"])
    expected = state_shapes(len(chars), **config)
    n_params = sum(math.prod(shape) for shape in expected.values())
    if n_params > MAX_PARAMETERS:
        raise ValueError(f"the config asks for {n_params:,} parameters; at most {MAX_PARAMETERS:,} are loaded")
    _check_state(blob["state"], expected)
    check_card(blob.get("card", {}))
    return chars, config


def _checked_config(config) -> dict:
    """The config with its defaults filled in, each entry checked."""
    keys = (*LIMITS, "cell", "dropout")
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict of {', '.join(keys)}; got {_summary(config)}")
    unknown = [key for key in config if not (type(key) is str and key in keys)]
    if unknown:
        raise ValueError(f"config must be a dict of {', '.join(keys)}; got the key {_summary(unknown[0])}")
    config = {"hidden_size": 256, "num_layers": 2, "embed_size": 32, "cell": "lstm", **config}
    for key, (lo, hi) in LIMITS.items():
        value = config[key]
        if type(value) is not int or not lo <= value <= hi:
            raise ValueError(f"config {key} must be a whole number from {lo} to {hi}, got {_summary(value)}")
    if type(config["cell"]) is not str or config["cell"] not in CELLS:
        raise ValueError(f"config cell must be one of {', '.join(map(repr, CELLS))}, got {_summary(config['cell'])}")
    dropout = config.get("dropout", 0.0)
    if type(dropout) not in (int, float) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"config dropout must be a number in [0, 1), got {_summary(dropout)}")
    return config


def _checked_chars(chars) -> str:
    # the length is checked before set(): a long string is refused without being walked
    if not isinstance(chars, str) or not 1 <= len(chars) <= MAX_VOCAB or len(set(chars)) != len(chars):
        raise ValueError(f"chars must be 1 to {MAX_VOCAB} distinct characters, got {_summary(chars)}")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in chars):  # a lone surrogate cannot be shown or sent to a page
        raise ValueError("chars holds a lone surrogate (U+D800–U+DFFF), which is not a character")
    return chars


def _check_state(state, expected: dict[str, tuple[int, ...]]) -> None:
    """Every tensor the config implies, and no other, each floating-point, of its shape and finite."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict of tensors, got {_summary(state)}")
    missing = [key for key in expected if key not in state]
    extra = [key for key in state if key not in expected]
    if missing or extra:
        raise ValueError(f"the tensors do not match the config: {_some('missing', missing, str)}"
                         f"{'; ' if missing and extra else ''}{_some('unexpected', extra, _summary)}")
    for key, shape in expected.items():
        _check_tensor(key, state[key], shape)


def _some(label: str, keys: list, show) -> str:
    """A few of ``keys`` after ``label``, and how many more there are ('' for none)."""
    if not keys:
        return ""
    more = f" and {len(keys) - 3:,} more" if len(keys) > 3 else ""
    return f"{label} {', '.join(show(key) for key in keys[:3])}{more}"


def _check_tensor(key: str, tensor, shape: tuple[int, ...]) -> None:
    # the pickle check lets through only plain tensors (_rebuild_tensor_v2): dense, on the CPU
    if not isinstance(tensor, torch.Tensor):
        got = _summary(tensor)
    elif tensor.dtype not in FLOAT_DTYPES or tuple(tensor.shape) != shape:
        dims = tuple(tensor.shape) if tensor.dim() <= 4 else f"{tensor.dim()} dimensions"
        got = f"{str(tensor.dtype).removeprefix('torch.')} of shape {dims}"
    elif not torch.isfinite(tensor).all():
        raise ValueError(f"tensor {key} holds NaN or infinite values")
    else:
        return
    raise ValueError(f"tensor {key}: expected a floating-point tensor of shape {shape}, got {got}")


def check_card(card) -> None:
    """A model card (what the model was trained on, its held-out loss, …) is a short dict of names to numbers
    and short texts, so that showing it whole is always cheap. Raises ValueError otherwise."""
    if not isinstance(card, dict) or len(card) > MAX_CARD_ENTRIES:
        raise ValueError(f"the card must be a dict of at most {MAX_CARD_ENTRIES} entries, got {_summary(card)}")
    for key, value in card.items():
        if type(key) is not str or not 1 <= len(key) <= 40:
            raise ValueError(f"the card's keys must be names of 1 to 40 characters, got {_summary(key)}")
        if not (value is None or type(value) in (bool, int) or type(value) is float and math.isfinite(value) or
                type(value) is str and len(value) <= MAX_CARD_TEXT
                and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)):
            raise ValueError(f"the card's {key} must be a finite number or a text of at most {MAX_CARD_TEXT} "
                             f"characters, got {_summary(value)}")


class CharModel(nn.Module):
    """Embedding → stacked core :class:`~rnn_widgets.core.LSTM` (or GRU, or tanh RNN) layers → next-character
    logits.

    x[l] is the embedding of character l (Remark 1.2: a learned vector, the same length for
    every token). ``forward(ids, state)`` returns logits ``(T, [B,] V)`` and the new state, a
    list of ``(c, h)`` per layer, so generation can feed one character at a time (§1.4).
    """

    def __init__(self, vocab: CharVocab, hidden_size: int = 256, num_layers: int = 2, embed_size: int = 32,
                 dropout: float = 0.0, cell: str = "lstm"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
        self.vocab = vocab
        self.hidden_size, self.num_layers, self.embed_size, self.cell = hidden_size, num_layers, embed_size, cell
        self.dropout = nn.Dropout(dropout)  # between layers, in training only
        self.embed = nn.Embedding(len(vocab), embed_size)
        sizes = [embed_size] + [hidden_size] * num_layers
        layer = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[cell]
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

        Only tensors, strings and numbers: loadable with ``torch.load(weights_only=True)``. The ``card`` is a few
        names of numbers and short texts (:func:`check_card`), kept by :meth:`load` as ``model.card``.
        """
        check_card(card)
        state = {k: v.detach().cpu().half() for k, v in self.state_dict().items()}
        torch.save({"state": state, "chars": "".join(self.vocab.chars), "config": self.config(), "card": card}, path)

    @classmethod
    def load(cls, path: str | Path, device=None) -> CharModel:
        """Load a model saved by :meth:`save`; safe on a file from anyone.

        The file's size, format and pickle are checked before it is unpickled (:func:`read_saved`), it is
        unpickled with ``torch.load(weights_only=True)`` (no code runs), and the config, the tensors' dtypes and
        shapes and the card are checked by :func:`check_saved` before the model is built. A crafted file is
        refused with a ValueError of a few lines, within about its size in memory and a fraction of a second.
        """
        blob = read_saved(path)
        chars, config = check_saved(blob)
        model = cls(CharVocab(chars), **config)
        model.load_state_dict({k: v.float() for k, v in blob["state"].items()})
        model.card = blob.get("card", {})
        return model.to(resolve_device(device)).eval()


#: the shipped models: the generation model, and three small one-layer models trained under one protocol
SHIPPED = ("char_lstm", "small_rnn", "small_lstm", "small_gru")
#: the small models by their kind of cell: load_char_model("rnn" | "lstm" | "gru")
KINDS = {"rnn": "small_rnn", "lstm": "small_lstm", "gru": "small_gru"}


@functools.cache
def _pretrained_cpu(name: str) -> CharModel:
    name = KINDS.get(name, name)
    if name not in SHIPPED:
        raise ValueError(f"no shipped model called {name!r}; there are {', '.join(SHIPPED)} "
                         f"(and {', '.join(KINDS)} for the small ones)")
    path = resources.files("rnn_widgets.core") / "data" / f"{name}.pt"
    with resources.as_file(path) as p:
        if not Path(p).exists():
            raise FileNotFoundError(f"the pretrained model {name}.pt is missing from the package at {p}")
        return CharModel.load(p, device="cpu")


def load_char_model(name: str = "char_lstm", device=None) -> CharModel:
    """A shipped character-level model trained on Shakespeare (see ``data/MODEL_CARD.md``).

    ``"char_lstm"`` (default) is the generation model of §1.4 (two layers). ``"rnn"``, ``"lstm"`` and ``"gru"``
    (also ``"small_rnn"``, ``"small_lstm"``, ``"small_gru"``) are one-layer models of 128 units trained under
    one protocol, for comparing the plain RNN, the LSTM and the GRU on the same text (§1.5, §2, Remark 2.1).
    Each call returns an independent copy (a widget may change its biases without affecting
    another), on ``device`` (default: the global choice of :func:`set_device`).
    """
    base = _pretrained_cpu(name)
    model = copy.deepcopy(base)
    model.card = base.card
    return model.to(resolve_device(device))
