"""Train the shipped character-level LSTM on Shakespeare (reproducible with --seed).

    python scripts/train_char_model.py --corpus ../shared/data/tinyshakespeare.txt

The last 10% of the corpus is held out and never trained on. Writes the weights (float16,
loadable with ``torch.load(weights_only=True)``) into the package and prints the model card.
The shipped models were made with:

    python scripts/train_char_model.py                                   # char_lstm.pt (generation)
    python scripts/train_char_model.py --layers 1 --hidden 128 --steps 5000 --batch 64 --seq-len 100 \
        --dropout 0 --threads 1 --cell rnn --out rnn_widgets/core/data/small_rnn.pt   # and lstm, gru: one protocol
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from rnn_widgets.core import CharModel, CharVocab, TrainConfig, Trainer

OUT = Path(__file__).resolve().parents[1] / "rnn_widgets" / "core" / "data"


def split_corpus(text: str, held_out: float = 0.1) -> tuple[str, str]:
    cut = int(len(text) * (1 - held_out))
    return text[:cut], text[cut:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="../shared/data/tinyshakespeare.txt")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--dropout", type=float, default=0.15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out", default=str(OUT / "char_lstm.pt"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    text = Path(args.corpus).read_text(encoding="utf-8")
    train_text, val_text = split_corpus(text)
    vocab = CharVocab.from_text(train_text)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text, errors="replace")
    model = CharModel(vocab, args.hidden, args.layers, args.embed, args.dropout, args.cell)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch, seq_len=args.seq_len, lr=args.lr, seed=args.seed)
    trainer = Trainer(model, train_ids, cfg)
    # cosine decay of the learning rate to 5% over the run
    sched = torch.optim.lr_scheduler.LambdaLR(
        trainer.optimizer, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    start = time.perf_counter()

    def report(tr, info):
        sched.step()
        if info.step % 250 == 0 or info.step == args.steps:
            val = model.evaluate(val_ids[:100_000])
            print(f"step {info.step:5d}  train {info.loss:.3f}  held-out(100k) {val:.3f}  {time.perf_counter() - start:6.0f}s",
                  flush=True)

    trainer.add_callback("on_step", report)
    trainer.fit()
    seconds = time.perf_counter() - start
    val = model.evaluate(val_ids)
    n_params = sum(p.numel() for p in model.parameters())
    card = {
        "corpus": "tinyshakespeare.txt (public-domain Shakespeare, 1.1 MB); not shipped",
        "split": "first 90% trained on, last 10% held out",
        "architecture": f"embedding {args.embed} -> {args.layers} x core {args.cell.upper()}({args.hidden}) -> "
                        f"linear to {len(vocab)} chars",
        "parameters": n_params,
        "held_out_nats_per_char": round(val, 4),
        "training": f"{args.steps} Adam steps, batch {args.batch} x {args.seq_len} chars, lr {args.lr} cosine, "
                    f"dropout {args.dropout}, seed {args.seed}, {seconds / 60:.1f} min on {torch.get_num_threads()} CPU threads",
    }
    model.save(args.out, **card)
    size = Path(args.out).stat().st_size
    print(f"held-out cross-entropy {val:.4f} nats/char; {n_params} parameters; {size / 1e6:.2f} MB at {args.out}")
    for k, v in card.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
