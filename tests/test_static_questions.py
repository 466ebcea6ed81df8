"""Questions on static pages (issue 23): commit-then-reveal with no kernel, in Chromium.

The page's number reader agrees with the package's (parse_number) on every case the package's tests use; bad
input gets a message and reveals nothing; a keyboard-only commit shows the truth the widget computed at export
time and the figures; axe-core finds nothing critical or serious. One static server and one Chromium."""
import math

import pytest
from a11y_support import failing, run_axe
from browser_support import chromium_page, serve_directory, skip_module_without_browser

from rnn_widgets.questions import ask
from rnn_widgets.static_questions import export_questions
from rnn_widgets.widgets.question import parse_number

pytestmark = [pytest.mark.browser, pytest.mark.slow]
skip_module_without_browser()

QUESTIONS = [("05_gradient_flow", 1), ("05_gradient_flow", 4)]  # a number, a choice
CASES = ["0.5", "-3", "−2", "1e-6", "1.6×10⁻⁶", "10^-6", "10⁻⁶", "2 x 10^3", "3,264", "12%", " 7 ", "",
         "abc", "nan", "inf", "1" * 50, "1,2", "1.5.2", "--1"]
ANSWER_SHOWN = """(qid) => Array.from(document.getElementById(qid + '-answer').querySelectorAll('.bqplot'))
    .some(f => f.getBoundingClientRect().height > 50
               && getComputedStyle(f).visibility === 'visible')"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("questions")
    export_questions(out, QUESTIONS, js="local")
    with serve_directory(out) as base:
        yield base


@pytest.fixture(scope="module")
def page():
    with chromium_page(width=1100, height=1200) as p:
        yield p


def _python(text):
    try:
        return parse_number(text)
    except ValueError as exc:
        return str(exc)


def open_question(page, site, notebook, number):
    page.goto(f"{site}/{notebook}-q{number}.html")
    page.wait_for_selector(".rnn-q-pending .bqplot", state="attached", timeout=60_000)
    page.wait_for_timeout(1000)
    return f"q-{notebook[:2]}-{number}"


def test_the_page_reads_numbers_as_the_package_does(site, page):
    open_question(page, site, *QUESTIONS[0])
    got = page.evaluate("""(cases) => cases.map(c => { try { return rnnQParse(c); }
                                                       catch (e) { return e.message; } })""", CASES)
    for case, js in zip(CASES, got):
        py = _python(case)
        if isinstance(py, float):
            assert isinstance(js, (int, float)) and math.isclose(js, py, rel_tol=1e-12), (case, js, py)
        else:
            assert isinstance(js, str), (case, js, py)


def test_bad_input_gets_a_message_and_reveals_nothing(site, page):
    qid = open_question(page, site, *QUESTIONS[0])
    for text, words in [("", "Write a number first"), ("ten", "is not a number"), ("5", "at most 2")]:
        page.fill(f"#{qid}-in-0", text)
        page.click(f"#{qid} .rnn-q-commit")
        assert words in page.text_content(f"#{qid}-msg-0")
        assert not page.evaluate(ANSWER_SHOWN, qid) and page.text_content(f"#{qid} .rnn-q-result") == ""


@pytest.mark.parametrize("notebook, number", QUESTIONS)
def test_keyboard_commit_reveals_the_truth_and_the_figures(site, page, notebook, number):
    question = ask(notebook, number)
    entry, truth = question.entries[0], question.truths[0]
    question.close()
    qid = open_question(page, site, notebook, number)
    assert not page.evaluate(ANSWER_SHOWN, qid), "the figures are hidden before commit"
    assert not failing(run_axe(page)), failing(run_axe(page))
    if hasattr(entry, "options"):
        page.focus(f"input[name='{qid}-0']")
        page.keyboard.press("Space")
        for _ in range(entry.options.index(truth)):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
    else:
        page.focus(f"#{qid}-in-0")
        page.keyboard.type(repr(truth))
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Tab led to Commit
    result = page.text_content(f"#{qid} .rnn-q-result")
    assert f"the widget computes {entry.show(truth)} in this state. ✓ Right" in result, result
    page.wait_for_function(ANSWER_SHOWN, arg=qid, timeout=10_000)
    assert page.is_visible(f"#{qid} .rnn-q-explanation")
    assert not failing(run_axe(page)), failing(run_axe(page))
    page.keyboard.press("Enter")  # focus moved to Try again
    assert not page.evaluate(ANSWER_SHOWN, qid) and page.text_content(f"#{qid} .rnn-q-result") == ""
    assert not page.errors, page.errors
