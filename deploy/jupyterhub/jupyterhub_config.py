"""The course on one machine: a real JupyterHub with the default URL, environment and idle culling of values.yaml.

    pip install -e ".[hub]"                      # JupyterHub, jupyterhub-idle-culler, JupyterLab, Voila
    npm install -g configurable-http-proxy        # the proxy JupyterHub starts
    RNN_WIDGETS_HUB_TEST_LOGIN=1 jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Open http://127.0.0.1:8000, log in with any name and any password (JupyterHub's dummy authenticator, a test login),
and the tour opens as a Voila app at /user/NAME/voila/render/examples/00_tour.ipynb, as on the Kubernetes deployment.
Without RNN_WIDGETS_HUB_TEST_LOGIN=1 this config refuses to start: a hub that lets anyone in as anyone must not be
started by accident (a real course chooses its login in values.yaml: docs/deploy-jupyterhub.md).

This is for trying the course before deploying it, and for tests/test_hub.py. Every student's server is a process
of the hub's own user, with a home under /tmp/rnn-widgets-hub/ (jupyterhub's SimpleLocalProcessSpawner): there is
no isolation between students and no memory or CPU limit is enforced, so never open it to real students.
Stopping the hub (Ctrl-C) stops every student's server and the proxy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

#: the explicit opt-in to this config's test login (tests/test_hub.py and benchmarks/hub.py set it)
TEST_LOGIN_ENV = "RNN_WIDGETS_HUB_TEST_LOGIN"
if os.environ.get(TEST_LOGIN_ENV) != "1":
    raise SystemExit(f"rnn-widgets: refusing to start {__file__}: it is a local test hub whose login takes any name "
                     f"with any password. Set {TEST_LOGIN_ENV}=1 to try the course on this machine; to teach, deploy "
                     "values.yaml with a real authenticator (docs/deploy-jupyterhub.md).")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# where repo2docker puts this repository in the image (--target-repo-dir); here it is the checkout
IMAGE_REPO_DIR = "/srv/rnn-widgets"

with open(HERE / "values.yaml") as f:
    VALUES = yaml.safe_load(f)
SINGLEUSER = VALUES["singleuser"]
CULL = VALUES["cull"]


def local_path(value: str) -> str:
    """A path in the image, as the same path in this checkout."""
    return value.replace(IMAGE_REPO_DIR, str(REPO))


c = get_config()  # noqa: F821 (defined by JupyterHub when it loads this file)

c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.authenticator_class = "dummy"  # the test login: only with RNN_WIDGETS_HUB_TEST_LOGIN=1 (above)
c.Authenticator.allow_all = True  # any name logs in (JupyterHub 5 wants this said explicitly)

# the proxy: on PATH, or installed next to this environment (`npm install --prefix $VIRTUAL_ENV ...`, as .ci/run does)
_proxy = shutil.which("configurable-http-proxy") or str(Path(sys.prefix) / "node_modules" / ".bin" /
                                                       "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [_proxy]

# Students: local processes in this Python environment (the image's environment on Kubernetes).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "/tmp/rnn-widgets-hub/{username}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
if hasattr(os, "getuid") and os.getuid() == 0:
    c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = SINGLEUSER["defaultUrl"]
c.Spawner.environment = {key: local_path(str(value)) for key, value in SINGLEUSER.get("extraEnv", {}).items()}
c.Spawner.start_timeout = SINGLEUSER.get("startTimeout", 60)
# Passed to the server as MEM_LIMIT, CPU_LIMIT ... as on Kubernetes; a local process spawner does not enforce them.
c.Spawner.mem_guarantee = SINGLEUSER["memory"]["guarantee"]
c.Spawner.mem_limit = SINGLEUSER["memory"]["limit"]
c.Spawner.cpu_guarantee = float(SINGLEUSER["cpu"]["guarantee"])
c.Spawner.cpu_limit = float(SINGLEUSER["cpu"]["limit"])


def copy_course_files(spawner) -> None:
    """Kubernetes runs values.yaml's postStart command in the student's container; here it runs before the start."""
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    command = [local_path(part) for part in SINGLEUSER["lifecycleHooks"]["postStart"]["exec"]["command"]]
    subprocess.run(command, check=True, env={**os.environ, "HOME": str(home)}, timeout=60)


c.Spawner.pre_spawn_hook = copy_course_files

# A stopped hub stops every student's server here (on Kubernetes the chart keeps them across hub restarts).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# The idle culler, as the chart starts it from values.yaml's `cull`: a hub service with only the scopes it needs.
if CULL.get("enabled"):
    cull_cmd = [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL['timeout']}",
                f"--cull-every={CULL['every']}", f"--concurrency={CULL.get('concurrency', 10)}"]
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    if CULL.get("users"):
        cull_cmd.append("--cull-users")
        scopes.append("admin:users")
    if CULL.get("maxAge"):
        cull_cmd.append(f"--max-age={CULL['maxAge']}")
    c.JupyterHub.services = [{"name": "jupyterhub-idle-culler", "command": cull_cmd}]
    c.JupyterHub.load_roles = [{"name": "jupyterhub-idle-culler", "scopes": scopes,
                                "services": ["jupyterhub-idle-culler"]}]

# --- Class polls (issue 27): rnn_widgets.polls.hub as a hub-managed service, as values.yaml's hub.services says ------
# Here it listens on 127.0.0.1 ($RNN_WIDGETS_POLLS_PORT, default 10101) and keeps its SQLite file beside the homes
# (or at $RNN_WIDGETS_POLLS_DB); the instructors are the members of values.yaml's group, which this local hub fills
# with the names in $RNN_WIDGETS_HUB_INSTRUCTORS (comma-separated; the dummy login then lets them in by name).
POLLS_NAME = "rnn-widgets-polls"
POLLS = VALUES["hub"]["services"][POLLS_NAME]
_polls_url = f"http://127.0.0.1:{int(os.environ.get('RNN_WIDGETS_POLLS_PORT', '10101'))}"
_polls_env = {key: local_path(str(value)) for key, value in POLLS.get("environment", {}).items()}
_polls_env.pop("RNN_WIDGETS_POLLS_BIND", None)  # listen where the url says
_polls_env["RNN_WIDGETS_POLLS_DB"] = os.environ.get("RNN_WIDGETS_POLLS_DB",
                                                    "sqlite:////tmp/rnn-widgets-hub/rnn-widgets-polls.sqlite")
Path("/tmp/rnn-widgets-hub").mkdir(exist_ok=True)
c.JupyterHub.services.append({"name": POLLS_NAME, "url": _polls_url, "command": [sys.executable, "-m", "rnn_widgets.polls.hub"],
                              "oauth_no_confirm": POLLS.get("oauth_no_confirm", True), "environment": _polls_env})
c.JupyterHub.load_roles.extend({"name": name, **role} for name, role in VALUES["hub"]["loadRoles"].items())
c.Spawner.server_token_scopes = VALUES["hub"]["config"]["Spawner"]["server_token_scopes"]
# the kernels find the service directly (on Kubernetes: the hub's Service, port 10101)
c.Spawner.environment["RNN_WIDGETS_POLL_URL"] = f"{_polls_url}/services/{POLLS_NAME}/"
_instructors = [name for name in os.environ.get("RNN_WIDGETS_HUB_INSTRUCTORS", "").split(",") if name.strip()]
if _instructors:
    c.JupyterHub.load_groups = {_polls_env.get("RNN_WIDGETS_POLL_INSTRUCTORS", "instructors"):
                                {"users": [name.strip() for name in _instructors]}}
