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
from browser_support import (
    chromium_page,
    free_port,
    jupyter_server,
    run_all,
    skip_module_without_browser,
    stop_process,
    wait_for_url,
    write_notebook,
)

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

#: every figure shown is drawn at its size: a line with points across most of its plot (a figure drawn while
#: hidden has a plot area of zero width)
DRAWN_JS = """(host) => Array.from(host.querySelectorAll('.bqplot')).filter(f => f.getClientRects().length > 0)
    .every(f => Array.from(f.querySelectorAll('.axis .tick')).filter(t => t.getBoundingClientRect().width > 0)
                .length >= 4)"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    for nb in NOTEBOOKS:
        shutil.copy(ROOT / "examples" / f"{nb}.ipynb", folder)
    port = free_port()
    with open(folder / "voila.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "voila", str(folder), "--no-browser", f"--port={port}",
                                 "--Voila.ip=127.0.0.1", "--show_tracebacks=True"], stdout=log,
                                stderr=subprocess.STDOUT, cwd=folder)
        try:
            wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js")
            yield f"http://127.0.0.1:{port}/voila/render/"
        finally:
            stop_process(proc)


@pytest.fixture(scope="module")
def page():
    with chromium_page(width=1100, height=1400) as p:
        yield p


def commit_from_the_keyboard(page, host, question) -> None:
    """Enter the truth with keys only, Tab to Commit, press Enter."""
    choices, numbers = iter(host.query_selector_all(".rnn-question .widget-radio-box")), \
        iter(host.query_selector_all(".rnn-question input[type=text]"))
    for entry, truth in zip(question.entries, question.truths):
        if isinstance(entry, Choice):
            radios = next(choices).query_selector_all("input")
            radios[0].focus()
            page.keyboard.press("Space")
            for _ in range(entry.options.index(truth)):
                page.wait_for_timeout(300)  # a student's pace: each choice reaches the kernel before the next key
                page.keyboard.press("ArrowDown")
            page.wait_for_function("(r) => r.checked", arg=radios[entry.options.index(truth)], timeout=5000)
            page.wait_for_timeout(300)
        else:
            next(numbers).focus()
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
            assert "✗" not in text and "✓ Right" in text, text
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a notebook asking question 1 of 05; yields the notebook's URL."""
    work = tmp_path_factory.mktemp("lab")
    write_notebook(work / "q.ipynb", ['from rnn_widgets.questions import ask\nask("05_gradient_flow", 1)'])
    with jupyter_server(work, work / "lab.log") as base:
        yield f"{base}lab/tree/q.ipynb"


def test_a_question_commits_from_the_keyboard_in_jupyterlab(lab, page):
    run_all(page, lab)
    page.wait_for_selector(".rnn-question-host .rnn-question input[type=text]", timeout=180_000)
    page.wait_for_timeout(2000)
    host = page.query_selector(".rnn-question-host")
    assert host.evaluate(VISIBLE_JS) == {"figures": 0, "sentences": 0}
    question = ask("05_gradient_flow", 1)
    try:
        commit_from_the_keyboard(page, host, question)
        page.wait_for_function("(h) => h.querySelector('.rnn-question .rnn-summary').textContent.includes("
                               "'the widget computes')", arg=host, timeout=30_000)
        text = host.query_selector(".rnn-question .rnn-summary").text_content()
        assert f"the widget computes {question.entries[0].show(question.truths[0])} in this state" in text
        page.wait_for_function("(h) => Array.from(h.querySelectorAll('.bqplot'))"
                               ".some(f => f.getClientRects().length > 0)", arg=host, timeout=30_000)
    finally:
        question.close()
    page.wait_for_function(DRAWN_JS, arg=host, timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_question_after.png"))
