"""RNN (§1.3), LSTM (§2) and GRU (Remark 2.1) in the lecture's notation, exact twins of torch.nn's.

Notation
--------
RNN   a^(l+1) = σ(W [a^(l); x[l]] + b)                       state a
LSTM  [f; g_in; g; o] = W [h^(l); x[l]] + b   (one affine map, four equal parts)
      f = σ(·) forget gate, g_in = σ(·) input gate, g = tanh(·) candidate, o = σ(·) output gate
      i^(l) = g_in ⊙ g          (the lecture's "input" i added to the cell)
      c^(l+1) = c^(l) ⊙ f^(l) + i^(l),   h^(l+1) = o ⊙ tanh(c^(l+1))      state a = [c; h]
GRU   torch.nn.GRU's definition: reset gate r, update gate z, candidate n, no output gate.

PyTorch stores the LSTM's four parts in the order (input gate, forget gate, candidate, output
gate) = (i, f, g, o), and splits W into weight_hh and weight_ih with two biases. The lecture's
order is (f, input gate, candidate, o); the conversion below is the only place that knows.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import RecurrentBase
from .device import resolve_device
from .scan import cell_states, onednn_lstm, workspace_internals
from .trace import AffineUse

NONLINEARITIES = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}


def _new_param(rows: int, cols: int | None, device, dtype) -> nn.Parameter:
    shape = (rows,) if cols is None else (rows, cols)
    return nn.Parameter(torch.empty(shape, device=resolve_device(device), dtype=dtype))


def _check_torch_module(m: nn.Module, kind: type) -> None:
    if not isinstance(m, kind):
        raise TypeError(f"expected a torch.nn.{kind.__name__}, got {type(m).__name__}")
    unsupported = []
    if m.num_layers != 1:
        unsupported.append(f"num_layers={m.num_layers}")
    if m.bidirectional:
        unsupported.append("bidirectional=True")
    if not m.bias:
        unsupported.append("bias=False")
    if getattr(m, "proj_size", 0):
        unsupported.append(f"proj_size={m.proj_size}")
    if unsupported:
        raise ValueError(
            f"only one-layer, one-direction torch.nn.{kind.__name__} modules with biases convert; "
            f"this one has {', '.join(unsupported)}"
        )


class RNN(RecurrentBase):
    """The recurrent neural network of §1.3: a^(l+1) = σ(W [a^(l); x[l]] + b).

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes of x[l] and a^(l).
    nonlinearity : {"tanh", "relu", "sigmoid", "identity"}
        σ. ``tanh`` and ``relu`` use PyTorch's fused kernel; the others run step by step.
    skip : bool
        Add a skip connection (§1.5): a^(l+1) = a^(l) + σ(W [a^(l); x[l]] + b). Runs step by step.

    Attributes
    ----------
    W : Parameter ``(H, H + input)``
        Acts on the stacked vector [a^(l); x[l]], shared by every step.
    b : Parameter ``(H,)``

    The initial state a^(0) is zeros unless ``trace(x, a0)`` is given one (§1.3).
    """

    state_names = ("a",)
    output_name = "a"

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", *, skip: bool = False,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(NONLINEARITIES)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.skip = bool(skip)
        self.W = _new_param(hidden_size, hidden_size + input_size, device, dtype)
        self.b = _new_param(hidden_size, None, device, dtype)
        self._init_uniform()

    def _step(self, t, prev, x_t, scale=None):
        (a,) = prev
        inp = torch.cat([self._scaled(a, scale), x_t], dim=-1)  # [a^(l); x[l]]   (B, H + I)
        z = nn.functional.linear(inp, self.W, self.b)  # (B, H)
        a_next = NONLINEARITIES[self.nonlinearity](z)
        if self.skip:
            a_next = a + a_next  # §1.5's skip connection: the identity path carries the gradient
        return (a_next,), {"z": z}, [AffineUse("W", "b", inp, z)]

    def _fused(self, x, init):
        if self.nonlinearity not in ("tanh", "relu") or self.skip:
            return None  # PyTorch has no fused sigmoid, identity or skip-connection RNN
        (a0,) = init
        H = self.hidden_size
        kernel = torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu
        params = [self.W[:, H:], self.W[:, :H], self.b, torch.zeros_like(self.b)]
        out, a_last = kernel(x, a0.unsqueeze(0), params, True, 1, 0.0, False, False, False)  # (T, B, H)
        return out, (a_last[0],)

    def _fast_trace(self, x, init):
        fused = self._fused(x, init)
        if fused is None:
            return None
        a = torch.cat([init[0].unsqueeze(0), fused[0]])  # a^(0..T)   (T+1, B, H)
        z = nn.functional.linear(torch.cat([a[:-1], x], dim=-1), self.W, self.b)  # all pre-activations, one matmul
        return {"x": x, "a": a, "z": z}

    def _scaled_loop(self, x, init, scale):
        T, B, _ = x.shape
        H = self.hidden_size
        sigma = NONLINEARITIES[self.nonlinearity]
        zx = torch.addmm(self.b, x.reshape(T * B, -1), self.W[:, H:].T).view(T, B, H)  # W_x x[l] + b, all l
        Wa_T = self.W[:, :H].T
        a, states, zs = init[0], [init[0]], []
        for zx_t in zx.unbind(0):
            z = torch.addmm(zx_t, a * scale, Wa_T)  # the same affine map as _step's, summed in another order
            a = a + sigma(z) if self.skip else sigma(z)
            zs.append(z)
            states.append(a)
        return {"x": x, "a": torch.stack(states), "z": torch.stack(zs)}

    @classmethod
    def from_torch(cls, m: nn.RNN) -> RNN:
        """An exact copy of a one-layer ``torch.nn.RNN`` (its two biases are summed into b)."""
        _check_torch_module(m, nn.RNN)
        p = m.weight_ih_l0
        new = cls(m.input_size, m.hidden_size, m.nonlinearity, device=p.device, dtype=p.dtype)
        with torch.no_grad():
            new.W.copy_(torch.cat([m.weight_hh_l0, m.weight_ih_l0], dim=1))
            new.b.copy_(m.bias_ih_l0 + m.bias_hh_l0)
        return new

    def to_torch(self) -> nn.RNN:
        """The same network as a ``torch.nn.RNN`` (tanh or relu only; b goes to bias_ih, bias_hh = 0)."""
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"torch.nn.RNN supports tanh and relu only, this RNN uses {self.nonlinearity!r}")
        if self.skip:
            raise ValueError("torch.nn.RNN has no skip connection")
        H = self.hidden_size
        m = nn.RNN(self.input_size, H, nonlinearity=self.nonlinearity, device=self.W.device, dtype=self.W.dtype)
        with torch.no_grad():
            m.weight_hh_l0.copy_(self.W[:, :H])
            m.weight_ih_l0.copy_(self.W[:, H:])
            m.bias_ih_l0.copy_(self.b)
            m.bias_hh_l0.zero_()
        return m

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}" + (", skip=True" if self.skip else "")


def _swap_first_two_blocks(t: Tensor, H: int) -> Tensor:
    """Lecture order (f, g_in, g, o) ↔ PyTorch order (i, f, g, o): the first two blocks trade places."""
    return torch.cat([t[H : 2 * H], t[:H], t[2 * H :]], dim=0)


class LSTM(RecurrentBase):
    """The long short-term memory of §2: state a = [c; h], one affine map split in four.

    ``W [h^(l); x[l]] + b`` is split into four equal parts, in the lecture's order: the forget
    gate f, the input gate, the candidate, and the output gate o. Then
    ``c^(l+1) = c^(l) ⊙ f^(l) + i^(l)`` with ``i^(l) = input_gate ⊙ candidate`` and
    ``h^(l+1) = o ⊙ tanh(c^(l+1))``. The cell state c is the skip path of §1.5.

    A trace holds ``c`` and ``h`` (``T + 1`` rows, from c^(0), h^(0)), the pre-activations
    ``pre_f, pre_input_gate, pre_candidate, pre_o`` and activations ``f, input_gate, candidate,
    o``, and the lecture's ``i``. (PyTorch's names: its i is our input gate, its g our candidate.)

    Attributes
    ----------
    W : Parameter ``(4H, H + input)``  rows ordered f, input gate, candidate, o
    b : Parameter ``(4H,)``
    """

    state_names = ("c", "h")
    output_name = "h"
    GATES = ("f", "input_gate", "candidate", "o")

    def __init__(self, input_size: int, hidden_size: int, *, candidate: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size)
        if candidate not in NONLINEARITIES:
            raise ValueError(f"candidate must be one of {sorted(NONLINEARITIES)}, got {candidate!r}")
        self.candidate = candidate
        self.W = _new_param(4 * hidden_size, hidden_size + input_size, device, dtype)
        self.b = _new_param(4 * hidden_size, None, device, dtype)
        self._init_uniform()

    def _gates(self, z: Tensor) -> dict[str, Tensor]:
        pre_f, pre_in, pre_cand, pre_o = z.chunk(4, dim=-1)
        f, in_gate, _, o = torch.sigmoid(z).chunk(4, dim=-1)  # one kernel for the three sigmoid gates
        cand = torch.tanh(pre_cand) if self.candidate == "tanh" else NONLINEARITIES[self.candidate](pre_cand)
        return {
            "pre_f": pre_f, "pre_input_gate": pre_in, "pre_candidate": pre_cand, "pre_o": pre_o,
            "f": f, "input_gate": in_gate, "candidate": cand, "o": o, "i": in_gate * cand,
        }

    def _step(self, t, prev, x_t, scale=None):
        c, h = prev
        inp = torch.cat([self._scaled(h, scale), x_t], dim=-1)  # [h^(l); x[l]]   (B, H + I)
        z = nn.functional.linear(inp, self.W, self.b)  # (B, 4H)
        g = self._gates(z)
        c_next = torch.addcmul(g["i"], c, g["f"])  # c ⊙ f + i
        h_next = g["o"] * torch.tanh(c_next)
        return (c_next, h_next), g, [AffineUse("W", "b", inp, z)]

    def torch_params(self) -> list[Tensor]:
        """``[weight_ih, weight_hh, bias_ih, bias_hh]`` in PyTorch's gate order (differentiable views).

        Without autograd (generation, widgets) the reordered copy is cached until W or b changes
        (their version counters move on every in-place update), so a character costs no copy.
        """
        params = self._parameters  # not self.W: nn.Module's __getattr__ costs a µs or two, a trace's budget is ~0.2 ms
        W, b = params["W"], params["b"]
        key = (W._version, b._version, W.data_ptr(), b.data_ptr(), W.dtype, W.get_device())
        cached = self.__dict__.get("_torch_params_cache")
        if cached is not None and cached[0] == key and not torch.is_grad_enabled():
            return cached[1]
        H = self.hidden_size
        W = _swap_first_two_blocks(W, H)
        params = [W[:, H:], W[:, :H], _swap_first_two_blocks(b, H), torch.zeros_like(b)]
        if not torch.is_grad_enabled():
            self._torch_params_cache = (key, [p.contiguous() for p in params])
            return self._torch_params_cache[1]
        return params

    def _fused(self, x, init):
        if self.candidate != "tanh":  # PyTorch's kernel knows tanh only
            return None
        c0, h0 = init
        out, h_last, c_last = torch.lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)), self.torch_params(),
                                         True, 1, 0.0, False, False, False)  # (T, B, H)
        return out, (c_last[0], h_last[0])

    def _fast_trace(self, x, init):
        # h of every step from PyTorch's fused kernel, then all pre-activations from one batched matmul. Where the
        # kernel is oneDNN's, its workspace also holds the activated gates and c (scan.py); elsewhere the gates are
        # computed here, and c from the linear recurrence solved at once (the kernel returns only the last c).
        if self.candidate != "tanh":
            return None
        c0, h0 = init
        run = onednn_lstm(x, h0, c0, self.torch_params())
        out = self._fused(x, init)[0] if run is None else run.h
        h = torch.cat([h0.unsqueeze(0), out])  # (T+1, B, H)
        p = self._parameters
        z = nn.functional.linear(torch.cat([h[:-1], x], dim=-1), p["W"], p["b"])  # (T, B, 4H), one matmul
        kernel = None if run is None else workspace_internals(run, c0, lambda: self._gates(z))
        if kernel is None:
            g = self._gates(z)
            c = cell_states(c0, g["pre_f"], g["f"], g["i"])  # (T+1, B, H)
        else:
            gates, c = kernel
            in_gate, f, cand, o = gates.chunk(4, dim=-1)  # PyTorch's order
            pre_f, pre_in, pre_cand, pre_o = z.chunk(4, dim=-1)
            g = {"pre_f": pre_f, "pre_input_gate": pre_in, "pre_candidate": pre_cand, "pre_o": pre_o,
                 "f": f, "input_gate": in_gate, "candidate": cand, "o": o, "i": in_gate * cand}
        return {"x": x, "c": c, "h": h, **g}

    @classmethod
    def from_torch(cls, m: nn.LSTM) -> LSTM:
        """An exact copy of a one-layer ``torch.nn.LSTM`` (gate order converted, biases summed)."""
        _check_torch_module(m, nn.LSTM)
        H, p = m.hidden_size, m.weight_ih_l0
        new = cls(m.input_size, H, device=p.device, dtype=p.dtype)
        with torch.no_grad():
            W = torch.cat([m.weight_hh_l0, m.weight_ih_l0], dim=1)
            new.W.copy_(_swap_first_two_blocks(W, H))
            new.b.copy_(_swap_first_two_blocks(m.bias_ih_l0 + m.bias_hh_l0, H))
        return new

    def to_torch(self) -> nn.LSTM:
        """The same network as a ``torch.nn.LSTM`` (a tanh candidate only)."""
        if self.candidate != "tanh":
            raise ValueError(f"torch.nn.LSTM's candidate is tanh, this LSTM's is {self.candidate!r}")
        m = nn.LSTM(self.input_size, self.hidden_size, device=self.W.device, dtype=self.W.dtype)
        w_ih, w_hh, b_ih, b_hh = self.torch_params()
        with torch.no_grad():
            m.weight_ih_l0.copy_(w_ih)
            m.weight_hh_l0.copy_(w_hh)
            m.bias_ih_l0.copy_(b_ih)
            m.bias_hh_l0.copy_(b_hh)
        return m

    def gate_bias(self, gate: str) -> Tensor:
        """The slice of b feeding one gate (``"f"``, ``"input_gate"``, ``"candidate"`` or ``"o"``)."""
        k = self.GATES.index(gate)
        return self.b[k * self.hidden_size : (k + 1) * self.hidden_size]


class GRU(RecurrentBase):
    """The gated recurrent unit, exactly as torch.nn.GRU defines it (Remark 2.1: no output gate).

    ``r = σ(Wx_r x + bx_r + Wh_r h + bh_r)`` reset gate,
    ``z = σ(Wx_z x + bx_z + Wh_z h + bh_z)`` update gate,
    ``n = tanh(Wx_n x + bx_n + r ⊙ (Wh_n h + bh_n))`` candidate,
    ``h^(l+1) = (1 − z) ⊙ n + z ⊙ h^(l)``.

    The reset gate multiplies only the h part of the candidate's affine map, so the GRU keeps
    two weight matrices ``Wx (3H, input)``, ``Wh (3H, H)`` and two biases, rows ordered r, z, n
    (PyTorch's order). ``z`` near 1 keeps h: the GRU's skip path, like the LSTM's f. (colah's "Understanding LSTM
    Networks" writes ``(1 − z) ⊙ h + z ⊙ h̃``: there z near 1 replaces h.)
    """

    state_names = ("h",)
    output_name = "h"
    GATES = ("r", "z", "n")

    def __init__(self, input_size: int, hidden_size: int, *, device=None, dtype=None):
        super().__init__(input_size, hidden_size)
        self.Wx = _new_param(3 * hidden_size, input_size, device, dtype)
        self.Wh = _new_param(3 * hidden_size, hidden_size, device, dtype)
        self.bx = _new_param(3 * hidden_size, None, device, dtype)
        self.bh = _new_param(3 * hidden_size, None, device, dtype)
        self._init_uniform()

    def _gates(self, gx: Tensor, gh: Tensor) -> dict[str, Tensor]:
        xr, xz, xn = gx.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        pre_r, pre_z = xr + hr, xz + hz
        r, z = torch.sigmoid(pre_r), torch.sigmoid(pre_z)
        pre_n = xn + r * hn
        return {"pre_r": pre_r, "pre_z": pre_z, "pre_n": pre_n, "r": r, "z": z, "n": torch.tanh(pre_n)}

    def _step(self, t, prev, x_t, scale=None):
        (h,) = prev
        h_in = self._scaled(h, scale)
        gx = nn.functional.linear(x_t, self.Wx, self.bx)  # (B, 3H)
        gh = nn.functional.linear(h_in, self.Wh, self.bh)  # (B, 3H)
        g = self._gates(gx, gh)
        h_next = (1 - g["z"]) * g["n"] + g["z"] * h
        return (h_next,), g, [AffineUse("Wx", "bx", x_t, gx), AffineUse("Wh", "bh", h_in, gh)]

    def _fused(self, x, init):
        (h0,) = init
        out, h_last = torch.gru(x, h0.unsqueeze(0), [self.Wx, self.Wh, self.bx, self.bh],
                                True, 1, 0.0, False, False, False)  # (T, B, H)
        return out, (h_last[0],)

    def _fast_trace(self, x, init):
        h = torch.cat([init[0].unsqueeze(0), self._fused(x, init)[0]])  # (T+1, B, H)
        g = self._gates(x @ self.Wx.T + self.bx, h[:-1] @ self.Wh.T + self.bh)
        return {"x": x, "h": h, **g}

    def _scaled_loop(self, x, init, scale):
        T, B, _ = x.shape
        H = self.hidden_size
        gx = torch.addmm(self.bx, x.reshape(T * B, -1), self.Wx.T).view(T, B, 3 * H)  # all steps' input maps
        Wh_T = self.Wh.T
        (h,) = init
        hs, ghs = [h], []
        for gx_t in gx.unbind(0):
            gh = torch.addmm(self.bh, h * scale, Wh_T)
            r, z = torch.sigmoid(gx_t[:, : 2 * H] + gh[:, : 2 * H]).chunk(2, dim=-1)
            n = torch.tanh(torch.addcmul(gx_t[:, 2 * H :], r, gh[:, 2 * H :]))
            h = (1 - z) * n + z * h  # as _step
            ghs.append(gh)
            hs.append(h)
        return {"x": x, "h": torch.stack(hs), **self._gates(gx, torch.stack(ghs))}

    @classmethod
    def from_torch(cls, m: nn.GRU) -> GRU:
        """An exact copy of a one-layer ``torch.nn.GRU`` (same parameters, renamed)."""
        _check_torch_module(m, nn.GRU)
        p = m.weight_ih_l0
        new = cls(m.input_size, m.hidden_size, device=p.device, dtype=p.dtype)
        with torch.no_grad():
            for mine, theirs in zip((new.Wx, new.Wh, new.bx, new.bh),
                                    (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)):
                mine.copy_(theirs)
        return new

    def to_torch(self) -> nn.GRU:
        """The same network as a ``torch.nn.GRU``."""
        m = nn.GRU(self.input_size, self.hidden_size, device=self.Wx.device, dtype=self.Wx.dtype)
        with torch.no_grad():
            for mine, theirs in zip((self.Wx, self.Wh, self.bx, self.bh),
                                    (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)):
                theirs.copy_(mine)
        return m
