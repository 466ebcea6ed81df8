#!/usr/bin/env bash
# Rebuild binder/'s environment in a fresh venv, execute every example notebook in it, then walk the eight
# pages in Chromium on the Jupyter server Binder runs (binder/postBuild's config in place) while the memory of
# the server and its kernels stays under 2 GB (scripts/binder_walk.py; needs Debian's chromium).
# download.pytorch.org is not reachable from every machine: TORCH_SPEC (default torch==2.13.0, a CPU
# build on our CI machines) replaces the pinned torch line; everything else comes from binder/ as is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-/tmp/binder-venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
rm -rf "$VENV"
python3 -m venv "$VENV"
source "$VENV/bin/activate"
pip install --quiet "$TORCH_SPEC"
grep -v -e '^torch' -e '^--extra-index-url' binder/requirements.txt > /tmp/binder-reqs.txt
pip install --quiet -r /tmp/binder-reqs.txt
bash binder/postBuild
pip install --quiet nbclient ipykernel playwright psutil  # the checks' own tools
python - <<'PY'
import glob, nbformat
from nbclient import NotebookClient
for path in sorted(glob.glob("examples/*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    print("executed", path)
PY
python benchmarks/memory.py
python scripts/binder_walk.py --budget-mb 2048
