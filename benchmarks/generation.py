"""§1.4 speed: temperature → bars, one generated character, 200 characters, and training throughput.

    python benchmarks/generation.py [--corpus ../shared/data/tinyshakespeare.txt]

Goals on a 2-core CPU: temperature change → bars <= 16 ms median; one step <= 16 ms; 200 characters
<= 200 ms; the trainer reaches 2.2 nats/char on the held-out last 10% of the corpus in <= 12 s
(a plain NumPy character RNN takes about 120 s). Also prints the shipped model's card.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _timing import measure, median_ms, p95_ms

from rnn_widgets import GenerationWidget
from rnn_widgets.core import CharModel, CharVocab, TrainConfig, Trainer, load_char_model, seeded

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


def widget_latency() -> None:
    w = GenerationWidget()
    w.generate(20)
    temps = iter([0.3, 0.5, 0.8, 1.2, 2.0] * 100)
    t = measure(lambda: setattr(w, "temperature", next(temps)), repeat=100)
    print(f"temperature change -> bars: median {median_ms(t):.2f} ms, p95 {p95_ms(t):.2f} ms")
    t = measure(lambda: w.generate(1), repeat=100)
    print(f"one step (sample, feed back, redraw): median {median_ms(t):.2f} ms, p95 {p95_ms(t):.2f} ms")
    t = measure(lambda: (w.reset(), w.generate(200)), repeat=20, warmup=2)
    print(f"200 characters (reset + generate + redraw): median {median_ms(t):.1f} ms, p95 {p95_ms(t):.1f} ms")


def training_throughput(corpus: Path, target: float = 2.2, limit_s: float = 120.0) -> None:
    text = corpus.read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    vocab = CharVocab.from_text(text[:cut])
    train, held_out = vocab.encode(text[:cut]), vocab.encode(text[cut:], errors="replace")
    model = seeded(0, lambda: CharModel(vocab, hidden_size=128, num_layers=1, embed_size=32))
    trainer = Trainer(model, train, TrainConfig(batch_size=32, seq_len=64, lr=1e-2, seed=0))
    train_time, step = 0.0, 0
    while train_time < limit_s:
        t = time.perf_counter()
        trainer.fit(25)
        train_time += time.perf_counter() - t
        step += 25
        loss = model.evaluate(held_out)  # the whole held-out 10%, not timed
        if loss <= target:
            print(f"trainer: held-out {loss:.3f} nats/char <= {target} after {step} steps, "
                  f"{train_time:.1f} s of training (goal <= 12 s; NumPy char-RNN baseline about 120 s)")
            return
    print(f"trainer: held-out {loss:.3f} nats/char after {train_time:.0f} s: target {target} not reached")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    card = load_char_model().card
    print("shipped model:", "; ".join(f"{k}: {v}" for k, v in card.items()))
    widget_latency()
    if Path(args.corpus).exists():
        training_throughput(Path(args.corpus))
    else:
        print(f"corpus {args.corpus} not found: training throughput skipped")


if __name__ == "__main__":
    main()
