"""Class polls (issue 27): the store, the service and the kernel's receiver, on SQLite.

The store's tests (``test_store_*``) run again against a real PostgreSQL server in tests/test_polls_postgres.py,
which imports them. The service runs as its own process (``python -m rnn_widgets.polls.service``), as in class: a
test kills it with SIGKILL while students commit and restarts it, and every answer it acknowledged is still there.
"""
from __future__ import annotations

import html
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rnn_widgets import answers
from rnn_widgets.polls import client
from rnn_widgets.polls.store import (
    SCHEMA_VERSION,
    Refused,
    Store,
    migrate,
    parse_json,
    schema_version,
    validate_submission,
)

ROOT = Path(__file__).resolve().parents[1]


def nonce() -> str:
    return secrets.token_urlsafe(16)


def submission(code: str, question: str = "05_gradient_flow/1", entries=(2.0,), truths=(241.0,), correct=(False,),
               **extra) -> dict:
    return {"poll": code, "question_id": question, "entries": list(entries), "truths": list(truths),
            "correct": list(correct), "nonce": nonce(), **extra}


# --------------------------------------------------------------------------------------------------------------
# Validation (no database)


@pytest.mark.parametrize("field, value, says", [
    ("entries", [{"x": 1}], "a number or the text of a choice"),
    ("entries", [[1.0]], "a number or the text of a choice"),
    ("entries", [None], "a number or the text of a choice"),
    ("entries", [True], "true/false"),
    ("entries", ["   "], "empty"),
    ("entries", ["x" * 201], "longer than 200"),
    ("entries", [1e301], "larger than"),
    ("entries", ["tanh"], "not of one kind"),       # a text where the truth is a number
    ("entries", [1.0, 2.0], "one entry, truth and verdict each"),
    ("entries", "2.0", "must be lists"),
    ("correct", ["yes"], "true or false"),
    ("question_id", "", "question's id"),
    ("question_id", "05/1; DROP TABLE answers", "question's id"),
    ("poll", "abc", "poll's code"),
    ("nonce", "short", "nonce"),
])
def test_validation_refuses_each_bad_field_with_a_sentence(field, value, says):
    payload = submission("ABCDEF")
    payload[field] = value
    with pytest.raises(Refused) as refused:
        validate_submission(payload)
    assert refused.value.status == 400 and says in refused.value.message
    assert refused.value.message.endswith("Nothing was stored.")


@pytest.mark.parametrize("name", ["student", "user", "name", "username"])
def test_a_payload_that_names_a_student_is_refused(name):
    with pytest.raises(Refused, match="who you are comes from your login"):
        validate_submission(submission("ABCDEF", **{name: "grace"}))


@pytest.mark.parametrize("text, status", [
    (b'{"entries": [NaN]}', 400), (b'{"entries": [Infinity]}', 400), (b'{"entries": [-Infinity]}', 400),
    (b"not json", 400), (b"\xff\xfe", 400), (b"[" * 15_000, 400),
    (json.dumps({"entries": ["x" * 1_000_000]}).encode(), 413),
])
def test_nan_infinity_garbage_and_a_megabyte_are_refused_before_anything_else(text, status):
    with pytest.raises(Refused) as refused:
        parse_json(text)
    assert refused.value.status == status


def test_a_number_beyond_a_float_is_refused():
    payload = parse_json(json.dumps(submission("ABCDEF")).replace("2.0", "1e999").encode())  # read as inf
    with pytest.raises(Refused, match="not a finite number"):
        validate_submission(payload)


def test_numbers_and_choices_pass():
    ok = validate_submission(submission("ABCDEF", entries=[3, "tanh"], truths=[2.5, "ReLU"], correct=[False, False]))
    assert ok.entries == (3.0, "tanh") and ok.truths == (2.5, "ReLU")


# --------------------------------------------------------------------------------------------------------------
# The store (also run on PostgreSQL by tests/test_polls_postgres.py, with its own `store` fixture)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'polls.sqlite'}")
    yield s
    s.close()


def test_store_one_current_answer_per_student_and_a_recommit_replaces_it(store):
    code = store.open_poll("lecture 5")["code"]
    assert store.submit("ada", validate_submission(submission(code, entries=[2.0]))) == "stored"
    assert store.submit("grace", validate_submission(submission(code, entries=[300.0]))) == "stored"
    assert store.submit("ada", validate_submission(submission(code, entries=[240.0], correct=[True]))) == "replaced"
    rows = store.answers(code)
    assert len(rows) == 2 and store.count(code) == 2
    ada = [r for r in rows if r["student"] == store.pseudonym("ada")]
    assert ada[0]["entries"] == [240.0] and ada[0]["commits"] == 2
    # nobody's name is kept in a poll that does not show names: the pseudonym only
    assert all(r["name"] is None and "ada" not in r["student"] for r in rows)


def test_store_refuses_a_replayed_request_and_stores_nothing_of_it(store):
    code = store.open_poll()["code"]
    first = validate_submission(submission(code, entries=[1.0]))
    store.submit("ada", first)
    replay = validate_submission({**submission(code, entries=[5.0]), "nonce": first.nonce})
    with pytest.raises(Refused) as refused:
        store.submit("ada", replay)
    assert refused.value.status == 409 and "replayed" in refused.value.message
    assert [r["entries"] for r in store.answers(code)] == [[1.0]]
    assert store.answers(code)[0]["commits"] == 1


def test_store_refuses_a_closed_or_unknown_poll(store):
    code = store.open_poll()["code"]
    store.close_poll(code)
    with pytest.raises(Refused) as closed:
        store.submit("ada", validate_submission(submission(code)))
    assert closed.value.status == 410
    with pytest.raises(Refused) as unknown:
        store.submit("ada", validate_submission(submission("ZZZZZZ")))
    assert unknown.value.status == 404
    assert store.count() == 0 and store.current_poll() is None


def test_store_summary_draws_numbers_and_choices_with_the_truth(store):
    code = store.open_poll()["code"]
    for who, guess in [("a", 1.0), ("b", 10.0), ("c", 240.0), ("d", 1000.0)]:
        store.submit(who, validate_submission(submission(code, entries=[guess], truths=[241.0])))
    # one page reporting another truth is outvoted
    store.submit("e", validate_submission(submission(code, entries=[5.0], truths=[7.0])))
    for who, choice in [("a", "tanh"), ("b", "ReLU"), ("c", "tanh")]:
        store.submit(who, validate_submission(submission(code, "05_gradient_flow/5", [choice], ["tanh"], [True])))
    store.set_revealed(code, "05_gradient_flow/1", True)
    summary = store.summary(code)
    numbers, choices = summary["questions"]
    assert numbers["question_id"] == "05_gradient_flow/1" and numbers["answers"] == 5 and numbers["revealed"]
    hist = numbers["parts"][0]
    assert hist["kind"] == "number" and hist["truth"] == 241.0 and numbers["truth_agreeing"] == 4
    assert hist["log"] and sum(hist["counts"]) == 5  # 1 to 1000: three decades, drawn on a log scale
    assert hist["edges"][hist["truth_bin"]] <= 241.0 <= hist["edges"][hist["truth_bin"] + 1]
    assert choices["answers"] == 3 and not choices["revealed"]
    assert {b["label"]: (b["count"], b["truth"]) for b in choices["parts"][0]["bars"]} == {
        "tanh": (2, True), "ReLU": (1, False)}
    assert "names" not in numbers


def test_store_csv_names_nobody_unless_the_poll_shows_names(store):
    hidden = store.open_poll()["code"]
    shown = store.open_poll(show_names=True)["code"]
    for code in (hidden, shown):
        store.submit("hub:ada", validate_submission(submission(code, entries=["=HYPERLINK(1)"], truths=["x"])))
    assert "ada" not in store.csv(hidden)
    assert "'=HYPERLINK(1)" in store.csv(hidden)  # a spreadsheet reads it as text, not as a formula
    assert "hub:ada" in store.csv(shown) and store.summary(shown)["questions"][0]["names"] == ["hub:ada"]


def test_store_writes_a_batch_in_order_and_refuses_items_of_it_alone(store):
    code, closed = store.open_poll()["code"], store.open_poll()["code"]
    store.close_poll(closed)
    first = validate_submission(submission(code, entries=[1.0]))
    again = validate_submission(submission(code, entries=[2.0]))
    results = store.submit_many([("ada", first), ("grace", validate_submission(submission(closed))),
                                 ("ada", again), ("ada", first),  # a re-commit, then a replay within the batch
                                 ("alan", validate_submission(submission("ZZZZZZ"))),
                                 ("alan", validate_submission(submission(code, entries=[3.0])))])
    assert results[0] == "stored" and results[2] == "replaced" and results[5] == "stored"
    assert [r.status for r in (results[1], results[3], results[4])] == [410, 409, 404]
    kept = {r["student"]: (r["entries"], r["commits"]) for r in store.answers(code)}
    assert kept == {store.pseudonym("ada"): ([2.0], 2), store.pseudonym("alan"): ([3.0], 1)}
    assert store.count() == 2
    with pytest.raises(Refused) as replayed:  # the batch's nonces are kept like any other
        store.submit("ada", again)
    assert replayed.value.status == 409


def test_store_keeps_every_answer_of_a_class_committing_at_once(store):
    code = store.open_poll()["code"]
    errors = []

    def commit(i):
        try:
            store.submit(f"student{i}", validate_submission(submission(code, entries=[float(i)])))
            store.submit(f"student{i}", validate_submission(submission(code, entries=[float(i) + 0.5])))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = store.answers(code)
    assert len(rows) == 40 and sorted(r["entries"][0] for r in rows) == [i + 0.5 for i in range(40)]


def test_store_migrates_version_by_version_and_keeps_the_data(store_url_factory):
    import sqlalchemy as sa

    from rnn_widgets.polls.store import make_engine

    url = store_url_factory()
    engine = make_engine(url)
    assert migrate(engine, upto=1) == 1
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO polls (code, title, show_names, opened_at) "
                             "VALUES ('OLDONE', 'v1', false, 0)"))
        assert not sa.inspect(conn).has_table("nonces")
    engine.dispose()
    store = Store(url)  # migrates to the last version
    try:
        assert schema_version(store.engine) == SCHEMA_VERSION == 2
        assert store.poll("OLDONE")["title"] == "v1"
        store.open_poll()
        assert migrate(store.engine) == SCHEMA_VERSION  # nothing left to do
    finally:
        store.close()


@pytest.fixture
def store_url_factory(tmp_path):
    return lambda: f"sqlite:///{tmp_path / 'migrated.sqlite'}"


# --------------------------------------------------------------------------------------------------------------
# The service, as its own process


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


NO_REDIRECTS = urllib.request.build_opener(_NoRedirects)


class Running:
    """A service process: its URL, the instructor's key, and a way to call it."""

    def __init__(self, db: str, *args: str):
        self.db, self.args = db, args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.start()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.polls.service", "--db", self.db, "--port",
                                      str(self.port), *self.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        line = self.proc.stdout.readline()
        assert "instructor's view" in line, line + self.proc.stdout.read()
        self.key = line.rsplit("?key=", 1)[1].strip()
        self.xsrf = None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def call(self, method, path, body=None, headers=None, raw: bytes | None = None, timeout=10):
        """(status, JSON or text) of one request; redirects are not followed (``self.headers`` has the reply's)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with NO_REDIRECTS.open(req, timeout=timeout) as r:
                text, self.headers = r.read(), r.headers
                status = r.status
        except urllib.error.HTTPError as e:
            text, self.headers, status = e.read(), e.headers, e.code
        kind = self.headers.get("Content-Type") or ""
        return status, (json.loads(text) if "json" in kind else text.decode())

    def instructor_headers(self) -> dict:
        """What the instructor's browser holds after opening the view with ?key=: its cookie and the page's token."""
        if self.xsrf is None:
            status, _ = self.call("GET", f"?key={self.key}")
            assert status == 302 and self.headers["Location"] == "/", status  # the key leaves the address bar
            cookie = self.headers["Set-Cookie"].split(";")[0]
            assert "HttpOnly" in self.headers["Set-Cookie"] and "SameSite=Strict" in self.headers["Set-Cookie"]
            status, page = self.call("GET", "", headers={"Cookie": cookie})
            assert status == 200 and "Class poll" in page, page
            config = json.loads(html.unescape(re.search(r'data-config="([^"]*)"', page).group(1)))
            self.xsrf = (cookie, config["xsrf"])
        return {"Cookie": self.xsrf[0], "X-XSRFToken": self.xsrf[1], "Content-Type": "application/json"}

    def open_poll(self, title="") -> str:
        status, poll = self.call("POST", "api/polls", {"title": title}, self.instructor_headers())
        assert status == 201, poll
        return poll["code"]

    def join(self, code) -> str:
        status, joined = self.call("POST", "api/join", {"poll": code})
        assert status == 200, joined
        return joined["token"]

    def commit(self, token, body, raw=None):
        return self.call("POST", "api/answers", body, {"Authorization": f"Poll {token}",
                                                       "Content-Type": "application/json"}, raw=raw)

    def summary(self, code):
        status, summary = self.call("GET", f"api/polls/{code}", headers=self.instructor_headers())
        assert status == 200, summary
        return summary


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('polls') / 'polls.sqlite'}"
    running = Running(db, "--per-student", "5")
    yield running
    running.stop()


def test_three_students_commit_and_the_instructor_sees_them_with_the_truth(service):
    code = service.open_poll("lecture 5")
    for guess in (2.0, 240.0, 1e4):
        status, reply = service.commit(service.join(code), submission(code, entries=[guess]))
        assert status == 200 and reply["result"] == "stored", reply
    question = service.summary(code)["questions"][0]
    assert question["answers"] == 3 and not question["revealed"]
    status, _ = service.call("POST", f"api/polls/{code}/reveal", {"question_id": question["question_id"]},
                             service.instructor_headers())
    assert status == 200
    part = service.summary(code)["questions"][0]["parts"][0]
    assert part["truth"] == 241.0 and sum(part["counts"]) == 3
    status, csv_text = service.call("GET", f"api/polls/{code}/answers.csv", headers=service.instructor_headers())
    assert status == 200 and csv_text.count(code) == 3
    # the view's page, for the instructor (the key once, then the cookie): it names nobody
    status, page = service.call("GET", "", headers=service.instructor_headers())
    assert status == 200 and "Class poll" in page and service.key not in page
    assert "Content-Security-Policy" in service.headers and "script-src 'nonce-" in service.headers["Content-Security-Policy"]


def test_a_student_gets_403_on_the_view_and_on_every_instructors_route(service):
    code = service.open_poll()
    token = service.join(code)
    student = {"Authorization": f"Poll {token}", "Content-Type": "application/json"}
    for method, path, body in [("GET", "", None), ("GET", "api/polls", None), ("GET", f"api/polls/{code}", None),
                               ("GET", f"api/polls/{code}/answers.csv", None), ("POST", "api/polls", {}),
                               ("POST", f"api/polls/{code}/close", {}), ("GET", "?key=wrong", None),
                               ("POST", f"api/polls/{code}/reveal", {"question_id": "x"})]:
        status, reply = service.call(method, path, body, student)
        assert status == 403, (method, path, reply)
    # a wrong key, a forged cookie or page token in any characters: 403 (never a 500)
    for headers, path in [({}, "?key=%C3%A9t%C3%A9"), ({"Cookie": "rnn_polls_instructor=\u00e9"}, ""),
                          ({"Authorization": "Poll \u00e9.\u00e9"}, "api/polls")]:
        assert service.call("GET", path, headers={k: v.encode().decode("latin-1") for k, v in headers.items()})[0] == 403
    headers = {**service.instructor_headers(), "X-XSRFToken": "\u00e9".encode().decode("latin-1")}
    assert service.call("POST", f"api/polls/{code}/close", {}, headers)[0] == 403
    status, reply = service.commit("\u00e9.\u00e9".encode().decode("latin-1"), submission(code))
    assert status == 401
    # the instructor's cookie without the page's token cannot act (a forged cross-site request)
    cookie_only = {"Cookie": service.instructor_headers()["Cookie"], "Content-Type": "application/json"}
    assert service.call("POST", f"api/polls/{code}/close", {}, cookie_only)[0] == 403
    assert service.summary(code)["open"]


def test_bad_input_is_refused_with_a_clear_status_nothing_stored_and_the_service_alive(service):
    code = service.open_poll()
    good = submission(code)
    cases = {
        "a text where a number goes": (submission(code, entries=["two hundred"]), None, 400),
        "a list as a number": (submission(code, entries=[[1, 2]]), None, 400),
        "NaN": (None, json.dumps(good).replace("2.0", "NaN").encode(), 400),
        "Infinity": (None, json.dumps(good).replace("2.0", "Infinity").encode(), 400),
        "a 1 MB string": (submission(code, entries=["x" * 1_000_000], truths=["x"]), None, 413),
        "another user's name": (submission(code, student="grace"), None, 400),
        "another user's name as user": (submission(code, user="hub:grace"), None, 400),
        "not JSON": (None, b"entries=1", 400),
        "python to run": (submission(code, entries=["__import__('os').system('touch /tmp/pwned')"], truths=["x"]),
                          None, 200),  # text is only stored as text, and only if it is a choice: never run
    }
    before = service.summary(code)["questions"]
    assert before == []
    for what, (body, raw, expected) in cases.items():
        status, reply = service.commit(service.join(code), body, raw=raw)  # a student each: within the rate limit
        assert status == expected, (what, status, reply)
        if expected != 200:
            assert reply["error"] and "Nothing was stored" in reply["error"], (what, reply)
    # a replayed request: the same body twice
    token = service.join(code)
    replayed = submission(code, question="replay/1")
    assert service.commit(token, replayed)[0] == 200
    status, reply = service.commit(token, replayed)
    assert status == 409 and "replayed" in reply["error"]
    # a forged or missing token: not identified
    for bad in ("x.y", token.split(".")[0] + ".0000", "", "a" * 200):
        status, reply = service.commit(bad, submission(code))
        assert status == 401, (bad, reply)
    questions = {q["question_id"]: q["answers"] for q in service.summary(code)["questions"]}
    assert questions == {"05_gradient_flow/1": 1, "replay/1": 1}  # the harmless text, and the replay's first
    assert not Path("/tmp/pwned").exists()
    assert service.call("GET", "api/health")[0] == 200 and service.proc.poll() is None


def test_a_student_committing_in_a_loop_is_rate_limited_and_the_excess_not_stored(service):
    code = service.open_poll()
    token = service.join(code)
    statuses = [service.commit(token, submission(code, entries=[float(i)]))[0] for i in range(7)]
    assert statuses == [200] * 5 + [429] * 2  # --per-student 5
    entry = service.summary(code)["questions"][0]["parts"][0]
    assert sum(entry["counts"]) == 1 and service.call("GET", "api/health")[0] == 200
    # another student is not held up
    assert service.commit(service.join(code), submission(code))[0] == 200


def test_one_address_joining_in_a_loop_and_flooding_are_rate_limited(tmp_path):
    running = Running(f"sqlite:///{tmp_path / 'limits.sqlite'}", "--per-client", "12", "--joins-per-client", "4")
    try:
        code = running.open_poll()
        joins = [running.call("POST", "api/join", {"poll": code}) for _ in range(5)]
        assert [status for status, _ in joins] == [200] * 4 + [429]  # a script minting ids: 4 a minute here
        assert "joined the poll from your network" in joins[-1][1]["error"]
        token = joins[0][1]["token"]
        # the students' requests from one address: 12 a minute here (the 5 joins, then 7 commits), 429 beyond
        statuses = [running.commit(token, submission(code, entries=[float(i)]))[0] for i in range(8)]
        assert statuses == [200] * 7 + [429]
        status, reply = running.commit(token, submission(code))
        assert status == 429 and "Too many requests from your network" in reply["error"]
        assert running.summary(code)["questions"][0]["answers"] == 1 and running.proc.poll() is None
    finally:
        running.stop()


def test_kill_9_mid_class_loses_no_acknowledged_answer(tmp_path):
    running = Running(f"sqlite:///{tmp_path / 'class.sqlite'}")
    try:
        code = running.open_poll()
        tokens = [running.join(code) for _ in range(40)]
        acknowledged: dict[str, float] = {}
        lock = threading.Lock()
        stop = threading.Event()

        def student(i):
            n = 0
            while not stop.is_set():
                n += 1
                value = float(i * 1000 + n)
                try:
                    status, _ = running.commit(tokens[i], submission(code, entries=[value]))
                except OSError:
                    return  # the service is gone: what was acknowledged before counts
                if status == 200:
                    with lock:
                        acknowledged[tokens[i]] = value
                time.sleep(0.01)

        threads = [threading.Thread(target=student, args=(i,)) for i in range(len(tokens))]
        for t in threads:
            t.start()
        time.sleep(2.0)
        running.kill()  # mid-class: requests in flight
        stop.set()
        for t in threads:
            t.join(30)
        assert len(acknowledged) == len(tokens), "some students never got an answer acknowledged"
        running.start()  # the same database, a new process
        rows = running.summary(code)["questions"][0]
        assert rows["answers"] == len(tokens)
        store = Store(running.db)
        try:
            kept = {r["student"]: r["entries"][0] for r in store.answers(code)}
            for token, value in acknowledged.items():
                anonymous = token.split(".")[0]
                # each student's current answer is the last acknowledged, or one sent later whose reply was cut
                assert kept[store.pseudonym(f"page:{anonymous}")] >= value
        finally:
            store.close()
        # the students' tokens still work after the restart: a re-commit replaces
        status, reply = running.commit(tokens[0], submission(code, entries=[-1.0]))
        assert status == 200 and reply["result"] == "replaced"
    finally:
        running.stop()


# --------------------------------------------------------------------------------------------------------------
# The kernel's receiver (rnn_widgets.polls.client) with rnn_widgets.answers


@pytest.fixture
def no_receivers():
    client.leave()
    yield
    client.leave()
    assert answers.receivers() == ()


COMMITTED = answers.CommittedAnswer("05_gradient_flow/1", (240.0,), (241.0,), (True,))


def test_the_receiver_shares_a_commit_says_so_and_replaces_on_recommit(service, no_receivers):
    code = service.open_poll()
    assert answers.notices() == [] and answers.hand_on(COMMITTED) == []  # nothing joined: nothing sent
    receiver = client.join(code.lower(), url=service.url)
    assert receiver is not None and answers.receivers() == (receiver,)
    assert answers.notices() == [f"Your answer is shared anonymously with your instructor (poll {code})."]
    assert answers.hand_on(COMMITTED) == [f"Shared with poll {code}."]
    import numpy as np

    again = answers.CommittedAnswer("05_gradient_flow/1", (np.float32(239.0),), (np.float64(241.0),), (np.True_,))
    assert "replaces your earlier answer" in answers.hand_on(again)[0]
    assert service.summary(code)["questions"][0]["answers"] == 1


def test_a_down_service_gives_a_sentence_never_an_exception(no_receivers):
    receiver = client.PollReceiver(f"http://127.0.0.1:{free_port()}/", "ABCDEF", "x.y", timeout=2)
    answers.add_receiver(receiver)
    messages = answers.hand_on(COMMITTED)
    assert messages == [("Your answer was not shared with the class poll: the class poll could not be reached "
                         "(URLError).")]
    assert client.join("ABCDEF", url=f"http://127.0.0.1:{free_port()}/") is None


def test_joining_no_open_poll_registers_nothing_and_a_closed_poll_stops_sharing(service, no_receivers):
    assert client.join("ZZZZZZ", url=service.url) is None and answers.receivers() == ()
    code = service.open_poll()
    client.join(code, url=service.url)
    bad = answers.CommittedAnswer("05_gradient_flow/1", (math.nan,), (241.0,), (False,))
    assert "not a number" in answers.hand_on(bad)[0]
    assert service.call("POST", f"api/polls/{code}/close", {}, service.instructor_headers())[0] == 200
    assert "closed" in answers.hand_on(COMMITTED)[0]
    assert answers.receivers() == ()  # the closed poll's receiver left: later commits send nothing


def test_autojoin_only_when_asked(service, no_receivers, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(client.AUTO_ENV, raising=False)
    monkeypatch.setenv(client.URL_ENV, service.url)
    monkeypatch.setenv("QUERY_STRING", "")
    assert client.autojoin() is None
    # on a hub with no poll open (a fresh service): nothing joined, nothing printed on the student's page
    empty = Running(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        monkeypatch.setenv(client.URL_ENV, empty.url)
        monkeypatch.setenv(client.AUTO_ENV, "1")
        assert client.autojoin() is None and capsys.readouterr().out == ""
    finally:
        empty.stop()
    monkeypatch.delenv(client.AUTO_ENV)
    monkeypatch.setenv(client.URL_ENV, service.url)
    code = service.open_poll()
    monkeypatch.setenv("QUERY_STRING", f"poll={code}")
    assert client.autojoin().code == code
    client.leave()
    monkeypatch.setenv("QUERY_STRING", "")
    monkeypatch.setenv(client.AUTO_ENV, "1")
    assert client.autojoin().code == service.summary(code)["code"]  # the open poll, opened last


def test_importing_the_package_pulls_in_neither_sqlalchemy_nor_tornado():
    code = ("import sys, rnn_widgets.polls; "
            "print(any(m.split('.')[0] in ('sqlalchemy', 'tornado') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------------------------------------------------------------
# The same flow in the gallery (rnn-widgets gallery: the polls served by its Voila process), in Chromium


def _voila_process(gallery_proc):
    import psutil

    for p in psutil.Process(gallery_proc.pid).children(recursive=True):
        if "rnn_widgets.gallery" in " ".join(p.cmdline()):
            return p
    return None


def _view_answers(page, question_id: str) -> int:
    """Answers the view shows for the question (-1: not on the page). Locators only: the view's CSP refuses eval."""
    section = page.locator(f"section[data-question='{question_id}']")
    return int(section.get_attribute("data-answers")) if section.count() else -1


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)
    return value


@pytest.mark.browser
@pytest.mark.slow
def test_the_gallery_serves_the_poll_three_students_commit_and_answers_survive_kill_9(tmp_path, monkeypatch):
    from browser_support import (
        CHROMIUM,
        CHROMIUM_ARGS,
        browser_available,
        write_notebook,
    )

    if not browser_available():
        if os.environ.get("RNN_WIDGETS_REQUIRE_BROWSER"):
            raise RuntimeError("the browser tests are required here, but Debian chromium or playwright is missing")
        pytest.skip("needs Debian chromium (/usr/bin/chromium) and playwright")
    from gallery_support import gallery
    from playwright.sync_api import sync_playwright

    from rnn_widgets.questions import ask

    question = ask("05_gradient_flow", 1)
    truth, entry = question.truths[0], question.entries[0]
    question.close()
    guesses = [truth, min(entry.hi, round(truth + 0.3, 2)), entry.lo]
    monkeypatch.setenv("RNN_WIDGETS_POLLS_DB", f"sqlite:///{tmp_path / 'gallery-polls.sqlite'}")
    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    write_notebook(pages_dir / "poll.ipynb", ["print('the poll opens later')"])  # the gallery needs a notebook
    log = tmp_path / "gallery.log"
    qid = "05_gradient_flow/1"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            prof = browser.new_page(viewport={"width": 1100, "height": 1200})
            with gallery(log, pool=0, directory=pages_dir, pages_per_client=0) as g:
                key = _until(lambda: re.search(r"rnn-polls/\?key=(\S+)", log.read_text()), 60, "the key logged")[1]
                prof.goto(f"{g.url}rnn-polls/?key={key}")
                assert prof.url == f"{g.url}rnn-polls/", "the key stayed in the address bar"
                prof.locator("#open").click()
                code = _until(lambda: re.fullmatch(r"[A-Z0-9]{6}", prof.locator("#code").text_content() or "")
                              and prof.locator("#code").text_content(), 30, "a poll's code")
                # as the example notebooks ask a question; the page's ?poll=CODE joins the poll (questions.ask)
                write_notebook(pages_dir / "poll.ipynb", ["from rnn_widgets.questions import ask\n"
                                                          "ask('05_gradient_flow', 1)"])
                students = [browser.new_page(viewport={"width": 1100, "height": 1400}) for _ in guesses]
                for page in students:
                    page.goto(g.page("poll.ipynb") + f"?poll={code}", timeout=180_000)
                for page, guess in zip(students, guesses):
                    page.wait_for_selector(".rnn-question button:has-text('Commit')", timeout=240_000)
                    assert (f"Your answer is shared anonymously with your instructor (poll {code})."
                            in page.locator(".rnn-question").inner_text())
                    box = page.locator(".rnn-question input[type=text]").first
                    box.fill(repr(guess))
                    box.press("Tab")
                    page.locator(".rnn-question button:has-text('Commit')").click()
                for page in students:
                    summary = page.locator(".rnn-question .rnn-summary")
                    _until(lambda summary=summary: f"Shared with poll {code}" in summary.inner_text(), 60,
                           "the commit shared")
                _until(lambda: _view_answers(prof, qid) == 3, 20, "three answers in the view")
                prof.locator(f"section[data-question='{qid}'] button.reveal").click()
                line = prof.wait_for_selector(f"section[data-question='{qid}'] .truthline[data-truth]",
                                              state="attached", timeout=20_000)
                assert float(line.get_attribute("data-truth")) == pytest.approx(truth, rel=1e-9)
                # a student (no key) gets 403 on the view and on the answers
                assert students[0].request.get(f"{g.url}rnn-polls/").status == 403
                assert students[0].request.get(f"{g.url}rnn-polls/api/polls/{code}").status == 403
                for page in students:
                    page.close()
                # the gallery's server is killed mid-class
                voila = _voila_process(g.proc)
                assert voila is not None
                voila.kill()
                g.proc.wait(30)
            with gallery(tmp_path / "gallery-again.log", pool=0, directory=pages_dir, pages_per_client=0) as again:
                prof.goto(f"{again.url}rnn-polls/")  # the instructor's cookie still holds (the key is the store's)
                _until(lambda: _view_answers(prof, qid) == 3, 30, "three answers after the restart")
                assert prof.locator(f"section[data-question='{qid}'] .truthline[data-truth]").count() == 1
        finally:
            browser.close()
