"""The §1.2 network: one layer per token, each with its own W^(l), b^(l) (no weight sharing)."""
from __future__ import annotations

import torch

from .base import RecurrentBase
from .cells import NONLINEARITIES
from .device import resolve_device
from .trace import AffineUse


class UntiedRNN(RecurrentBase):
    """One layer per token (§1.2): a^(l+1) = σ(W^(l+1) [a^(l); x[l]] + b^(l+1)).

    The same interface as :class:`~rnn_widgets.core.RNN`, but layer l has its own weights,
    so the network needs as many layers as the longest sequence (``max_len``), and its
    parameter count grows with it. ``W`` is ``(max_len, H, H + input)``; row l is W^(l+1),
    the layer applied to token x[l]. A sequence longer than ``max_len`` has no layer to go
    to and raises a :class:`ValueError` (one of the problems §1.2 lists).
    """

    state_names = ("a",)
    output_name = "a"

    def __init__(self, input_size: int, hidden_size: int, max_len: int, nonlinearity: str = "tanh",
                 *, device=None, dtype=None):
        super().__init__(input_size, hidden_size)
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(NONLINEARITIES)}, got {nonlinearity!r}")
        self.max_len = max_len
        self.nonlinearity = nonlinearity
        dev = resolve_device(device)
        self.W = torch.nn.Parameter(torch.empty(max_len, hidden_size, hidden_size + input_size, device=dev, dtype=dtype))
        self.b = torch.nn.Parameter(torch.empty(max_len, hidden_size, device=dev, dtype=dtype))
        self._init_uniform()

    @classmethod
    def from_shared(cls, rnn, max_len: int) -> UntiedRNN:
        """Untie an RNN: every layer starts as a copy of the shared W, b (same outputs, separate gradients)."""
        new = cls(rnn.input_size, rnn.hidden_size, max_len, rnn.nonlinearity, device=rnn.W.device, dtype=rnn.W.dtype)
        with torch.no_grad():
            new.W.copy_(rnn.W.expand_as(new.W))
            new.b.copy_(rnn.b.expand_as(new.b))
        return new

    def _as_batch(self, x):
        xb, batched = super()._as_batch(x)
        if xb.shape[0] > self.max_len:
            raise ValueError(
                f"this one-layer-per-token network has {self.max_len} layers, so it cannot read a sequence of "
                f"{xb.shape[0]} tokens (§1.2: it needs as many layers as the longest input)"
            )
        return xb, batched

    def _step(self, t, prev, x_t, scale=None):
        (a,) = prev
        inp = torch.cat([self._scaled(a, scale), x_t], dim=-1)  # (B, H + I)
        z = inp @ self.W[t].T + self.b[t]  # layer t's own weights
        return (NONLINEARITIES[self.nonlinearity](z),), {"z": z}, [AffineUse("W", "b", inp, z, index=t)]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", max_len={self.max_len}, nonlinearity={self.nonlinearity!r}"


def parameter_count(input_size: int, hidden_size: int, max_len: int, *, tied: bool) -> int:
    """Parameters of the §1.3 RNN (``tied=True``) or the §1.2 one-layer-per-token network.

    One layer has ``H (H + input) + H`` numbers. The RNN needs one layer whatever the length;
    the untied network needs ``max_len`` of them, except that its first layer has no previous layer
    to read (§1.2: "a^(1) is missing the previous layer output"), so W^(1) has no state columns:
    ``H · H`` fewer. (:class:`UntiedRNN` keeps those columns, multiplying a^(0) = 0: they never
    change the output and never get a gradient.)
    """
    per_layer = hidden_size * (hidden_size + input_size) + hidden_size
    return per_layer if tied else per_layer * max_len - hidden_size * hidden_size
