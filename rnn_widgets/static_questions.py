"""The notebooks' questions as static pages (issue 23): predict, commit, reveal with no kernel.

    from rnn_widgets.static_questions import export_questions
    export_questions("site/questions", js="local")      # one page per question, and js/ beside them

Each page holds the question's widget frozen in the question's state (the figures, their sentences and the
equation, as :func:`rnn_widgets.export.freeze` copies them) and the truth the widget computed there, written at
export time. Until the student commits, the frozen figures are hidden (``visibility: hidden``, so bqplot still
lays them out at their size, and a screen reader skips them). The entry, the Commit button and the check are
plain HTML and :data:`QUESTION_SCRIPT` (tested in Chromium by tests/test_static_questions.py): the number is
read as :func:`rnn_widgets.widgets.question.parse_number` reads it, the tolerance is the question's, the result
is said in words with ✓/✗ in a live region. Nothing is stored or sent.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as W
from ipywidgets.embed import embed_data, escape_script

from . import export
from .questions import all_questions, ask
from .widgets.a11y import STATIC_SCRIPT
from .widgets.question import Choice, Question

#: reads a number as parse_number does; checks it; reveals. One function per page: rnnQuestion(section).
QUESTION_SCRIPT = r"""
const RNN_Q_SUP = {'⁰':'0','¹':'1','²':'2','³':'3','⁴':'4','⁵':'5','⁶':'6','⁷':'7','⁸':'8','⁹':'9','⁻':'-','⁺':'+'};
function rnnQParse(text) {
  const raw = String(text).trim();
  if (!raw) throw new Error('Write a number first.');
  if (raw.length > 40) throw new Error('That is too long to be a number: write at most 40 characters.');
  let s = raw.replace(/−/g, '-').replace(/ /g, '').replace(/%$/, '').replace(/[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]/g, c => RNN_Q_SUP[c]);
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, '');
  s = s.replace(/^([-+]?)10\^?(?=[-+]\d)/, '$11×10');
  const power = s.match(/^([-+]?\d*\.?\d*)\s*[×x*·]\s*10\s*\^?\s*([-+]?\d+)$/);
  if (power) { const m = power[1] || '1'; s = (m === '-' ? '-1' : m) + 'e' + power[2]; }
  if (/^[-+]?inf(inity)?$|^[-+]?nan$/i.test(s)) throw new Error('Write a finite number (not inf or NaN).');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s))
    throw new Error('“' + raw + '” is not a number: write it like 0.5, 1e-6 or 1.6×10⁻⁶.');
  const value = Number(s);
  if (!isFinite(value)) throw new Error('Write a finite number (not inf or NaN).');
  return value;
}
function rnnQWithin(entry, guess) {
  const truth = entry.truth, slack = 1 + 1e-9;
  if (entry.kind === 'choice') return guess === truth;
  if (entry.abs !== null) return Math.abs(guess - truth) <= entry.abs * slack;
  if (entry.rel !== null) return Math.abs(guess - truth) <= entry.rel * Math.abs(truth) * slack;
  if (guess === truth) return true;
  if (guess === 0 || truth === 0 || (guess > 0) !== (truth > 0)) return false;
  return Math.abs(Math.log(guess / truth)) <= Math.log(entry.factor) * slack;
}
function rnnQuestion(section) {
  const spec = JSON.parse(section.dataset.question);
  const answer = document.getElementById(section.dataset.answer);
  const result = section.querySelector('.rnn-q-result');
  const commit = section.querySelector('.rnn-q-commit'), again = section.querySelector('.rnn-q-again');
  const explanation = section.querySelector('.rnn-q-explanation');
  const read = (entry, k) => {
    const message = section.querySelector('#' + section.id + '-msg-' + k);
    message.textContent = '';
    try {
      if (entry.kind === 'choice') {
        const chosen = section.querySelector('input[name="' + section.id + '-' + k + '"]:checked');
        if (!chosen) throw new Error('Choose one of the answers first.');
        return chosen.value;
      }
      const value = rnnQParse(section.querySelector('#' + section.id + '-in-' + k).value);
      if (entry.lo !== null && value < entry.lo) throw new Error('Enter a number of at least ' + entry.lo_words + '.');
      if (entry.hi !== null && value > entry.hi) throw new Error('Enter a number of at most ' + entry.hi_words + '.');
      return value;
    } catch (err) { message.textContent = '⚠ ' + err.message; return undefined; }
  };
  commit.addEventListener('click', () => {
    const guesses = spec.entries.map(read);
    if (guesses.some(g => g === undefined)) return;
    result.textContent = '';
    spec.entries.forEach((entry, k) => {
      const right = rnnQWithin(entry, guesses[k]);
      const p = document.createElement('p');
      const said = entry.kind === 'choice' ? guesses[k]
        : section.querySelector('#' + section.id + '-in-' + k).value.trim() + entry.unit;
      p.textContent = (spec.entries.length > 1 ? entry.label + ': you' : 'You') + ' said ' + said
        + '; the widget computes ' + entry.shown + ' in this state. '
        + (right ? '✓ Right' + (entry.words ? ': ' + entry.words : '') + '.'
                 : '✗ Not right' + (entry.words ? ': not ' + entry.words : '') + '.');
      result.appendChild(p);
    });
    answer.classList.remove('rnn-q-pending');
    answer.removeAttribute('aria-hidden');
    explanation.hidden = false;
    commit.hidden = true; again.hidden = false;
    section.querySelectorAll('input').forEach(i => { i.disabled = true; });
    again.focus();
  });
  again.addEventListener('click', () => {
    answer.classList.add('rnn-q-pending');
    answer.setAttribute('aria-hidden', 'true');
    explanation.hidden = true; result.textContent = '';
    commit.hidden = false; again.hidden = true;
    section.querySelectorAll('input').forEach(i => { i.disabled = false; i.checked = false;
      if (i.type === 'text') i.value = ''; });
    section.querySelector('input').focus();
  });
}
document.querySelectorAll('.rnn-static-question').forEach(rnnQuestion);
"""

STYLE = """<style>
.rnn-q-pending { visibility: hidden; height: 0; overflow: hidden; }
.rnn-static-question { border-left: 4px solid #0072B2; background: #f2f6fa; color: #1a1a1a; padding: 8px 12px;
  margin: 8px 0; max-width: 880px; line-height: 1.5; }
.rnn-static-question p { max-width: 80ch; margin: 0 0 6px; }
.rnn-static-question fieldset { border: none; padding: 0; margin: 0 0 6px; }
.rnn-static-question button { font-size: 100%; padding: 4px 12px; margin: 4px 8px 4px 0; }
.rnn-static-question :focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }
.rnn-q-message { margin-left: 8px; }
</style>"""


def _entry_spec(entry, truth) -> dict:
    if isinstance(entry, Choice):
        return {"kind": "choice", "label": entry.label, "truth": truth, "shown": entry.show(truth), "words": ""}
    return {"kind": "number", "label": entry.label, "truth": truth, "shown": entry.show(truth),
            "words": entry.tolerance_words(), "unit": entry.unit_suffix, "abs": entry.abs, "rel": entry.rel,
            "factor": entry.factor, "lo": entry.lo, "hi": entry.hi,
            "lo_words": None if entry.lo is None else export.fmt(entry.lo),
            "hi_words": None if entry.hi is None else export.fmt(entry.hi)}


def _entry_html(qid: str, k: int, entry) -> str:
    message = f"<span class='rnn-q-message' id='{qid}-msg-{k}' role='alert'></span>"
    if isinstance(entry, Choice):
        options = "".join(f"<label><input type='radio' name='{qid}-{k}' value='{html.escape(o)}'> "
                          f"{html.escape(o)}</label><br>" for o in entry.options)
        return f"<fieldset><legend>{html.escape(entry.label)}</legend>{options}{message}</fieldset>"
    return (f"<p><label for='{qid}-in-{k}'>{html.escape(entry.label)}</label> "
            f"<input type='text' id='{qid}-in-{k}' autocomplete='off' placeholder='a number'>"
            f"{html.escape(entry.unit_suffix)}{message}</p>")


def question_section(question: Question, qid: str, answer_id: str, prompt: str, explanation: str) -> str:
    """The question's HTML: prompt, entries, Commit, the result (a live region), the explanation (hidden)."""
    spec = {"entries": [_entry_spec(e, t) for e, t in zip(question.entries, question.truths)]}
    return (f"<section class='rnn-static-question' id='{qid}' aria-labelledby='{qid}-prompt' "
            f"data-answer='{answer_id}' data-question='{html.escape(json.dumps(spec))}'>"
            f"<p id='{qid}-prompt'><strong>Predict first.</strong> {prompt}</p>"
            + "".join(_entry_html(qid, k, e) for k, e in enumerate(question.entries))
            + "<button type='button' class='rnn-q-commit'>Commit</button>"
            "<button type='button' class='rnn-q-again' hidden>Try again</button>"
            "<div class='rnn-q-result' role='status' aria-live='polite'></div>"
            f"<div class='rnn-q-explanation' hidden><p>{explanation}</p></div></section>")


def question_page(notebook: str, number: int, js: str = "local") -> str:
    """The static page of question ``number`` of ``notebook`` (see the module's docstring)."""
    question = ask(notebook, number)
    try:
        prompt, explanation, widget = question.prompt, question.explanation_html, question.widget
        question._reveal()  # the copies must not carry the hidden class: this page hides them its own way
        shared: dict = {}
        frozen = export.freeze(widget, shared)
        title = f"{widget.TITLE} ({widget.SECTION}): question {number}"
        heading = W.HTML(f"<h2 style='margin:4px 0;font-size:1.17em'>{html.escape(widget.TITLE)} "
                         f"<span style='font-weight:normal;color:#555'>({html.escape(widget.SECTION)})</span></h2>")
        page = W.VBox([heading, frozen], layout=W.Layout(max_width="900px"))
        page.add_class("rnn-widget")
        data = embed_data([page], drop_defaults=False, state=export.page_state(page))
        state = escape_script(json.dumps(data["manager_state"], separators=(",", ":")))
        views = "\n".join("<script type='application/vnd.jupyter.widget-view+json'>"
                          f"{escape_script(json.dumps(v))}</script>" for v in data["view_specs"])
        qid = f"q-{notebook[:2]}-{number}"
        section = question_section(question, qid, f"{qid}-answer", prompt, explanation)
        body = (f"<main>\n<h1 style='font-size:1em;font-weight:normal;color:#555;margin:0 0 4px'>"
                f"{html.escape(title)}</h1>\n{section}\n"
                f"<div id='{qid}-answer' class='rnn-q-pending' aria-hidden='true'>\n"
                f"<script type='application/vnd.jupyter.widget-state+json'>{state}</script>\n{views}\n</div>\n</main>")
        close = [page, heading, frozen]
    finally:
        question.close()
    for w in close:
        w.close()
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>{html.escape(title)}</title>\n"
            f"{export.NO_FAVICON}\n{export._head(js)}\n{STYLE}\n</head>\n"
            f"<body style='font-family:sans-serif;margin:16px'>\n{body}\n"
            f"<script>{escape_script(STATIC_SCRIPT)}</script>\n<script>{escape_script(QUESTION_SCRIPT)}</script>\n"
            "</body>\n</html>\n")


def export_questions(out: str | Path, questions=None, js: str = "local") -> list[Path]:
    """Write one static page per question (default: every notebook question) into ``out``; with ``js="local"``
    the scripts are copied beside them. Returns the pages written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if js == "local":
        export.copy_local_js(out)
    pages = []
    for notebook, number in questions or all_questions():
        path = out / f"{notebook}-q{number}.html"
        path.write_text(question_page(notebook, number, js), encoding="utf-8")
        pages.append(path)
    return pages


def main(argv=None) -> None:
    """``python -m rnn_widgets.static_questions OUT [--js local|cdn]``: every notebook question as a page."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m rnn_widgets.static_questions", description=main.__doc__)
    ap.add_argument("out", help="the folder to write the pages into")
    ap.add_argument("--js", choices=["local", "cdn"], default="local",
                    help="local: copy the scripts beside the pages (no request leaves the site); cdn: load them "
                         "from jsdelivr and unpkg")
    args = ap.parse_args(argv)
    for page in export_questions(args.out, js=args.js):
        print(page)


if __name__ == "__main__":
    main()
