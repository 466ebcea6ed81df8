"""The deployed hub never opens with a test login (docs/deploy-jupyterhub.md); no hub is started here.

deploy/jupyterhub/values.yaml chooses no authenticator, and its hub.extraConfig snippet stops the hub when none is
chosen, when it is JupyterHub's dummy or null one, or when a REPLACE-ME placeholder is left. The snippet runs here
as the chart runs it: hub.config's sections go into a traitlets Config ``c``, then the extraConfig snippets are
executed in the order of their names. The local test hub (jupyterhub_config.py) starts only when
RNN_WIDGETS_HUB_TEST_LOGIN=1 asks for its any-password login.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "jupyterhub"
DOC = ROOT / "docs" / "deploy-jupyterhub.md"
VALUES = yaml.safe_load((DEPLOY / "values.yaml").read_text())
TEST_LOGIN_ENV = "RNN_WIDGETS_HUB_TEST_LOGIN"
# what the chart (4.x) itself sets under hub.config: the dummy login that values.yaml must replace
CHART_DEFAULTS = {"hub": {"config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}}}}


def helm_merge(base: dict, over: dict) -> dict:
    """Values files merged as Helm merges them: maps key by key, a later file wins, null removes a key."""
    merged = dict(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def start_hub_config(*overlays: dict) -> Config:
    """Run the chart's config steps that matter here on values.yaml plus ``overlays``; returns the hub's config.

    Raises SystemExit where the hub would refuse to start.
    """
    values = helm_merge(CHART_DEFAULTS, VALUES)
    for overlay in overlays:
        values = helm_merge(values, overlay)
    c = Config()
    for section, cfg in values["hub"].get("config", {}).items():
        c[section].update(cfg)
    for _, snippet in sorted(values["hub"].get("extraConfig", {}).items()):
        exec(snippet, {"c": c})
    return c


def login(authenticator, **sections) -> dict:
    """A my-course.yaml that sets ``authenticator`` and the given hub.config sections."""
    return {"hub": {"config": {"JupyterHub": {"authenticator_class": authenticator}, **sections}}}


def all_keys_and_strings(value):
    """Every key and every string value in a YAML tree."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from all_keys_and_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_keys_and_strings(item)
    elif isinstance(value, str):
        yield value


def doc_logins() -> dict[str, dict]:
    """The docs' my-course.yaml examples that choose an authenticator, by the authenticator they choose."""
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]
    return {b["hub"]["config"]["JupyterHub"]["authenticator_class"]: b for b in blocks
            if "authenticator_class" in yaml.safe_dump(b)}


def test_the_shipped_values_choose_no_test_login_and_hold_no_password():
    hub = VALUES["hub"]
    chosen = hub["config"]["JupyterHub"]["authenticator_class"]
    assert chosen and chosen.lower() not in {"dummy", "null"} and "REPLACE-ME" in chosen
    words = [w.lower() for w in all_keys_and_strings(hub["config"])]
    assert not any("dummy" in w or "password" in w for w in words), words


def test_the_hub_refuses_to_start_with_the_shipped_values():
    with pytest.raises(SystemExit) as refused:
        start_hub_config()
    message = str(refused.value.code)
    assert "refusing to start the hub: no authenticator is chosen" in message
    assert "docs/deploy-jupyterhub.md" in message and "LTI 1.3" in message


class DummyAuthenticator:  # stands in for jupyterhub.auth's, set as a class rather than a name
    pass


@pytest.mark.parametrize("authenticator", ["dummy", "null", "jupyterhub.auth.DummyAuthenticator",
                                           "jupyterhub.auth:NullAuthenticator", DummyAuthenticator,
                                           "tmp", "tmpauthenticator.TmpAuthenticator", "shared-password",
                                           "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
                                           "firstuseauthenticator.FirstUseAuthenticator"])
def test_the_hub_refuses_to_start_with_a_test_login(authenticator):
    with pytest.raises(SystemExit) as refused:
        start_hub_config(login(authenticator, DummyAuthenticator={"password": "a-shared-password"}))
    assert "a test login" in str(refused.value.code)


def test_the_check_runs_after_every_other_shipped_snippet():
    """The chart runs extraConfig snippets sorted by name: the check must come last to see what the others set."""
    snippets = sorted(VALUES["hub"]["extraConfig"])
    assert snippets[-1] == "~refuse-test-login"
    assert "~" > max("z", "Z", "9")  # any name of letters and digits sorts before it


def test_the_hub_refuses_to_start_when_a_values_file_removes_the_authenticator():
    with pytest.raises(SystemExit, match="no authenticator is chosen"):
        start_hub_config(login(None))


def test_the_docs_choose_lti_13_github_and_oidc_with_allow_rules_and_admins():
    logins = doc_logins()
    assert set(logins) == {"ltiauthenticator.lti13.auth.LTI13Authenticator", "github", "generic-oauth"}
    for name, values in logins.items():
        sections = {k: v for k, v in values["hub"]["config"].items() if k != "JupyterHub"}
        assert len(sections) == 1, name  # everything under the authenticator's own class
        settings = next(iter(sections.values()))
        assert {"allow_all", "allowed_users", "allowed_groups", "allowed_organizations"} & set(settings), name
        assert {"admin_users", "admin_groups"} & set(settings), name
        assert "client_id" in settings, name
    assert {"issuer", "authorize_url", "jwks_endpoint"} <= set(logins[
        "ltiauthenticator.lti13.auth.LTI13Authenticator"]["hub"]["config"]["LTI13Authenticator"])


@pytest.mark.parametrize("authenticator", sorted(doc_logins()))
def test_a_docs_example_starts_only_once_its_placeholders_are_replaced(authenticator):
    example = doc_logins()[authenticator]
    with pytest.raises(SystemExit) as refused:
        start_hub_config(example)
    message = str(refused.value.code)
    assert "placeholders are still in" in message
    secrets = [k for k in ("client_secret", "client_id") if k in yaml.safe_dump(example)]
    assert secrets and all(f".{k}" in message for k in secrets), message

    filled = yaml.safe_load(yaml.safe_dump(example).replace("REPLACE-ME", "course101"))
    c = start_hub_config(filled)  # no SystemExit: the hub would start
    assert c.JupyterHub.authenticator_class == authenticator


def test_the_local_test_hub_refuses_its_any_password_login_unless_asked_for(monkeypatch):
    monkeypatch.delenv(TEST_LOGIN_ENV, raising=False)
    with pytest.raises(SystemExit) as refused:
        PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()
    assert f"{TEST_LOGIN_ENV}=1" in str(refused.value.code) and "any password" in str(refused.value.code)

    monkeypatch.setenv(TEST_LOGIN_ENV, "1")
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()
    assert c.JupyterHub.authenticator_class == "dummy"


# the chart's own steps, as a config file: hub.config's sections into c, then the extraConfig snippets by name
CHART_LIKE_CONFIG = """import yaml
values = yaml.safe_load(open({values!r}))
c = get_config()
for section, cfg in values["hub"]["config"].items():
    c[section].update(cfg)
for key, snippet in sorted(values["hub"].get("extraConfig", {{}}).items()):
    exec(snippet)
"""


@pytest.mark.parametrize("config", ["the chart with values.yaml", "jupyterhub_config.py"])
def test_jupyterhub_stops_with_the_message_when_it_loads_the_config(config, tmp_path):
    """JupyterHub's own config loading (only that: nothing starts, even where the config would let it) exits."""
    pytest.importorskip("jupyterhub")
    if config == "jupyterhub_config.py":
        path, expected = DEPLOY / config, f"{TEST_LOGIN_ENV}=1"
    else:
        path, expected = tmp_path / "jupyterhub_config.py", "no authenticator is chosen"
        path.write_text(CHART_LIKE_CONFIG.format(values=str(DEPLOY / "values.yaml")))
    load = "import sys; from jupyterhub.app import JupyterHub; JupyterHub().load_config_file(sys.argv[1])"
    env = {k: v for k, v in os.environ.items() if k != TEST_LOGIN_ENV}
    run = subprocess.run([sys.executable, "-c", load, str(path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1 and run.stderr.startswith("rnn-widgets: refusing to start"), run.stderr
    assert expected in run.stderr and "docs/deploy-jupyterhub.md" in run.stderr
