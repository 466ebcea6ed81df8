"""examples/02_weight_sharing.ipynb's questions: each truth recomputed without the widget. The per-step
contributions come from a hand-written unrolled run in which every step has its own leaf copy of W and b (the
gradient of step k's copy is step k's contribution), autograd's gradient from the same run with one shared leaf;
the untied network's updates from replaying the shipped run's seeded lengths."""
import json
from importlib import resources

import numpy as np
import torch

from rnn_widgets.core import RNN, seeded

INPUT, HIDDEN = 2, 4


def _network(L, scale, seed=0):
    """W, b, x and the target as the widget's run draws them: the core's seeded RNN, W_a = scale × orthogonal."""
    rnn = seeded(seed, lambda: RNN(INPUT, HIDDEN, dtype=torch.float64))
    g = torch.Generator().manual_seed(seed)
    W, b = rnn.W.detach().clone(), rnn.b.detach().clone()
    W[:, :HIDDEN] = scale * torch.linalg.qr(torch.randn(HIDDEN, HIDDEN, generator=g, dtype=torch.float64))[0]
    x = torch.randn(L, INPUT, generator=g, dtype=torch.float64)
    target = torch.randn(L, HIDDEN, generator=g, dtype=torch.float64) * 0.5
    return W, b, x, target


def _loss(Ws, bs, x, target):
    a = torch.zeros(HIDDEN, dtype=torch.float64)  # a⁽⁰⁾ = 0
    for k in range(len(x)):
        a = torch.tanh(Ws[k] @ torch.cat([a, x[k]]) + bs[k])
    return 0.5 * ((a - target[-1]) ** 2).sum()  # the loss at the last step


def gradients(L=8, scale=0.9):
    """(contributions (L, H, H + I + 1): [dℓ/dW⁽ᵏ⁾ | dℓ/db⁽ᵏ⁾] of step k's own copy, autograd's [dℓ/dW | dℓ/db])."""
    W, b, x, target = _network(L, scale)
    Ws = [W.clone().requires_grad_(True) for _ in range(L)]
    bs = [b.clone().requires_grad_(True) for _ in range(L)]
    grads = torch.autograd.grad(_loss(Ws, bs, x, target), Ws + bs)
    contrib = torch.stack([torch.cat([gW, gb[:, None]], 1) for gW, gb in zip(grads[:L], grads[L:])])
    Wl, bl = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    gW, gb = torch.autograd.grad(_loss([Wl] * L, [bl] * L, x, target), [Wl, bl])
    return contrib.numpy(), torch.cat([gW, gb[:, None]], 1).numpy()


def sum_agrees():
    contrib, total = gradients()
    assert f"{total[0, 5]:.3g}" == "1.23"  # the notebook's answer: "autograd says 1.23"
    return "yes, up to rounding error" if abs(contrib[:, 0, 5].sum() - total[0, 5]) < 1e-9 else "no, they differ"


def first_against_last():
    contrib, _ = gradients(L=20, scale=0.3)
    norms = np.sqrt((contrib ** 2).sum(axis=(1, 2)))
    assert f"{norms[-1]:.3g}" == "2.71" and f"{norms[0]:.3g}" == "1.38e-11"  # the numbers the answer quotes
    ratio = norms[0] / norms[-1]
    return ["smaller" if ratio < 0.5 else ("larger" if ratio > 2 else "about the same"), float(ratio)]


def norm_of_sum():
    contrib, total = gradients()
    of_sum = np.linalg.norm(total)
    sum_of = sum(np.linalg.norm(c) for c in contrib)
    assert f"{of_sum:.3g}" == "2.89" and sum_of > 2 * of_sum  # the answer: "2.89", the blue bars "much more"
    if of_sum < sum_of * (1 - 1e-9):
        return "smaller than the sum of the blue bars"
    return "larger than the sum of the blue bars" if of_sum > sum_of else "the sum of the blue bars"


def b_from_every_step():
    contrib, total = gradients()
    assert (f"{total[:, -1].min():.2g}", f"{total[:, -1].max():.2g}") == ("-0.56", "1.4")  # the answer's range
    from_step = [bool(np.abs(c[:, -1]).sum() > 0) for c in contrib]
    return "from every step" if all(from_step) else "not from every step"


def _shipped():
    return json.loads(resources.files("rnn_widgets.core").joinpath("data", "tied_untied.json").read_text("utf-8"))


def longer_inputs():
    r = _shipped()
    s = r["settings"]
    g = torch.Generator().manual_seed(s["seed"] + 1)  # the run's batches: a length, then the batch's numbers
    lengths = []
    for _ in range(s["steps"]):
        T = round(s["mean_len"] + s["spread"] * float(torch.randn((), generator=g)))
        lengths.append(min(s["max_len"], max(1, T)))
        torch.rand(lengths[-1], s["batch"], 1, generator=g)
    longest = max(lengths)
    assert longest == 13 and np.bincount(lengths, minlength=17)[1:].tolist() == r["batches_of_length"]
    # layer l is updated by every batch at least l long, and by no other: layers 14–16 by none
    updates = sum(sum(T >= layer for T in lengths) for layer in range(longest + 1, s["max_len"] + 1))
    untied = 100 * np.mean(r["accuracy_untied"][longest:])  # lengths 14–16, longer than any training sequence
    tied = 100 * np.mean(r["accuracy_tied"][longest:])
    assert (f"{untied:.3g}", f"{tied:.3g}") == ("59.8", "87.2")  # the numbers the notebook's answer quotes
    return [float(updates), float(untied)]


TRUTHS = {1: sum_agrees, 2: first_against_last, 3: norm_of_sum, 4: b_from_every_step, 5: longer_inputs}
