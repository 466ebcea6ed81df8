"""Train a small character model on the student's own text, live, with a Stop button (§1.4)."""
from __future__ import annotations

import atexit
import threading
import time
import weakref
from importlib import resources

import bqplot as bq
import ipywidgets as W
import numpy as np
import torch

from ..core import CharModel, CharVocab, TrainConfig, Trainer, seeded
from .charts.axes import fit_y
from .charts.builders import line_chart
from .charts.legend import show_in_legend
from .common import PALETTE, _bad_value, close_tree, esc, guard_tree, reported_by_owner
from .numbers import fmt

SEQ_LEN = 48
HELD_OUT = 0.1  # the end of the student's text is never trained on: its loss says whether the model generalises
EVAL_EVERY = 10  # steps between held-out evaluations
MEMORISING = 1.05  # held-out loss this far above its best (while training goes on): the model is memorising
MAX_TEXT = 200_000
STOP_WAIT = 1.0  # seconds close() waits for the current step to finish

#: panels whose thread is training now: stopped and joined when the interpreter exits (a daemon thread still
#: inside torch when the runtime is torn down aborts the process: "terminate called without an active exception")
_TRAINING: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_all_training() -> None:
    for panel in list(_TRAINING):
        panel.stop()
    for panel in list(_TRAINING):
        panel.join(10.0)


@torch.no_grad()
def held_out_loss(model, ids) -> float:
    """Mean next-character loss (nats) over the whole held-out sequence, read in one pass."""
    was_training = model.training
    model.eval()
    loss = float(model.loss(ids[:-1, None], ids[1:, None]))
    model.train(was_training)
    return loss


def memorising_words(losses: list[float], held_out: list[tuple[int, float]]) -> str:
    """Whether the held-out loss still follows the training loss, or the model has started to memorise."""
    if not held_out:
        return ""
    best_step, best = min(held_out, key=lambda sv: sv[1])
    step, now = held_out[-1]
    train = float(np.mean(losses[-EVAL_EVERY:])) if losses else float("nan")
    words = f"Step {step}: training loss {fmt(train)}, held-out loss {fmt(now)} nats/char."
    if now > MEMORISING * best and step > best_step:
        words += (f" The held-out loss was lowest at step {best_step} ({fmt(best)}) and has risen since while the "
                  "training loss goes on falling: the model is memorising your text, not learning to generalise.")
    return words


def default_training_text() -> str:
    """A short text written for this project (free to ship), about what the network is doing."""
    return (resources.files("rnn_widgets.widgets") / "data" / "training_text.txt").read_text(encoding="utf-8")


class LiveTraining(W.VBox):
    """A text area, a Train and a Stop button, a progress bar, a loss curve and samples as it learns.

    Training runs in a background thread so the notebook stays responsive; every widget update is
    a small message. ``start(blocking=True)`` trains in the caller's thread (tests, scripts).
    ``model`` holds the latest trained model (None before the first run).

    The run reads a snapshot of the text taken when Train is pressed (editing the box meanwhile changes
    nothing); an exception in the run becomes the panel's message, with Train enabled again. ``close()``
    stops the run (it waits up to ``STOP_WAIT`` seconds for the step under way) and closes the panel's widgets.
    """

    def __init__(self, steps: int = 300, hidden_size: int = 96, seed: int = 0, on_trained=None):
        self.text_area = W.Textarea(value=default_training_text(), rows=6, description="Your text",
                                    layout=W.Layout(width="98%"))
        self.steps = W.IntSlider(value=steps, min=20, max=2000, step=20, description="Steps",
                                 style={"description_width": "initial"})
        self.train_button = W.Button(description="Train", button_style="primary", icon="play")
        self.stop_button = W.Button(description="Stop", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=steps, description="0 steps")
        self.fig, self.loss_line, scales = line_chart(
            "Loss on your text: trained part and held-out end", "step", "nats / char", 1, colors=[PALETTE[0]],
            labels=["training loss (first 90%)"], height=220)
        self.val_line = bq.Lines(x=[0.0], y=[0.0], scales=scales, colors=[PALETTE[5]], stroke_width=2.5,
                                 marker="circle", marker_size=16, labels=["held-out loss (last 10%)"],
                                 visible=False)
        self.fig.marks = [self.loss_line, self.val_line]
        show_in_legend(self.fig, self.val_line)
        self.samples = W.HTML("")
        self.message = W.HTML("")
        self.hidden_size, self.seed, self.on_trained = hidden_size, seed, on_trained
        self.model: CharModel | None = None
        self.trainer: Trainer | None = None
        self._thread: threading.Thread | None = None
        self._losses: list[float] = []
        self._val: list[tuple[int, float]] = []  # (step, held-out loss)
        self._samples: list[str] = []
        self._text = ""  # the snapshot the current run reads
        self._closed = False
        self.error: str | None = None  # what stopped the last run, if it failed
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.text_area.observe(self._text_edited, names="value")
        reported_by_owner(self.text_area, "value")  # the panel's message says what is wrong with a text
        super().__init__([self.text_area, W.HBox([self.steps, self.train_button, self.stop_button, self.progress]),
                          self.message, self.fig, self.samples])
        guard_tree(self, self.fig)  # every other text and number refuses what could not be sent (common.guard)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _check(self, text: str) -> None:
        need = int((SEQ_LEN + 2) / (1 - HELD_OUT)) + 1
        if len(text) < need:
            raise ValueError(f"The training text has {len(text)} characters; it needs at least {need} "
                             f"(one training sequence is {SEQ_LEN} characters, plus the next one to predict, and "
                             f"the last {100 * HELD_OUT:.0f}% is kept apart to test the model).")
        if len(text) > MAX_TEXT:
            raise ValueError(f"The training text has {len(text):,} characters; paste at most {MAX_TEXT:,}.")
        why = _bad_value("The training text", text)
        if why:
            raise ValueError(why)

    def start(self, blocking: bool = False) -> bool:
        """Train a fresh model on the text area's text. Returns False (with a message) on bad input."""
        if self.running or self._closed:
            return False
        text = self.text_area.value
        try:
            self._check(text)
        except ValueError as exc:
            self._alert(str(exc))
            return False
        self.message.value = ""
        self._text, self.error = text, None
        vocab = CharVocab.from_text(text)
        model = seeded(self.seed, lambda: CharModel(vocab, self.hidden_size, 1, 16))
        cfg = TrainConfig(steps=self.steps.value, batch_size=32, seq_len=SEQ_LEN, lr=1e-2, seed=self.seed,
                          eval_every=EVAL_EVERY)
        ids = vocab.encode(text)
        cut = int(len(ids) * (1 - HELD_OUT))  # train on the start, test on the end it never sees
        self.trainer = Trainer(model, ids[:cut], cfg, val_data=ids[cut:], evaluate=held_out_loss)
        self.trainer.add_callback("on_step", self._on_step)
        self.trainer.add_callback("on_end", self._on_end)
        self._losses, self._val, self._samples, self._last_draw = [], [], [], 0.0
        self.progress.max, self.progress.value = cfg.steps, 0
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.model = model
        if blocking:
            self._fit(self.trainer)
        else:
            self._thread = threading.Thread(target=self._fit, args=(self.trainer,), daemon=True,
                                            name="rnn-widgets-training")
            _TRAINING.add(self)
            self._thread.start()
        return True

    def _alert(self, words: str) -> None:
        """The panel's message about bad input, read out by screen readers."""
        self.message.value = f"<div role='alert' style='color:#b35806'>{esc(words)}</div>"

    def _text_edited(self, change) -> None:
        """A text that could not even be sent back to the browser (a lone surrogate, from a paste) is not kept:
        the box goes back to the last good text and the message says why (a TraitError from the browser's
        message would only reach the kernel's log)."""
        why = _bad_value("The training text", change.new)
        if why:
            self.text_area.value = change.old
            self._alert(why)

    def _fit(self, trainer: Trainer) -> None:
        """The run; whatever goes wrong is said in the panel, never left as a dead thread with Stop enabled."""
        try:
            trainer.fit()
        except Exception as exc:  # noqa: BLE001 - a background thread has no caller to raise to
            self.error = f"{type(exc).__name__}: {exc}"
            if not self._closed:
                self.message.value = (f"<div role='alert' style='color:#b35806'>Training stopped at step "
                                      f"{trainer.step}: {esc(self.error)}</div>")
                self.train_button.disabled, self.stop_button.disabled = False, True
                self.progress.description = f"{trainer.step} steps (failed)"
        finally:
            _TRAINING.discard(self)

    def stop(self) -> None:
        """Ask the trainer to stop after the current step."""
        if self.trainer is not None:
            self.trainer.request_stop()

    def close(self) -> None:
        """Stop the run (waiting up to ``STOP_WAIT`` s for the current step), close every widget of the panel
        and drop the model, trainer and data."""
        if self._closed:
            return
        self._closed = True
        self.on_trained = None
        self.stop()
        self.join(STOP_WAIT)
        close_tree(self, self.fig)
        super().close()
        self.children = ()
        self.model = self.trainer = None
        self._losses, self._samples, self._text = [], [], ""

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_step(self, trainer: Trainer, info) -> None:
        if self._closed:
            trainer.request_stop()
            return
        self._losses.append(info.loss)
        if info.val_loss is not None:
            self._val.append((info.step, info.val_loss))
        now = time.perf_counter()
        if now - self._last_draw > 0.25 or info.step == trainer.config.steps:  # ~4 redraws a second
            self._last_draw = now
            self._draw(info.step)
        if info.step % 50 == 0:
            self._sample(info.step)

    def _on_end(self, trainer: Trainer, info) -> None:
        if self._closed:
            return
        self._draw(info.step)
        if not self._samples or not self._samples[-1].startswith(f"step {info.step}:"):
            self._sample(info.step)
        self.train_button.disabled, self.stop_button.disabled = False, True
        self.progress.description = f"{info.step} steps" + (" (stopped)" if info.step < trainer.config.steps else "")
        if self.on_trained is not None:
            self.on_trained(self.model)

    def _draw(self, step: int) -> None:
        with self.loss_line.hold_sync(), self.val_line.hold_sync():
            self.loss_line.x = np.arange(1, len(self._losses) + 1)
            self.loss_line.y = np.asarray(self._losses)
            if self._val:
                self.val_line.x, self.val_line.y = (np.asarray(v, dtype=float) for v in zip(*self._val))
            self.val_line.visible = bool(self._val)
        fit_y(self.fig, np.concatenate([self._losses, [v for _, v in self._val]]), zero=True)
        self.progress.value = step
        self.progress.description = f"{step} steps"
        self.message.value = esc(memorising_words(self._losses, self._val))

    def _sample(self, step: int) -> None:
        model, text = self.model, self._text
        with torch.no_grad():
            out = model.generate(text[:8], 80, temperature=0.8, seed=step)
        model.train()
        self._samples.append(f"step {step}: {text[:8]}{out}")
        loss = fmt(self._losses[-1]) if self._losses else "–"
        rows = "".join(f"<div style='font-family:monospace;white-space:pre-wrap'>{esc(s)}</div>"
                       for s in self._samples[-6:])
        self.samples.value = f"<b>Samples as it learns</b> (latest loss {loss} nats/char):{rows}"
