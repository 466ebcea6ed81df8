"""The class polls' service as a JupyterHub-managed service (issue 27).

JupyterHub starts ``python -m rnn_widgets.polls.hub`` with its service environment (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_SERVICE_URL``, ...): deploy/jupyterhub/jupyterhub_config.py and
values.yaml register it as ``rnn-widgets-polls``, at ``/services/rnn-widgets-polls/``.

* A student's kernel commits with its server's token (``Authorization: token $JUPYTERHUB_API_TOKEN``); the hub
  says whose token it is (:class:`jupyterhub.services.auth.HubOAuth`), and that name, never the request's body, is
  who committed. The token must carry ``access:services!service=rnn-widgets-polls`` (the config grants it).
* The instructor's view is reached in the browser through the hub's OAuth (the hub's login, then back here). Only
  members of the instructors group (``$RNN_WIDGETS_POLL_INSTRUCTORS``, default ``instructors``) see it; anyone else
  logged in gets 403. The service asks the hub for the group's members with its own token
  (scope ``read:groups!group=...``) and keeps the answer for :data:`GROUP_CACHE_S` seconds.
* The store: ``$RNN_WIDGETS_POLLS_DB`` (any SQLAlchemy URL), else SQLite in the service's working directory.
"""
from __future__ import annotations

import json
import os
import time
import urllib.parse

from .service import Service, handlers, serve_forever
from .store import Store

SERVICE_NAME = "rnn-widgets-polls"
INSTRUCTORS_ENV, DEFAULT_INSTRUCTORS = "RNN_WIDGETS_POLL_INSTRUCTORS", "instructors"
#: how long the instructors group's members are remembered (someone added to it is an instructor within this)
GROUP_CACHE_S = 30.0


class HubPolicy:
    """Who is asking, as the hub says: a user's token or the hub's OAuth cookie; instructors by group."""

    name = "hub"

    def __init__(self, hub_auth, group: str):
        self.hub_auth, self.group = hub_auth, group
        self._members: tuple[float, frozenset] = (0.0, frozenset())

    async def _user(self, handler) -> dict | None:
        from jupyterhub.services.auth import UserNotAllowed

        if hasattr(handler, "_polls_user"):
            return handler._polls_user
        model = await self.hub_auth.get_user(handler, sync=False)
        if model:
            try:
                model = handler.check_hub_user(model)
            except UserNotAllowed:
                model = None
        if model and model.get("kind", "user") != "user":
            model = None  # a service's token is nobody's answer
        handler._polls_user = model
        return model

    async def student(self, handler) -> str | None:
        model = await self._user(handler)
        return f"hub:{model['name']}" if model else None

    async def join(self, handler):
        model = await self._user(handler)
        return (f"hub:{model['name']}", None) if model else (None, None)

    async def members(self) -> frozenset:
        at, members = self._members
        if time.monotonic() - at < GROUP_CACHE_S:
            return members
        from tornado.httpclient import AsyncHTTPClient, HTTPClientError

        url = f"{self.hub_auth.api_url}/groups/{urllib.parse.quote(self.group)}"
        try:
            response = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {self.hub_auth.api_token}"},
                                                     request_timeout=10)
            members = frozenset(json.loads(response.body).get("users", []))
        except HTTPClientError as failed:
            if failed.code != 404:  # no such group: nobody is an instructor yet
                raise
            members = frozenset()
        self._members = (time.monotonic(), members)
        return members

    async def instructor(self, handler) -> str | None:
        model = await self._user(handler)
        if model and model["name"] in await self.members():
            return model["name"]
        return None

    async def login(self, handler) -> bool:
        """Send a visitor who is not logged in to the hub's login (True); False for one who is (gets 403)."""
        if await self._user(handler):
            return False
        handler.redirect(handler.get_login_url())
        return True

    def csrf(self, handler, who: str) -> str:
        token = handler.xsrf_token
        return token.decode() if isinstance(token, bytes) else token

    def check_csrf(self, handler, who: str) -> bool:
        # a cookie-authenticated POST was already checked against the page's _xsrf token by HubOAuth when it
        # identified the user (a request without it is not identified); a token in the header needs none
        return True


def make_hub_app(store: Store, prefix: str, group: str, hub_auth=None, **service_options):
    import tornado.web
    from jupyterhub.services.auth import (
        HubOAuth,
        HubOAuthCallbackHandler,
        HubOAuthenticated,
    )

    # the one HubOAuth of this process: the OAuth callback must use the instance that set the state cookie (PKCE)
    hub_auth = hub_auth or HubOAuth.instance(cache_max_age=60)
    service = Service(store, HubPolicy(hub_auth, group), **service_options)
    routes = []
    for pattern, cls, kwargs in handlers(prefix, service):
        if cls is not tornado.web.RedirectHandler:
            cls = type(cls.__name__, (HubOAuthenticated, cls), {"hub_auth": hub_auth})
        routes.append((pattern, cls, kwargs))
    routes.append((prefix + "oauth_callback", type("OAuthCallback", (HubOAuthCallbackHandler,), {"hub_auth": hub_auth})))
    # the cookie secret comes from the store's secret: the instructor's login survives a restart of the service
    app = tornado.web.Application(routes, cookie_secret=store.sign("cookie", "hub"), max_body_size=4 * 1024 * 1024)
    app.poll_service = service
    return app


def main() -> None:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    # where to listen: $RNN_WIDGETS_POLLS_BIND ("0.0.0.0:10101" in a pod, whose url names the hub's Service), else
    # the service's url as the hub gives it
    bind = urllib.parse.urlparse("//" + os.environ["RNN_WIDGETS_POLLS_BIND"] if os.environ.get("RNN_WIDGETS_POLLS_BIND")
                                 else os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    store = Store(os.environ.get("RNN_WIDGETS_POLLS_DB") or f"sqlite:///{os.path.abspath('rnn-widgets-polls.sqlite')}")
    group = os.environ.get(INSTRUCTORS_ENV) or DEFAULT_INSTRUCTORS

    app = make_hub_app(store, prefix, group, show_names=os.environ.get("RNN_WIDGETS_POLL_SHOW_NAMES") == "1")
    serve_forever(app, bind.port or 80, bind.hostname or "127.0.0.1",
                  f"rnn-widgets polls: hub service at {prefix} (listening on {bind.netloc}), store {store.url}, "
                  f"instructors: members of the hub group {group!r}")


if __name__ == "__main__":
    main()
