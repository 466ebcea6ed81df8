"""axe-core in the page, for tests/test_accessibility.py (and the before/after counts in docs/accessibility.md).

axe-core's build comes from the PyPI package ``axe-playwright-python`` (in the test extra): it ships
``axe.min.js``, which we inject ourselves, so nothing is fetched from a CDN or npm.
"""
from __future__ import annotations

import collections
import importlib.util
from pathlib import Path

#: WCAG 2.0/2.1 A and AA rules, plus axe's best practices (reported; only critical and serious ones fail)
AXE_OPTIONS = {"resultTypes": ["violations"]}
FAILING = ("critical", "serious")


def axe_source() -> str | None:
    """axe.min.js from the axe-playwright-python package, or None where it is not installed."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "axe.min.js"
    return path.read_text(encoding="utf-8") if path.exists() else None


def run_axe(page, context=None) -> list[dict]:
    """axe-core's violations on the page as it is now (each with its rule id, impact, help and nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate("([ctx, opts]) => axe.run(ctx || document, opts)", [context, AXE_OPTIONS])
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")} for n in v["nodes"]]}
            for v in result["violations"]]


def by_rule(violations: list[dict]) -> dict[str, tuple[str, int]]:
    """{rule id: (impact, number of elements)}."""
    counts: dict[str, list] = {}
    for v in violations:
        entry = counts.setdefault(v["id"], [v["impact"], 0])
        entry[1] += len(v["nodes"])
    return {k: (impact, n) for k, (impact, n) in sorted(counts.items())}


def failing(violations: list[dict]) -> list[str]:
    """The critical and serious violations, one readable line per element."""
    return [f"{v['impact']} {v['id']} ({v['help']}): {n['target']} {n['summary'][:300]}"
            for v in violations if v["impact"] in FAILING for n in v["nodes"]]


def tally(pages: dict[str, list[dict]]) -> dict[str, tuple[str, int]]:
    """Counts by rule over many pages: {rule: (impact, elements)}."""
    total: collections.Counter = collections.Counter()
    impact = {}
    for violations in pages.values():
        for rule, (imp, n) in by_rule(violations).items():
            total[rule] += n
            impact[rule] = imp
    return {rule: (impact[rule], total[rule]) for rule in sorted(total)}


# ---------------------------------------------------------------------- the pages audited
@__import__("contextlib").contextmanager
def gallery(folder: Path, log: Path):
    """The README's gallery command (``rnn-widgets gallery``) serving ``folder``; yields the render URL's base."""
    import subprocess
    import sys

    from browser_support import free_port, stop_process, wait_for_url

    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port),
                                 "--dir", str(folder), "--pool", "1"], stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=120)
            yield f"http://127.0.0.1:{port}/voila/render/"
        finally:
            stop_process(proc)


def open_voila(page, url: str, widgets: int = 1) -> None:
    """Open a Voila page and wait until its widgets are drawn."""
    page.goto(url, timeout=180_000)
    page.wait_for_function(f"document.querySelectorAll('.rnn-widget').length >= {widgets}", timeout=300_000)
    page.wait_for_function("document.querySelectorAll('.rnn-widget .bqplot').length > 0", timeout=120_000)
    page.wait_for_timeout(2000)  # bqplot's transitions


def open_static(page, url: str) -> None:
    page.goto(url, timeout=120_000)
    if not url.endswith("index.html"):
        page.wait_for_selector(".bqplot.figure", timeout=120_000)
        page.wait_for_timeout(1000)


def audit_everything(shots: Path | None = None) -> dict[str, list[dict]]:
    """Every page a student meets: the Voila tour and each notebook (through the gallery), every static page
    (``export_site(..., js="local")``) and the site's index. {page: axe violations}."""
    import tempfile

    import nbformat
    from browser_support import chromium_page, serve_directory

    from rnn_widgets.export import export_site

    root = Path(__file__).resolve().parents[1]
    found = {}
    with tempfile.TemporaryDirectory() as tmp, chromium_page(width=1000, height=1400) as page:
        tmp = Path(tmp)
        notebooks = sorted((root / "examples").glob("*.ipynb"))
        with gallery(root / "examples", tmp / "gallery.log") as base:
            for nb in notebooks:
                n = sum("Widget(" in "".join(c.source) for c in nbformat.read(nb, 4).cells if c.cell_type == "code")
                open_voila(page, base + nb.name, max(1, n))
                found[f"voila {nb.stem}"] = run_axe(page)
                if shots:
                    page.screenshot(path=str(shots / f"voila_{nb.stem}.png"), full_page=True)
        export_site(tmp / "site", js="local")
        with serve_directory(tmp / "site") as site:
            for html_page in sorted((tmp / "site").glob("*.html")):
                open_static(page, site + html_page.name)
                found[f"static {html_page.stem}"] = run_axe(page)
    return found


if __name__ == "__main__":  # python tests/a11y_support.py: the audit's counts by rule, over all pages
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    pages = audit_everything()
    for name, violations in pages.items():
        print(f"{name}: {json.dumps(by_rule(violations))}")
    print("ALL PAGES (rule: impact, elements):")
    for rule, (impact, n) in tally(pages).items():
        print(f"  {rule:32s} {impact:9s} {n}")
