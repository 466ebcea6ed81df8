"""§2: the gradient reaching the LSTM's cell state, split along c and through h, with one step's numbers
(split from lstm_gates.py; ``run`` is a :class:`~rnn_widgets.widgets.lstm_gates.GatesRun`)."""
from __future__ import annotations

import math

import torch

from .charts.figure import sup
from .numbers import fmt


# ---------------------------------------------------------------------- the gradient reaching the cell
def lstm_gradient_split(run, l: int, unit: int) -> dict:
    """The split of dℓ/dc^(l+1) for one unit, with the step's numbers. The notes do not write it: it is the chain
    rule through §2's c^(l+2) = c^(l+1) ⊙ f^(l+1) + i^(l+1) and h^(l+1) = o ⊙ tanh(c^(l+1)):

        dℓ/dc^(l+1) = dℓ/dc^(l+2) ⊙ f^(l+1)  (straight along c)  +  dℓ/dh^(l+1) ⊙ o ⊙ (1 − tanh² c^(l+1))  (through h)

    from the core's backward pass (``run.grads``: dℓ/dc^(k), dℓ/dh^(k) for k ≤ K). ``total`` is the core's
    dℓ/dc^(l+1). Beyond K (text: the last character is ℓ's target) nothing reaches the cell.
    """
    tr, g = run.trace, run.grads
    K = g["c"].shape[0] - 1
    if l + 1 > K:
        return {"reaches": False, "K": K}
    c1 = float(tr.c[l + 1, unit])
    o = float(tr.o[l, unit])
    dc2 = float(g["c"][l + 2, unit]) if l + 2 <= K else 0.0
    f1 = float(tr.f[l + 1, unit]) if l + 2 <= K else None
    dh1 = float(g["h"][l + 1, unit])
    direct = dc2 * f1 if f1 is not None else 0.0
    through_h = dh1 * o * (1 - math.tanh(c1) ** 2)
    return {"reaches": True, "K": K, "dc2": dc2, "f1": f1, "dh1": dh1, "o": o, "slope": 1 - math.tanh(c1) ** 2,
            "direct": direct, "through_h": through_h, "total": float(g["c"][l + 1, unit])}


def gru_gradient_split(run, l: int, unit: int) -> dict:
    """dℓ/dh^(l+1) = dℓ/dh^(l+2) ⊙ z^(l+1) (straight along h, the carry) + the rest (through the gates and n
    of step l + 1: the core's total minus the carry)."""
    tr, g = run.trace, run.grads
    K = g["h"].shape[0] - 1
    if l + 1 > K:
        return {"reaches": False, "K": K}
    total = float(g["h"][l + 1, unit])
    dh2 = float(g["h"][l + 2, unit]) if l + 2 <= K else 0.0
    z1 = float(tr.z[l + 1, unit]) if l + 2 <= K else None
    direct = dh2 * z1 if z1 is not None else 0.0
    return {"reaches": True, "K": K, "dh2": dh2, "z1": z1, "direct": direct, "through_gates": total - direct,
            "total": total}


def along_share(run) -> tuple[float, int, int]:
    """How much of the gradient reaching the carried state comes straight along it, summed over every unit and every
    step where both parts exist (c^(l+1) for l + 2 ≤ K): Σ|along| / (Σ|along| + Σ|other|), where for the LSTM
    along = dℓ/dc^(l+2) ⊙ f^(l+1) and other = the part through h^(l+1), and for the GRU along = dℓ/dh^(l+2) ⊙ z^(l+1)
    and other = the rest. Sums, not a median of each entry's share: where both parts are tiny (float32 rounds
    1 − tanh² of a large c to 0) an entry's share is noise, and sums weigh it by its size.
    Returns ``(share, units, steps)``; NaN where no step has both."""
    tr, g = run.trace, run.grads
    lstm = "c" in g
    total = g["c" if lstm else "h"].double()
    K = total.shape[0] - 1
    if K < 2:
        return float("nan"), total.shape[1], 0
    along = total[2:] * (tr.f if lstm else tr.z)[1:K].double()
    if lstm:
        other = g["h"][1:K].double() * tr.o[:K - 1].double() * (1 - torch.tanh(tr.c[1:K].double()) ** 2)
    else:
        other = total[1:K] - along
    size = float(along.abs().sum() + other.abs().sum())
    return (float(along.abs().sum()) / size if size > 0 else float("nan")), total.shape[1], K - 1


def term(x: float) -> str:
    """A number as a term of a sum or product: negative ones in brackets, "a + (-0.5)"."""
    return f"({fmt(x)})" if x < 0 else fmt(x)


def split_sentence(split: dict, state: str, l: int) -> str:
    """The split in words, true for the state shown."""
    s1, s2 = state + sup(f"({l + 1})"), state + sup(f"({l + 2})")
    if not split["reaches"]:
        return f"ℓ predicts the character read at this step, so {s1} does not reach ℓ (dℓ/d{s1} = 0)."
    rest = f"through h{sup(f'({l + 1})')}" if state == "c" else "through the gates and n"
    other = split["through_h"] if state == "c" else split["through_gates"]
    gate = split.get("f1", split.get("z1"))
    # the gate named here is the one that scales this path, step l + 1's, not the step shown's (which scales
    # c⁽ˡ⁾ into c⁽ˡ⁺¹⁾): a student reading "keeps 0.01%" beside a small "along c" would take the wrong one for the cause
    along = (f"{fmt(split['direct'])} straight along {state} (from {s2}, times {'f' if state == 'c' else 'z'}"
             f"{sup(f'({l + 1})')} = {fmt(gate)})" if gate is not None
             else f"0 straight along {state} ({s2} does not reach ℓ)")
    return f"The gradient reaching {s1}, {fmt(split['total'])}, is {along} + {term(other)} {rest}."


def _sup(text: str) -> str:
    return f"<sup>({text})</sup>"


def state_split(run, l: int) -> dict:
    """§2's "d_c = d_h, and d_a = d_c + d_h, since we exactly split a into two parts" for a⁽ˡ⁺¹⁾ = [c⁽ˡ⁺¹⁾; h⁽ˡ⁺¹⁾],
    the state step l + 1 reads: the sizes, read from the trace's tensors, and the same split of the gradient,
    ∂ℓ/∂a = [∂ℓ/∂c; ∂ℓ/∂h], each half with the other held fixed (∂ℓ/∂c⁽ˡ⁺¹⁾ = dℓ/dc⁽ˡ⁺²⁾ ⊙ f⁽ˡ⁺¹⁾, the part straight
    along c: the total dℓ/dc⁽ˡ⁺¹⁾ also counts the path through h⁽ˡ⁺¹⁾ = o ⊙ tanh c⁽ˡ⁺¹⁾). Its size obeys
    ‖∂ℓ/∂a‖² = ‖∂ℓ/∂c‖² + ‖∂ℓ/∂h‖² (``norm_a`` is taken of the joined vector, not from that sum). Beyond K (text:
    ℓ predicts the character read at step l) the gradient is 0."""
    tr, g = run.trace, run.grads
    a = torch.cat([tr.c[l + 1], tr.h[l + 1]], -1)
    K = g["c"].shape[0] - 1
    zero = torch.zeros_like(tr.c[l + 1], dtype=torch.float64)
    dc = g["c"][l + 2].double() * tr.f[l + 1].double() if l + 2 <= K else zero
    dh = g["h"][l + 1].double() if l + 1 <= K else zero
    da = torch.cat([dc, dh], -1)
    return {"d_c": tr.c.shape[-1], "d_h": tr.h.shape[-1], "d_a": a.shape[-1], "norm_c": float(dc.norm()),
            "norm_h": float(dh.norm()), "norm_a": float(da.norm()), "reaches": l + 1 <= K}


def state_split_line(parts: dict, l: int) -> str:
    """The third line of the LSTM's equation: the sizes and the gradient of a⁽ˡ⁺¹⁾ split in c and h."""
    b = _sup(l + 1)
    d = {k: f"d<sub>{k[-1]}</sub>" for k in ("d_c", "d_h", "d_a")}
    sizes = (f"<br>a{b} = [c{b}; h{b}]: {d['d_c']} = {d['d_h']} = {parts['d_c']}, {d['d_a']} = {d['d_c']} + "
             f"{d['d_h']} = {parts['d_c']} + {parts['d_h']} = {parts['d_a']}; &nbsp; ")
    if not parts["reaches"]:
        return sizes + f"∂ℓ/∂a{b} = [∂ℓ/∂c{b}; ∂ℓ/∂h{b}] = 0"
    return sizes + (f"∂ℓ/∂a{b} = [∂ℓ/∂c{b}; ∂ℓ/∂h{b}] (each half with the other fixed: ∂ℓ/∂c{b} is the part "
                    f"straight along c), so ‖∂ℓ/∂a{b}‖² = ‖∂ℓ/∂c{b}‖² + ‖∂ℓ/∂h{b}‖² = "
                    f"{fmt(parts['norm_c'])}² + {fmt(parts['norm_h'])}² = {fmt(parts['norm_a'])}² "
                    f"(all {parts['d_c']} units)")


def lstm_equation(tr, l: int, unit: int, split: dict, parts: dict | None = None) -> str:
    """The cell's two equations and the split of dℓ/dc⁽ˡ⁺¹⁾ with the step's numbers; with ``parts``
    (:func:`state_split`), a third line: a = [c; h], its sizes and its gradient's."""
    extra = state_split_line(parts, l) if parts is not None else ""
    return _lstm_lines(tr, l, unit, split) + extra


def _lstm_lines(tr, l: int, unit: int, split: dict) -> str:
    v = {k: float(tr[k][l, unit]) for k in ("f", "i", "o")}
    c, c1, h1 = float(tr.c[l, unit]), float(tr.c[l + 1, unit]), float(tr.h[l + 1, unit])
    a, b = _sup(l), _sup(l + 1)
    eq = (f"c{b} = c{a} ⊙ f + i = {term(c)} × {fmt(v['f'])} + {term(v['i'])} = {fmt(c1)}; &nbsp; "
          f"h{b} = o ⊙ tanh(c{b}) = {fmt(v['o'])} × {term(math.tanh(c1))} = {fmt(h1)} &nbsp; (unit {unit})")
    if not split["reaches"]:
        return eq + f"<br>dℓ/dc{b} = 0: ℓ predicts the character read at step {l}"
    c2 = _sup(l + 2)
    head = f"<br>dℓ/dc{b} = dℓ/dc{c2} ⊙ f{b} + dℓ/dh{b} ⊙ o ⊙ (1 − tanh² c{b}) = "
    direct = (f"{term(split['dc2'])} × {fmt(split['f1'])}" if split["f1"] is not None else "0")
    return eq + head + (f"{direct} + {term(split['dh1'])} × {fmt(split['o'])} × {fmt(split['slope'])} = "
                        f"{fmt(split['direct'])} + {term(split['through_h'])} = {fmt(split['total'])}")


def gru_equation(tr, l: int, unit: int, split: dict) -> str:
    z, n = float(tr.z[l, unit]), float(tr.n[l, unit])
    h, h1 = float(tr.h[l, unit]), float(tr.h[l + 1, unit])
    a, b = _sup(l), _sup(l + 1)
    eq = (f"h{b} = z ⊙ h{a} + (1 − z) ⊙ n = {fmt(z)} × {term(h)} + {fmt(1 - z)} × {term(n)} = {fmt(h1)} &nbsp; "
          f"(unit {unit}; no output gate)")
    if not split["reaches"]:
        return eq + f"<br>dℓ/dh{b} = 0: ℓ predicts the character read at step {l}"
    c2 = _sup(l + 2)
    direct = f"{term(split['dh2'])} × {fmt(split['z1'])}" if split["z1"] is not None else "0"
    return eq + (f"<br>dℓ/dh{b} = dℓ/dh{c2} ⊙ z{b} + (through the gates and n) = {direct} + "
                 f"{term(split['through_gates'])} = {fmt(split['total'])}")
