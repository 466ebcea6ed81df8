"""Measure the shipped topology models' accuracy at every length 1 … 16 and write it beside the weights.

    python scripts/measure_topology_lengths.py

The models were trained on lengths 1 … 8; the TopologiesWidget plots these numbers to show §1.2's warning
that a network generalises poorly to lengths it was not trained on. Computing them takes seconds (the
encoder-decoder runs its decoder step by step), too long for a widget's constructor, so they ship as data;
tests/test_claims.py recomputes some of them.
"""
from __future__ import annotations

import json
from pathlib import Path

from rnn_widgets.core.tasks import LENGTHS_FILE, LONGEST, MAX_LEN, accuracy_by_length

TOPOLOGIES = ["one-to-many", "many-to-one", "many-to-many (encoder-decoder)", "many-to-many (synced)"]


def main() -> None:
    table = {t: [round(a, 4) for a in accuracy_by_length(t)] for t in TOPOLOGIES}
    out = Path(__file__).resolve().parents[1] / "rnn_widgets" / "core" / "data" / LENGTHS_FILE
    out.write_text(json.dumps({"trained_up_to": MAX_LEN, "lengths": list(range(1, LONGEST + 1)),
                               "examples_per_length": 200, "accuracy": table}, indent=1) + "\n")
    for t, acc in table.items():
        print(f"{t:32s}", " ".join(f"{a:.2f}" for a in acc))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
