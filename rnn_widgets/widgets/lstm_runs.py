"""§2: the runs behind LSTMGatesWidget (split from lstm_gates.py): the cell with the knobs' bias offsets and the
chosen candidate nonlinearity, its gradients, the plain RNN beside it, and the memory the hand-built LSTM holds."""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..core import RNN, load_char_model, seeded
from ..core.cells import NONLINEARITIES
from ..core.jacobians import backward_states
from ..core.memory import remember_gru, remember_inputs, remember_lstm
from .numbers import fmt

MAX_CHARS = 200
#: the candidate's nonlinearities a student may pick (§2: "a nonlinearity (doesn't matter which one)"), as shown
CANDIDATES = {"tanh": "tanh", "relu": "ReLU", "identity": "identity", "sigmoid": "σ"}


def gate_bias_slices(cell: str, H: int) -> dict[str, slice]:
    """Where each knob's offset goes in the bias vector: LSTM b = [f; input gate; candidate; o];
    GRU bx = [r; z; n] (forget knob → z, the keep gate; input knob → r; no output gate)."""
    if cell == "lstm":
        return {"forget": slice(0, H), "input": slice(H, 2 * H), "output": slice(3 * H, 4 * H)}
    return {"forget": slice(H, 2 * H), "input": slice(0, H)}


@functools.lru_cache(maxsize=3)
def small_char_model(cell: str):
    """The shipped one-layer Shakespeare model for ``cell`` ("lstm", "gru", or "rnn": the tanh RNN they are
    compared with), loaded once and only read from here
    (``load_char_model`` returns a fresh copy on every call, too costly for every slider move)."""
    return load_char_model(f"small_{cell}", device="cpu")


def same_recipe(*cells: str) -> bool:
    """Whether the shipped small models of these cells were trained the same way: their model cards' training
    lines agree, less the time taken (what a comparison may then call "the same protocol")."""
    return len({str(small_char_model(c).card.get("training", "")).rsplit(",", 1)[0] for c in cells}) == 1


def check_text(text: str, cell: str) -> None:
    """Clear messages for text the character model cannot read."""
    if not text:
        raise ValueError("The text is empty: type a few characters for the model to read.")
    if len(text) > MAX_CHARS:
        raise ValueError(f"The text has {len(text)} characters; this view reads at most {MAX_CHARS}.")
    if len(text) < 2:
        raise ValueError("ℓ is the prediction of the text's last character from the ones before it: type at least "
                         "two characters.")
    unknown = small_char_model(cell).vocab.unknown(text) or small_char_model("rnn").vocab.unknown(text)
    if unknown:
        raise ValueError("The model was trained on Shakespeare and does not know these characters: "
                         + " ".join(repr(c) for c in unknown[:10]))


@functools.lru_cache(maxsize=8)
def gates_input(source: str, text: str, length: int, cell: str, candidate: str = "tanh"):
    """The layer the knobs start from, its input sequence x ``(T, input)``, and for text the model's readout
    and the id of the text's last character (the target of ℓ); ``None, None`` for the remember task.
    ``candidate``: the hand-built LSTM's candidate nonlinearity (the trained text models' is tanh)."""
    if source == "remember":
        layer = remember_lstm(candidate) if cell == "lstm" else remember_gru()
        return layer, remember_inputs(length), None, None
    char_model = small_char_model(cell)
    ids = char_model.encode(text)
    with torch.no_grad():
        return char_model.layers[0], char_model.embed(ids), char_model.readout, int(ids[-1])


def state_gradients(model, x: torch.Tensor, readout=None, target: int | None = None):
    """dℓ/d(state^(k)) for every state of ``model`` (``(K + 1, H)`` each, k = 0 … K) and ℓ's value.

    Without a readout (the remember task) ℓ = unit 0 of the output state after the last step (K = T: the
    remembered value). With one (text) ℓ = −log p(target | h^(T−1)), the cross-entropy with which the model
    predicts the text's last character from the ones before it (K = T − 1): the loss it was trained on, so
    two models' gradients are comparable. dℓ/dh^(K) = readoutᵀ (softmax − onehot), and the core's
    ``backward_states`` carries it back.
    """
    H = model.hidden_size
    if readout is None:
        u = torch.zeros(H, dtype=x.dtype)
        u[0] = 1.0
        loss = None
    else:
        x = x[:-1]
        with torch.no_grad():
            h = model.trace(x)[model.output_name][-1]
            logits = readout(h)
            p = torch.softmax(logits, -1)
            loss = float(-torch.log_softmax(logits, -1)[target])
            p[target] -= 1.0
            u = p @ readout.weight
    states, _ = backward_states(model, x.unsqueeze(1), u)
    return {k: v[:, 0] for k, v in states.items()}, loss


def norms(grads: torch.Tensor) -> np.ndarray:
    """‖·‖ of each row, in float64 (‖·‖² of tiny values must not underflow)."""
    return grads.double().norm(dim=-1).numpy()


@dataclass(frozen=True)
class PlainRun:
    """The comparison RNN's ‖dℓ/da^(k)‖, ℓ's value (text), and what it is (for the legend and the summary)."""

    norms: np.ndarray
    loss: float | None
    trained: bool
    name: str


@functools.lru_cache(maxsize=8)
def plain_rnn_run(source: str, text: str, length: int) -> PlainRun:
    """The plain RNN on the same input (it does not depend on the gate knobs).

    Text: the shipped one-layer tanh RNN trained on Shakespeare under the same protocol as the small LSTM and
    GRU (``small_rnn``), reading the same text, with the same ℓ. The remember task has no trained RNN (the
    LSTM and GRU there are hand-built): an untrained, seeded random tanh RNN of the same size, labelled so.
    """
    if source == "text":
        char_model = small_char_model("rnn")
        ids = char_model.encode(text)
        with torch.no_grad():
            x = char_model.embed(ids)
        grads, loss = state_gradients(char_model.layers[0], x, char_model.readout, int(ids[-1]))
        return PlainRun(norms(grads["a"]), loss, True, "trained tanh RNN")
    base, x, _, _ = gates_input(source, text, length, "lstm")
    rnn = seeded(0, lambda: RNN(base.input_size, base.hidden_size))
    grads, _ = state_gradients(rnn, x)
    return PlainRun(norms(grads["a"]), None, False, "untrained random RNN")


@dataclass(frozen=True)
class GatesRun:
    """One run of the cell with the knobs' offsets: its trace, dℓ/d(state^(k)) for k = 0 … K, ℓ, the comparison."""

    trace: object
    text: str | None
    model: object
    grads: dict
    flow: np.ndarray  # ‖dℓ/dc^(k)‖ (GRU: ‖dℓ/dh^(k)‖)
    loss: float | None
    plain: PlainRun


@functools.lru_cache(maxsize=32)  # the step and unit controls only redraw
def gates_run(source: str, text: str, length: int, cell: str, forget: float, input_: float, output: float,
              candidate: str = "tanh"):
    """The trace with the knobs' bias offsets applied, and ‖dℓ/dc^(k)‖ (GRU: h) beside the plain RNN's ‖dℓ/da^(k)‖
    (ℓ: see :func:`state_gradients`). ``candidate``: the hand-built LSTM's candidate nonlinearity."""
    base, x, readout, target = gates_input(source, text, length, cell, candidate)
    model = copy.deepcopy(base)
    bias = model.b if cell == "lstm" else model.bx
    offsets = {"forget": forget, "input": input_, "output": output}
    with torch.no_grad():
        for knob, sl in gate_bias_slices(cell, model.hidden_size).items():
            bias[sl] += offsets[knob]
        tr = model.trace(x)
    grads, loss = state_gradients(model, x, readout, target)
    flow = norms(grads["c" if cell == "lstm" else "h"])
    return GatesRun(tr, text or None, model, grads, flow, loss, plain_rnn_run(source, text, length))


@functools.lru_cache(maxsize=64)
def memory_held(length: int, forget: float, input_: float, output: float, candidate: str) -> tuple[float, float, float]:
    """The hand-built LSTM's memory unit 0 with this candidate nonlinearity: ``(c⁽¹⁾, c⁽ᵀ⁾, input gate)``, what it
    wrote at step 0, what it still holds after the last step, and its input gate's mean after step 0.

    The summary compares every candidate at each knob's move, so this is lean: the hand-built LSTM's gates read
    only x (W's h-columns are zero), so unit 0's gates are one affine map of x and c⁽ˡ⁺¹⁾ = c⁽ˡ⁾ f + i a loop of
    floats (the tests check it against the core's trace); with h-columns it runs the trace."""
    base, x, _, _ = gates_input("remember", "", length, "lstm", candidate)
    H = base.hidden_size
    offsets = {"forget": forget, "input": input_, "output": output}
    with torch.no_grad():
        b = base.b.clone()
        for knob, sl in gate_bias_slices("lstm", H).items():
            b[sl] += offsets[knob]
        if bool(base.W[:, :H].any()):
            model = copy.deepcopy(base)
            model.b.copy_(b)
            tr = model.trace(x)
            f, gate, i, c = tr.f[:, 0], tr.input_gate[:, 0], tr.i[:, 0], tr.c[:, 0]
        else:
            rows = [0, H, 2 * H, 3 * H]  # unit 0 of f, the input gate, the candidate, o
            z = x @ base.W[rows, H:].T + b[rows]  # (T, 4)
            f, gate = torch.sigmoid(z[:, 0]), torch.sigmoid(z[:, 1])
            i = gate * NONLINEARITIES[candidate](z[:, 2])
            c = [0.0]
            for f_t, i_t in zip(f.tolist(), i.tolist()):
                c.append(c[-1] * f_t + i_t)
            c = torch.tensor(c)
    mean_gate = float(gate[1:].mean()) if length > 1 else 0.0
    return float(c[1]), float(c[-1]), mean_gate


def held_shares(length: int, forget: float, input_: float, output: float) -> dict[str, float]:
    """c⁽ᵀ⁾ / c⁽¹⁾ of memory unit 0 for each candidate nonlinearity."""
    def share(phi):
        first, last, _ = memory_held(length, forget, input_, output, phi)
        return last / first if first != 0 else float("nan")
    return {phi: share(phi) for phi in CANDIDATES}


def held_sentence(length: int, forget: float, input_: float, output: float, candidate: str) -> str:
    """§2's "doesn't matter which one", in numbers: what unit 0 wrote and how much of it it holds, for the candidate
    shown and for each other one; where they differ, why."""
    shares = held_shares(length, forget, input_, output)
    first, last, gate = memory_held(length, forget, input_, output, candidate)
    others = ", ".join(f"{CANDIDATES[phi]} {fmt(100 * v, 3)}%" for phi, v in shares.items() if phi != candidate)
    spread = 100 * (max(shares.values()) - min(shares.values()))
    why = ("" if not spread > 5 else
           f" Here they differ by {fmt(spread, 2)} points: after step 0 the input gate still lets in "
           f"{fmt(gate)} (its mean) of φ of the noise, and a φ that is never negative (ReLU, σ) piles it up.")
    return (f" With candidate φ = {CANDIDATES[candidate]}, memory unit 0 writes c⁽¹⁾ = {fmt(first)} and holds "
            f"c⁽{length}⁾ = {fmt(last)} after step {length - 1}: {fmt(100 * shares[candidate], 3)}% of it "
            f"(φ = {others}). Each step keeps f of c whatever φ is: φ decides what is written, f how long it "
            f"lasts." + why)
