"""Static pages: exported with local JavaScript, served on 127.0.0.1, driven in Chromium with no other host."""
import gzip
import os
import re
import time

import bqplot as bq
import ipywidgets as W
import numpy as np
import pytest
from browser_support import browser_available, chromium_page, serve_directory
from static_pages import MARK_DATA_JS, move_knob

import rnn_widgets
from rnn_widgets.cli import main as cli
from rnn_widgets.export import (
    KNOBS,
    MAX_FRAMES,
    PAGES,
    _domain_sources,
    clone_widget,
    export_site,
    static_knobs,
)

WIDGETS = list(rnn_widgets.WIDGETS)
FILE_LIMIT, GZIP_LIMIT = 3e6, 1e6  # what a reader downloads: gzip, as static hosts serve it
XSS = "</script><script>window.pwned = 1</script><img src=x onerror='window.pwned=2'>"
OPTIONS = {"UnrollingWidget": {"text": f"hello {XSS} world"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    export_site(out, js="local", options=OPTIONS)
    return out


def test_every_widget_has_a_static_knob_and_a_page(site):
    assert set(KNOBS) == set(PAGES) == set(WIDGETS)
    for name in WIDGETS:
        assert (site / f"{name}.html").exists()
    index = (site / "index.html").read_text()
    assert all(f"{name}.html" in index for name in WIDGETS)
    assert "Live on the page: Weight scale and Model." in index
    assert (site / "js" / "require.js").exists() and (site / "js" / "bqplot" / "index.js").exists()


@pytest.mark.parametrize("name", WIDGETS)
def test_page_has_two_or_more_knobs_and_stays_light(site, name):
    page = (site / f"{name}.html").read_bytes()
    assert len(page) <= FILE_LIMIT and len(gzip.compress(page)) <= GZIP_LIMIT
    assert len(PAGES[name][0]) >= 2
    text = page.decode()
    assert PAGES[name][1].replace("'", "&#x27;") in text  # the page's question, at the top
    assert text.count("rnn-knob") == len(PAGES[name][0])


def test_untrusted_text_is_escaped(site):
    page = (site / "UnrollingWidget.html").read_text()
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    # the embedded state still carries the text, with '<script' escaped for the script tag
    assert re.search(r"\\u003cscript>window.pwned", page) or "&lt;script&gt;" in page


def test_cdn_pages_load_from_cdns_and_copy_nothing(tmp_path):
    export_site(tmp_path, ["TopologiesWidget"], js="cdn", pictures=False)
    page = (tmp_path / "TopologiesWidget.html").read_text()
    assert "cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@" in page and "require.min.js" in page
    assert not (tmp_path / "js").exists() and not (tmp_path / "TopologiesWidget.png").exists()


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown widget"):
        export_site(tmp_path, ["NoSuchWidget"])
    with pytest.raises(ValueError, match="'cdn' or 'local'"):
        export_site(tmp_path, js="inline")


def test_instructor_chooses_the_knobs(tmp_path):
    export_site(tmp_path, ["UnrollingWidget"], js="cdn", knobs={"UnrollingWidget": ["mode"]}, pictures=False)
    page = (tmp_path / "UnrollingWidget.html").read_text()
    assert page.count("rnn-knob") == 1 and "Move Network to see" in page
    assert "Live on the page: Network." in (tmp_path / "index.html").read_text()
    knobs = static_knobs("GradientFlowWidget", ["model", "nonlinearity"])
    assert [k.values for k in knobs] == [("rnn", "skip", "lstm", "gru"), ("tanh", "sigmoid", "relu", "identity")]
    assert knobs[0].names[0] == "plain RNN" and knobs[0].choices


@pytest.mark.parametrize("spec, message", [
    ("UnrollingWidget=text", "free text"),
    ("GradientFlowWidget=scale,seed,seq_len", "too large a grid"),
    ("GradientFlowWidget=speed", "no knob 'speed'"),
    ("GradientFlowWidget=scale,scale", "listed twice"),
    ("GradientFlowWidget=scale,model,seed,clip", "at most 3"),
    ("NoSuchWidget=scale", "unknown widget"),
    ("GradientFlowWidget", "WIDGET=TRAIT"),
])
def test_knobs_option_refuses_what_cannot_be_precomputed(tmp_path, capsys, spec, message):
    name = spec.partition("=")[0] if spec.partition("=")[0] in WIDGETS else "GradientFlowWidget"
    assert run_cli(["export", "--out", str(tmp_path), name, "--knobs", spec]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / f"{name}.html").exists()


def test_a_knob_cannot_be_both_fixed_and_live(tmp_path, capsys):
    status = run_cli(["export", "--out", str(tmp_path), "GradientFlowWidget", "--knobs", "GradientFlowWidget=scale",
                      "--set", "GradientFlowWidget.scale=0.5"])
    assert status == 2 and "both fixed" in capsys.readouterr().err


def test_cli_knobs_write_the_page(tmp_path):
    assert run_cli(["export", "--out", str(tmp_path), "TopologiesWidget", "--knobs", "TopologiesWidget=seed",
                    "--no-pictures"]) == 0
    page = (tmp_path / "TopologiesWidget.html").read_text()
    assert page.count("rnn-knob") == 1 and "5 precomputed frames" in page


def run_cli(args: list[str]) -> int:
    try:
        return cli(args)
    except SystemExit as exc:  # argparse refusing a malformed option
        return exc.code


def _frame(grid_color, cursor_x, cursor_y):
    """A heat map with a cursor line on auto-domain scales, as the timeline maps draw them."""
    rows, cols = bq.LinearScale(), bq.LinearScale()
    color = bq.ColorScale(min=-1.0, max=1.0)
    grid = bq.GridHeatMap(color=grid_color, row=np.arange(4) - 0.5, column=np.arange(6) - 0.5,
                          scales={"row": rows, "column": cols, "color": color})
    cursor = bq.Lines(x=cursor_x, y=cursor_y, scales={"x": cols, "y": rows})
    return bq.Figure(marks=[grid, cursor], axes=[bq.Axis(scale=cols), bq.Axis(scale=rows)])


def _freeze(fig, shared):
    return clone_widget(fig, {}, shared, _domain_sources([fig]))


def test_frames_share_what_is_the_same_and_only_that():
    shared = {}
    data = np.random.default_rng(0).normal(size=(3, 5))
    a = _freeze(_frame(data, [1.0, 1.0], [-0.5, 2.5]), shared)
    b = _freeze(_frame(data, [3.0, 3.0], [-0.5, 2.5]), shared)  # the cursor moved, inside the map
    assert a is not b and a.marks[0] is b.marks[0] and a.axes == b.axes
    assert a.marks[1] is not b.marks[1] and a.marks[1].y.dtype == np.float32
    # a line reaching beyond the map widens its scale's domain in the browser: nothing on that scale is shared
    c = _freeze(_frame(data, [1.0, 1.0], [-0.5, 9.0]), shared)
    assert c.marks[0] is not a.marks[0] and c.marks[0].scales["row"] is not a.marks[0].scales["row"]
    assert c.marks[0].scales["color"] is a.marks[0].scales["color"]  # fixed min and max: shared
    # other data: nothing shared but what is fixed
    d = _freeze(_frame(-data, [1.0, 1.0], [-0.5, 2.5]), shared)
    assert d.marks[0] is not a.marks[0]
    # labels stay exact (float64 ticks would print 0.1 as 0.10000000149011612)
    fig = _frame(data, [1.0, 1.0], [-0.5, 2.5])
    fig.axes[0].tick_values = np.array([0.1, 0.2])
    assert _freeze(fig, shared).axes[0].tick_values.dtype == np.float64
    for w in [a, b, c, d]:
        assert isinstance(w, W.Widget)


def test_grid_limit_is_checked_before_computing():
    with pytest.raises(ValueError, match=f"at most {MAX_FRAMES}"):
        static_knobs("LSTMGatesWidget", ["forget_bias", "step", "input_bias"])


needs_browser = pytest.mark.skipif(
    not browser_available() and not os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"),
    reason="needs Debian chromium and playwright")


@pytest.fixture(scope="module")
def browser_site(site):
    with serve_directory(site) as url, chromium_page(width=1000, height=1400) as page:
        page.console_errors, page.failed = [], []
        page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
        # Chromium resolves no host but 127.0.0.1: a request that leaves the machine fails, and is logged here
        page.on("requestfailed", lambda r: page.failed.append(f"{r.url} {r.failure}"))
        yield url, page


def expected_marks(name: str, positions: list[int]) -> dict:
    """The marks' data the widget itself computes with its page's knobs at ``positions``, by figure title."""
    knobs = static_knobs(name, **OPTIONS.get(name, {}))
    widget = getattr(rnn_widgets, name)(**OPTIONS.get(name, {}))
    try:
        for knob, i in zip(knobs, positions):
            setattr(widget, knob.trait, knob.values[i])
        widget.prepare_static_frame()
        out = {}
        for fig in widget.figures.values():
            if fig.layout.display == "none":
                continue
            lines = [row for m in fig.marks if isinstance(m, bq.Lines) and np.size(m.y)
                     for row in np.atleast_2d(np.asarray(m.y, dtype=float))]
            bars = [v for m in fig.marks if isinstance(m, bq.Bars) for v in np.ravel(m.y)]
            cells = [v for m in fig.marks if isinstance(m, bq.GridHeatMap) for v in np.ravel(m.color)]
            out[fig.title] = {"lines": lines, "bars": bars, "cells": cells}
        return out
    finally:
        widget.close()


def assert_page_shows(seen: dict, expected: dict, where: str) -> None:
    compared = 0
    for title, marks in expected.items():
        assert title in seen, f"{where}: no figure titled {title!r} on the page (it has {list(seen)})"
        got = seen[title]
        assert len(got["lines"]) == len(marks["lines"]), f"{where}: {title}"
        for a, b in zip(got["lines"], marks["lines"]):
            np.testing.assert_allclose(np.asarray(a, dtype=float), b, rtol=1e-5, atol=1e-6, err_msg=f"{where}: {title}")
        np.testing.assert_allclose(sorted(got["bars"]), sorted(marks["bars"]), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{where}: {title}")
        got_cells = np.asarray([np.nan if c is None else c for c in got["cells"]], dtype=float)
        np.testing.assert_allclose(np.sort(got_cells), np.sort(np.asarray(marks["cells"], dtype=float)),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{where}: {title}")
        compared += len(marks["lines"]) + len(marks["bars"]) + len(marks["cells"])
    assert compared, f"{where}: no mark data to compare"


def page_shows(page, expected: dict, where: str, timeout: float = 30.0) -> None:
    """Wait until the page's figures are all drawn, then check them against ``expected`` (the last mismatch is
    the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return assert_page_shows(page.evaluate(MARK_DATA_JS), expected, where)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(250)


@needs_browser
@pytest.mark.browser
@pytest.mark.parametrize("name", WIDGETS)
def test_every_knob_moves_the_figures_to_the_widgets_own_frame(browser_site, name):
    """Each live knob, one key press at a time, offline: the figures change and hold exactly the marks the
    widget computes for the knobs' values; no page error."""
    url, page = browser_site
    page.errors.clear()
    page.console_errors.clear()
    page.failed.clear()
    page.goto(f"{url}{name}.html", timeout=60_000)
    page.wait_for_selector(".rnn-widget .bqplot svg", timeout=30_000)
    page.wait_for_timeout(500)
    knobs = static_knobs(name, **OPTIONS.get(name, {}))
    positions = [k.start for k in knobs]  # the page opens where the live widget opens
    page_shows(page, expected_marks(name, positions), f"{name} at {positions}")
    steps = []
    for j, knob in enumerate(knobs):
        step = 1 if positions[j] + 1 < len(knob.values) else -1
        move_knob(page, j, forward=step > 0)
        positions[j] += step
        steps.append(step)
        page_shows(page, expected_marks(name, positions), f"{name} at {positions}")
    move_knob(page, 0, forward=steps[0] < 0)  # and back: the inner knobs keep their places
    positions[0] -= steps[0]
    page_shows(page, expected_marks(name, positions), f"{name} at {positions}")
    assert page.errors == [], page.errors
    assert page.console_errors == [], page.console_errors
    assert page.failed == [], page.failed  # a --js local page asks nothing of another host
    if name == "UnrollingWidget":
        assert page.evaluate("window.pwned") is None
        assert "window.pwned" in page.inner_text(".rnn-widget")  # shown as text, not run


def test_pages_open_at_the_widgets_own_state():
    """Issue 24, item 7: each knob opens at the widget's value (the weight scale at 0.9, not the grid's first 0.2),
    added to the grid when the grid lacks it."""
    for name in WIDGETS:
        widget = getattr(rnn_widgets, name)(**OPTIONS.get(name, {}))
        try:
            for knob in static_knobs(name, **OPTIONS.get(name, {})):
                assert knob.values[knob.start] == getattr(widget, knob.trait), (name, knob.trait)
        finally:
            widget.close()
    scale = static_knobs("WeightSharingWidget")[0]
    assert scale.values[scale.start] == 0.9 and scale.values == tuple(sorted(scale.values))


def test_static_page_opens_its_controls_and_frames_at_the_default(site):
    """The controls' index and every Stack's selected frame start at the knob's start in the page's state."""
    import json

    text = (site / "WeightSharingWidget.html").read_text()
    state = json.loads(re.search(r"widget-state\+json'>(.*?)</script>", text, re.DOTALL).group(1))["state"]
    starts = {k.label: k.start for k in static_knobs("WeightSharingWidget")}
    controls = [m["state"] for m in state.values() if "rnn-knob" in m["state"].get("_dom_classes", [])]
    assert {c["description"]: c["index"] for c in controls} == starts
    stacks = [m["state"]["selected_index"] for m in state.values() if m["model_name"] == "StackModel"]
    assert stacks and set(stacks) <= set(starts.values()) and starts["Weight scale"] in stacks


@needs_browser
@pytest.mark.browser
def test_fast_knob_moves_log_no_console_error(browser_site):
    """Issue 24, item 6: a step knob held down (views made and removed before bqplot reads their size) logged
    '<rect> attribute width: A negative value' for each such figure; the page's guard gives them a size."""
    url, page = browser_site
    page.console_errors.clear()
    page.goto(f"{url}LSTMGatesWidget.html", timeout=60_000)
    page.wait_for_selector(".rnn-widget .bqplot svg", timeout=30_000)
    page.wait_for_timeout(500)
    handle = page.locator(".rnn-widget .rnn-knob").nth(1).locator(".noUi-handle").first
    handle.focus()
    for key in ["ArrowRight"] * 8 + ["ArrowLeft"] * 8:
        page.keyboard.press(key)
        page.wait_for_timeout(30)
    page.wait_for_timeout(1500)
    # (keys faster than the views are made also make ipywidgets' Stack post a resize message to a view already
    # gone, "Cannot read properties of null (reading 'processLuminoMessage')": the manager's, not the page's)
    negative = [e for e in page.console_errors if "negative value" in e]
    assert negative == [], negative
    assert page.evaluate("() => !!require('bqplot').Figure.prototype.rnnGuarded")


@needs_browser
@pytest.mark.browser
def test_cdn_page_says_its_scripts_failed_and_shows_its_picture(tmp_path, browser_site):
    """With the CDN hosts unreachable (Chromium resolves no host but 127.0.0.1), a --js cdn page says what failed
    and what to do, and shows the picture of its first state taken at export, within 10 s."""
    export_site(tmp_path, ["TopologiesWidget"], js="cdn")
    picture = tmp_path / "TopologiesWidget.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, page = browser_site  # (one browser per module: Playwright's sync API runs one at a time)
    with serve_directory(tmp_path) as url:
        start = time.monotonic()
        page.goto(f"{url}TopologiesWidget.html", timeout=30_000)
        page.wait_for_selector("#rnn-fallback:not([hidden]) img[src='TopologiesWidget.png']", timeout=10_000)
        page.wait_for_function("() => document.querySelector('#rnn-fallback img').naturalWidth > 0",
                               timeout=max(1_000, int(10_000 - 1000 * (time.monotonic() - start))))
        assert time.monotonic() - start < 10
        message = page.inner_text("#rnn-fallback [role=alert]")
        assert "could not load their JavaScript" in message and "--js local" in message
        assert "cdn.jsdelivr.net" in message and "require.min.js" in message  # what failed
        assert PAGES["TopologiesWidget"][1] in page.inner_text("#rnn-fallback")  # the question
        alt = page.get_attribute("#rnn-fallback img", "alt")
        assert alt.startswith("A picture of the widget") and len(alt) > 60


def test_local_pages_need_no_picture_and_report_their_height(site):
    page = (site / "GradientFlowWidget.html").read_text()
    assert "rnnWidgetsHeight" in page and "ResizeObserver" in page
    assert "id='rnn-fallback' hidden" in page and "<img" not in page.split("rnn-fallback", 1)[1].split("</div>")[0]
    assert not (site / "GradientFlowWidget.png").exists()
    assert "rnnWidgetsHeight" in (site / "embed.js").read_text()
