"""Memory over real text (§1.5, §2, Remark 2.1): what a trained character model's units follow in a passage,
and how far back the gradient of one prediction reaches.

* :func:`read_passage` runs a one-layer :class:`~rnn_widgets.core.CharModel` over a passage and keeps every
  per-step value (the states c, h — a for the RNN — and the gates), one row per character read.
* :func:`find_units` ranks the units by their correlation with simple features of the text (inside quotes
  or brackets, position in the line, after a space, upper case, vowel), as Karpathy's "quote cell" and
  "line-position cell" were found.
* :func:`connectivity` gives ‖dℓ_t/dx[k]‖ for every character k ≤ t, where ℓ_t is the loss of predicting
  character t + 1 (Distill's "connectivity"): one backward recursion through the kept values
  (:class:`StepDerivatives`), not one pass per k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .charmodel import CharModel
from .trace import Trace

#: the longest passage read at once (a student's paste beyond it gets a message, not a long wait)
MAX_PASSAGE = 2000
#: The Taming of the Shrew, Act III scene 1, from the last 10% of tinyshakespeare.txt: text the shipped
#: models never trained on
DEFAULT_PASSAGE = (
    "BIANCA:\nWhy, I am past my gamut long ago.\n\nHORTENSIO:\nYet read the gamut of Hortensio.\n\nBIANCA:\n\n"
    "Servant:\nMistress, your father prays you leave your books\nAnd help to dress your sister's chamber up:\n"
    "You know to-morrow is the wedding-day.\n\nBIANCA:\nFarewell, sweet masters both; I must be gone.\n\n"
    "LUCENTIO:\nFaith, mistress, then I have no cause to stay.\n\nHORTENSIO:\nBut I have cause to pry into "
    "this pedant:\n"
)

PAD = 256  # passages are run in lengths of 256, 512, … (see read_passage)

#: what each recurrent layer's trace calls its values, and how the widgets name them (state: one row per
#: character, the value after reading it; gate: the value computed while reading it)
SIGNALS = {
    "rnn": {"a": "hidden state a"},
    "lstm": {"c": "cell state c", "h": "hidden state h", "f": "forget gate f", "input_gate": "input gate",
             "o": "output gate o"},
    "gru": {"h": "hidden state h", "z": "update gate z", "r": "reset gate r", "n": "candidate n"},
}
STATES = {"a", "c", "h"}
#: each model's gates (sigmoids, 0 shut … 1 open), in the order the widgets draw them; the RNN has none
GATES = {"lstm": ("f", "input_gate", "o"), "gru": ("z", "r")}
#: a gate value counts as soft (neither shut nor open) strictly between these
SOFT = (0.1, 0.9)
GATE_BINS = 10  # the gate histogram's bins: 0–0.1, 0.1–0.2, …, 0.9–1

VOWELS = set("aeiouAEIOU")


def text_features(text: str) -> dict[str, np.ndarray]:
    """Simple features of each character of ``text`` (float arrays, one value per character).

    - inside quotes or brackets: 1 from an opening ``( [ {`` or quote to its closer, both included (a quote
      opens or closes by turns; an apostrophe inside a word, as in "o'er", is not a quote)
    - position in the line: characters since the last newline (0 at a line's start)
    - after a space: the previous character is a space
    - upper case, vowel: the character itself
    """
    inside, depth, open_quotes = [], 0, set()
    position, pos = [], 0
    for k, ch in enumerate(text):
        before = depth > 0 or bool(open_quotes)
        word_apostrophe = ch == "'" and 0 < k < len(text) - 1 and text[k - 1].isalpha() and text[k + 1].isalpha()
        if ch in "\"'" and not word_apostrophe:
            if ch in open_quotes:
                open_quotes.discard(ch)
            else:
                open_quotes.add(ch)
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        inside.append(float(before or depth > 0 or bool(open_quotes)))  # the marks themselves count as inside
        position.append(float(pos))
        pos = 0 if ch == "\n" else pos + 1
    return {
        "inside quotes or brackets": np.array(inside),
        "position in the line": np.array(position),
        "after a space": np.array([0.0] + [float(c == " ") for c in text[:-1]])[: len(text)],
        "upper case": np.array([float(c.isupper()) for c in text]),
        "vowel": np.array([float(c in VOWELS) for c in text]),
    }


class StepDerivatives:
    """Every step's local derivatives of one layer over a passage (float64 numpy), taken once per passage so
    that the backward recursion for a position t is a handful of small numpy operations per step.

    A single sequence steps one vector at a time: numpy's cost per operation is a third of torch's there,
    and the widgets redraw on every slider move. The recursion runs in float32 with contiguous matrices
    (a float64 or strided vector-matrix product is several times slower); the values it starts from were
    computed in float64.
    ``rnn_widgets.core.jacobians`` runs the same recursions in torch for batches (and the tests check both
    against autograd).
    """

    def __init__(self, layer, tr: Trace):
        v = {k: val[:, 0].numpy() for k, val in tr.values.items()}  # (T[+1], size): one sequence
        H = layer.hidden_size
        self.kind = type(layer).__name__
        if self.kind == "RNN":
            if layer.nonlinearity != "tanh" or layer.skip:
                raise ValueError("connectivity is written for the tanh RNN of §1.3")
            W = layer.W.detach().cpu().numpy()
            self.slope = 1 - v["a"][1:] ** 2  # tanh'(z^(k)) = 1 − (a^(k+1))²
            self.W_state, self.W_x = W[:, :H], W[:, H:]
        elif self.kind == "LSTM":
            W = layer.W.detach().cpu().numpy()
            f, ig, cand, o, c = v["f"], v["input_gate"], v["candidate"], v["o"], v["c"]
            tc = np.tanh(c[1:])
            # dℓ/dz^(k) = [dc, dc, dc, dh] ⊙ local[k], z = [f; input gate; candidate; o] pre-activations
            self.local = np.stack([c[:-1] * f * (1 - f), cand * ig * (1 - ig), ig * (1 - cand ** 2),
                                   tc * o * (1 - o)], 1)  # (T, 4, H)
            self.h_to_c = o * (1 - tc ** 2)  # dh^(k+1)/dc^(k+1)
            self.f = f
            self.W_state, self.W_x = W[:, :H], W[:, H:]
        elif self.kind == "GRU":
            Wh, bh = layer.Wh.detach().cpu().double().numpy(), layer.bh.detach().cpu().double().numpy()
            h, r, z, n = v["h"], v["r"], v["z"], v["n"]
            gh_n = h[:-1] @ Wh[2 * H:].T + bh[2 * H:]  # the h part of n's pre-activation (before r)
            dn = (1 - z) * (1 - n ** 2)
            dr = dn * gh_n * r * (1 - r)
            dz = (h[:-1] - n) * z * (1 - z)
            self.local_x = np.stack([dr, dz, dn], 1)  # (T, 3, H): [r; z; n] of the map on x
            self.local_h = np.stack([dr, dz, dn * r], 1)  # the map on h is multiplied by r in n
            self.z = z
            self.W_state, self.W_x = Wh, layer.Wx.detach().cpu().numpy()
        else:
            raise TypeError(f"no connectivity for {self.kind}")
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray):
                setattr(self, name, np.ascontiguousarray(value, dtype=np.float32))

    def input_gradients(self, u: np.ndarray, first: int, last: int) -> np.ndarray:
        """dℓ/dx[k] for k = first … last, ℓ = u · (output state after step ``last``): ``(last − first + 1, E)``."""
        steps = range(last, first - 1, -1)
        u = u.astype(np.float32)
        if self.kind == "RNN":
            g, dz = u, np.empty((last - first + 1, u.size), np.float32)
            for k in steps:
                dz[k - first] = d = g * self.slope[k]
                g = d @ self.W_state
            return dz @ self.W_x
        if self.kind == "LSTM":
            H = u.size
            gh, gc = u, np.zeros(H, np.float32)
            dz, cc = np.empty((last - first + 1, 4, H), np.float32), np.empty((4, H), np.float32)
            for k in steps:
                dc = gc + gh * self.h_to_c[k]  # through c^(k+2) and through h^(k+1)
                cc[:3], cc[3] = dc, gh
                d = np.multiply(self.local[k], cc, out=dz[k - first])
                gc, gh = dc * self.f[k], d.reshape(-1) @ self.W_state
            return dz.reshape(len(dz), -1) @ self.W_x
        H = u.size
        g, dx, g3 = u, np.empty((last - first + 1, 3, H), np.float32), np.empty((3, H), np.float32)
        for k in steps:
            g3[:] = g
            np.multiply(self.local_x[k], g3, out=dx[k - first])
            g = (self.local_h[k] * g3).reshape(-1) @ self.W_state + g * self.z[k]  # the carry z ⊙ h too
        return dx.reshape(len(dx), -1) @ self.W_x


@dataclass
class Passage:
    """A passage read by one model: the characters, their ids, the trace of the model's one layer (batched
    ``(T[+1], 1, ·)``, kept in float64), its step derivatives, and its readout."""

    text: str
    ids: Tensor
    trace: Trace
    cell: str
    derivatives: StepDerivatives
    readout: tuple[np.ndarray, np.ndarray]  # the model's readout weight and bias, float64

    def signal(self, name: str) -> np.ndarray:
        """``(T, H)``: one row per character; for a state, its value after reading that character."""
        values = self.trace[name][1:] if name in STATES else self.trace[name]
        return values[:, 0].numpy()


def check_passage(model: CharModel, text: str, limit: int = MAX_PASSAGE) -> None:
    """Clear messages for a passage the model cannot read (ValueError)."""
    if not isinstance(text, str) or not text:
        raise ValueError("The passage is empty: type or paste some text for the models to read.")
    if len(text) < 2:
        raise ValueError("The passage needs at least two characters: one to read and the next to predict.")
    if len(text) > limit:
        raise ValueError(f"The passage has {len(text):,} characters; at most {limit:,} are read at once.")
    unknown = model.vocab.unknown(text)
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise ValueError(f"The models were trained on Shakespeare and do not know these characters: {shown}")


@torch.no_grad()
def read_passage(model: CharModel, text: str) -> Passage:
    """Run ``model`` (one layer) over ``text`` and keep every per-step value."""
    check_passage(model, text)
    if model.num_layers != 1:
        raise ValueError(f"memory over text reads one-layer models; this one has {model.num_layers} layers")
    layer = model.layers[0]
    ids = model.encode(text)
    T = len(text)
    x = model.embed(ids)  # (T, E): x[l] is character l's embedding
    # PyTorch's fused kernel in float32 (float64 took three times as long), with oneDNN: 7 ms instead of 30 ms
    # for 500 LSTM steps. oneDNN keeps a compiled kernel per input shape, so the input is padded at its end to
    # a multiple of PAD steps (a handful of shapes, however many passages); padding after T changes nothing
    # before it.
    padded = -(-T // PAD) * PAD
    x = torch.cat([x, x.new_zeros(padded - T, x.shape[-1])]).unsqueeze(1)
    onednn, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, True  # (its flags() warns about TF32)
    try:
        tr = layer.trace(x)
    finally:
        torch.backends.mkldnn.enabled = onednn
    tr = Trace(values={k: v[: T + 1 if k in layer.state_names else T].detach().cpu().double()
                       for k, v in tr.values.items()}, batched=True)
    readout = tuple(p.detach().cpu().double().numpy() for p in (model.readout.weight, model.readout.bias))
    return Passage(text, ids.cpu(), tr, model.cell, StepDerivatives(layer, tr), readout)


def loss_gradient(model: CharModel, passage: Passage, t: int) -> tuple[float, np.ndarray]:
    """ℓ_t = −log p(character t + 1 | characters 0 … t) and dℓ_t/d(state after reading character t)."""
    state = passage.trace[model.layers[0].output_name][t + 1, 0].numpy()
    weight, bias = passage.readout
    logits = weight @ state + bias
    p = np.exp(logits - logits.max())
    p /= p.sum()
    target = int(passage.ids[t + 1])
    loss = float(-np.log(p[target]))
    p[target] -= 1.0  # dℓ/dlogits of the cross-entropy
    return loss, p @ weight


def connectivity(model: CharModel, passage: Passage, t: int, max_distance: int | None = None) -> np.ndarray:
    """‖dℓ_t/dx[k]‖ for k = t, t − 1, …, back to 0 (or ``max_distance`` characters back): entry d is distance
    t − k = d. ℓ_t = −log p(character t + 1 | characters 0 … t), so 0 ≤ t ≤ T − 2.

    The state before the window is taken as given (it does not depend on x[k] for k in the window), so
    the window's values are exact.
    """
    T = len(passage.text)
    if not 0 <= t <= T - 2:
        raise ValueError(f"the position t must be from 0 to {T - 2} (a next character to predict); got {t}")
    first = 0 if max_distance is None else max(0, t - max_distance)
    _, u = loss_gradient(model, passage, t)
    grads = passage.derivatives.input_gradients(u, first, t)
    return np.linalg.norm(grads.astype(np.float64), axis=1)[::-1].copy()


def fall_distance(norms: np.ndarray, share: float = 0.01) -> int | None:
    """The first distance at which ``norms`` (indexed by distance) falls below ``share`` of its largest value
    and stays below from there on; None if it never does within the window."""
    norms = np.asarray(norms, dtype=float)
    if norms.size == 0 or not np.isfinite(norms).all() or norms.max() <= 0:
        return None
    above = np.flatnonzero(norms >= share * norms.max())
    last = int(above[-1])
    return last + 1 if last + 1 < norms.size else None


def correlations(values: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson correlation of each unit (column of ``values``, ``(T, H)``) with ``feature`` ``(T,)``; 0 where
    either does not vary."""
    v = values - values.mean(0)
    f = feature - feature.mean()
    denom = np.sqrt((v ** 2).sum(0) * (f ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (v * f[:, None]).sum(0) / denom
    return np.where(denom > 1e-12, r, 0.0)


@dataclass(frozen=True)
class FoundUnit:
    feature: str
    unit: int | None  # None: the feature does not vary in this passage
    r: float


def find_units(values: np.ndarray, text: str) -> list[FoundUnit]:
    """For each feature of :func:`text_features`, the unit whose values over the passage correlate most
    strongly with it (either sign), with that correlation."""
    found = []
    for name, feature in text_features(text).items():
        if feature.std() == 0:
            found.append(FoundUnit(name, None, 0.0))
            continue
        r = correlations(np.asarray(values, dtype=float), feature)
        best = int(np.argmax(np.abs(r)))
        found.append(FoundUnit(name, best, float(r[best])))
    return found


def gate_histogram(values: np.ndarray, bins: int = GATE_BINS) -> np.ndarray:
    """The share of ``values`` (a gate's, every unit at every character) in each of ``bins`` equal bins of [0, 1]
    (the last bin includes 1)."""
    counts, _ = np.histogram(np.clip(np.asarray(values, dtype=float).ravel(), 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return counts / max(counts.sum(), 1)


def soft_share(values: np.ndarray, lo: float = SOFT[0], hi: float = SOFT[1]) -> float:
    """The share of ``values`` strictly between ``lo`` and ``hi``: a gate neither shut nor open there."""
    v = np.asarray(values, dtype=float).ravel()
    return float(np.mean((v > lo) & (v < hi))) if v.size else 0.0


def training_window(model: CharModel) -> int | None:
    """The characters per training sequence that the model's card names ("batch 64 x 100 chars"), or None.

    The Trainer starts each random window from a zero state (truncated backpropagation through time), so no
    training gradient ran more than ``window − 1`` characters back."""
    found = re.search(r"batch \d+ x (\d+) char", str(getattr(model, "card", {}).get("training", "")))
    return int(found.group(1)) if found else None
