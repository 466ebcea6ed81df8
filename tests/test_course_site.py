"""The course site (issue 26): `rnn-widgets course-site` builds it from the checkout, offline; served on 127.0.0.1
and read in Chromium (which resolves no other host), every section page shows its widgets drawn, every knob of
each changes a figure, no iframe scrolls inside at 1280 and 800 px (also after a knob moved), no request fails,
and axe-core finds nothing critical or serious in the page or in its frames. Screenshots of every page at both
widths go to tests/artifacts/course-site/."""
import os
import time
from pathlib import Path

import pytest
from a11y_support import AXE_OPTIONS, axe_source, failing
from browser_support import browser_available, chromium_page, serve_directory
from static_pages import can_go_forward, move_knob

from rnn_widgets.cli import main as cli
from rnn_widgets.course_site import _EXTERNAL, SECTIONS, questions_markdown
from rnn_widgets.questions import ask, builders

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "artifacts" / "course-site"
WIDTHS = (1280, 800)

needs_browser = pytest.mark.skipif(
    not browser_available() and not os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"),
    reason="needs Debian chromium and playwright")
pytest.importorskip("jupyter_book", reason="the course site needs Jupyter Book 1 (the test extra has it)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("course") / "site"
    start = time.perf_counter()
    assert cli(["course-site", "--out", str(out)]) == 0
    print(f"course site built in {time.perf_counter() - start:.0f} s, "
          f"{sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 1e6:.1f} MB")
    return out


def test_one_page_per_section_with_its_widgets_and_questions(site):
    for section in SECTIONS:
        text = (site / f"{section.page}.html").read_text()
        for name in section.widgets:
            assert f"_static/widgets/{name}.html" in text
            assert (site / "_static" / "widgets" / f"{name}.html").exists()
        assert text.count("<details") >= 3, f"{section.page}: the section's questions and their answers"
        assert "Questions" in text
    assert (site / "_static" / "widgets" / "embed.js").exists() and "widgets/embed.js" in (site / "index.html").read_text()
    for page in site.glob("*.html"):  # no script, stylesheet, image or frame from another host
        found = _EXTERNAL.search(page.read_text())
        assert found is None, f"{page.name}: {found.group(0)}"


def test_questions_come_from_the_notebooks():
    text = questions_markdown(ROOT / "examples" / "06_lstm_gates.ipynb")
    assert text.count("#### ") >= 3 and "<details>" in text and "examples/06_lstm_gates.ipynb" in text
    frames = [f'src="_static/widgets/06_lstm_gates-q{n}.html"' for n in range(1, len(builders("06_lstm_gates")) + 1)]
    assert all(f in text for f in frames), "each question is its commit-then-reveal static page"
    assert "$" not in text  # inline math as text: the site loads no MathJax


@pytest.fixture(scope="module")
def browser(site):
    with serve_directory(site) as url, chromium_page(width=WIDTHS[0], height=900) as page:
        page.failed, page.console_errors = [], []
        page.on("requestfailed", lambda r: page.failed.append(f"{r.url} {r.failure} (from {r.frame.url})"))
        page.on("response", lambda r: page.failed.append(f"{r.url} HTTP {r.status} (from {r.frame.url})")
                if r.status >= 400 else None)
        page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
        yield url, page


def open_section(page, url: str, section) -> list:
    """Open a section page; wait until each embedded widget has drawn and its iframe took its page's height."""
    page.goto(f"{url}{section.page}.html", timeout=60_000)
    frames = []
    for k in range(len(section.widgets)):
        element = page.locator("iframe.rnn-widget-frame").nth(k)
        element.scroll_into_view_if_needed()
        frame = element.element_handle().content_frame()
        frame.wait_for_selector(".rnn-widget .bqplot.figure svg .plotarea_background", timeout=60_000)
        frames.append((element, frame))
    page.wait_for_timeout(1000)  # the last heights posted
    return frames


def axe_violations(target) -> list[dict]:
    """axe-core's violations in a page or a frame, without its CSSOM preload (it fetches each stylesheet again and
    resolves their @imports against the wrong base: requests for files that do not exist, which would hide real
    failed requests)."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.evaluate(axe_source())
    result = target.evaluate("(opts) => axe.run(document, opts)", {**AXE_OPTIONS, "preload": False})
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")} for n in v["nodes"]]}
            for v in result["violations"]]


def assert_no_inner_scrollbar(page, frames, where: str) -> None:
    page.wait_for_timeout(400)  # ResizeObserver → postMessage → the iframe's new height
    for element, frame in frames:
        inner = frame.evaluate("() => { const e = document.documentElement; return [e.scrollHeight, e.clientHeight,"
                               " e.scrollWidth, e.clientWidth]; }")
        assert inner[0] <= inner[1] + 1, f"{where}: {frame.url} scrolls inside, height {inner[0]} in {inner[1]}"
        assert inner[2] <= inner[3] + 1, f"{where}: {frame.url} scrolls sideways, width {inner[2]} in {inner[3]}"


@needs_browser
@pytest.mark.browser
def test_a_question_on_a_section_page_hides_its_figures_until_commit(browser):
    """§1.5's first question, in its iframe on the page: hidden, committed, the truth shown, the figures drawn."""
    url, page = browser
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    page.goto(f"{url}s1-5-gradients.html", timeout=60_000)
    assert page.locator("iframe.rnn-question-frame").count() == len(builders("05_gradient_flow"))
    element = page.locator("iframe.rnn-question-frame").first
    element.scroll_into_view_if_needed()
    frame = element.element_handle().content_frame()
    frame.wait_for_selector(".rnn-q-pending .bqplot", state="attached", timeout=60_000)
    shown = "() => Array.from(document.querySelectorAll('.bqplot')).some(f => getComputedStyle(f).visibility " \
            "=== 'visible' && f.getBoundingClientRect().height > 50)"
    assert not frame.evaluate(shown)
    question = ask("05_gradient_flow", 1)
    truth = question.entries[0].show(question.truths[0])
    question.close()
    frame.fill("input[type=text]", truth)
    frame.click(".rnn-q-commit")
    assert f"the widget computes {truth} in this state. ✓ Right" in frame.text_content(".rnn-q-result")
    frame.wait_for_function(shown, timeout=10_000)
    page.wait_for_timeout(600)  # the iframe takes the revealed page's height
    inner = frame.evaluate("() => [document.documentElement.scrollHeight, document.documentElement.clientHeight]")
    assert inner[0] <= inner[1] + 1, f"the question's iframe scrolls inside: {inner}"


@needs_browser
@pytest.mark.browser
@pytest.mark.parametrize("section", SECTIONS, ids=[s.page for s in SECTIONS])
def test_section_page_live_sized_and_accessible(browser, section):
    url, page = browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        frames = open_section(page, url, section)
        assert_no_inner_scrollbar(page, frames, f"{section.page} at {width} px")
        if width == WIDTHS[0]:  # the article gives the pages the 900 px column they are laid out for
            assert all(element.bounding_box()["width"] >= 900 for element, _ in frames), section.page
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=str(SHOTS / f"{section.page}_{width}.png"), full_page=True)
        if width != WIDTHS[0]:
            continue
        for element, frame in frames:  # every knob changes a figure; the iframe follows the page's height
            element.scroll_into_view_if_needed()
            knobs = frame.locator(".rnn-widget .rnn-knob").count()
            assert knobs >= 1, frame.url
            for j in range(knobs):
                move_knob(frame, j, forward=can_go_forward(frame, j))
            assert_no_inner_scrollbar(page, frames, f"{section.page} after its knobs moved")
        if axe_source():
            found = failing(axe_violations(page))
            for _, frame in frames:
                found += [f"{frame.url}: {v}" for v in failing(axe_violations(frame))]
            assert found == [], found
    assert page.failed == [], page.failed
    negative = [e for e in page.console_errors if "negative value" in e]
    assert negative == [], negative
