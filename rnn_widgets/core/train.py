"""A small trainer that knows nothing of the model's insides or of any UI.

Anything that wants to watch training (a progress bar, a loss curve, a benchmark) registers a
callback; the trainer never prints or plots. A callback may call :meth:`Trainer.request_stop`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class TrainConfig:
    steps: int = 300  # optimiser steps in one call of fit()
    batch_size: int = 32  # sequences per step
    seq_len: int = 64  # characters per sequence (truncated backpropagation through time)
    lr: float = 3e-3  # Adam's learning rate
    grad_clip: float = 1.0  # clip the gradient's norm to this (§1.5); 0 turns clipping off
    seed: int = 0  # seeds the batch sampler (and nothing global)
    eval_every: int = 0  # evaluate on the held-out data every this many steps (0: never)


@dataclass
class StepInfo:
    """What a callback sees after each step."""

    step: int
    loss: float
    elapsed: float  # seconds since fit() started
    val_loss: float | None = None  # set on evaluation steps


class Trainer:
    """Fit a model that has ``loss(inputs, targets)`` on a 1-D tensor of token ids.

    Batches are random windows of ``seq_len + 1`` tokens; the model predicts each next token.

    Events: ``"on_step"`` (after every step) and ``"on_end"`` (when fit returns); each
    callback is called with ``(trainer, info)``.
    """

    def __init__(self, model: nn.Module, data: Tensor, config: TrainConfig | None = None,
                 val_data: Tensor | None = None, evaluate: Callable[[nn.Module, Tensor], float] | None = None):
        self.model = model
        self.config = config or TrainConfig()
        if data.dim() != 1 or data.numel() < self.config.seq_len + 2:
            raise ValueError(
                f"training data must be a 1-D sequence longer than seq_len + 1 = {self.config.seq_len + 1} "
                f"tokens, got {data.numel()}"
            )
        self.data = data
        self.val_data = val_data
        self.evaluate = evaluate
        self.optimizer = torch.optim.Adam(model.parameters(), lr=self.config.lr)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.callbacks: dict[str, list[Callable]] = {"on_step": [], "on_end": []}
        self.step = 0
        self._stop = False

    def add_callback(self, event: str, fn: Callable[[Trainer, StepInfo], None]) -> None:
        if event not in self.callbacks:
            raise ValueError(f"event must be one of {sorted(self.callbacks)}, got {event!r}")
        self.callbacks[event].append(fn)

    def request_stop(self) -> None:
        """Stop after the current step (safe to call from a callback or another thread)."""
        self._stop = True

    def batch(self) -> tuple[Tensor, Tensor]:
        """Random windows: inputs and next-token targets, each ``(seq_len, batch_size)``."""
        cfg = self.config
        starts = torch.randint(0, self.data.numel() - cfg.seq_len - 1, (cfg.batch_size,), generator=self.generator)
        idx = starts[None, :] + torch.arange(cfg.seq_len + 1)[:, None]  # (T+1, B)
        chunk = self.data[idx]
        return chunk[:-1], chunk[1:]

    def train_step(self) -> float:
        self.model.train()
        inputs, targets = self.batch()
        loss = self.model.loss(inputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        return loss.item()

    def fit(self, steps: int | None = None) -> StepInfo:
        """Run ``steps`` (default ``config.steps``) optimiser steps, or until a stop is requested."""
        self._stop = False
        start = time.perf_counter()
        info = StepInfo(self.step, float("nan"), 0.0)
        for _ in range(self.config.steps if steps is None else steps):
            loss = self.train_step()
            info = StepInfo(self.step, loss, time.perf_counter() - start)
            every = self.config.eval_every
            if every and self.val_data is not None and self.evaluate is not None and self.step % every == 0:
                info.val_loss = self.evaluate(self.model, self.val_data)
            for fn in self.callbacks["on_step"]:
                fn(self, info)
            if self._stop:
                break
        for fn in self.callbacks["on_end"]:
            fn(self, info)
        return info
