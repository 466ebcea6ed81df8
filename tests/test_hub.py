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
from unittest import mock

import pytest
import yaml
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WATCH_PICTURE,
    browser_available,
    hub_available,
    hub_login,
    local_hub,
    press_and_wait_for_change,
    submit_login,
)

import rnn_widgets
from rnn_widgets.gallery import TEMPLATES

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
# the local config's any-password login only starts when asked for by name (jupyterhub_config.py)
TEST_LOGIN = {"RNN_WIDGETS_HUB_TEST_LOGIN": "1"}

HUB_READY = hub_available() and browser_available()
if not HUB_READY and os.environ.get("RNN_WIDGETS_REQUIRE_HUB"):
    raise RuntimeError("the JupyterHub test is required here, but jupyterhub, jupyterhub-idle-culler, "
                       "configurable-http-proxy (npm), node, playwright or Debian chromium is missing")


def real_hub(test):
    """Marks a test that drives the real hub: skipped where it cannot run (never in CI, see above)."""
    for mark in (pytest.mark.hub, pytest.mark.browser, pytest.mark.slow,
                 pytest.mark.skipif(not HUB_READY, reason="needs jupyterhub + jupyterhub-idle-culler (pip), "
                                    "configurable-http-proxy (npm) and chromium")):
        test = mark(test)
    return test


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
    with mock.patch.dict(os.environ, {**TEST_LOGIN, **polls_settings(workdir)}), local_hub(workdir, cull_timeout=CULL_TIMEOUT, cull_every=CULL_EVERY,
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


@real_hub
def test_three_students_log_in_at_once_and_each_works_in_their_own_server(hub, browser):
    pages = {}
    for name in STUDENTS:
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc, errors=page.errors: errors.append(str(exc)))
        page.add_init_script(WATCH_PICTURE)
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
            # the course's template is the gallery's: the first widget's picture came first, then went
            assert page.evaluate("window.__sawPicture") is True, f"{name}'s page never showed the picture"
            # gone 3 s after the live widget drew (it fades): on a busy machine the checks above can take less
            page.wait_for_selector(".rnn-preview", state="detached", timeout=30_000)
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
            # the course's Lab settings reach it: no prompt about Jupyter news covers the notebook
            assert "@jupyterlab/apputils-extension:announcements" in response.text()
            assert response.url == href, f"JupyterLab sent {name} elsewhere: {response.url}"
    finally:
        for page in pages.values():
            page.context.close()


@real_hub
def test_an_idle_students_server_is_culled(hub):
    # IDLE's server was started with the hub and never used; the culler stops it after CULL_TIMEOUT s
    wait_until(lambda: hub.servers(IDLE) == {}, CULL_TIMEOUT + CULL_EVERY + 90, f"{IDLE}'s idle server culled")
    wait_until(lambda: hub.user_processes(IDLE) == [], 30, f"{IDLE}'s server and kernels gone")
    assert "Culling server idle-student" in (hub.workdir / "jupyterhub.log").read_text()
    # the user stays: the course keeps accounts, only the server (memory, CPU) goes
    assert hub.api("GET", f"users/{IDLE}")["name"] == IDLE


# --- Class polls (issue 27): the rnn-widgets-polls service the config registers, with the Question widget ---

INSTRUCTOR = "prof"
POLLS_PREFIX = "services/rnn-widgets-polls/"
POLL_NOTEBOOK = "class_poll.ipynb"
#: the students' notebook, as the example notebooks ask a question: the first question joins the poll the instructor
#: has open (the hub sets RNN_WIDGETS_POLL_AUTO=1; rnn_widgets.questions.ask)
POLL_CELLS = ["from rnn_widgets.questions import ask\nask('05_gradient_flow', 1)"]


def polls_settings(workdir: Path) -> dict:
    """What the local config reads for the polls: the instructors, a free port, the database in the test's folder."""
    from browser_support import free_port

    return {"RNN_WIDGETS_HUB_INSTRUCTORS": INSTRUCTOR, "RNN_WIDGETS_POLLS_PORT": str(free_port()),
            "RNN_WIDGETS_POLLS_DB": f"sqlite:///{workdir / 'polls.sqlite'}"}


def polls_service(hub):
    """The service's process under the hub (psutil), or None."""
    import contextlib

    import psutil

    for p in hub.descendants():
        with contextlib.suppress(psutil.Error):  # gone while looking
            if "rnn_widgets.polls.hub" in " ".join(p.cmdline()):
                return p
    return None


def view_answers(page, question_id: str) -> int:
    """How many answers the instructor's view shows for the question now (-1 while it is not on the page). Read
    with locators only: the view's Content-Security-Policy refuses the eval that page.wait_for_function needs."""
    section = page.locator(f"section[data-question='{question_id}']")
    return int(section.get_attribute("data-answers")) if section.count() else -1


@real_hub
def test_three_students_commit_predictions_and_the_instructor_sees_them_with_the_truth(hub, browser):
    import re
    import signal

    from rnn_widgets.questions import ask

    question = ask("05_gradient_flow", 1)
    truth, entry = question.truths[0], question.entries[0]
    question.close()
    # three predictions the entry accepts (between its lo and hi): right, a little high, far too low
    guesses = {"ada": truth, "grace": min(entry.hi, round(truth + 0.3, 2)), "alan": entry.lo}
    contexts = []

    def new_page():
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc, errors=page.errors: errors.append(str(exc)))
        return page

    def log_in(page, name, next_url):
        page.goto(f"{hub.url}hub/login?next={next_url}", timeout=60_000)
        page.fill("#username_input", name)
        page.fill("#password_input", "any password")
        submit_login(page)

    try:
        # the instructor logs in straight to the view (through the hub's OAuth) and opens a poll
        prof = new_page()
        log_in(prof, INSTRUCTOR, f"/{POLLS_PREFIX}")
        prof.wait_for_url(f"{hub.url}{POLLS_PREFIX}", timeout=60_000)
        prof.locator("#open").click()
        code = wait_until(lambda: re.fullmatch(r"[A-Z0-9]{6}", prof.locator("#code").text_content() or "")
                          and prof.locator("#code").text_content(), 30, "a poll's code in the view")

        # three students, each in their own server: the question's page, a prediction, Commit
        # their servers (the earlier test's may have been culled since: 45 s idle here)
        import urllib.error

        from browser_support import write_notebook

        for name in guesses:
            for path in (f"users/{name}", f"users/{name}/server"):
                try:
                    hub.api("POST", path)
                except urllib.error.HTTPError as exists:  # the user exists / the server runs already
                    assert exists.code in (400, 409), (path, exists.code)
        for name in guesses:
            wait_until(lambda name=name: hub.servers(name).get("", {}).get("ready"), 120, f"{name}'s server")
        students = {}
        for name in guesses:
            home = hub.workdir / "home" / name
            home.mkdir(parents=True, exist_ok=True)
            write_notebook(home / POLL_NOTEBOOK, POLL_CELLS)
            page = new_page()
            log_in(page, name, f"/user/{name}/voila/render/{POLL_NOTEBOOK}")
            students[name] = page
        for name, page in students.items():
            page.wait_for_url(f"{hub.url}user/{name}/voila/render/{POLL_NOTEBOOK}", timeout=180_000)
        for name, page in students.items():
            page.wait_for_selector(".rnn-question button:has-text('Commit')", timeout=240_000)
            notice = f"Your answer is shared anonymously with your instructor (poll {code})."
            assert notice in page.locator(".rnn-question").inner_text(), f"{name}'s page does not say it is shared"
            box = page.locator(".rnn-question input[type=text]").first
            box.fill(repr(guesses[name]))
            box.press("Tab")  # the text box sends its value when it loses focus
            page.locator(".rnn-question button:has-text('Commit')").click()
        for name, page in students.items():
            summary = page.locator(".rnn-question .rnn-summary")
            try:
                page.wait_for_function("document.querySelector('.rnn-question .rnn-summary')?.textContent"
                                       f".includes('Shared with poll {code}')", timeout=60_000)
            except Exception as late:
                raise AssertionError(f"{name}'s page says: {summary.inner_text()!r}") from late
            assert f"the widget computes {entry.show(truth)}" in summary.inner_text()
            assert page.errors == [], f"{name}: {page.errors}"

        # the instructor's view updates by itself; the truth is revealed when the instructor says so
        wait_until(lambda: view_answers(prof, "05_gradient_flow/1") == 3, 20, "three answers in the view")
        section = prof.locator("section[data-question='05_gradient_flow/1']")
        assert section.locator("[data-truth]").count() == 0, "the truth showed before the instructor revealed it"
        section.locator("button.reveal").click()
        try:
            prof.wait_for_selector("section[data-question='05_gradient_flow/1'] .truthline[data-truth]",
                                   state="attached", timeout=20_000)  # a vertical line: no width, never "visible"
        except Exception as late:
            raise AssertionError(f"no truth marked; the view says {prof.locator('#status').inner_text()!r}") from late
        marked = float(prof.locator("section[data-question='05_gradient_flow/1'] .truthline").get_attribute("data-truth"))
        assert marked == pytest.approx(truth, rel=1e-9)
        counts = [int(bar.get_attribute("data-count")) for bar in section.locator("rect.bar").all()]
        assert sum(counts) == 3
        assert not any(name in section.inner_text() for name in guesses), "the view named a student"
        prof.screenshot(path=str(ARTIFACTS / "hub-class-poll.png"), full_page=True)

        # a student gets 403 on the view and on the poll's answers
        ada = students["ada"]
        assert ada.request.get(f"{hub.url}{POLLS_PREFIX}").status == 403
        assert ada.request.get(f"{hub.url}{POLLS_PREFIX}api/polls/{code}").status == 403

        # the service is killed mid-class; the hub starts it again; the three answers are still there
        service = polls_service(hub)
        assert service is not None, "the polls service does not run under the hub"
        service.send_signal(signal.SIGKILL)
        wait_until(lambda: (polls_service(hub) or service).pid != service.pid, 60, "the service restarted")
        wait_until(lambda: prof.request.get(f"{hub.url}{POLLS_PREFIX}api/health").status == 200, 60,
                   "the restarted service answers")
        prof.reload()
        wait_until(lambda: view_answers(prof, "05_gradient_flow/1") == 3, 60, "three answers after the restart")
        assert prof.locator("section[data-question='05_gradient_flow/1'] .truthline[data-truth]").count() == 1
    finally:
        for context in contexts:
            context.close()


@real_hub
def test_the_hub_stops_cleanly_and_leaves_no_process(hub):
    started = set(hub.seen)
    assert len(started) >= 3, "expected at least the proxy, the culler and a server under the hub"
    left = hub.stop()
    assert left == [], f"still running after the hub stopped: {left}"
    assert hub.proc.returncode is not None


# --- The Helm values and the local config agree (no hub needed) ---

IMAGE_REPO_DIR = "/srv/rnn-widgets"  # repo2docker --target-repo-dir, as values.yaml and the README build the image


def local_config():
    from traitlets.config.loader import PyFileConfigLoader

    with mock.patch.dict(os.environ, TEST_LOGIN):
        return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()


def k8s_quantity(value) -> float:
    import re

    number, unit = re.fullmatch(r"([\d.]+)([KMG]i?)?", str(value)).groups()
    return float(number) * {"K": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}.get(unit, 1)


def test_the_local_hub_opens_the_tour_where_the_helm_values_do():
    c = local_config()
    assert c.Spawner.default_url == DEFAULT_URL
    assert DEFAULT_URL.startswith("/voila/render/")
    # the notebook the URL names is in the folder that each student's home receives (postStart, pre_spawn_hook)
    notebook = DEFAULT_URL.removeprefix("/voila/render/")
    assert (ROOT / notebook).is_file()
    copy = " ".join(VALUES["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"])
    assert f"{IMAGE_REPO_DIR}/{notebook.split('/')[0]}" in copy
    assert f"--target-repo-dir {IMAGE_REPO_DIR}" in (DEPLOY / "values.yaml").read_text()


def test_the_local_hub_culls_as_the_helm_values_say():
    cull = VALUES["cull"]
    assert cull["enabled"] and 0 < cull["every"] <= cull["timeout"]
    services = {s["name"]: s for s in local_config().JupyterHub.services}
    command = services["jupyterhub-idle-culler"]["command"]
    assert "jupyterhub_idle_culler" in command
    assert f"--timeout={cull['timeout']}" in command and f"--cull-every={cull['every']}" in command


def test_the_students_environment_exists_in_the_image_and_here():
    env = VALUES["singleuser"]["extraEnv"]
    c = local_config()
    for key, value in env.items():
        if str(value).startswith(IMAGE_REPO_DIR):
            here = Path(c.Spawner.environment[key])
            assert here == ROOT / str(value).removeprefix(IMAGE_REPO_DIR + "/"), key
            assert here.is_dir(), f"{key}={value}: no {here} in this repository"
    data, config = Path(c.Spawner.environment["JUPYTER_PATH"]), Path(c.Spawner.environment["JUPYTER_CONFIG_PATH"])
    import json

    template = json.loads((config / "jupyter_server_config.json").read_text())["VoilaConfiguration"]["template"]
    templates = data / "voila" / "templates"  # the course's template, on the gallery's, on Voila's lab template
    assert json.loads((templates / template / "conf.json").read_text())["base_template"] == "rnn-widgets"
    assert json.loads((templates / "rnn-widgets" / "conf.json").read_text())["base_template"] == "lab"
    assert (templates / "rnn-widgets").resolve() == TEMPLATES / "voila" / "templates" / "rnn-widgets"
    assert env["OMP_NUM_THREADS"] == str(int(VALUES["singleuser"]["cpu"]["limit"]))


def test_the_local_hub_registers_the_class_polls_service_as_the_helm_values_do():
    c = local_config()
    values = VALUES["hub"]["services"]["rnn-widgets-polls"]
    polls = {s["name"]: s for s in c.JupyterHub.services}["rnn-widgets-polls"]
    assert polls["command"][-2:] == values["command"][-2:] == ["-m", "rnn_widgets.polls.hub"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert {"self", "access:services!service=rnn-widgets-polls"} == set(roles["user"]["scopes"])
    group = values["environment"]["RNN_WIDGETS_POLL_INSTRUCTORS"]
    assert roles["rnn-widgets-polls"] == {"name": "rnn-widgets-polls", "scopes": [f"read:groups!group={group}"],
                                          "services": ["rnn-widgets-polls"]}
    assert "access:services!service=rnn-widgets-polls" in c.Spawner.server_token_scopes  # the kernels' token
    assert c.Spawner.environment["RNN_WIDGETS_POLL_URL"] == f"{polls['url']}/services/rnn-widgets-polls/"
    assert VALUES["singleuser"]["extraEnv"]["RNN_WIDGETS_POLL_URL"] == f"{values['url']}/services/rnn-widgets-polls/"
    port = int(values["url"].rsplit(":", 1)[1])
    assert values["environment"]["RNN_WIDGETS_POLLS_BIND"] == f"0.0.0.0:{port}"
    assert VALUES["hub"]["service"]["extraPorts"][0]["port"] == port
    assert VALUES["hub"]["networkPolicy"]["ingress"][0]["ports"] == [{"port": port}]
    assert VALUES["singleuser"]["networkPolicy"]["egress"][0]["ports"] == [{"port": port}]


def test_resources_are_consistent_and_need_no_gpu():
    single = VALUES["singleuser"]
    assert 0 < k8s_quantity(single["memory"]["guarantee"]) <= k8s_quantity(single["memory"]["limit"])
    assert 0 < float(single["cpu"]["guarantee"]) <= float(single["cpu"]["limit"])
    assert "extraResource" not in single and "gpu" not in yaml.safe_dump(VALUES).lower()


@pytest.mark.skipif(not (os.environ.get("RNN_WIDGETS_Z2JH_CHART") and
                         (os.environ.get("RNN_WIDGETS_HELM") or __import__("shutil").which("helm"))),
                    reason="set RNN_WIDGETS_Z2JH_CHART to an unpacked jupyterhub chart (helm pull --untar) and "
                           "have helm on PATH (or RNN_WIDGETS_HELM)")
def test_helm_lints_and_renders_the_values_with_the_chart(tmp_path):
    import base64
    import shutil
    import subprocess

    helm = os.environ.get("RNN_WIDGETS_HELM") or shutil.which("helm")
    chart = os.environ["RNN_WIDGETS_Z2JH_CHART"]
    values = str(DEPLOY / "values.yaml")
    assert (Path(chart) / "values.schema.json").exists(), "the chart's schema is what checks the values' keys"

    def run(*args):
        return subprocess.run([helm, *args], check=False, capture_output=True, text=True, timeout=120)

    lint = run("lint", chart, "-f", values)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    out = run("template", "course", chart, "-f", values)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "hub")
    seen = yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))
    assert seen["singleuser"]["defaultUrl"] == DEFAULT_URL and seen["cull"] == {**seen["cull"], **VALUES["cull"]}
    placeholder = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "user-placeholder")
    resources = placeholder["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["memory"] == VALUES["singleuser"]["memory"]["guarantee"]
    assert resources["limits"]["memory"] == VALUES["singleuser"]["memory"]["limit"]
    image = f"{VALUES['singleuser']['image']['name']}:{VALUES['singleuser']['image']['tag']}"
    pullers = [d for d in docs if d["kind"] == "DaemonSet"]
    assert pullers and all(image in yaml.safe_dump(d) for d in pullers)
    bad = run("template", "course", chart, "-f", values, "--set", "singleuser.defaultURL=/x")
    assert bad.returncode != 0 and "defaultURL" in bad.stderr, "the chart's schema did not reject a misspelt key"
