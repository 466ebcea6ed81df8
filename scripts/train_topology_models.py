"""Train the four tiny task models behind TopologiesWidget (a minute or two on a laptop CPU).

    python scripts/train_topology_models.py [--seed 0]

Writes ``rnn_widgets/core/data/topologies.pt`` (tensors only) and prints each task's accuracy
on fresh random examples of every length.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from rnn_widgets.core.tasks import DIGITS, MAX_LEN, WEIGHTS, make_models

OUT = Path(__file__).resolve().parents[1] / "rnn_widgets" / "core" / "data" / WEIGHTS


def batch(name: str, g: torch.Generator, B: int = 128):
    T = int(torch.randint(1, MAX_LEN + 1, (1,), generator=g))
    if name == "count":
        d = torch.randint(0, DIGITS, (B,), generator=g)
        return d, T, (d[None] + torch.arange(1, T + 1)[:, None]) % DIGITS
    if name == "sign":
        x = torch.rand(T, B, 1, generator=g) * 2 - 1
        return x, T, (x.sum((0, 2)) > 0).float()
    if name == "running":
        x = torch.rand(T, B, 1, generator=g) - 0.5
        return x, T, x[..., 0].cumsum(0)
    d = torch.randint(0, DIGITS, (T, B), generator=g)
    return d, T, d.flip(0)


def loss_of(name: str, model: nn.Module, x, T, y, teacher: bool = True):
    if name in ("count", "reverse"):
        logits = model(x, T, y if teacher else None)
        return nn.functional.cross_entropy(logits.reshape(-1, DIGITS), y.reshape(-1)), (logits.argmax(-1) == y)
    out = model(x)
    if name == "sign":
        return nn.functional.binary_cross_entropy_with_logits(out, y), ((out > 0).float() == y)
    return nn.functional.mse_loss(out, y), ((out - y).abs() < 0.15)


STEPS = {"count": 800, "sign": 2000, "running": 2000, "reverse": 4000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    models = make_models()
    for name, model in models.items():
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS[name])
        for _ in range(STEPS[name]):
            loss, _ = loss_of(name, model, *batch(name, g))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            accs = [loss_of(name, model, *batch(name, g, 512), teacher=False)[1].float().mean().item()
                    for _ in range(20)]
        print(f"{name:8s} final loss {loss.item():.4f}  accuracy on fresh examples {100 * sum(accs) / len(accs):.1f}%")
    torch.save({n: m.state_dict() for n, m in models.items()}, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
