"""A character-level language model built from the core LSTM (§1.4), and the shipped pretrained one."""
from __future__ import annotations

import copy
import functools
import io
import math
import os
import pickletools
import re
from collections import OrderedDict
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor, nn

from .cells import GRU, LSTM, RNN
from .device import resolve_device
from .sampling import make_generator, sample_next
from .vocab import CharVocab

#: what a weights file may ask for; the shipped models (H ≤ 256, 2 layers, 65 characters) sit far inside
LIMITS = {"hidden_size": (1, 1024), "num_layers": (1, 4), "embed_size": (1, 512)}
MAX_VOCAB = 4096
MAX_PARAMETERS = 20_000_000  # 80 MB of float32
#: what a weights file may hold: float16 for the most parameters loaded (as CharModel.save writes), and 1 MiB
MAX_FILE_BYTES = 2 * MAX_PARAMETERS + 2**20
MAX_RECORDS = 64  # members of the zip archive: a few of torch's own, and one per tensor (at most 19)
#: the pickle beside the tensors: the config, the characters (16 KB at most) and the card; 64 KiB also keeps
#: any nesting shallow enough for CPython to hash without running out of C stack
MAX_PICKLE_BYTES = 2**16
MAX_NESTING = 32  # lists, dicts and tuples inside each other; a model file has 4
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


def read_saved(path: str | Path) -> dict:
    """The dict in a file written by :meth:`CharModel.save`, read so that a file from anyone costs at most about
    its size in memory and a fraction of a second before it is used or refused.

    Raises ValueError, with a short message, for a file that is larger than a model within :data:`LIMITS` needs
    (:data:`MAX_FILE_BYTES`), that is not in torch's zip format (the legacy format makes torch reserve whatever
    memory the file declares before anything can be checked), whose zip members declare more bytes than the
    file holds, or whose pickle could cost more to unpickle or to walk than its size: larger than
    :data:`MAX_PICKLE_BYTES`, nested deeper than :data:`MAX_NESTING`, referring twice to one list, dict or tuple
    (2⁴⁰ shared references fit in 2 KB), or using an opcode or a global that ``CharModel.save`` never writes.
    Only then is it unpickled, with ``torch.load(weights_only=True)``.
    """
    data = _read_capped(path)
    _check_pickle(_pickle_in_archive(data))
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # a crafted file can break torch's reader in many ways, all meaning "not a model"
        raise ValueError(f"torch.load could not read the file: {_clip(str(error), 200)}") from error


def _read_capped(path: str | Path) -> bytes:
    """The file's bytes, refused unread when it is larger than any model within the limits."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"the file has more than {MAX_FILE_BYTES:,} bytes, more than a model of "
                             f"{MAX_PARAMETERS:,} parameters (the most that is loaded) takes in float16")
        # one byte more than the size: a device, a pipe or a file being written is seen, and costs no more
        data = file.read(size + 1)
    if len(data) != size:
        raise ValueError("the file changed while it was read, or is not a regular file")
    return data


def _pickle_in_archive(data: bytes) -> bytes:
    """The pickle (``data.pkl``) of a file in torch's zip format, after checking the sizes its members declare.

    The sizes are read by torch's own zip reader, so they are the sizes ``torch.load`` will trust.
    """
    if not data.startswith(b"PK\x03\x04"):  # how torch.load itself tells the zip format from the legacy ones
        raise ValueError(
            "not a zip archive: the file is not in the format CharModel.save writes (torch.save's default since "
            "PyTorch 1.6). Legacy-format files are refused unread, since torch reserves whatever memory they "
            "declare before anything can be checked; if you trust this one, torch.load it and save it again")
    try:
        reader = torch._C.PyTorchFileReader(io.BytesIO(data))  # pylint: disable=protected-access
        records = reader.get_all_records()
        if len(records) > MAX_RECORDS:
            raise ValueError(f"the archive has {len(records):,} members; a model file has at most {MAX_RECORDS}")
        if sum(reader.get_record_size(name) for name in records) > len(data):
            # only a compressed member can be larger than the file, and torch.save never compresses
            raise ValueError("the archive's members declare more bytes than the file holds (compressed members "
                             "would be unpacked in memory before anything could be checked)")
        if not reader.has_record("data.pkl") or reader.get_record_size("data.pkl") > MAX_PICKLE_BYTES:
            raise ValueError(f"the archive needs a data.pkl of at most {MAX_PICKLE_BYTES:,} bytes; a model's "
                             "weights are stored beside it, so its own pickle is small")
        return reader.get_record("data.pkl")
    except RuntimeError as error:  # torch's reader found a malformed archive
        raise ValueError(f"not a zip archive torch can read: {_clip(str(error), 200)}") from None


#: the globals torch.save writes for a dict of strings, numbers and plain tensors
_GLOBALS = re.compile(r"torch\._utils _rebuild_tensor_v2|collections OrderedDict|torch [A-Za-z0-9_]+Storage")
_NAMED = -1  # on a _ShapeStack: a string or a global, which nests nothing and may be referred to twice


def _check_pickle(pickled: bytes) -> None:
    """Refuse a pickle that would cost more to unpickle or to walk than its size, before it is unpickled.

    It is read opcode by opcode, tracking only how deep each object on the unpickler's stack nests and whether
    it is a string or a global. No object is built: hashing a shared or very deep tuple as a dict key would
    already hang, or overflow the C stack, inside ``torch.load``.
    """
    stack = _ShapeStack()
    for name, arg in _opcodes(pickled):
        if name == "STOP":
            return
        if name not in _STEPS:
            raise ValueError(f"the file's pickle uses the opcode {name}, which CharModel.save never writes")
        _STEPS[name](stack, arg)


def _opcodes(pickled: bytes):
    """(name, argument) of each opcode, a malformed pickle reported as ValueError."""
    ops = pickletools.genops(pickled)
    while True:
        try:
            op, arg, _ = next(ops)
        except StopIteration:
            return
        except Exception as error:  # pickletools raises several kinds on truncated or invalid data
            raise ValueError(f"the file's pickle is malformed: {_clip(str(error), 120)}") from None
        yield op.name, arg


class _ShapeStack:
    """The unpickler's stack, each object reduced to how deep it nests lists, dicts and tuples, or to
    :data:`_NAMED` (small ints, not tuples or lists: a long pickle leaves no garbage to collect)."""

    def __init__(self):
        self.items: list[int] = []
        self.marks: list[int] = []  # where each open mark sits in items
        self.memo: dict[int, int] = {}

    def push(self, depth: int) -> None:
        if depth > MAX_NESTING:
            raise ValueError(f"the file nests lists, dicts or tuples more than {MAX_NESTING} deep; "
                             "a model file nests them 4 deep")
        self.items.append(depth)

    def pop(self, n: int) -> int:
        """Remove the top n objects; how deep the deepest nests."""
        return self.cut(len(self.items) - n)

    def pop_mark(self) -> int:
        """Remove the objects above the last mark; how deep the deepest nests (0 for none)."""
        if not self.marks:
            raise ValueError("the file's pickle is malformed: it closes a mark it never opened")
        return self.cut(self.marks.pop())

    def cut(self, start: int) -> int:
        """Remove the objects from ``start`` on; how deep the deepest nests (0 for none)."""
        if start < (self.marks[-1] if self.marks else 0):
            raise ValueError("the file's pickle is malformed: it takes more objects than it made")
        popped = self.items[start:]
        del self.items[start:]
        return max(0, max(popped, default=0))

    def top(self) -> int:
        if len(self.items) <= (self.marks[-1] if self.marks else 0):
            raise ValueError("the file's pickle is malformed: it names an object it never made")
        return self.items[-1]

    def fill(self, depth: int) -> None:
        """Objects ``depth`` deep went into the container on top of the stack."""
        container = max(0, self.top())
        self.items.pop()
        self.push(max(container, 1 + depth))

    def global_(self, name: str) -> None:
        if not _GLOBALS.fullmatch(name):
            raise ValueError(f"the file's pickle uses {_clip(name, 80)!r}, which CharModel.save never writes")
        self.items.append(_NAMED)

    def storage(self, _) -> None:
        """A tensor's storage, named by a tuple and read from its own member of the archive."""
        self.pop(1)
        self.push(0)

    def memoize(self, index: int) -> None:
        self.memo[index] = self.top()

    def recall(self, index: int) -> None:
        """A second reference to a memoized object: allowed for strings and globals only, since any shared
        container (or one that holds itself) can make walking, printing or hashing the result take forever."""
        if index not in self.memo:
            raise ValueError("the file's pickle is malformed: it refers to an object it never stored")
        if self.memo[index] != _NAMED:
            raise ValueError("the file refers twice to one list, dict, tuple or tensor (or one holds itself), "
                             "which CharModel.save never writes: walking such a structure can take forever")
        self.items.append(_NAMED)


#: what each opcode torch.save writes (protocol 2) does to a _ShapeStack; any other opcode is refused
_STEPS = {
    "PROTO": lambda stack, _: None,
    **dict.fromkeys(["NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "BINFLOAT", "LONG1"],
                    lambda stack, _: stack.push(0)),
    **dict.fromkeys(["BINUNICODE", "SHORT_BINSTRING"], lambda stack, _: stack.items.append(_NAMED)),
    "GLOBAL": _ShapeStack.global_,
    **dict.fromkeys(["EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"], lambda stack, _: stack.push(1)),
    "MARK": lambda stack, _: stack.marks.append(len(stack.items)),
    "TUPLE": lambda stack, _: stack.push(1 + stack.pop_mark()),
    "TUPLE1": lambda stack, _: stack.push(1 + stack.pop(1)),
    "TUPLE2": lambda stack, _: stack.push(1 + stack.pop(2)),
    "TUPLE3": lambda stack, _: stack.push(1 + stack.pop(3)),
    # a call's result holds what its arguments held (a tensor, an OrderedDict)
    **dict.fromkeys(["REDUCE", "NEWOBJ"], lambda stack, _: stack.push(stack.pop(2))),
    "BINPERSID": _ShapeStack.storage,
    "APPEND": lambda stack, _: stack.fill(stack.pop(1)),
    "BUILD": lambda stack, _: stack.fill(stack.pop(1)),
    "SETITEM": lambda stack, _: stack.fill(stack.pop(2)),
    **dict.fromkeys(["APPENDS", "SETITEMS"], lambda stack, _: stack.fill(stack.pop_mark())),
    **dict.fromkeys(["BINPUT", "LONG_BINPUT"], _ShapeStack.memoize),
    **dict.fromkeys(["BINGET", "LONG_BINGET"], _ShapeStack.recall),
}


def _clip(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` characters."""
    return text if len(text) <= n else text[: n - 1] + "…"


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
        if not (value is None or type(value) in (bool, int, float) or
                type(value) is str and len(value) <= MAX_CARD_TEXT):
            raise ValueError(f"the card's {key} must be a number or a text of at most {MAX_CARD_TEXT} "
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
