"""§1.5: how ‖dℓ/da^(k)‖ changes with the distance from the loss, for plain, skip, LSTM and GRU models.

The recurrent weights are orthogonal matrices times a scale, so the scale is the spectral radius
of the recurrent map: the product of Jacobians dℓ/da^(1) = dℓ/da^(L) · da^(L)/da^(L−1) ⋯ shrinks
or grows roughly like scale^(L−k) times the nonlinearity's slopes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .cells import GRU, LSTM, RNN
from .device import resolve_device
from .gradients import clip_by_norm
from .jacobians import _slope, _with_recurrent_scale, backward_states
from .seeding import seeded

MODELS = {"rnn": "plain RNN", "skip": "RNN + skip connection", "lstm": "LSTM", "gru": "GRU"}
INPUT_SIZE = 4
#: the LSTM's forget gate and the GRU's update gate (here z = 1 keeps h) start open, bias 3 (σ(3) ≈ 0.95): the
#: cell's skip path at its best. Trained models need not be so: the shipped small LSTM's f averages 0.58 over
#: held-out Shakespeare and its GRU's z is mostly near 0 (tests/test_claims.py measures both)
GATE_BIAS = 3.0


def flow_model(kind: str, nonlinearity: str = "tanh", hidden: int = 16, seed: int = 0, device=None,
               dtype=torch.float64):
    """A model whose recurrent weight blocks are orthogonal (spectral radius 1 before scaling)."""
    if kind not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {kind!r}")

    def build():
        if kind in ("rnn", "skip"):
            m = RNN(INPUT_SIZE, hidden, nonlinearity, skip=kind == "skip", dtype=dtype)
            blocks, W = 1, m.W
        elif kind == "lstm":
            m = LSTM(INPUT_SIZE, hidden, dtype=dtype)
            blocks, W = 4, m.W
        else:
            m = GRU(INPUT_SIZE, hidden, dtype=dtype)
            blocks, W = 3, m.Wh
        with torch.no_grad():
            for k in range(blocks):
                q, _ = torch.linalg.qr(torch.randn(hidden, hidden, dtype=dtype))
                W[k * hidden:(k + 1) * hidden, :hidden] = q
            if kind == "lstm":
                m.gate_bias("f").fill_(GATE_BIAS)
            if kind == "gru":
                m.bh[hidden:2 * hidden].fill_(GATE_BIAS)
                m.bx[hidden:2 * hidden].zero_()
        return m

    return seeded(seed, build).to(resolve_device(device))


@dataclass
class Flow:
    """What one batched backward pass tells about the gradient, one row per scale."""

    norms: Tensor  # (S, L+1): ‖dℓ/da^(k)‖, float64, inf where the gradient overflowed
    weight_grads: list[Tensor]  # each parameter's dℓ/dparam of row 0 (the chosen scale)
    scales: Tensor  # (S,)


def gradient_norms(model, seq_len: int, scales, seed: int = 0) -> Flow:
    """One batched pass over all ``scales``: ‖dℓ/da^(k)‖ with ℓ = u · (the state a^(L)) for a fixed unit u.

    For the LSTM, a = [c; h] (§2), so the norm covers both. The backward pass is the product of
    Jacobians written out (:mod:`~rnn_widgets.core.jacobians`; equal to autograd's, see the tests).
    Everything runs on the model's device.
    """
    ref = next(model.parameters())
    scales = torch.as_tensor(scales, dtype=ref.dtype, device=ref.device).reshape(-1)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, INPUT_SIZE, generator=g, dtype=ref.dtype).to(ref.device)
    x = x.expand(seq_len, scales.numel(), INPUT_SIZE)
    u = torch.randn(model.hidden_size, generator=g, dtype=ref.dtype).to(ref.device)
    states, weight_grads = backward_states(model, x, u / u.norm(), scales)
    sq = sum(v.pow(2).sum(-1) for v in states.values())  # (L+1, S)
    return Flow(norms=sq.sqrt().T, weight_grads=[w[0] for w in weight_grads.values()], scales=scales)


@torch.no_grad()
def step_jacobian_norms(model: RNN, seq_len: int, scale: float, seed: int = 0) -> Tensor:
    """The spectral norm of each step's Jacobian da^(k+1)/da^(k) = diag(σ′(z^(k+1))) · scale·W_a (plus I
    with a skip connection), k = 0 … L−1, on the same input as :func:`gradient_norms` (§1.5).

    Their product bounds how much the gradient can grow over the steps; σ′ ≤ 1 (tanh, sigmoid) keeps
    each norm at or below the weight scale.
    """
    if not isinstance(model, RNN):
        raise TypeError("per-step Jacobian norms are written out for the plain and skip RNNs only")
    ref = model.W
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, INPUT_SIZE, generator=g, dtype=ref.dtype).to(ref.device)  # as gradient_norms
    scaled = _with_recurrent_scale(model, float(scale))
    tr = scaled.trace(x)
    H = model.hidden_size
    Wa = scaled.W[:, :H]
    slope = _slope(model.nonlinearity, tr.z[:, 0])  # (L, H)
    if not model.skip:
        # flow_model's W_a is a scaled orthogonal matrix ρQ, and then ‖diag(σ′) ρQ‖₂ = ρ · max_i |σ′_i| exactly
        # (Q changes no length): no decomposition, where one per step was a fifth of a cold update at L = 300
        gram = Wa.T @ Wa
        rho2 = float(gram.diagonal().mean())
        if torch.allclose(gram, rho2 * torch.eye(H, dtype=gram.dtype, device=gram.device), rtol=0,
                          atol=1e-12 * max(rho2, 1e-300)):
            return slope.abs().amax(-1) * rho2 ** 0.5
    J = slope[:, :, None] * Wa  # (L, H, H): row i scaled by σ′(z_i)
    if model.skip:
        J = J + torch.eye(H, dtype=J.dtype, device=J.device)
    # ‖J‖₂ = √λ_max(J Jᵀ): a symmetric eigensolver is a third cheaper than the SVD behind matrix_norm(ord=2), and
    # the largest eigenvalue comes out to a relative ε (only the small ones, unused here, suffer from the square)
    return torch.linalg.eigvalsh(J @ J.mT)[..., -1].clamp_min(0).sqrt()


@torch.no_grad()
def slope_rms(model: RNN, seq_len: int, scale: float, seed: int = 0) -> float:
    """scale × the RMS over the units of σ′(z^(k+1)), geometric mean over the steps (same input as
    :func:`gradient_norms`; plain RNN).

    With W_a = scale·Q (Q orthogonal) the norm of one step's Jacobian diag(σ′) W_a is scale × the *largest*
    slope, but Q turns the gradient so that it meets every unit's slope: it shrinks per step by about
    scale × the RMS slope, which is what the fitted ρ measures.
    """
    if not isinstance(model, RNN) or model.skip:
        raise TypeError("the RMS slope describes the plain RNN's steps only")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, INPUT_SIZE, generator=g, dtype=model.W.dtype).to(model.W.device)
    tr = _with_recurrent_scale(model, float(scale)).trace(x)
    rms = _slope(model.nonlinearity, tr.z[:, 0]).pow(2).mean(-1).sqrt()
    return float(scale) * float(torch.log(rms.clamp_min(1e-300)).mean().exp())


def scaled_weight_grads(kind: str, grads: list[Tensor], scale: float) -> list[Tensor]:
    """dℓ/d(W, b) against the *effective* weights, the recurrent block multiplied by the weight scale.

    :func:`gradient_norms` returns dℓ/d(the model's W), whose recurrent block the scale then multiplies: the
    effective block is scale·W_a, so its gradient is dℓ/dW_a / scale. Order as in ``Flow.weight_grads``: [W, b]
    for the RNNs and the LSTM (W_a: W's columns that read the state, all but the last INPUT_SIZE), [W_x, b_x, W_h,
    b_h] for the GRU (W_h all).
    """
    out = [g.clone() for g in grads]
    if kind == "gru":
        out[2] = out[2] / scale
    else:
        hidden = out[0].shape[1] - INPUT_SIZE
        out[0][:, :hidden] = out[0][:, :hidden] / scale
    return out


def clip_summary(grads: list[Tensor], threshold: float):
    """Clip ``grads`` by their joint norm (§1.5) and say what happened.

    Returns ``(norm_before, norm_after, factor, cosine)``; the cosine between the clipped and the
    original gradient is 1: clipping changes the length, never the direction. An overflowed
    gradient reports ``inf``, factor 0 and a NaN cosine.
    """
    before = math.sqrt(sum(float(t.double().pow(2).sum()) for t in grads))
    if not math.isfinite(before):
        return math.inf, 0.0, 0.0, float("nan")
    clipped, factor = clip_by_norm(grads, threshold)
    after = math.sqrt(sum(float(t.double().pow(2).sum()) for t in clipped))
    dot = sum(float((a.double() * b.double()).sum()) for a, b in zip(grads, clipped))
    cosine = dot / (before * after) if before > 0 and after > 0 else 1.0
    return before, after, factor, cosine


def clip_by_value_cosine(grads: list[Tensor], threshold: float) -> float:
    """The cosine between ``grads`` and the same gradient clipped *by value* (each entry clamped to
    ±``threshold``, as ``torch.nn.utils.clip_grad_value_`` does): below 1 when clamping turned it. NaN for a
    gradient that overflowed or is zero."""
    dot = before = after = 0.0
    for t in grads:
        g = t.double()
        clamped = g.clamp(-threshold, threshold)
        dot += float((g * clamped).sum())
        before += float(g.pow(2).sum())
        after += float(clamped.pow(2).sum())
    if not (math.isfinite(dot) and before > 0 and after > 0):
        return float("nan")
    return dot / math.sqrt(before * after)


def decay_rate(norms: Tensor, floor: float = 1e-300) -> float | None:
    """The per-step factor ρ of a geometric fit ‖dℓ/da^(k)‖ ≈ C ρ^(L−k) (least squares on log norms).

    ρ < 1: the gradient vanishes going back in time; ρ > 1: it explodes. None without enough finite points.
    """
    n = norms.double()
    k = torch.arange(n.numel(), dtype=torch.float64, device=n.device)
    ok = torch.isfinite(n) & (n > floor)
    if ok.sum() < 2:
        return None
    kk, y = k[ok], torch.log(n[ok])
    slope = float(((kk - kk.mean()) * (y - y.mean())).sum() / ((kk - kk.mean()) ** 2).sum())
    return math.exp(-slope)  # log ‖·‖ = (L − k) log ρ + const, so the slope in k is −log ρ
