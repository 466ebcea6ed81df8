"""What the notebooks' questions cost a kernel per page view: CPU-seconds to build the notebook's plain widget and
then each of its questions (the question's widget in its state and the truth), as a fresh kernel does.

    python benchmarks/questions.py [--repeat 3]

Each notebook is built in --repeat fresh processes (rnn_widgets and torch imported before the clock starts, as
the gallery's forked kernels have them: rnn_widgets/kernel_fork.py); the figures are the medians. CPU time of
the process (time.process_time), which holds on a busy machine better than wall time does.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from rnn_widgets import WIDGETS
from rnn_widgets.questions import NOTEBOOKS, ask

#: the notebook's plain widget, for comparison
PLAIN = dict(zip(NOTEBOOKS, WIDGETS))


def page_view(notebook: str) -> list[float]:
    """In a fresh process: CPU-seconds of the plain widget, then of each question, in the notebook's order."""
    code = f"""
import time, json
import torch, rnn_widgets as rw
from rnn_widgets.questions import ask, builders
import rnn_widgets.widgets.common
times = []
start = time.process_time(); w = rw.{PLAIN[notebook]}(); times.append(time.process_time() - start)
for n in range(1, len(builders({notebook!r})) + 1):
    start = time.process_time(); q = ask({notebook!r}, n); times.append(time.process_time() - start)
print(json.dumps(times))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'notebook':20} {'plain widget':>13} {'questions':>10}   each question (median CPU-s)")
    totals = [0.0, 0.0]
    for notebook in NOTEBOOKS:
        runs = [page_view(notebook) for _ in range(args.repeat)]
        medians = [statistics.median(r[i] for r in runs) for i in range(len(runs[0]))]
        plain, each = medians[0], medians[1:]
        totals = [totals[0] + plain, totals[1] + sum(each)]
        print(f"{notebook:20} {plain:12.3f}s {sum(each):9.3f}s   " + " ".join(f"{t:.3f}" for t in each))
    print(f"{'all':20} {totals[0]:12.3f}s {totals[1]:9.3f}s")
    q = ask("05_gradient_flow", 1)
    start = time.process_time()
    q.commit("1.5")
    print(f"one commit (05 Q1: restore the state, reveal, compare): {time.process_time() - start:.4f} CPU-s")
    q.close()


if __name__ == "__main__":
    main()
