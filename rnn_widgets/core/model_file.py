"""The checks on a model file before ``torch.load`` reads it: its size, its zip archive and its pickle.

``CharModel.load`` is meant to be safe on a file from anyone (issue 28), and ``torch.load(weights_only=True)``
alone is not enough: it runs no code from the file, but does not bound what reading one costs. A legacy-format
file makes torch reserve whatever memory it declares for a tensor (3 GB from a 50 KB file) before it can see
that the data is missing; a compressed zip member is unpacked in memory first; and a pickle can build a list
shared by reference (``L = [L, L]`` forty times is 2⁴⁰ references in 2 KB), one that holds itself, or tuples
nested thousands deep, which printing or walking never finishes and which, hashed as a dict key, already hang
or overflow the C stack inside ``torch.load``.

So :func:`read_saved` refuses, with a short ValueError and without unpickling anything, a file larger than the
largest model loaded needs, one not in torch's zip format, an archive whose members declare more bytes than
the file holds, and a pickle that is too large, nests too deep, refers twice to a container, or uses an opcode
or a global that ``CharModel.save`` never writes; only then does it call ``torch.load``. A crafted file costs
at most about its size in memory and a fraction of a second. docs/model-files.md lists every check in order.

What the file holds (the config, the characters, each tensor's dtype and shape, the card) is checked next by
:func:`rnn_widgets.core.charmodel.check_saved`. This module knows nothing of the model and does not import it.
"""
from __future__ import annotations

import io
import os
import stat
import pickletools
import re
from pathlib import Path

import torch

#: the most parameters a loaded model may have (80 MB of float32): it bounds the file's size here, and
#: ``check_saved`` refuses a config that asks for more
MAX_PARAMETERS = 20_000_000
#: what a weights file may hold: float16 for the most parameters loaded (as CharModel.save writes), and 1 MiB
MAX_FILE_BYTES = 2 * MAX_PARAMETERS + 2**20
MAX_RECORDS = 64  # members of the zip archive: a few of torch's own, and one per tensor (at most 19)
#: the pickle beside the tensors: the config, the characters (16 KB at most) and the card; 64 KiB also keeps
#: any nesting shallow enough for CPython to hash without running out of C stack
MAX_PICKLE_BYTES = 2**16
MAX_NESTING = 32  # lists, dicts and tuples inside each other; a model file has 4


def read_saved(path: str | Path) -> dict:
    """The dict in a file written by :meth:`~rnn_widgets.core.charmodel.CharModel.save`, read so that a file
    from anyone costs at most about its size in memory and a fraction of a second before it is used or refused.

    Raises ValueError, with a short message, for a file that is larger than a model within
    :data:`~rnn_widgets.core.charmodel.LIMITS` needs (:data:`MAX_FILE_BYTES`), that is not in torch's zip
    format (the legacy format makes torch reserve whatever memory the file declares before anything can be
    checked), whose zip members declare more bytes than the file holds, or whose pickle could cost more to
    unpickle or to walk than its size: larger than :data:`MAX_PICKLE_BYTES`, nested deeper than
    :data:`MAX_NESTING`, referring twice to one list, dict or tuple (2⁴⁰ shared references fit in 2 KB), or
    using an opcode or a global that ``CharModel.save`` never writes.
    Only then is it unpickled, with ``torch.load(weights_only=True)``.
    """
    data = _read_capped(path)
    _check_pickle(_pickle_in_archive(data))
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # a crafted file can break torch's reader in many ways, all meaning "not a model"
        raise ValueError(f"torch.load could not read the file: {_clip(str(error), 200)}") from error


def _read_capped(path: str | Path) -> bytes:
    """The file's bytes, refused unread when it is larger than any model within the limits or is not a regular
    file (opening a named pipe would wait for a writer forever: it is opened without waiting, then refused)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError("not a regular file (a pipe, a device or a folder): a model is a file")
    with open(fd, "rb") as file:
        size = os.fstat(fd).st_size
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
