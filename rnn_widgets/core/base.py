"""What the RNN, LSTM, GRU and the untied §1.2 network share: input checks, a^(0), stepwise runs."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .trace import AffineUse, Trace, finish_trace


class RecurrentBase(nn.Module):
    """A one-layer recurrent model in the lecture's notation.

    Subclasses define ``state_names`` (``("a",)``, ``("c", "h")`` or ``("h",)``),
    ``_step`` (one application of the recurrence, recording its affine maps) and,
    where PyTorch has a fused kernel, ``_fused`` and ``_fast_trace``.
    """

    state_names: tuple[str, ...] = ("a",)
    output_name: str = "a"

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size

    # ------------------------------------------------------------------ helpers
    def _reference_parameter(self) -> Tensor:
        """A parameter whose device and dtype the inputs follow (cheaper than ``next(self.parameters())``, a
        generator over every submodule, which showed in the time of a short trace)."""
        for p in self._parameters.values():
            if p is not None:
                return p
        return next(self.parameters())

    def _init_uniform(self) -> None:
        """torch.nn's initialisation: every parameter uniform in ±1/√H."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def _as_batch(self, x: Tensor) -> tuple[Tensor, bool]:
        """Accept ``(T, input)`` or ``(T, B, input)``; return ``(T, B, input)`` and whether it was batched."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (T, input) or (T, B, input), got {type(x).__name__}")
        if x.dim() not in (2, 3):
            raise ValueError(f"x must have shape (T, {self.input_size}) or (T, B, {self.input_size}), got {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"x's last axis must be input_size={self.input_size}, got shape {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("x has no time steps (T = 0); a sequence needs at least one token")
        ref = self._reference_parameter()
        x = x.to(device=ref.device, dtype=ref.dtype)
        return (x, True) if x.dim() == 3 else (x.unsqueeze(1), False)

    def initial_state(self, batch: int, state=None) -> tuple[Tensor, ...]:
        """The initial state a^(0) (§1.3): zeros unless given, one tensor per state name.

        The lecture fixes a^(0) independently of the input so that the first step has a
        "previous layer" too; like torch.nn, we default to zeros.
        """
        ref = self._reference_parameter()
        if state is None:
            zero = torch.zeros(batch, self.hidden_size, device=ref.device, dtype=ref.dtype)
            return tuple(zero for _ in self.state_names)
        if isinstance(state, Tensor):
            state = (state,)
        if len(state) != len(self.state_names):
            raise ValueError(f"the initial state must be {self.state_names}, got {len(state)} tensor(s)")
        out = []
        for name, s in zip(self.state_names, state):
            s = s.to(device=ref.device, dtype=ref.dtype)
            s = s.reshape(1, -1).expand(batch, -1) if s.dim() == 1 else s
            if s.shape != (batch, self.hidden_size):
                raise ValueError(f"initial {name} must have shape ({batch}, {self.hidden_size}), got {tuple(s.shape)}")
            out.append(s)
        return tuple(out)

    # ------------------------------------------------------------------ public
    def trace(self, x: Tensor, state=None, *, stepwise: bool = False, recurrent_scale: Tensor | None = None) -> Trace:
        """Run the sequence and return every per-step internal (time first, differentiable).

        Parameters
        ----------
        x : Tensor, ``(T, input)`` or ``(T, B, input)``
            The tokens x[0], …, x[T-1], one per step.
        state : Tensor or tuple of Tensors, optional
            The initial state (``a0``; ``(c0, h0)`` for the LSTM). Zeros by default.
        stepwise : bool
            ``False`` (default) uses PyTorch's fused kernels where they exist: fast, for
            display. ``True`` runs one step at a time and also records the per-step state
            tensors and weight applications that :mod:`~rnn_widgets.core.gradients` needs.
        recurrent_scale : Tensor ``(B,)``, optional
            Multiplies the recurrent weights of batch element b by ``recurrent_scale[b]`` (the state
            entering the affine map is scaled, the carried state is not). One batched run then covers
            a whole range of weight scales (§1.5's gradient map). Runs step by step; with autograd on (or
            ``stepwise=True``) it records what ``stepwise`` records, without autograd it runs a leaner loop
            where the model has one (:meth:`_scaled_loop`).
        """
        xb, batched = self._as_batch(x)
        init = self.initial_state(xb.shape[1], state)
        scale = None
        if recurrent_scale is not None:
            scale = torch.as_tensor(recurrent_scale, dtype=xb.dtype, device=xb.device).reshape(-1, 1)
            if scale.shape[0] != xb.shape[1]:
                raise ValueError(f"recurrent_scale needs one value per sequence ({xb.shape[1]}), got {scale.shape[0]}")
            if not stepwise and not torch.is_grad_enabled():
                values = self._scaled_loop(xb, init, scale)
                if values is not None:
                    return finish_trace(values, batched)
            stepwise = True
        if not stepwise:
            values = self._fast_trace(xb, init)
            if values is not None:
                return finish_trace(values, batched)
        return self._stepwise_trace(xb, init, batched, scale)

    def forward(self, x: Tensor, state=None):
        """``(outputs, final_state)``: outputs ``(T, [B,] H)`` are the states after each step.

        The fast path for training and generation: PyTorch's fused kernel where there is
        one, and no per-step internals. ``final_state`` is a tensor, or ``(c, h)`` for the LSTM.
        """
        xb, batched = self._as_batch(x)
        init = self.initial_state(xb.shape[1], state)
        result = self._fused(xb, init)
        if result is not None:
            out, final = result
        else:
            tr = self._stepwise_trace(xb, init, True)
            out, final = tr[self.output_name][1:], tuple(tr[n][-1] for n in self.state_names)
        if not batched:
            out, final = out.squeeze(1), tuple(s.squeeze(0) for s in final)
        return out, final[0] if len(final) == 1 else final

    def _stepwise_trace(self, xb: Tensor, init: tuple[Tensor, ...], batched: bool, scale: Tensor | None = None) -> Trace:
        states = {n: [s] for n, s in zip(self.state_names, init)}
        per_step: dict[str, list[Tensor]] = {}
        affine: list[AffineUse] = []
        for t in range(xb.shape[0]):
            prev = tuple(states[n][-1] for n in self.state_names)
            new, record, uses = self._step(t, prev, xb[t], scale)
            for n, s in zip(self.state_names, new):
                states[n].append(s)
            for k, v in record.items():
                per_step.setdefault(k, []).append(v)
            affine.extend(uses)
        values = {"x": xb}
        values.update({n: torch.stack(s) for n, s in states.items()})
        values.update({k: torch.stack(v) for k, v in per_step.items()})
        # the per-step graph nodes stay as they are; only the stacked values lose a single sequence's batch axis
        return finish_trace(values, batched, states=states, affine=affine)

    def _step(self, t: int, prev: tuple[Tensor, ...], x_t: Tensor, scale: Tensor | None = None):  # pragma: no cover
        """One step: ``(new_states, {name: per-step value}, [AffineUse, ...])``; ``scale`` (B, 1) scales the
        recurrent input of the affine maps."""
        raise NotImplementedError

    @staticmethod
    def _scaled(state: Tensor, scale: Tensor | None) -> Tensor:
        return state if scale is None else state * scale

    def _fused(self, xb: Tensor, init: tuple[Tensor, ...]):
        """``(outputs (T, B, H), final states)`` from a fused PyTorch kernel, or ``None`` if there is none."""
        return

    def _fast_trace(self, xb: Tensor, init: tuple[Tensor, ...]):
        """A full trace's values built around :meth:`_fused`, or ``None`` to run step by step."""
        return

    def _scaled_loop(self, xb: Tensor, init: tuple[Tensor, ...], scale: Tensor):
        """A trace's values with the recurrent input scaled by ``scale`` ``(B, 1)``, without autograd, or ``None``
        for :meth:`_stepwise_trace`. No fused kernel takes a weight per sequence, so this is a loop too, but
        it keeps only the recurrence in it (the inputs' part of every affine map is one matmul before it, the
        other per-step values come after it) and records nothing for autograd: at the gradient map's 21 scales
        and L = 300 it is what a student waits for (benchmarks/latency.py): the RNN's runs in a third of the
        stepwise trace's time. (The LSTM's gained nothing: its time goes to the gates' float64 sigmoid and tanh.)"""
        return

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"
