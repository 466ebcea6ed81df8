"""Count what a student cannot read in the tour, the widgets' extreme states and the static pages.

    python scripts/legibility_audit.py [--shots DIR]

Prints, per page, every overlapping label pair and every colour key with no gradient or no meaning, then
issue 24's checks (tests/legibility.py measures them all in Chromium): tick labels that are not their ticks'
values, legends on a data mark, text under 11 px, prose line-heights over 1.6 × the font size and lines over ~80
characters, figures cut in a 600-px window, and figure text or lines under WCAG AA contrast; then the totals.
Static pages are audited at their first state and with their first knob at its last value.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import chromium_page, serve_directory, voila_server, write_notebook
from legibility import EXTREMES, audit, checks, contrast, low_contrast, problems, prose
from static_pages import press_knob

TOTALS: collections.Counter = collections.Counter()


def report(name: str, page) -> None:
    """Audit the page as it is now, in its window and in a 600-px one; print and count what is wrong."""
    records, texts = audit(page), prose(page)
    size = page.viewport_size
    page.set_viewport_size({"width": 600, "height": size["height"]})
    page.wait_for_timeout(1500)  # bqplot redraws a figure whose box changed
    narrow = audit(page)
    page.set_viewport_size(size)
    page.wait_for_timeout(500)
    found = {"overlaps and keys": problems(records), **checks(records, texts), "cut": checks(narrow)["cut"],
             "contrast": low_contrast(contrast(page))}
    print(f"{name}: {len(records)} figures, {sum(len(v) for v in found.values())} problems")
    for check, lines in found.items():
        TOTALS[check] += len(lines)
        for line in lines:
            print(f"    [{check}] {line}")


def last_value(page) -> None:
    """The page's first knob to its last value, one key press at a time."""
    for _ in range(40):
        done = page.locator(".rnn-widget .rnn-knob").first.evaluate("""knob => {
          const h = knob.querySelector('.noUi-handle');
          if (h) return Number(h.getAttribute('aria-valuenow')) >= Number(h.getAttribute('aria-valuemax'));
          const b = Array.from(knob.querySelectorAll('button'));
          return !b.length || b[b.length - 1].classList.contains('mod-active'); }""")
        if done:
            return
        press_knob(page, 0)
        page.wait_for_timeout(700)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", help="also save a screenshot of every widget here")
    args = ap.parse_args()
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
                    report(name, page)
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
                    report(f"static {html.stem}", page)
                    last_value(page)
                    report(f"static {html.stem}, first knob at its last value", page)
                    if args.shots:
                        page.screenshot(path=str(Path(args.shots) / f"static_{html.stem}.png"), full_page=True)
    print("TOTAL: " + ", ".join(f"{n} {check}" for check, n in TOTALS.items()))


if __name__ == "__main__":
    main()
