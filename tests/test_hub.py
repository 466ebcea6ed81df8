"""A course on a real JupyterHub: deploy/jupyterhub/jupyterhub_config.py, which reads the Helm values beside it.

JupyterHub and jupyterhub-idle-culler from PyPI, configurable-http-proxy from npm, all on 127.0.0.1; the dummy
authenticator and a local-process spawner stand in for the institution's login and Kubernetes. Three students log in
at the same moment in three Chromium contexts, each gets their own server and sees the tour; a fourth, who never
opens anything, is culled; the hub then stops and leaves no process behind.

Only the ports, the homes' folder and shorter culling/activity intervals differ from the deployed config. Skipped
where npm's configurable-http-proxy, jupyterhub or the browser is missing, unless RNN_WIDGETS_REQUIRE_HUB is set
(as .ci/run does).
"""
import os
import time
from pathlib import Path

import pytest
import yaml
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_available,
    hub_available,
    hub_login,
    local_hub,
    press_and_wait_for_change,
    submit_login,
)

import rnn_widgets

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "jupyterhub"
ARTIFACTS = ROOT / "tests" / "artifacts"
VALUES = yaml.safe_load((DEPLOY / "values.yaml").read_text())
DEFAULT_URL = VALUES["singleuser"]["defaultUrl"]
STUDENTS = ["ada", "grace", "alan"]
IDLE = "idle-student"
WIDGETS = len(rnn_widgets.WIDGETS)
# Tests only: culled after 45 s without activity (the course: values.yaml's cull.timeout), looked at every 5 s.
CULL_TIMEOUT, CULL_EVERY, ACTIVITY_INTERVAL = 45, 5, 5

if not (hub_available() and browser_available()):
    if os.environ.get("RNN_WIDGETS_REQUIRE_HUB"):
        raise RuntimeError("the JupyterHub test is required here, but jupyterhub, jupyterhub-idle-culler, "
                           "configurable-http-proxy (npm), node, playwright or Debian chromium is missing")
    pytest.skip("needs jupyterhub + jupyterhub-idle-culler (pip), configurable-http-proxy (npm) and chromium",
                allow_module_level=True)


def wait_until(predicate, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    workdir = tmp_path_factory.mktemp("hub")
    with local_hub(workdir, cull_timeout=CULL_TIMEOUT, cull_every=CULL_EVERY,
                   activity_interval=ACTIVITY_INTERVAL) as hub:
        # a student who starts a server and never uses it; the culler's clock starts now, while the others work
        hub.api("POST", f"users/{IDLE}")
        hub.api("POST", f"users/{IDLE}/server")
        try:
            yield hub
        finally:
            (ARTIFACTS / "jupyterhub.log").write_text((workdir / "jupyterhub.log").read_text())


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_three_students_log_in_at_once_and_each_works_in_their_own_server(hub, browser):
    pages = {}
    for name in STUDENTS:
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc, errors=page.errors: errors.append(str(exc)))
        pages[name] = page
    try:
        for name, page in pages.items():  # every login form filled in first, then all three sent together
            hub_login(page, hub.url, name, "any password", submit=False)
        for page in pages.values():
            submit_login(page)

        # each lands on the tour as a Voila app, through the hub's proxy, under their own /user/NAME/
        for name, page in pages.items():
            page.wait_for_url(f"{hub.url}user/{name}{DEFAULT_URL}", timeout=180_000)
        for name, page in pages.items():
            page.wait_for_function(
                f"document.querySelectorAll('.rnn-widget').length >= {WIDGETS} && "
                f"Array.from(document.querySelectorAll('.rnn-widget')).every(w => w.querySelector('.bqplot'))",
                timeout=240_000)

        # their own server each: the hub says so, and so do the processes (one server, its kernel, per student)
        urls = set()
        for name in STUDENTS:
            server = hub.servers(name)[""]
            assert server["ready"], f"{name}'s server is not ready"
            urls.add(server["url"])
            procs = hub.user_processes(name)
            cmdlines = [" ".join(p.cmdline()) for p in procs]
            assert sum("jupyterhub.singleuser" in c for c in cmdlines) == 1, cmdlines
            assert any("ipykernel" in c for c in cmdlines), f"no kernel runs for {name}: {cmdlines}"
            assert (hub.workdir / "home" / name / "examples" / "00_tour.ipynb").exists(), "the notebooks were not copied"
        assert urls == {f"/user/{name}/" for name in STUDENTS}

        for name, page in pages.items():
            assert page.locator(".rnn-widget").count() == WIDGETS
            # a slider moved in the student's page redraws a figure: their kernel answers
            press_and_wait_for_change(page, ".rnn-widget", 0, timeout=60_000)
            page.locator(".rnn-widget").first.screenshot(path=str(ARTIFACTS / f"hub-{name}.png"))
            assert page.errors == [], f"{name}: {page.errors}"

            # JupyterLab is one click away: the same notebook, in the same student's server
            link = page.locator("#rnn-open-in-lab")
            assert link.is_visible()
            href = link.evaluate("a => a.href")
            assert href == f"{hub.url}user/{name}/lab/tree{DEFAULT_URL.removeprefix('/voila/render')}"
            response = page.request.get(href)
            assert response.ok and "JupyterLab" in response.text(), (response.status, response.url)
            assert response.url == href, f"JupyterLab sent {name} elsewhere: {response.url}"
    finally:
        for page in pages.values():
            page.context.close()


def test_an_idle_students_server_is_culled(hub):
    # IDLE's server was started with the hub and never used; the culler stops it after CULL_TIMEOUT s
    wait_until(lambda: hub.servers(IDLE) == {}, CULL_TIMEOUT + CULL_EVERY + 90, f"{IDLE}'s idle server culled")
    wait_until(lambda: hub.user_processes(IDLE) == [], 30, f"{IDLE}'s server and kernels gone")
    assert "Culling server idle-student" in (hub.workdir / "jupyterhub.log").read_text()
    # the user stays: the course keeps accounts, only the server (memory, CPU) goes
    assert hub.api("GET", f"users/{IDLE}")["name"] == IDLE


def test_the_hub_stops_cleanly_and_leaves_no_process(hub):
    started = set(hub.seen)
    assert len(started) >= 3, "expected at least the proxy, the culler and a server under the hub"
    left = hub.stop()
    assert left == [], f"still running after the hub stopped: {left}"
    assert hub.proc.returncode is not None
