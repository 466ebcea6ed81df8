"""The record of one run of a recurrent model: every per-step internal, time first."""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class AffineUse:
    """One application k of a weight matrix (and its bias) inside a stepwise run.

    ``out = W[index] @ inp + b[index]`` (``index`` is ``None`` for shared weights,
    ``k`` for the untied §1.2 network). Recording the applications lets
    :mod:`rnn_widgets.core.gradients` split dℓ/dW into per-step contributions
    (Remark 1.1) without knowing which cell produced them.
    """

    weight: str
    bias: str | None
    inp: Tensor  # (B, in)
    out: Tensor  # (B, out), a graph node whose total gradient autograd can return
    index: int | None = None


@dataclass
class Trace:
    """Every per-step value of a run, as tensors with time first.

    ``values`` maps a lecture name to a tensor: states have ``T + 1`` rows (index 0 is
    the initial state a^(0)), everything computed at a step has ``T`` rows. Entries are
    ``(T[+1], B, size)`` for a batch and ``(T[+1], size)`` for a single sequence.
    Attribute access works too: ``trace.h`` is ``trace.values["h"]``.

    A stepwise trace (``model.trace(x, stepwise=True)``) also keeps ``states``: for each
    state name, the list of per-step tensors that later steps were computed from, so one
    backward pass can return dℓ/da^(k) for every k; and ``affine``: the applications of
    each weight matrix.
    """

    values: dict[str, Tensor]
    batched: bool
    states: dict[str, list[Tensor]] = field(default_factory=dict)
    affine: list[AffineUse] = field(default_factory=list)

    def __getattr__(self, name: str) -> Tensor:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"this trace has no {name!r}; it has {sorted(values)}")

    def __getitem__(self, name: str) -> Tensor:
        return self.values[name]

    def keys(self):
        return self.values.keys()

    @property
    def length(self) -> int:
        """The number of steps T."""
        return self.values["x"].shape[0]


def finish_trace(values: dict[str, Tensor], batched: bool, **kw) -> Trace:
    """Drop the batch axis of a single sequence's trace (``(T, 1, n)`` → ``(T, n)``)."""
    if not batched:
        values = {k: v.squeeze(1) for k, v in values.items()}
    return Trace(values=values, batched=batched, **kw)
