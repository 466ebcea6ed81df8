"""Questions in a real browser (issue 23): Voila serving the example notebooks, Chromium, the keyboard only.

Before commit no figure and no figure sentence of a question is visible; the student commits from the keyboard
(type or arrow to an answer, Tab to Commit, Enter); then the figures show and the truth on the page is the one
the widget computes in that state. axe-core finds no critical or serious violation on a page of questions.
One Voila server (the examples folder) and one Chromium for the module."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from a11y_support import failing, run_axe
from browser_support import chromium_page, free_port, skip_module_without_browser, stop_process, wait_for_url

from rnn_widgets.questions import ask, builders
from rnn_widgets.widgets.question import Choice

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "questions"
NOTEBOOKS = ["05_gradient_flow", "02_weight_sharing", "07_text_memory"]

skip_module_without_browser()

VISIBLE_JS = """(host) => {
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const figures = Array.from(host.querySelectorAll('.bqplot')).filter(shown).length;
  const sentences = Array.from(host.querySelectorAll('.rnn-summary'))
    .filter(s => !s.closest('.rnn-question') && shown(s) && s.textContent.trim()).length;
  return {figures, sentences};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    for nb in NOTEBOOKS:
        shutil.copy(ROOT / "examples" / f"{nb}.ipynb", folder)
    port = free_port()
    log = open(folder / "voila.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(folder), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", "--show_tracebacks=True"], stdout=log,
                            stderr=subprocess.STDOUT, cwd=folder)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js")
        yield f"http://127.0.0.1:{port}/voila/render/"
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def page():
    with chromium_page(width=1100, height=1400) as p:
        yield p


def commit_from_the_keyboard(page, host, question) -> None:
    """Enter the truth with keys only, Tab to Commit, press Enter."""
    for k, (entry, truth) in enumerate(zip(question.entries, question.truths)):
        if isinstance(entry, Choice):
            radios = host.query_selector_all(".rnn-question .widget-radio-box")[k].query_selector_all("input")
            radios[0].focus()
            page.keyboard.press("Space")
            for _ in range(entry.options.index(truth)):
                page.keyboard.press("ArrowDown")
        else:
            host.query_selector_all(".rnn-question input[type=text]")[k].focus()
            page.keyboard.type(repr(truth))
            page.keyboard.press("Tab")  # the text box sends its value when it loses focus
    host.query_selector(".rnn-question button:has-text('Commit')").focus()
    page.keyboard.press("Enter")


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_questions_hide_then_reveal_the_widgets_truth(server, page, notebook):
    n = len(builders(notebook))
    page.goto(server + f"{notebook}.ipynb", timeout=180_000)
    page.wait_for_function(f"document.querySelectorAll('.rnn-question').length >= {n}", timeout=300_000)
    page.wait_for_timeout(2000)
    hosts = page.query_selector_all(".rnn-question-host")
    assert len(hosts) == n
    if notebook == NOTEBOOKS[0]:
        bad = failing(run_axe(page))
        assert not bad, bad
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        hosts[0].screenshot(path=str(ARTIFACTS / f"{notebook}_1_before.png"))
    for number, host in enumerate(hosts, start=1):
        before = host.evaluate(VISIBLE_JS)
        assert before == {"figures": 0, "sentences": 0}, (notebook, number, before)
        question = ask(notebook, number)
        try:
            commit_from_the_keyboard(page, host, question)
            page.wait_for_function("(h) => h.querySelector('.rnn-question .rnn-summary').textContent.includes("
                                   "'the widget computes')", arg=host, timeout=30_000)
            text = host.query_selector(".rnn-question .rnn-summary").text_content()
            for entry, truth in zip(question.entries, question.truths):
                assert f"the widget computes {entry.show(truth)} in this state" in text, (notebook, number, text)
            assert "✗" not in text and "✓ Right" in text
            page.wait_for_function("(h) => h.querySelectorAll('.bqplot').length === 0 || Array.from("
                                   "h.querySelectorAll('.bqplot')).some(f => f.getClientRects().length > 0)",
                                   arg=host, timeout=30_000)
            after = host.evaluate(VISIBLE_JS)
            assert after["sentences"] >= 1, (notebook, number, after)
        finally:
            question.close()
        if notebook == NOTEBOOKS[0] and number == 1:
            page.wait_for_timeout(1000)
            host.screenshot(path=str(ARTIFACTS / f"{notebook}_1_after.png"))
    assert not page.errors, page.errors
