"""The ``rnn-widgets`` command: ``gallery`` serves the example notebooks with Voila; ``export`` writes static pages;
``course-site`` builds the Jupyter Book course site around them."""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from .gallery import DEFAULT_POOL  # stdlib only: neither Voila nor torch
from .gallery_guard import DEFAULT_PER_CLIENT


def find_examples(explicit: str | None = None) -> Path:
    """The examples folder: the one given, ./examples, or the one beside the package (a source checkout)."""
    candidates = [Path(explicit)] if explicit else [Path.cwd() / "examples",
                                                    Path(__file__).resolve().parents[1] / "examples"]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.ipynb")):
            return path
    where = ", ".join(str(p) for p in candidates)
    raise SystemExit(f"rnn-widgets gallery: no example notebooks found (looked in {where}). "
                     "Run it from a clone of the repository, or pass --dir PATH.")


def gallery(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("voila") is None:
        print("rnn-widgets gallery needs Voila, which comes with the 'gallery' extra:\n"
              "    pip install 'rnn-widgets[gallery]'   (or, in a clone: pip install -e '.[gallery]')",
              file=sys.stderr)
        return 2
    from .gallery import serve  # no torch here: only the kernels import it

    examples = find_examples(args.dir)
    return serve(examples, ip=args.ip, port=args.port, pool=args.pool, lecture_pool=args.lecture_pool,
                 max_pages=args.max_pages, pages_per_client=args.pages_per_client, fork_kernels=not args.plain_kernels)


def _setting(text: str) -> tuple[str, str, object]:
    """``WIDGET.TRAIT=VALUE`` for ``export --set``; VALUE is read as JSON when it is JSON (numbers, true),
    else kept as text."""
    key, equals, raw = text.partition("=")
    name, dot, trait = key.partition(".")
    if not (equals and dot and name and trait):
        raise argparse.ArgumentTypeError(f"expected WIDGET.TRAIT=VALUE (e.g. GradientFlowWidget.seq_len=100), "
                                         f"got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name, trait, value


def _knobs(text: str) -> tuple[str, list[str]]:
    """``WIDGET=TRAIT,TRAIT`` for ``export --knobs``: the knobs a widget's page keeps live."""
    name, equals, traits = text.partition("=")
    knobs = [t.strip() for t in traits.split(",") if t.strip()]
    if not (equals and name and knobs):
        raise argparse.ArgumentTypeError(f"expected WIDGET=TRAIT[,TRAIT...] (e.g. GradientFlowWidget=scale,model), "
                                         f"got {text!r}")
    return name, knobs


def export(args: argparse.Namespace) -> int:
    from .export import export_site

    options: dict[str, dict] = {}
    for name, trait, value in args.set or []:
        options.setdefault(name, {})[trait] = value
    knobs = dict(args.knobs or [])
    try:
        pages = export_site(args.out, args.widgets or None, js=args.js, options=options, knobs=knobs,
                            pictures=False if args.no_pictures else None)
    except ValueError as exc:
        print(f"rnn-widgets export: {exc}", file=sys.stderr)
        return 2
    for page in pages:
        print(page)
    print(f"Open {Path(args.out) / 'index.html'} (serve the folder over http for the pages to load their scripts).")
    return 0


def course_site(args: argparse.Namespace) -> int:
    from .course_site import build_course_site

    try:
        result = build_course_site(args.out, source=args.source, notebooks=args.notebooks,
                                   log=lambda line: print(line, file=sys.stderr))
    except (ValueError, RuntimeError) as exc:
        print(f"rnn-widgets course-site: {exc}", file=sys.stderr)
        return 2
    print(f"Built {len(result['pages'])} section pages, {result['bytes'] / 1e6:.1f} MB, into {args.out}: serve it "
          f"over HTTP (python -m http.server -d {args.out}) and open index.html.")
    return 0


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnn-widgets", description="Jupyter widgets that teach recurrent networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gallery", help="serve the example notebooks with Voila")
    g.add_argument("--port", type=int, default=8866, help="port to serve on (default 8866, or the next free one)")
    g.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only). Students on the network "
                        "need --ip 0.0.0.0; the gallery has no login, so do that only on a network you trust, "
                        "or put it behind JupyterHub or a proxy that authenticates")
    g.add_argument("--dir", help="folder of notebooks (default: ./examples or the checkout's examples/)")
    g.add_argument("--pool", type=_count, default=DEFAULT_POOL,
                   help="kernels kept running the tour ahead of time, so a student's page comes at once "
                        f"(default {DEFAULT_POOL}; each holds about 0.4 GB)")
    g.add_argument("--lecture-pool", type=_count, default=0,
                   help="the same for each of the other notebooks (default 0)")
    g.add_argument("--max-pages", type=_positive, default=None,
                   help="pages (each with its kernel, about 0.4 GB) open at once; more get 'the class is full, "
                        "try again in a minute' (default: what the machine's memory holds beside the pool)")
    g.add_argument("--pages-per-client", type=_count, default=DEFAULT_PER_CLIENT,
                   help=f"pages one client address may hold at once (default {DEFAULT_PER_CLIENT}; 0: no limit). "
                        "Behind a reverse proxy on this machine the client is the last X-Forwarded-For address")
    g.add_argument("--plain-kernels", action="store_true",
                   help="start each kernel as a new Python process (about 2 CPU-seconds more per page); by default "
                        "kernels are forks of one process that has already imported torch, IPython and ipywidgets")
    g.set_defaults(func=gallery)
    e = sub.add_parser("export", help="write standalone HTML pages whose main knobs work without a kernel")
    e.add_argument("widgets", nargs="*", help="widget names (default: all)")
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument("--js", choices=["local", "cdn"], default="cdn",
                   help="'cdn' (default): pages load their JavaScript from public CDNs; "
                        "'local': copy it next to the pages so they work offline")
    e.add_argument("--set", action="append", type=_setting, metavar="WIDGET.TRAIT=VALUE",
                   help="a setting of a widget's page (repeatable), e.g. --set UnrollingWidget.text='a b c'; "
                        "a setting the widget refuses, or one the page would ignore (LSTMGatesWidget.text while "
                        "its source is 'remember'), stops the export with its message (exit status 2)")
    e.add_argument("--knobs", action="append", type=_knobs, metavar="WIDGET=TRAIT,TRAIT",
                   help="the knobs a widget's page keeps live (repeatable; at most 3 per page), e.g. "
                        "--knobs GradientFlowWidget=scale,model; a knob that cannot be precomputed (free text) "
                        "or a grid of too many frames stops the export with a message (exit status 2)")
    e.add_argument("--no-pictures", action="store_true",
                   help="with --js cdn, take no picture of each page (NAME.png, shown by a page whose scripts "
                        "cannot load; taken in Chromium, a few seconds a page); the page then describes its figures "
                        "in words")
    e.set_defaults(func=export)
    c = sub.add_parser("course-site", help="build the course site (Jupyter Book 1: one page per lecture section, the "
                                           "widgets' static pages embedded, the questions), offline")
    c.add_argument("--out", required=True, help="output folder for the site's HTML (replaced)")
    c.add_argument("--source", help="the book's folder (default: ./examples/course-site or the checkout's)")
    c.add_argument("--notebooks", help="the example notebooks, for the questions (default: ./examples or the "
                                       "checkout's)")
    c.set_defaults(func=course_site)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
