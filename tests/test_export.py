"""Static pages: exported with local JavaScript, served on 127.0.0.1, driven in Chromium with no other host."""
import os
import re

import pytest
from browser_support import browser_available, chromium_page, press_and_wait_for_change, serve_directory

import rnn_widgets
from rnn_widgets.export import KNOBS, export_site

WIDGETS = list(rnn_widgets.WIDGETS)
PAGE_LIMIT = 1.5e6
XSS = "</script><script>window.pwned = 1</script><img src=x onerror='window.pwned=2'>"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    export_site(out, js="local", options={"UnrollingWidget": {"text": f"hello {XSS} world"}})
    return out


def test_every_widget_has_a_static_knob_and_a_page(site):
    assert set(KNOBS) == set(WIDGETS)
    for name in WIDGETS:
        assert (site / f"{name}.html").exists()
    index = (site / "index.html").read_text()
    assert all(f"{name}.html" in index for name in WIDGETS)
    assert (site / "js" / "require.js").exists() and (site / "js" / "bqplot" / "index.js").exists()


@pytest.mark.parametrize("name", WIDGETS)
def test_page_size_within_limit(site, name):
    assert (site / f"{name}.html").stat().st_size <= PAGE_LIMIT


def test_untrusted_text_is_escaped(site):
    page = (site / "UnrollingWidget.html").read_text()
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    # the embedded state still carries the text, with '<script' escaped for the script tag
    assert re.search(r"\\u003cscript>window.pwned", page) or "&lt;script&gt;" in page


def test_cdn_pages_load_from_cdns_and_copy_nothing(tmp_path):
    export_site(tmp_path, ["TopologiesWidget"], js="cdn")
    page = (tmp_path / "TopologiesWidget.html").read_text()
    assert "cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@" in page and "require.min.js" in page
    assert not (tmp_path / "js").exists()


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown widget"):
        export_site(tmp_path, ["NoSuchWidget"])
    with pytest.raises(ValueError, match="'cdn' or 'local'"):
        export_site(tmp_path, js="inline")


needs_browser = pytest.mark.skipif(
    not browser_available() and not os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"),
    reason="needs Debian chromium and playwright")


@pytest.fixture(scope="module")
def browser_site(site):
    with serve_directory(site) as url, chromium_page(width=1000, height=1400) as page:
        yield url, page


@needs_browser
@pytest.mark.browser
@pytest.mark.parametrize("name", WIDGETS)
def test_static_page_knob_works_offline(browser_site, name):
    url, page = browser_site
    page.goto(f"{url}{name}.html", timeout=60_000)
    page.wait_for_selector(".rnn-widget .bqplot svg", timeout=30_000)
    page.wait_for_timeout(500)
    press_and_wait_for_change(page, ".rnn-widget")
    assert page.errors == [], page.errors
    if name == "UnrollingWidget":
        assert page.evaluate("window.pwned") is None
        assert "window.pwned" in page.inner_text(".rnn-widget")  # shown as text, not run
