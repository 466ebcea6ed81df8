"""Screenshot widgets in a real browser (Voila + Debian chromium), for looking at them by eye.

    python scripts/screenshot.py UnrollingWidget 'LSTMGatesWidget(source="text")' --out shots/

Each widget (a name, or a constructor call with arguments) gets its own PNG, taken from a page where
Voila rendered it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import chromium_page, voila_server, write_notebook


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("widgets", nargs="+")
    ap.add_argument("--out", default="shots")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        calls = [w if "(" in w else f"{w}()" for w in args.widgets]
        nb = write_notebook(Path(tmp) / "shots.ipynb", [f"import rnn_widgets\nrnn_widgets.{c}" for c in calls])
        with voila_server(nb, Path(tmp) / "voila.log") as url, chromium_page(height=2400) as page:
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".rnn-widget", timeout=120_000)
            page.wait_for_function(
                f"document.querySelectorAll('.rnn-widget').length >= {len(args.widgets)}", timeout=120_000)
            page.wait_for_timeout(2500)  # let bqplot finish its transitions
            for k, (call, el) in enumerate(zip(calls, page.query_selector_all(".rnn-widget"))):
                path = out / f"{k}_{call.split('(')[0]}.png"
                el.screenshot(path=str(path))
                print(path, call)
            if page.errors:
                print("page errors:", page.errors)


if __name__ == "__main__":
    main()
