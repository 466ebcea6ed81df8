"""No request leaves the machine from the gallery's Voila template (issue 26): Voila's lab template asks a CDN for
Font Awesome; ours serves the icons the widgets' buttons use itself. Chromium resolves no host but 127.0.0.1, so a
request for any other host fails and is logged."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import (
    browser_available,
    chromium_page,
    free_port,
    stop_process,
    wait_for_url,
    write_notebook,
)

from rnn_widgets.gallery import TEMPLATES

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "rnn_widgets" / "share" / "voila" / "templates" / "rnn-widgets"

needs_browser = pytest.mark.skipif(
    not browser_available() and not os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"),
    reason="needs Debian chromium and playwright")


def test_every_icon_of_the_package_is_served_by_the_template():
    icons = set()
    for path in (ROOT / "rnn_widgets").rglob("*.py"):
        icons |= set(re.findall(r"""\bicon\s*=\s*["']([a-z0-9-]+)["']""", path.read_text(encoding="utf-8")))
    css = (TEMPLATE / "static" / "icons.css").read_text()
    assert icons, "no icon= found: the search is broken"
    missing = sorted(i for i in icons if f".fa-{i}:before" not in css)
    assert not missing, f"icons.css has no rule for {missing}: add their Font Awesome 5 code points"
    assert (TEMPLATE / "static" / "fa-solid-900.woff2").read_bytes()[:4] == b"wOF2"
    source = (TEMPLATE / "index.html.j2").read_text()
    assert "static/icons.css" in source


@needs_browser
@pytest.mark.browser
def test_gallery_template_makes_no_request_off_the_machine(tmp_path):
    nb = write_notebook(tmp_path / "icons.ipynb", [
        ("import ipywidgets as W\nfrom rnn_widgets import TopologiesWidget\n"
        "W.VBox([W.Button(description='Step', icon='step-forward'), TopologiesWidget()])")])
    port = free_port()
    env = {**os.environ, "JUPYTER_PATH": os.pathsep.join(filter(None, [str(TEMPLATES), os.environ.get("JUPYTER_PATH")]))}
    cmd = [sys.executable, "-m", "voila", str(nb), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--template=rnn-widgets", "--preheat_kernel=False",
           "--VoilaConfiguration.extension_denylist=['@jupyter-notebook/lab-extension']"]
    with open(tmp_path / "voila.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
        try:
            wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=120)
            with chromium_page(width=1280, height=900) as page:
                failed, asked = [], []
                page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
                page.on("request", lambda r: asked.append(r.url))
                page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
                page.wait_for_selector(".rnn-widget .bqplot svg", timeout=180_000)
                page.wait_for_function("document.fonts.check('900 16px \"rnn-widgets icons\"')", timeout=30_000)
                page.wait_for_timeout(1000)
                icon = page.evaluate("""() => { const i = document.querySelector('button i.fa-step-forward');
                    const s = getComputedStyle(i, '::before');
                    return [s.content, getComputedStyle(i).fontFamily]; }""")
        finally:
            stop_process(proc)
    assert failed == [], failed
    here = (f"http://127.0.0.1:{port}/", f"blob:http://127.0.0.1:{port}/", "data:")
    assert [u for u in asked if not u.startswith(here)] == []
    assert icon[0] == '"\uf051"' and "rnn-widgets icons" in icon[1], icon
