"""The class polls' collection service: tornado handlers for students' commits and the instructor's view (issue 27).

The same handlers run in three places, each with its own way of knowing who is asking (a *policy*):

* in the gallery's Voila process (:func:`install_in_voila`) or a Jupyter server (the gallery's server extension),
  with :class:`KeyPolicy`: a page joins a poll and gets a signed anonymous id (its identity from then on); the
  instructor holds the store's instructor key (``rnn-widgets`` prints the view's address with it);
* standalone, ``python -m rnn_widgets.polls.service --db URL --port N`` (tests, benchmarks), with the same policy;
* on JupyterHub as a hub-managed service (:mod:`rnn_widgets.polls.hub`), where the hub's tokens and OAuth say who
  a student is and an instructors group who may see the view.

Routes, under a prefix (``/rnn-polls/`` in the gallery, ``/services/rnn-widgets-polls/`` on the hub):

========================================  ==========  =====================================================
``api/join``                              POST        a student: the open poll (and, in the gallery, a token)
``api/answers``                           POST        a student commits: stored / replaced, or refused
``""`` (the prefix itself)                GET         the instructor's view (HTML, polls every 2 s)
``api/polls``                             GET / POST  the instructor: the polls / open one
``api/polls/CODE``                        GET         the instructor: the poll's questions, drawn
``api/polls/CODE/close``, ``/reveal``     POST        the instructor: close it, reveal (or hide) a truth
``api/polls/CODE/answers.csv``            GET         the instructor: every answer as CSV
``api/health``                            GET         anyone: whether the service and its database answer
========================================  ==========  =====================================================

Every refusal is a JSON ``{"error": sentence}`` with its status: 400 invalid, 401 not identified, 403 not an
instructor, 404 no such poll, 409 replayed, 410 closed, 413 too large, 429 too many. Store calls run in a thread
pool, never on the event loop of the server they share (the gallery's pages keep answering).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import hmac
import html
import json
import secrets
import sys
import time

import tornado.web

from .store import Refused, Store, parse_json, validate_submission

#: commits one student may send in a minute (a class commits a few times a lecture; a loop is refused)
PER_STUDENT_PER_MINUTE = 20
#: requests one client address may send in a minute: a whole class behind one NAT commits at once
PER_CLIENT_PER_MINUTE = 3000
#: pages one client address may join a poll with in a minute (each join is a new anonymous id in the gallery): a
#: class of 300 behind one NAT joins at once, a script minting ids to stuff the poll is held to this
JOINS_PER_CLIENT_PER_MINUTE = 600
#: the most commits written in one transaction
BATCH = 100
#: how often the instructor's view asks for the poll again
REFRESH_MS = 2000


class RateLimit:
    """At most ``limit`` events per ``window`` seconds for each key (a sliding window)."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.events: dict[str, collections.deque] = {}
        self._last_sweep = clock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        if now - self._last_sweep > self.window:  # forget keys that went quiet, so memory stays bounded
            for k in [k for k, d in self.events.items() if not d or d[-1] < now - self.window]:
                del self.events[k]
            self._last_sweep = now
        times = self.events.setdefault(key, collections.deque())
        while times and times[0] < now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Service:
    """What the handlers share: the store, a policy, the rate limits and the thread pool for the store."""

    def __init__(self, store: Store, policy, per_student: int = PER_STUDENT_PER_MINUTE,
                 per_client: int = PER_CLIENT_PER_MINUTE, show_names: bool = False,
                 joins_per_client: int = JOINS_PER_CLIENT_PER_MINUTE):
        self.store, self.policy, self.show_names = store, policy, show_names
        self.students, self.clients = RateLimit(per_student), RateLimit(per_client)
        self.joins = RateLimit(min(per_client, joins_per_client))
        # SQLite has one writer at a time: one thread keeps its commits in order without "database is locked"
        workers = 1 if store.url.startswith("sqlite") else 8
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="rnn-polls")

        self._waiting: list = []  # (identity, submission, future) not yet handed to the store
        self._writing = False

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def submit(self, identity: str, submission) -> str:
        """Keep a commit: commits that arrive while the store writes wait and are written together, in one
        transaction (one sync to disk for a class committing at once); each is acknowledged once it is written."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((identity, submission, future))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                try:
                    results = await self.run(self.store.submit_many, [(who, sub) for who, sub, _ in batch])
                except Exception as failed:  # noqa: BLE001 - the database is down: every waiting request hears it
                    results = [failed] * len(batch)
                for (_, _, future), result in zip(batch, results):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._writing = False


def client_address(handler) -> str:
    from ..gallery_guard import client_of

    return client_of(handler.request.remote_ip or "", handler.request.headers.get("X-Forwarded-For"))


# --------------------------------------------------------------------------------------------------------------
# Who is asking: the gallery's policy (the hub's is rnn_widgets.polls.hub.HubPolicy)


def same(given: str, expected: str) -> bool:
    """A secret compared in constant time; any text may be given (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


class KeyPolicy:
    """No login: a page that joins an open poll gets an anonymous id signed by the store (``Authorization: Poll
    ID.SIGNATURE``), and the instructor is whoever holds the store's instructor key (``?key=`` once, then a
    cookie). Nobody can commit as another page without its token; the payload never says who is committing."""

    name = "key"
    COOKIE = "rnn_polls_instructor"

    def __init__(self, store: Store):
        self.store = store
        self.key = instructor_key(store)

    def issue(self) -> tuple[str, str]:
        anonymous = secrets.token_urlsafe(12)
        return f"page:{anonymous}", f"{anonymous}.{self.store.sign('page', anonymous)[:32]}"

    async def student(self, handler) -> str | None:
        scheme, _, token = (handler.request.headers.get("Authorization") or "").partition(" ")
        anonymous, _, signature = token.strip().partition(".")
        if scheme.lower() != "poll" or not anonymous or len(token) > 100:
            return None
        if not same(signature, self.store.sign("page", anonymous)[:32]):
            return None
        return f"page:{anonymous}"

    async def join(self, handler) -> tuple[str | None, str | None]:
        """(identity, token for the page) of a page joining: a fresh anonymous id."""
        return self.issue()

    def _cookie_value(self) -> str:
        return self.store.sign("instructor", self.key)

    async def instructor(self, handler) -> str | None:
        """"instructor" for the key's holder; None for anyone else (they get 403)."""
        key = handler.get_query_argument("key", None)
        if key is not None and same(key, self.key):
            handler.set_cookie(self.COOKIE, self._cookie_value(), path=handler.service_prefix, httponly=True,
                               samesite="Strict")
            handler._key_just_given = True
            return "instructor"
        cookie = handler.get_cookie(self.COOKIE) or ""
        return "instructor" if same(cookie, self._cookie_value()) else None

    def csrf(self, handler, who: str) -> str:
        return self.store.sign("csrf", who)[:32]

    def check_csrf(self, handler, who: str) -> bool:
        return same(handler.request.headers.get("X-XSRFToken") or "", self.csrf(handler, who))


def instructor_key(store: Store) -> str:
    """The store's instructor key (made once, kept in the database, so it survives restarts)."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from .store import Setting

    with Session(store.engine) as session:
        found = session.get(Setting, "instructor_key")
        if found is not None:
            return found.value
    try:
        with Session(store.engine) as session, session.begin():
            session.add(Setting(key="instructor_key", value=secrets.token_urlsafe(18)))
    except IntegrityError:
        pass  # another process made it at the same moment
    with Session(store.engine) as session:
        return session.get(Setting, "instructor_key").value


# --------------------------------------------------------------------------------------------------------------
# Handlers


class PollHandler(tornado.web.RequestHandler):
    """Common ground: JSON refusals, no caching, the service and its prefix."""

    def initialize(self, service: Service, prefix: str):
        self.service, self.service_prefix = service, prefix

    def check_xsrf_cookie(self):
        """Students are identified by a token header (no cookie, nothing to forge across sites); the instructor's
        POSTs are checked against the page's token in :meth:`instructor` (the hub's policy uses the hub's)."""

    def set_default_headers(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, Refused):
            message = exc.message
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            message = exc.log_message
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def refuse(self, status: int, message: str):
        raise Refused(status, message)

    def _handle_request_exception(self, e):
        if isinstance(e, Refused):
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            if e.status >= 500:
                self.log_exception(type(e), e, e.__traceback__)
            return
        super()._handle_request_exception(e)

    def json_body(self):
        return parse_json(self.request.body)

    def reply(self, value, status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))

    def limit(self, who: str | None = None):
        """Count this request against its client address (no ``who``), or against the student ``who``."""
        if who is None and not self.service.clients.allow(client_address(self)):
            self.set_header("Retry-After", "60")
            self.refuse(429, "Too many requests from your network in the last minute; wait a minute. "
                             "Nothing was stored.")
        if who is not None and not self.service.students.allow(who):
            self.set_header("Retry-After", "60")
            self.refuse(429, f"You committed more than {self.service.students.limit} times in a minute; wait a "
                             "minute and commit again. Nothing was stored.")

    async def student(self) -> str:
        who = await self.service.policy.student(self)
        if not who:
            self.refuse(401, "Your page is not identified to this poll (join the poll first, or log in again). "
                             "Nothing was stored.")
        return who

    async def instructor(self, page: bool = False) -> str:
        who = await self.service.policy.instructor(self)
        if not who:
            self.refuse(403, "Only the instructor may see this poll's answers.")
        if self.request.method not in ("GET", "HEAD") and not self.service.policy.check_csrf(self, who):
            self.refuse(403, "This request did not come from the instructor's page (its token is missing).")
        return who


class JoinHandler(PollHandler):
    async def post(self):
        self.limit()
        if not self.service.joins.allow(client_address(self)):
            self.set_header("Retry-After", "60")
            self.refuse(429, "Too many pages joined the poll from your network in the last minute; wait a minute.")
        body = self.json_body() if self.request.body else {}
        if not isinstance(body, dict):
            self.refuse(400, "The request is not a JSON object.")
        code = body.get("poll")
        policy = self.service.policy
        if code is None:
            poll = await self.service.run(self.service.store.current_poll)
            if poll is None:
                self.refuse(404, "No poll is open.")
        else:
            if not isinstance(code, str) or len(code) > 16:
                self.refuse(400, "The poll's code is not a short text.")
            poll = await self.service.run(self.service.store.poll, code)
        if not poll["open"]:
            self.refuse(410, f"Poll {poll['code']} is closed.")
        identity, token = await policy.join(self)
        if identity is None:
            self.refuse(401, "Log in to join the poll.")
        self.reply({"poll": poll["code"], "title": poll["title"], "show_names": poll["show_names"],
                    "token": token})


class AnswerHandler(PollHandler):
    async def post(self):
        self.limit()
        who = await self.student()
        self.limit(who)
        submission = validate_submission(self.json_body())
        result = await self.service.submit(who, submission)
        # the answer is committed to the database before this acknowledgement is sent
        self.reply({"ok": True, "result": result, "poll": submission.poll, "question_id": submission.question_id})


class HealthHandler(PollHandler):
    async def get(self):
        await self.service.run(self.service.store.current_poll)
        self.reply({"ok": True})


class PollsHandler(PollHandler):
    async def get(self):
        await self.instructor()
        self.reply({"polls": await self.service.run(self.service.store.polls)})

    async def post(self):
        await self.instructor()
        body = self.json_body() if self.request.body else {}
        title = body.get("title", "") if isinstance(body, dict) else ""
        if not isinstance(title, str):
            self.refuse(400, "The poll's title is not text.")
        poll = await self.service.run(self.service.store.open_poll, title[:200], self.service.show_names)
        self.reply(poll, 201)


class SummaryHandler(PollHandler):
    async def get(self, code):
        await self.instructor()
        self.reply(await self.service.run(self.service.store.summary, code))


class CloseHandler(PollHandler):
    async def post(self, code):
        await self.instructor()
        self.reply(await self.service.run(self.service.store.close_poll, code))


class RevealHandler(PollHandler):
    async def post(self, code):
        await self.instructor()
        body = self.json_body()
        if not (isinstance(body, dict) and isinstance(body.get("question_id"), str)
                and isinstance(body.get("revealed", True), bool)):
            self.refuse(400, "Say which question (question_id) and whether to reveal it (revealed: true/false).")
        await self.service.run(self.service.store.set_revealed, code, body["question_id"], body.get("revealed", True))
        self.reply({"ok": True})


class CsvHandler(PollHandler):
    async def get(self, code):
        await self.instructor()
        text = await self.service.run(self.service.store.csv, code)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="poll-{code}.csv"')
        self.finish(text)


class ViewHandler(PollHandler):
    async def get(self):
        who = await self.service.policy.instructor(self)
        if not who:
            login = getattr(self.service.policy, "login", None)
            if login is not None and await login(self):  # the hub: not logged in yet, sent to log in
                return
            self.refuse(403, "Only the instructor may see this poll's answers.")
        if getattr(self, "_key_just_given", False):  # the key leaves the address bar (and the history)
            self.redirect(self.service_prefix)
            return
        nonce = secrets.token_urlsafe(12)
        self.set_header("Content-Security-Policy", f"default-src 'self'; script-src 'nonce-{nonce}'; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'none'")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        config = {"prefix": self.service_prefix, "xsrf": self.service.policy.csrf(self, who), "refresh": REFRESH_MS}
        self.finish(VIEW_PAGE.replace("{{NONCE}}", nonce)
                    .replace("{{CONFIG}}", html.escape(json.dumps(config), quote=True)))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        message = exc.message if isinstance(exc, Refused) else self._reason
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Class poll</title></head>'
                    f'<body><h1>Class poll</h1><p role="alert">{html.escape(message)}</p></body></html>')


def handlers(prefix: str, service: Service) -> list[tuple]:
    """The service's routes under ``prefix`` (ending in /), for tornado's ``add_handlers``."""
    if not prefix.endswith("/"):
        prefix += "/"
    kw = {"service": service, "prefix": prefix}
    code = r"([A-Za-z0-9]{1,16})"
    return [
        (prefix + "api/join", JoinHandler, kw),
        (prefix + "api/answers", AnswerHandler, kw),
        (prefix + "api/health", HealthHandler, kw),
        (prefix + "api/polls", PollsHandler, kw),
        (prefix + f"api/polls/{code}", SummaryHandler, kw),
        (prefix + f"api/polls/{code}/close", CloseHandler, kw),
        (prefix + f"api/polls/{code}/reveal", RevealHandler, kw),
        (prefix + f"api/polls/{code}/answers.csv", CsvHandler, kw),
        (prefix, ViewHandler, kw),
        (prefix.rstrip("/"), tornado.web.RedirectHandler, {"url": prefix}),
    ]


def make_app(store: Store, prefix: str = "/", policy=None, **service_options) -> tornado.web.Application:
    service = Service(store, policy or KeyPolicy(store), **service_options)
    app = tornado.web.Application(handlers(prefix, service), max_body_size=4 * 1024 * 1024)
    app.poll_service = service
    return app


# --------------------------------------------------------------------------------------------------------------
# In the gallery's Voila process and in a Jupyter server

#: where the polls live under the gallery's address
GALLERY_PREFIX = "rnn-polls/"


def default_db() -> str:
    """``$RNN_WIDGETS_POLLS_DB``, else a SQLite file in Jupyter's data directory."""
    import os
    from pathlib import Path

    if os.environ.get("RNN_WIDGETS_POLLS_DB"):
        return os.environ["RNN_WIDGETS_POLLS_DB"]
    from jupyter_core.paths import jupyter_data_dir

    folder = Path(jupyter_data_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'rnn-widgets-polls.sqlite'}"


def gallery_service(db: str | None = None) -> Service:
    store = Store(db or default_db())
    return Service(store, KeyPolicy(store))


def install_in_voila(db: str | None = None, log=print) -> Service | None:
    """Add the polls' routes to the Voila app this process will start (wrapping ``Voila.init_handlers``).
    Returns the service, or None where this Voila has no such method (tested with 0.5.x)."""
    try:
        from voila.app import Voila
    except ImportError:
        return None
    if not hasattr(Voila, "init_handlers"):
        return None
    service = gallery_service(db)
    original = Voila.init_handlers

    def init_handlers(self):
        base = getattr(self, "base_url", "/") or "/"
        return handlers(base.rstrip("/") + "/" + GALLERY_PREFIX, service) + original(self)

    Voila.init_handlers = init_handlers
    log(f"rnn-widgets: class polls stored in {service.store.url}; the instructor's view is /{GALLERY_PREFIX}"
        f"?key={service.policy.key} on this gallery's address")
    return service


def add_to_server(web_app, base_url: str = "/", db: str | None = None) -> Service:
    """Add the polls' routes to a Jupyter server's tornado app (the gallery's server extension)."""
    service = gallery_service(db)
    web_app.add_handlers(".*$", handlers(base_url.rstrip("/") + "/" + GALLERY_PREFIX, service))
    return service


# --------------------------------------------------------------------------------------------------------------
# The instructor's view: one page, its script polls the summary every REFRESH_MS


VIEW_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class poll</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; line-height: 1.4; color: #111; }
h1 { font-size: 1.6em; } .code { font-size: 2.4em; letter-spacing: .15em; font-weight: bold; }
.question { border-top: 1px solid #999; margin-top: 1.5em; padding-top: .5em; }
svg text { font-size: 12px; fill: #111; } .bar { fill: #4a6fa5; } .bar.truth { fill: #1b7f3b; }
.truthline { stroke: #b00020; stroke-width: 3; stroke-dasharray: 6 3; }
button { font-size: 1em; margin-right: .5em; padding: .3em .8em; } #status { color: #555; }
</style></head>
<body>
<h1>Class poll</h1>
<p><span id="which"></span> <span class="code" id="code" aria-live="polite"></span></p>
<p><label>Title <input id="title" maxlength="200"></label> <button id="open">Open a new poll</button>
<button id="close">Close this poll</button> <a id="csv" href="#">Download the answers (CSV)</a></p>
<p><label>Poll <select id="polls"></select></label> <span id="status" role="status"></span></p>
<div id="questions"></div>
<script nonce="{{NONCE}}" id="config" type="application/json" data-config="{{CONFIG}}"></script>
<script nonce="{{NONCE}}">
"use strict";
const C = JSON.parse(document.getElementById("config").dataset.config);
let current = null, shown = null;
const $ = (id) => document.getElementById(id);
const api = async (path, opts = {}) => {
  const r = await fetch(C.prefix + path, { credentials: "same-origin", ...opts,
    headers: { "Content-Type": "application/json", "X-XSRFToken": C.xsrf, ...(opts.headers || {}) } });
  const body = r.headers.get("Content-Type")?.includes("json") ? await r.json() : {};
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
};
const el = (tag, attrs = {}, text = "") => {
  const n = tag === "svg" || ["rect", "line", "text", "g"].includes(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== "") n.textContent = text;
  return n;
};
const fmt = (x) => Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : +x.toPrecision(3) + "";
function chart(part, revealed) {
  const W = 560, H = 200, L = 40, B = 40;
  const svg = el("svg", { width: W, height: H + B, role: "img" });
  const bars = part.kind === "choice"
    ? part.bars.map((b) => ({ label: b.label, count: b.count, truth: b.truth }))
    : part.counts.map((n, i) => ({ label: fmt(part.edges[i]) + "–" + fmt(part.edges[i + 1]), count: n,
                                   truth: i === part.truth_bin }));
  const most = Math.max(1, ...bars.map((b) => b.count)), w = (W - L) / bars.length;
  bars.forEach((b, i) => {
    const h = (H - 20) * b.count / most, x = L + i * w;
    const cls = "bar" + (revealed && b.truth ? " truth" : "");
    const r = el("rect", { x: x + 2, y: H - h, width: w - 4, height: h, class: cls, "data-count": b.count });
    if (revealed && b.truth) r.setAttribute("data-truth", "true");
    svg.append(r, el("text", { x: x + w / 2, y: H - h - 4, "text-anchor": "middle" }, b.count ? b.count : ""));
    svg.append(el("text", { x: x + w / 2, y: H + 14 + (i % 2) * 13, "text-anchor": "middle" },
                  b.label.length > 18 ? b.label.slice(0, 17) + "…" : b.label));
  });
  if (revealed && part.kind === "number") {
    const lo = part.log ? Math.log10(part.edges[0]) : part.edges[0];
    const hi = part.log ? Math.log10(part.edges.at(-1)) : part.edges.at(-1);
    const t = part.log ? Math.log10(part.truth) : part.truth;
    const x = L + (W - L) * (t - lo) / (hi - lo || 1);
    svg.append(el("line", { x1: x, x2: x, y1: 0, y2: H, class: "truthline", "data-truth": part.truth }));
  }
  svg.setAttribute("aria-label", bars.map((b) => `${b.label}: ${b.count}`).join(", ") +
                   (revealed ? `; the truth is ${part.kind === "number" ? fmt(part.truth) : part.truth}` : ""));
  return svg;
}
function render(poll) {
  $("code").textContent = poll.code; $("which").textContent = poll.open ? "Join the poll:" : "Closed poll";
  $("csv").href = C.prefix + "api/polls/" + poll.code + "/answers.csv";
  const box = $("questions"); box.replaceChildren();
  if (!poll.questions.length) box.append(el("p", {}, "No answers yet."));
  for (const q of poll.questions) {
    const div = el("section", { class: "question", "data-question": q.question_id, "data-answers": q.answers,
                                "data-revealed": q.revealed });
    div.append(el("h2", {}, q.question_id), el("p", { class: "count" },
      `${q.answers} answer${q.answers === 1 ? "" : "s"}`));
    q.parts.forEach((part, i) => {
      if (q.parts.length > 1) div.append(el("h3", {}, "Part " + (i + 1)));
      div.append(chart(part, q.revealed));
      if (q.revealed) div.append(el("p", { class: "truth" },
        `Truth: ${part.kind === "number" ? fmt(part.truth) : part.truth} — ${part.within} of ${q.answers} ` +
        "within the tolerance" + (q.truth_agreeing < q.answers ? ` (${q.answers - q.truth_agreeing} page(s) reported another truth)` : "")));
    });
    if (q.names) div.append(el("p", {}, "Answered: " + q.names.join(", ")));
    const b = el("button", { class: "reveal" }, q.revealed ? "Hide the truth" : "Reveal the truth");
    b.addEventListener("click", () => act(`api/polls/${poll.code}/reveal`,
      { question_id: q.question_id, revealed: !q.revealed }));
    div.append(b); box.append(div);
  }
}
async function act(path, body) {
  try { const r = await api(path, { method: "POST", body: JSON.stringify(body || {}) }); await refresh(); return r; }
  catch (e) { $("status").textContent = e.message; }
}
async function refresh() {
  try {
    const { polls } = await api("api/polls");
    const sel = $("polls"), keep = current;
    sel.replaceChildren(...polls.map((p) => el("option", { value: p.code }, `${p.code} ${p.title} ${p.open ? "(open)" : ""}`)));
    current = keep && polls.some((p) => p.code === keep) ? keep : (polls[0] || {}).code || null;
    if (current) {
      sel.value = current;
      const poll = await api("api/polls/" + current), text = JSON.stringify(poll);
      if (text !== shown) { shown = text; render(poll); }  // unchanged: the page (and the focus) stays as it is
    }
    $("status").textContent = "Updated " + new Date().toLocaleTimeString();
  } catch (e) { $("status").textContent = "Could not update: " + e.message; }
}
$("polls").addEventListener("change", (e) => { current = e.target.value; refresh(); });
$("open").addEventListener("click", async () => {
  const p = await act("api/polls", { title: $("title").value }); if (p) { current = p.code; refresh(); } });
$("close").addEventListener("click", () => current && act(`api/polls/${current}/close`));
refresh(); setInterval(refresh, C.refresh);
</script></body></html>
"""


# --------------------------------------------------------------------------------------------------------------
# Standalone


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="The class polls' service on its own (rnn-widgets, issue 27)")
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in Jupyter's data directory)")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8870)
    parser.add_argument("--prefix", default="/")
    parser.add_argument("--show-names", action="store_true", help="the view shows who answered")
    parser.add_argument("--per-student", type=int, default=PER_STUDENT_PER_MINUTE, help="commits a minute per student")
    parser.add_argument("--per-client", type=int, default=PER_CLIENT_PER_MINUTE, help="requests a minute per address")
    parser.add_argument("--joins-per-client", type=int, default=JOINS_PER_CLIENT_PER_MINUTE,
                        help="joins a minute per address")
    args = parser.parse_args(argv)
    store = Store(args.db or default_db())

    app = make_app(store, args.prefix, show_names=args.show_names, per_student=args.per_student,
                   per_client=args.per_client, joins_per_client=args.joins_per_client)
    serve_forever(app, args.port, args.ip,
                  f"rnn-widgets polls: serving on http://{args.ip}:{args.port}{args.prefix} (store {store.url}); "
                  f"instructor's view: http://{args.ip}:{args.port}{args.prefix}?key={app.poll_service.policy.key}")


def serve_forever(app, port: int, host: str, banner: str) -> None:
    """Listen on ``host:port``, print ``banner``, serve until interrupted (the standalone and the hub service)."""
    async def serve():
        app.listen(port, host)
        print(banner, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
