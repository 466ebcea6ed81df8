"""dℓ/da^(k) for every k as the product of Jacobians of §1.5, written out step by step.

    dℓ/da^(k) = dℓ/da^(k+1) · da^(k+1)/da^(k)

Autograd gives the same numbers (the tests check it), but records every operation of every step;
for the small models of the widgets that bookkeeping costs more than the arithmetic. Here the forward
values come from a trace taken without autograd, and each backward step is a handful of elementwise
operations and one matrix product. ℓ = u · (the output state after the last step), for a fixed u.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor

from .cells import GRU, LSTM, RNN


def _slope(nonlinearity: str, z: Tensor) -> Tensor:
    """σ'(z) for the RNN's nonlinearities (and the LSTM's candidate)."""
    if nonlinearity == "tanh":
        return 1 - torch.tanh(z) ** 2
    if nonlinearity == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if nonlinearity == "relu":
        return (z > 0).to(z.dtype)
    return torch.ones_like(z)


@torch.no_grad()
def backward_states(model, x: Tensor, u: Tensor, scale: Tensor | None = None):
    """``(states, weight_grads)`` for ℓ = u · (output state at T), x ``(T, B, input)``.

    ``states`` maps each state name to dℓ/d(state^(k)), ``(T + 1, B, H)``; ``weight_grads`` maps each
    weight and bias name to each sequence's own dℓ/d(param), ``(B, *shape)``. ``scale`` ``(B,)`` multiplies the
    recurrent weights per sequence, as in :meth:`RecurrentBase.trace`.
    """
    T, B, _ = x.shape
    s = torch.ones(B, 1, dtype=x.dtype, device=x.device) if scale is None else \
        torch.as_tensor(scale, dtype=x.dtype, device=x.device).reshape(-1, 1)
    s_in = s  # the weight gradient's recurrent input is s ⊙ state, whichever way we run
    if s.numel() == 1:  # one scale: fold it into a copy of the weights and use PyTorch's fused kernel
        model, s = _with_recurrent_scale(model, float(s)), s.new_ones(B, 1)
        tr = model.trace(x)
    else:
        tr = model.trace(x, recurrent_scale=s.reshape(-1))
    u = u.expand(B, model.hidden_size)
    if isinstance(model, LSTM):
        return _lstm(model, tr, u, s, s_in, T)
    if isinstance(model, GRU):
        return _gru(model, tr, u, s, s_in, T)
    if isinstance(model, RNN):
        return _rnn(model, tr, u, s, s_in, T)
    raise TypeError(f"no backward recursion for {type(model).__name__}")


def _with_recurrent_scale(model, scale: float):
    """A copy whose recurrent weight blocks are multiplied by ``scale`` (the same map as ``recurrent_scale``)."""
    if scale == 1.0:
        return model
    scaled = copy.deepcopy(model)
    with torch.no_grad():
        if isinstance(scaled, GRU):
            scaled.Wh.mul_(scale)
        else:
            scaled.W[:, : model.hidden_size].mul_(scale)
    return scaled


def _weight_grads(dz: list[Tensor], inputs: Tensor, weight: str, bias: str) -> dict[str, Tensor]:
    G = torch.stack(dz[::-1])  # (T, B, out), in time order
    return {weight: torch.einsum("tbo,tbi->boi", G, inputs), bias: G.sum(0)}


def _rnn(model: RNN, tr, u, s, s_in, T):
    Wa = model.W[:, : model.hidden_size]
    slope = _slope(model.nonlinearity, tr.z)  # (T, B, H)
    g, out, dz = u, [u], []
    for k in range(T - 1, -1, -1):
        d = g * slope[k]  # dℓ/dz^(k)
        dz.append(d)
        back = (d @ Wa) * s
        g = back + g if model.skip else back  # the skip path adds the identity Jacobian
        out.append(g)
    inputs = torch.cat([s_in * tr.a[:-1], tr.x], -1)
    return {"a": torch.stack(out[::-1])}, _weight_grads(dz, inputs, "W", "b")


def _lstm(model: LSTM, tr, u, s, s_in, T):
    H = model.hidden_size
    Wh = model.W[:, :H]
    f, ig, cand, o, c = tr.f, tr.input_gate, tr.candidate, tr.o, tr.c
    tc = torch.tanh(c[1:])
    # every step's local derivatives at once: dℓ/dz^(k) = [dc, dc, dc, dh] ⊙ local[k]
    cand_slope = (1 - cand ** 2) if model.candidate == "tanh" else _slope(model.candidate, tr.pre_candidate)
    local = torch.cat([c[:-1] * f * (1 - f), cand * ig * (1 - ig), ig * cand_slope, tc * o * (1 - o)], -1)
    h_to_c = o * (1 - tc ** 2)  # dh^(k+1)/dc^(k+1)
    gh, gc = u, torch.zeros_like(u)  # dℓ/dh^(k+1), and dℓ/dc^(k+1) through c^(k+2) only
    hs, cs, dz = [gh], [], []
    for k in range(T - 1, -1, -1):
        dc = torch.addcmul(gc, gh, h_to_c[k])  # total dℓ/dc^(k+1): through c^(k+2) and through h^(k+1)
        cs.append(dc)
        d = torch.cat([dc, dc, dc, gh], -1) * local[k]  # dℓ/dz^(k)
        dz.append(d)
        gc, gh = dc * f[k], (d @ Wh) * s
        hs.append(gh)
    cs.append(gc)  # c^(0) reaches ℓ only through c^(1)
    inputs = torch.cat([s_in * tr.h[:-1], tr.x], -1)
    return {"c": torch.stack(cs[::-1]), "h": torch.stack(hs[::-1])}, _weight_grads(dz, inputs, "W", "b")


def _gru(model: GRU, tr, u, s, s_in, T):
    H = model.hidden_size
    h, r, z, n = tr.h, tr.r, tr.z, tr.n
    gh_all = torch.nn.functional.linear(s * h[:-1], model.Wh, model.bh)  # (T, B, 3H): the h part of each map
    # every step's local derivatives at once: d pre_n = g (1 − z)(1 − n²), d pre_z = g (h − n) z (1 − z),
    # d pre_r = d pre_n · (Wh_n h + bh_n) r (1 − r); the h-side map of n is also multiplied by r
    dn = (1 - z) * (1 - n ** 2)
    dr = dn * gh_all[..., 2 * H:] * r * (1 - r)
    dzz = (h[:-1] - n) * z * (1 - z)
    local_x = torch.cat([dr, dzz, dn], -1)
    local_h = torch.cat([dr, dzz, dn * r], -1)
    g, out, dx, dh_maps = u, [u], [], []
    for k in range(T - 1, -1, -1):
        g3 = torch.cat([g, g, g], -1)
        d_gx, d_gh = g3 * local_x[k], g3 * local_h[k]
        dx.append(d_gx)
        dh_maps.append(d_gh)
        g = torch.addcmul((d_gh @ model.Wh) * s, g, z[k])  # the carry z ⊙ h plus the maps' Jacobian
        out.append(g)
    grads = _weight_grads(dx, tr.x, "Wx", "bx")
    grads.update(_weight_grads(dh_maps, s_in * h[:-1], "Wh", "bh"))
    return {"h": torch.stack(out[::-1])}, grads
