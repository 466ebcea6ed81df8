"""Speed of the core's LSTM trace against torch.nn.LSTM's forward (issue: package foundation).

    python benchmarks/core.py [--repeat 200] [--threads N]

Prints, for each size and device, the median time of ``LSTM.trace`` (every gate, c and h of
every step) and of ``torch.nn.LSTM`` forward (h only), both without autograd as the widgets
run them, and their ratio. The two are timed in turn, call after call, so that a change in the
machine's load falls on both. Goal: ratio <= 1.5 at (T=100, B=1, H=64) on a 2-core CPU.

``--threads 1`` runs both on one thread, as the widgets do (rnn_widgets.widgets.common.small_tensor_mode); on a busy
machine the trace's many small operations suffer far more from a second thread than the one fused kernel does.
The CPU rows come twice: with oneDNN, PyTorch's default and what a user of rnn_widgets.core gets, and without it
("cpu-no-onednn"), as the widgets run (small_tensor_mode turns it off; PyTorch's own loop is then the kernel,
several times slower at these sizes, for both).
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _timing import measure, measure_interleaved, median_ms

from rnn_widgets.core import LSTM

SIZES = [(100, 1, 64), (200, 32, 128)]
INPUT = 16


def bench(T: int, B: int, H: int, device: str, repeat: int) -> tuple[float, float, float]:
    ref = torch.nn.LSTM(INPUT, H).to(device)
    ours = LSTM.from_torch(ref)
    x = torch.randn(T, B, INPUT, device=device)
    with torch.no_grad():
        times = measure_interleaved({"trace": lambda: ours.trace(x), "ref": lambda: ref(x)}, repeat, device=device)
    t_grad = median_ms(measure(lambda: ours.trace(x), max(10, repeat // 4), device=device))
    return median_ms(times["trace"]), median_ms(times["ref"]), t_grad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own choice)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cpu-no-onednn"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"))
    print(f"{'device':13} {'T':>4} {'B':>3} {'H':>4} | {'trace ms':>9} {'nn.LSTM ms':>10} {'ratio':>6} | {'trace+grad ms':>13}")
    for device in devices:
        for T, B, H in SIZES:
            onednn = torch.backends.mkldnn.enabled
            torch.backends.mkldnn.enabled = device != "cpu-no-onednn"
            try:
                t_trace, t_ref, t_grad = bench(T, B, H, device.split("-")[0], args.repeat)
            finally:
                torch.backends.mkldnn.enabled = onednn
            print(f"{device:13} {T:4d} {B:3d} {H:4d} | {t_trace:9.3f} {t_ref:10.3f} {t_trace / t_ref:6.2f} | {t_grad:13.3f}")
    print("goal: ratio <= 1.5 at (T=100, B=1, H=64) on the CPU")


if __name__ == "__main__":
    main()
