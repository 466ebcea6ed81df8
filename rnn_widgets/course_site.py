"""The course site (``examples/course-site/``, Jupyter Book 1): one page per lecture section, §1.2 to §2, each with
a short text, the section's widget pages embedded live in iframes that size themselves, and its questions.

    rnn-widgets course-site --out site

builds it offline: the widgets' static pages with local JavaScript (:func:`rnn_widgets.export.export_site`) into
the book's ``_static/widgets/``, each section's questions into ``_questions/NOTEBOOK.md``, then ``jupyter-book
build`` on a copy of the folder (the checkout is left as it is); the HTML goes to ``--out``.

Questions come from :func:`questions_markdown`, the one place that reads them: the example notebooks' question
cells (each ``### N. …`` heading, its folded answer), each ``ask(…)`` cell becoming an iframe of that question's
static page (:mod:`rnn_widgets.static_questions`: predict, commit, then see, with no kernel).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Section:
    page: str  # the book's file (without .md)
    title: str
    widgets: tuple[str, ...]  # the static pages the page embeds
    notebooks: tuple[str, ...]  # whose questions it asks


#: the lecture's sections, in order, as the book's pages have them (docs/lecture-map.md maps the claims)
SECTIONS = (
    Section("s1-2-variable-length", "§1.2 Dealing with variable-length inputs", ("UnrollingWidget",),
            ("01_unrolling",)),
    Section("s1-3-recurrent-networks", "§1.3 Recurrent neural networks", ("WeightSharingWidget", "TopologiesWidget"),
            ("02_weight_sharing", "03_topologies")),
    Section("s1-4-generating", "§1.4 Generating outputs", ("GenerationWidget",), ("04_generation",)),
    Section("s1-5-gradients", "§1.5 Vanishing and exploding gradients", ("GradientFlowWidget",),
            ("05_gradient_flow",)),
    Section("s2-lstm", "§2 Long short-term memory (LSTM)", ("LSTMGatesWidget", "TextMemoryWidget"),
            ("06_lstm_gates", "07_text_memory")),
)


def find_source(explicit: str | Path | None = None) -> Path:
    """The course site's source: the folder given, ./examples/course-site, or the checkout's."""
    candidates = [Path(explicit)] if explicit else [Path.cwd() / "examples" / "course-site",
                                                     ROOT / "examples" / "course-site"]
    for path in candidates:
        if (path / "_toc.yml").exists():
            return path
    raise ValueError(f"no course site found (looked for _toc.yml in {', '.join(map(str, candidates))}); run it from "
                     "a clone of the repository, or pass --source PATH")


def find_notebooks(explicit: str | Path | None = None) -> Path:
    for path in ([Path(explicit)] if explicit else [Path.cwd() / "examples", ROOT / "examples"]):
        if path.is_dir() and any(path.glob("0*.ipynb")):
            return path
    raise ValueError("no example notebooks found for the course site's questions")


_MATH = {r"\ell": "ℓ", r"\odot": "⊙", r"\sigma": "σ", r"\cdot": "·"}


def _plain_math(text: str) -> str:
    """Inline ``$…$`` as text with <sub>/<sup> (the site loads no MathJax: it would come from a CDN)."""
    def one(m):
        s = m.group(1)
        for k, v in _MATH.items():
            s = s.replace(k, v)
        s = re.sub(r"_\{([^}]*)\}|_(\w)", lambda g: f"<sub>{g.group(1) or g.group(2)}</sub>", s)
        s = re.sub(r"\^\{([^}]*)\}|\^(\w)", lambda g: f"<sup>{g.group(1) or g.group(2)}</sup>", s)
        return s.replace("{", "").replace("}", "")
    return re.sub(r"\$([^$\n]+)\$", one, text)


ASKED = re.compile(r"""\bask\(\s*["']([\w-]+)["']\s*,\s*(\d+)\s*\)""")


def _asked(code: str) -> tuple[str, int] | None:
    """(notebook, number) of the question an ``ask("NOTEBOOK", N)`` cell builds, or None for any other cell."""
    m = ASKED.search(code)
    return (m.group(1), int(m.group(2))) if m else None


def _question_frame(notebook: str, number: int, pages: str) -> str:
    """The question's static page in a self-sizing iframe (embed.js sets its height)."""
    return ("```{raw} html\n"
            f"<iframe class=\"rnn-question-frame\" src=\"{pages}/{notebook}-q{number}.html\" "
            f"title=\"Question {number}: predict, commit, then see\" style=\"width:100%;height:360px;border:0\">"
            "</iframe>\n```")


def questions_markdown(notebook: Path, pages: str = "_static/widgets") -> str:
    """The notebook's questions as the course page shows them: each ``### N. …`` heading, then the question (the
    static page of the question an ``ask(…)`` cell builds, in ``pages``, embedded; or the markdown under the
    heading), the answer kept folded in its ``<details>``. The page's widget may keep fewer controls live than
    a question names: the page says where they all are (the notebook)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    out, inside = [], False
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.startswith("### "):
            inside = True
            out.append("#" + source.strip())  # one level below the page's "Questions"
        elif inside and cell["cell_type"] == "code":
            asked = _asked(source)
            if asked:
                out.append(_question_frame(*asked, pages))
        elif inside and cell["cell_type"] == "markdown":
            if source.startswith(("# ", "## ")):
                inside = False
                continue
            out.append(source.strip())
    if not out:
        return ""
    note = (f"*From the notebook `examples/{notebook.name}`, which has every control of the widget: a question may "
            "name one this page does not keep live.*")
    return _plain_math("\n\n".join([note, *out])) + "\n"


def build_course_site(out: str | Path, source: str | Path | None = None, notebooks: str | Path | None = None,
                      log=print) -> dict:
    """Build the course site into ``out`` (its HTML; index.html first), offline. Returns timings and sizes."""
    from .export import export_site
    from .questions import builders
    from .static_questions import export_questions

    if importlib_missing("jupyter_book"):
        raise ValueError("the course site needs Jupyter Book 1: pip install 'jupyter-book>=1,<2' "
                         "(or the 'course' extra: pip install -e '.[course]')")
    source, notebooks, out = find_source(source), find_notebooks(notebooks), Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "objects.inv").exists():
        raise ValueError(f"{out} is a folder with other files in it: give an empty or new folder (a site built "
                         "before is replaced)")
    timings = {}
    with tempfile.TemporaryDirectory(prefix="rnn-course-") as tmp:
        book = Path(tmp) / "book"
        shutil.copytree(source, book, ignore=shutil.ignore_patterns("_build", "_static/widgets", "_questions"))
        start = time.perf_counter()
        names = [w for s in SECTIONS for w in s.widgets]
        export_site(book / "_static" / "widgets", names, js="local")
        asked = [(nb, n) for section in SECTIONS for nb in section.notebooks
                 for n in range(1, len(builders(nb)) + 1)]
        export_questions(book / "_static" / "widgets", asked, js="local")
        timings["export_s"] = time.perf_counter() - start
        log(f"exported {len(names)} widget pages and {len(asked)} question pages in {timings['export_s']:.0f} s")
        (book / "_questions").mkdir(exist_ok=True)
        for section in SECTIONS:
            for nb in section.notebooks:
                (book / "_questions" / f"{nb}.md").write_text(questions_markdown(notebooks / f"{nb}.ipynb"),
                                                              encoding="utf-8")
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
                              str(book), "--builder", "html", "--path-output", str(Path(tmp) / "built")],
                             capture_output=True, text=True, check=False)
        timings["book_s"] = time.perf_counter() - start
        if run.returncode != 0:
            raise RuntimeError(f"jupyter-book build failed (exit status {run.returncode}):\n"
                               f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        html = Path(tmp) / "built" / "_build" / "html"
        offline(html)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(html, out)
        # Font Awesome for the widgets' controls, also where Chromium asks for it when a reader leaves a page
        # while an embedded page's stylesheets are still live (resolved against the site's root: a 404 otherwise)
        shutil.copytree(out / "_static" / "widgets" / "@jupyter-widgets", out / "@jupyter-widgets")
    log(f"built the book in {timings['book_s']:.0f} s")
    timings["bytes"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    timings["pages"] = [s.page for s in SECTIONS]
    return timings


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


#: what a built page may still ask of another host: nothing (checked in tests/test_course_site.py in Chromium)
_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//[^"']+["'][^>]*>""")


def offline(html: Path) -> None:
    """Take out of the built pages every script, stylesheet or image that another host would serve (the theme's
    or an extension's, if any): the site makes no request off the machine it is served from."""
    for page in html.rglob("*.html"):
        if "_static/widgets" in page.as_posix():
            continue
        text = page.read_text(encoding="utf-8")
        cleaned = _EXTERNAL.sub("", text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")
