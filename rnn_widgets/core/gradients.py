"""Gradients the lecture talks about: per-step contributions (Remark 1.1), dℓ/da^(k) (§1.5), clipping."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import RecurrentBase
from .trace import Trace


@dataclass
class StepGradients:
    """The result of :func:`step_gradients`.

    Attributes
    ----------
    loss : Tensor
        The scalar loss ℓ.
    trace : Trace
        The stepwise run the loss was taken on.
    states : dict
        State name → dℓ/da^(k) for k = 0 … T, ``(T + 1, [B,] H)``: the *total* derivative,
        through every later step, as in §1.5's product of Jacobians.
    contributions : dict
        Weight name → ``(T, *shape)``: the gradient from the application at step k alone
        (Remark 1.1). ``sum(0)`` is dℓ/dW for a shared W.
    total : dict
        Parameter name → autograd's dℓ/dparam, for comparison.
    """

    loss: Tensor
    trace: Trace
    states: dict[str, Tensor]
    contributions: dict[str, Tensor]
    total: dict[str, Tensor]

    def summed(self, name: str) -> Tensor:
        """The per-step contributions to ``name`` added up in the parameter's own shape.

        For shared weights this is their sum over steps; for the untied §1.2 network each
        layer W^(l) receives only its own step's contribution.
        """
        contrib = self.contributions[name]
        total = self.total[name]
        if contrib.shape[1:] == total.shape:
            return contrib.sum(0)
        out = torch.zeros_like(total)
        out[: contrib.shape[0]] = contrib
        return out


def step_gradients(model: RecurrentBase, x: Tensor, loss_fn: Callable[[Trace], Tensor], state=None,
                   recurrent_scale: Tensor | None = None, per_sequence: bool = False) -> StepGradients:
    """Run ``model`` on ``x``, take ``loss_fn(trace)`` and split its gradient by step, in ONE backward pass.

    Autograd returns the total gradient at every per-step state and at the output of every
    application of W; the contribution of application k to dℓ/dW is then the outer product
    of dℓ/dz_k with that application's input (Remark 1.1), with no extra passes.
    ``recurrent_scale`` is passed to :meth:`~rnn_widgets.core.base.RecurrentBase.trace`.

    ``per_sequence=True`` keeps the batch axis in the contributions, ``(T, B, *shape)``, so each
    sequence's own dℓ/dW is their sum over T; ``total`` is then that sum over T and B (autograd is
    not asked for the parameters separately).
    """
    xb, batched = model._as_batch(x)
    init = tuple(s.detach().clone().requires_grad_(True) for s in model.initial_state(xb.shape[1], state))
    tr = model.trace(x, init, stepwise=True, recurrent_scale=recurrent_scale)
    loss = loss_fn(tr)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn must return a scalar tensor")
    names = model.state_names
    nodes = [s for n in names for s in tr.states[n]]
    outs = [u.out for u in tr.affine]
    params = {} if per_sequence else dict(model.named_parameters())
    wrt = nodes + outs + list(params.values())
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(wrt, grads)]

    n_steps = xb.shape[0] + 1
    states = {}
    for j, n in enumerate(names):
        g = torch.stack(grads[j * n_steps : (j + 1) * n_steps])
        states[n] = g if batched else g.squeeze(1)

    # Each application's contribution is the outer product of dℓ/d(out) with its input; stacking the
    # applications of one weight first turns T small products into one einsum.
    groups: dict[tuple, tuple[list, list]] = {}
    for use, g_out in zip(tr.affine, grads[len(nodes) : len(nodes) + len(outs)]):
        gs, xs = groups.setdefault((use.weight, use.bias), ([], []))
        gs.append(g_out)
        xs.append(use.inp)
    contributions: dict = {}
    with torch.no_grad():
        for (weight, bias), (gs, xs) in groups.items():
            G, X = torch.stack(gs), torch.stack(xs)  # (T, B, out), (T, B, in)
            if per_sequence:
                contributions[weight] = torch.einsum("tbo,tbi->tboi", G, X)
            else:
                contributions[weight] = torch.einsum("tbo,tbi->toi", G, X)  # summed over the batch
            if bias is not None:
                contributions[bias] = G if per_sequence else G.sum(1)
    total = dict(zip(params, grads[len(nodes) + len(outs) :]))
    if per_sequence:
        total = {k: v.sum((0, 1)) for k, v in contributions.items()}
    return StepGradients(loss=loss.detach(), trace=tr, states=states, contributions=contributions, total=total)


def clip_by_norm(grad: Tensor | Sequence[Tensor], max_norm: float):
    """Clipping by norm (§1.5): scale the gradient so its norm is at most ``max_norm``.

    Returns ``(clipped, factor)`` where ``factor = min(1, max_norm / ‖g‖)``; the direction is
    unchanged. A sequence of tensors is clipped by their joint norm. Pure: the input is not
    modified. A non-finite norm has no direction to keep and raises :class:`ValueError`.
    """
    if not (isinstance(max_norm, (int, float)) and max_norm > 0 and math.isfinite(max_norm)):
        raise ValueError(f"max_norm must be a positive finite number, got {max_norm!r}")
    single = isinstance(grad, Tensor)
    tensors = [grad] if single else list(grad)
    norm = torch.sqrt(sum((t.double() ** 2).sum() for t in tensors)).item()
    if not math.isfinite(norm):
        raise ValueError(f"the gradient's norm is {norm}: it overflowed, so clipping cannot keep its direction")
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    clipped = [t * factor for t in tensors]
    return (clipped[0] if single else clipped), factor
