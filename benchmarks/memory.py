"""The kernel's resident memory after the tour notebook has built every widget (Binder budget: 500 MB).

    python benchmarks/memory.py [--notebook examples/00_tour.ipynb]

Starts a fresh kernel, executes the notebook in it, then reads the kernel process's VmRSS
(and its peak, VmHWM) from /proc (Linux).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    kb = lambda key: float(fields[key].split()[0])
    return kb("VmRSS") / 1024, kb("VmHWM") / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebook", default=str(Path(__file__).resolve().parents[1] / "examples" / "00_tour.ipynb"))
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    try:
        pid = km.provisioner.process.pid
        client = NotebookClient(nb, km=km, timeout=300)
        with client.setup_kernel():
            client.kc.execute_interactive("pass", timeout=60)  # the kernel is up and idle
            idle, _ = rss_mb(pid)
            client.execute()
            now, peak = rss_mb(pid)
    finally:
        km.shutdown_kernel(now=True)
    widgets = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                  for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    print(f"idle kernel: {idle:.0f} MB")
    print(f"kernel after {Path(args.notebook).name} ({widgets} widgets shown): {now:.0f} MB resident, peak {peak:.0f} MB")
    print("budget: 500 MB (Binder gives 1-2 GB)")


if __name__ == "__main__":
    main()
