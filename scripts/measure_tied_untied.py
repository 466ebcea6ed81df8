"""Regenerate rnn_widgets/core/data/tied_untied.json: §1.2's rarely trained late layers, measured (seeded).

    python scripts/measure_tied_untied.py [--steps 6000]

Trains the untied (one layer per token) and the tied (weight-shared) RNN side by side on short sequences and
writes the per-layer update counts and the accuracy by length (rnn_widgets.core.tied_untied.run_experiment).
About 3 minutes on one CPU thread.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from rnn_widgets.core.tied_untied import FILE, run_experiment, summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = run_experiment(steps=args.steps, seed=args.seed)
    result["accuracy_tied"] = [round(a, 4) for a in result["accuracy_tied"]]
    result["accuracy_untied"] = [round(a, 4) for a in result["accuracy_untied"]]
    out = Path(__file__).resolve().parents[1] / "rnn_widgets" / "core" / "data" / FILE
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(out)
    print(summary(result))


if __name__ == "__main__":
    main()
