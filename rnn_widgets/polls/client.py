"""The kernel's side of a class poll: a :class:`~rnn_widgets.answers.Receiver` that sends committed answers to the
poll's service (issue 27).

Opt-in: nothing is registered until :func:`join` finds an open poll. Then every
:class:`~rnn_widgets.widgets.question.Question` shows the receiver's notice beside its Commit button ("Your answer is
shared anonymously with your instructor (poll ABC123).") and hands each commit to :meth:`PollReceiver.receive`,
which posts it and returns a sentence for the student. A service that is down, slow (over :data:`TIMEOUT` s) or
refusing gives the student that sentence; it never raises, and the question reveals regardless.

Where the service is: ``url``, else ``$RNN_WIDGETS_POLL_URL`` (the hub's config and the gallery set it for the
kernels they start). Who the student is: on JupyterHub the kernel's ``$JUPYTERHUB_API_TOKEN`` (the hub says whose
it is); in the gallery the signed anonymous id the service gave this page when it joined. The request never names
the student.

Only the standard library: a kernel imports nothing more for this.
"""
from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request

from .. import answers

#: seconds a commit waits for the service before telling the student it could not be reached
TIMEOUT = 5.0
URL_ENV = "RNN_WIDGETS_POLL_URL"
#: "1" (the hub's setting): a kernel joins the poll that is open, without a code (see :func:`autojoin`)
AUTO_ENV = "RNN_WIDGETS_POLL_AUTO"


class PollError(Exception):
    """The poll's service could not be reached, or refused: ``message`` is a sentence for the student."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message, self.status = message, status


def _request(url: str, path: str, body: dict | None, headers: dict, timeout: float = TIMEOUT) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(urllib.parse.urljoin(url, path), data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        try:
            message = json.loads(refused.read() or b"{}").get("error") or refused.reason
        except ValueError:
            message = refused.reason
        raise PollError(str(message), refused.code) from None
    except (OSError, ValueError) as down:  # refused connection, timeout, DNS, a page that is not JSON
        raise PollError(f"the class poll could not be reached ({type(down).__name__})") from None


def _auth_headers(token: str | None) -> dict:
    hub_token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if token:
        return {"Authorization": f"Poll {token}"}
    if hub_token:
        return {"Authorization": f"token {hub_token}"}
    return {}


def _plain(value):
    """A value as JSON carries it: a choice's text as it is, a number (numpy's or torch's too) as a float."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


class PollReceiver:
    """Hands committed answers to poll ``code`` of the service at ``url``."""

    def __init__(self, url: str, code: str, token: str | None = None, show_names: bool = False,
                 timeout: float = TIMEOUT):
        self.url = url if url.endswith("/") else url + "/"
        self.code, self.token, self.timeout, self.show_names = code, token, timeout, show_names
        self.notice = (f"Your answer and your name are shared with your instructor (poll {code})." if show_names
                       else f"Your answer is shared anonymously with your instructor (poll {code}).")

    def payload(self, answer: answers.CommittedAnswer) -> dict:
        return {"poll": self.code, "question_id": str(answer.question_id),
                "entries": [_plain(v) for v in answer.entries], "truths": [_plain(v) for v in answer.truths], "correct": [bool(c) for c in answer.correct],
                "nonce": secrets.token_urlsafe(16)}

    def receive(self, answer: answers.CommittedAnswer) -> str:
        """Send ``answer``; a sentence for the student either way (never raises)."""
        try:
            reply = _request(self.url, "api/answers", self.payload(answer), _auth_headers(self.token), self.timeout)
        except PollError as failed:
            if failed.status == 410:  # the instructor closed the poll: stop sharing, say so
                answers.remove_receiver(self)
            return f"Your answer was not shared with the class poll: {failed.message.rstrip('.')}."
        except Exception as failed:  # noqa: BLE001 - whatever happens, the student gets a sentence, never a traceback
            return f"Your answer was not shared with the class poll ({type(failed).__name__})."
        if reply.get("result") == "replaced":
            return f"Shared with poll {self.code}: it replaces your earlier answer to this question."
        return f"Shared with poll {self.code}."


def join(code: str | None = None, url: str | None = None, timeout: float = TIMEOUT,
         quiet: bool = False) -> PollReceiver | None:
    """Join poll ``code`` (None: the poll that is open, on the hub) of the service at ``url`` (default
    ``$RNN_WIDGETS_POLL_URL``) and register its receiver; returns it, or None when there is no open poll to join
    or the service cannot be reached (the reason is printed unless ``quiet``; nothing is registered, nothing will be
    sent)."""
    url = url or os.environ.get(URL_ENV)
    if not url:
        print("rnn-widgets: no class poll service is configured (RNN_WIDGETS_POLL_URL); answers stay here.")
        return None
    url = url if url.endswith("/") else url + "/"
    body = {} if code is None else {"poll": code.strip().upper()}
    try:
        reply = _request(url, "api/join", body, _auth_headers(None), timeout)
    except PollError as failed:
        if not quiet:
            print(f"rnn-widgets: not joined to a class poll: {failed.message}")
        return None
    leave()
    receiver = PollReceiver(url, reply["poll"], reply.get("token"), bool(reply.get("show_names")), timeout)
    answers.add_receiver(receiver)
    return receiver


def leave() -> None:
    """Stop sharing: unregister every poll receiver of this kernel."""
    for receiver in answers.receivers():
        if isinstance(receiver, PollReceiver):
            answers.remove_receiver(receiver)


def autojoin() -> PollReceiver | None:
    """Join without asking the student: on a hub that sets ``$RNN_WIDGETS_POLL_AUTO=1`` the open poll, in a Voila
    page opened with ``?poll=CODE`` that poll. Otherwise (and when nothing is open) nothing happens."""
    if not os.environ.get(URL_ENV):
        return None
    query = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""))
    code = (query.get("poll") or [None])[0]
    if code:
        return join(code)
    if os.environ.get(AUTO_ENV) == "1":
        return join(None, quiet=True)  # no poll open is the usual case: the page says nothing
    return None
