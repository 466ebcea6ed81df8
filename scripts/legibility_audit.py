"""Count what a student cannot read in the tour, the widgets' extreme states and the static pages.

    python scripts/legibility_audit.py [--shots DIR]

Prints, per page, every overlapping label pair and every colour key with no gradient or no meaning
(tests/legibility.py measures them in Chromium), then the totals.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import chromium_page, serve_directory, voila_server, write_notebook
from legibility import EXTREMES, audit, problems


def report(name: str, records: list[dict]) -> tuple[int, int]:
    found = problems(records)
    keys = sum(len(r["keys"]) for r in records)
    print(f"{name}: {len(records)} figures, {keys} colour keys, {len(found)} problems")
    for line in found:
        print("   ", line)
    overlaps = sum(len(r["overlaps"]) for r in records)
    return overlaps, len(found) - overlaps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", help="also save a screenshot of every widget here")
    args = ap.parse_args()
    totals = [0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        extremes = write_notebook(tmp / "extremes.ipynb", ["from rnn_widgets import *\n" + c for c in EXTREMES])
        pages = [("tour (defaults)", ROOT / "examples" / "00_tour.ipynb", 6), ("extremes", extremes, 6)]
        with chromium_page(width=1000, height=1400) as page:
            for name, nb, n in pages:
                with voila_server(nb, tmp / "voila.log") as url:
                    page.goto(url, timeout=180_000)
                    page.wait_for_function(f"document.querySelectorAll('.rnn-widget').length >= {n}", timeout=240_000)
                    page.wait_for_timeout(3000)
                    for i, n_ in enumerate(report(name, audit(page))):
                        totals[i] += n_
                    if args.shots:
                        out = Path(args.shots)
                        out.mkdir(parents=True, exist_ok=True)
                        for k, el in enumerate(page.query_selector_all(".rnn-widget")):
                            el.screenshot(path=str(out / f"{nb.stem}_{k}.png"))
            from rnn_widgets import WIDGETS
            from rnn_widgets.export import export_site

            site = tmp / "site"
            for name in WIDGETS:
                export_site(site, [name], js="local")
            with serve_directory(site) as base:
                for html in sorted(site.glob("*Widget.html")):
                    page.goto(base + html.name, timeout=120_000)
                    page.wait_for_selector(".bqplot.figure", timeout=120_000)
                    page.wait_for_timeout(2000)
                    for i, n_ in enumerate(report(f"static {html.stem}", audit(page))):
                        totals[i] += n_
                    if args.shots:
                        page.screenshot(path=str(Path(args.shots) / f"static_{html.stem}.png"), full_page=True)
    print(f"TOTAL: {totals[0]} overlapping label pairs, {totals[1]} colour-key problems")


if __name__ == "__main__":
    main()
