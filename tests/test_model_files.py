"""Crafted model files (issue 28): ``CharModel.load`` refuses each one with a short ValueError, quickly and in
bounded memory, before it can hang, fill the memory or print a gigabyte.

Each load runs in its own forked child of one fresh interpreter (torch is imported once), under an alarm and an
address-space limit, so a regression fails a test instead of taking the machine down. The child measures its
own time and peak memory around the load call alone.
"""
from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from rnn_widgets.core.charmodel import MAX_CARD_TEXT, CharModel, check_card, check_saved
from rnn_widgets.core.model_file import (
    MAX_FILE_BYTES,
    MAX_PICKLE_BYTES,
    MAX_RECORDS,
    read_saved,
)
from rnn_widgets.core.vocab import CharVocab

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="measures memory in /proc")

ROOT = Path(__file__).resolve().parents[1]
SECONDS, MEGABYTES, MESSAGE = 1.0, 300, 500  # the bounds on one refusal: time, memory growth, message length
ALARM = 10  # a load still running after this many seconds is killed (the old code hung here for ever)

#: loads each file named on the command line in a forked child and writes what happened to FILE.json
RUNNER = r"""
import json, os, resource, signal, sys, time
sys.path.insert(0, sys.argv[1])
from rnn_widgets.core.charmodel import CharModel

def vm_peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmPeak:")) / 1024

def measure(path):
    rss, vm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, vm_peak_mb()
    start = time.perf_counter()
    try:
        CharModel.load(path)
        error = None
    except BaseException as caught:  # whatever the load raised: the test judges it
        error = caught
    seconds = time.perf_counter() - start
    message = "" if error is None else str(error)
    return {"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss,
            "vm_mb": vm_peak_mb() - vm, "error": None if error is None else type(error).__name__,
            "length": len(message), "message": message[:1000]}

for path in sys.argv[2:]:
    pid = os.fork()
    if pid == 0:
        signal.alarm(int(os.environ["ALARM"]))
        room = (vm_peak_mb() + 4096) * 2**20  # 4 GiB more address space: enough to see a 3 GB reservation
        resource.setrlimit(resource.RLIMIT_AS, (int(room), int(room)))
        report = measure(path)
        with open(path + ".json", "w") as out:
            json.dump(report, out)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if not os.path.exists(path + ".json"):
        with open(path + ".json", "w") as out:
            json.dump({"killed": os.WIFSIGNALED(status) and signal.Signals(os.WTERMSIG(status)).name}, out)
"""


# ---------------------------------------------------------------------- making files
def tiny_blob() -> dict:
    """What CharModel.save writes for a tiny model, as torch.load reads it back."""
    torch.manual_seed(0)
    model = CharModel(CharVocab("abcd "), hidden_size=8, num_layers=1, embed_size=4)
    return {"state": {k: v.detach().half() for k, v in model.state_dict().items()}, "chars": "abcd ",
            "config": model.config(), "card": {"parameters": 1}}


def changed(**changes):
    """A maker of a file: the tiny model's blob with some entries replaced."""
    def make(path):
        torch.save({**tiny_blob(), **changes}, path)
    return make


def changed_state(key, tensor):
    def make(path):
        blob = tiny_blob()
        blob["state"][key] = tensor
        torch.save(blob, path)
    return make


def binunicode(text: str) -> bytes:
    return b"X" + struct.pack("<I", len(text.encode())) + text.encode()


def crafted(blob: dict, placeholder: str, opcodes: bytes):
    """A maker of a file torch.save cannot write: ``blob`` saved, then the string ``placeholder`` in its pickle
    replaced by raw pickle opcodes that push one object (the archive is rewritten with every other member)."""
    def make(path):
        torch.save(blob, path)
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        pickle_name = next(name for name in members if name.endswith("/data.pkl"))
        members[pickle_name] = members[pickle_name].replace(binunicode(placeholder), opcodes, 1)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    return make


def shared_list(levels: int = 40) -> list:
    """2**levels references to one string in a few hundred bytes (the issue's payload)."""
    nested = ["x" * 64]
    for _ in range(levels):
        nested = [nested, nested]
    return nested


def shared_tuple_opcodes(levels: int = 40) -> bytes:
    """A tuple of two references to a tuple of two references to … : hashing it takes 2**levels steps."""
    memo = 10**6  # far above the memo indices torch.save uses
    ops = binunicode("x") + b"r" + struct.pack("<I", memo)
    for level in range(levels):  # (t, t) from t on the stack and t again from the memo: LONG_BINGET, TUPLE2
        ops += b"j" + struct.pack("<I", memo + level) + b"\x86" + b"r" + struct.pack("<I", memo + level + 1)
    return ops


def self_holding_list(path):
    loop = []
    loop.append(loop)
    torch.save({**tiny_blob(), "config": loop}, path)


def self_holding_dict(path):
    blob = tiny_blob()
    blob["config"] = blob
    torch.save(blob, path)


def legacy_huge_storage(path):
    """torch's legacy (non-zip) format, its one storage declared as 750 million floats (3 GB)."""
    torch.save({**tiny_blob(), "state": {"w": torch.zeros(12345)}}, path, _use_new_zipfile_serialization=False)
    data = Path(path).read_bytes()
    # the storage's element count is the first pickled 12345 (BININT2), the tensor's size the second
    data = data.replace(b"M" + struct.pack("<H", 12345), b"J" + struct.pack("<i", 750_000_000), 1)
    Path(path).write_bytes(data)


def compressed_pickle(path):
    """A zip member that unpacks to 350 MB: the tiny model's pickle followed by zeros, deflated to about 350 KB."""
    torch.save(tiny_blob(), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            if not name.endswith("/data.pkl"):
                archive.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(data)  # torch's unpickler stops at the pickle's end: the zeros are never read
                for _ in range(350):
                    member.write(bytes(2**20))


def huge_file(path):
    torch.save({**tiny_blob(), "chars": "x" * 50_000_000}, path)


#: name → (maker of the file, what the refusal says; None: the file loads)
PAYLOADS = {
    "a model CharModel.save wrote": (changed(), None),
    "config: a list sharing 2**40 references": (changed(config=shared_list()), "refers twice"),
    "config hidden_size: a list sharing 2**40 references":
        (changed(config={"hidden_size": shared_list()}), "refers twice"),
    "card value: a list sharing 2**40 references": (changed(card={"notes": shared_list()}), "refers twice"),
    "config: a list that holds itself": (self_holding_list, "refers twice"),
    "the file's dict holds itself": (self_holding_dict, "refers twice"),
    "config key: a tuple sharing 2**40 references (hashed inside torch.load)":
        (crafted({**tiny_blob(), "config": {"KEY": 8}}, "KEY", shared_tuple_opcodes()), "refers twice"),
    "config key: a tuple 60,000 deep":
        (crafted({**tiny_blob(), "config": {"KEY": 8}}, "KEY", binunicode("x") + b"\x85" * 60_000), "nests"),
    "config: a list 30,000 deep":
        (crafted({**tiny_blob(), "config": "LIST"}, "LIST", b"]" * 30_000 + b"a" * 29_999), "nests"),
    "chars: a 50 MB string": (huge_file, "more than .* bytes"),
    "config cell: a 1 MB string": (changed(config={"cell": "y" * 1_000_000}), "data.pkl of at most"),
    "config cell: a 40,000-character string": (changed(config={"cell": "y" * 40_000}), "cell must be one of"),
    "config: a global CharModel.save never writes": (changed(config=torch.device("cpu")), "never writes"),
    "chars: a number": (changed(chars=7), "chars must be"),
    "chars: 5,000 characters": (changed(chars="".join(map(chr, range(100, 5100)))), "chars must be"),
    "state: a list": (changed(state=[1, 2]), "state must be a dict"),
    "state: a tensor missing": (changed(state={}), "missing embed.weight"),
    "config: a string": (changed(config="hidden_size=8"), "config must be a dict"),
    "config dropout: a string": (changed(config={"dropout": "0.1"}), "dropout must be a number"),
    "card: a long text": (changed(card={"notes": "z" * (MAX_CARD_TEXT + 1)}), "card's notes must be"),
    "tensor: int64 weights": (changed_state("readout.bias", torch.zeros(5, dtype=torch.int64)), "got int64"),
    "tensor: the wrong shape": (changed_state("readout.bias", torch.zeros(6)), r"got float32 of shape \(6,\)"),
    "tensor: a number": (changed_state("readout.bias", 3.0), "got 3.0"),
    "legacy format declaring a 3 GB storage": (legacy_huge_storage, "not a zip archive"),
    "a zip member that unpacks to 350 MB": (compressed_pickle, "declare more bytes than the file holds"),
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """What loading each payload did, measured in a fresh interpreter."""
    folder = tmp_path_factory.mktemp("model_files")
    paths = {}
    for k, (name, (make, _)) in enumerate(PAYLOADS.items()):
        paths[name] = str(folder / f"{k}.pt")
        make(paths[name])
    env = {**os.environ, "ALARM": str(ALARM), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", RUNNER, str(ROOT), *paths.values()], env=env, check=True,
                   timeout=60 + ALARM * len(paths))
    return {name: json.loads(Path(path + ".json").read_text()) for name, path in paths.items()}


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_crafted_file_is_refused_quickly_in_bounded_memory(reports, name):
    report, expected = reports[name], PAYLOADS[name][1]
    assert "killed" not in report, f"the load did not finish in {ALARM} s or within 4 GiB ({report['killed']})"
    if expected is None:
        assert report["error"] is None, report["message"]
    else:
        assert report["error"] == "ValueError", report
        assert report["length"] < MESSAGE, report["message"][:200]
        assert re.search(expected, report["message"]), report["message"]
    assert report["seconds"] < SECONDS, report
    # resident memory, and address space: the legacy format reserved 3 GB without touching it
    assert report["rss_mb"] < MEGABYTES and report["vm_mb"] < MEGABYTES, report


# ---------------------------------------------------------------------- the checks, in process
def test_a_float_dtype_is_required_and_the_message_names_the_dtype_found():
    blob = tiny_blob()
    blob["state"]["readout.bias"] = torch.zeros(5, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"^tensor readout.bias: expected a floating-point tensor of shape \(5,\), "
                                         r"got int64 of shape \(5,\)$"):
        check_saved(blob)


def test_an_archive_of_many_members_is_refused_before_its_pickle_is_read(tmp_path):
    path = tmp_path / "many.pt"
    torch.save(tiny_blob(), path)
    with zipfile.ZipFile(path, "a") as archive:
        for k in range(MAX_RECORDS):
            archive.writestr(f"{path.stem}/extra/{k}", b"")
    with pytest.raises(ValueError, match=f"members; a model file has at most {MAX_RECORDS}"):
        read_saved(path)


def test_a_truncated_archive_is_refused_with_a_value_error(tmp_path):
    path = tmp_path / "cut.pt"
    torch.save(tiny_blob(), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a zip archive torch can read"):
        read_saved(path)


def test_a_device_or_a_pipe_is_refused_without_reading_on(tmp_path):
    with pytest.raises(ValueError, match="not a regular file"):
        read_saved("/dev/zero")


def test_the_limits_leave_room_for_the_largest_model_loaded():
    # 20 million float16 parameters, 4096 four-byte characters, a full card: all within the caps
    assert MAX_FILE_BYTES > 2 * 20_000_000
    assert MAX_PICKLE_BYTES > 4 * 4096 + 16 * 4 * (40 + MAX_CARD_TEXT) + 19 * 200


def test_save_refuses_a_card_that_load_would_refuse(tmp_path):
    model = CharModel(CharVocab("ab"), hidden_size=4, num_layers=1, embed_size=2)
    with pytest.raises(ValueError, match="the card's notes must be"):
        model.save(tmp_path / "m.pt", notes=["a list"])
    model.save(tmp_path / "m.pt", notes="short", loss=1.5)
    assert CharModel.load(tmp_path / "m.pt").card == {"notes": "short", "loss": 1.5}
    check_card({"a": None, "b": True})


def test_a_named_pipe_or_a_folder_is_refused_at_once(tmp_path):
    """Opening a named pipe for reading waits for a writer: the loader must never block on one."""
    import os
    import signal

    pipe = tmp_path / "model.pt"
    os.mkfifo(pipe)
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    signal.alarm(5)  # a hang would end in KeyboardInterrupt, failing the test instead of the suite
    try:
        for path in (pipe, tmp_path):
            with pytest.raises(ValueError, match="not a regular file"):
                CharModel.load(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_card_or_chars_that_could_not_be_shown_are_refused():
    with pytest.raises(ValueError, match="lone surrogate"):
        check_saved({"state": {}, "chars": "ab\ud800", "config": {}})
    for card in ({"loss": float("nan")}, {"loss": float("inf")}, {"note": "x\udc80"}):
        with pytest.raises(ValueError, match="finite number or a text"):
            check_card(card)
