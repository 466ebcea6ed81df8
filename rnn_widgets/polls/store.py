"""Where a class poll's committed answers are kept: SQLAlchemy models, versioned migrations, validation (issue 27).

SQLite by default (one file, embedded; written in WAL mode with ``synchronous=FULL``, so an answer acknowledged to
a student is on disk before the acknowledgement leaves), or any SQLAlchemy URL (``postgresql+psycopg://...``).

* **Schema versions**: the ``schema_version`` table holds the number of migrations applied; :data:`MIGRATIONS`
  lists them in order, and :meth:`Store.migrate` applies the missing ones, each in its own transaction. A new
  version of the schema is a new function appended to the list, never an edit of an old one.
* **One current answer per (poll, question, student)**: a re-commit replaces it (a unique constraint and an
  upsert). A student is stored as a pseudonym (an HMAC of their identity under the store's own secret); their name
  is stored beside it only in a poll opened with ``show_names``.
* **Validation** (:func:`validate_submission`): what a page sends is checked for its fields, types, lengths and
  finiteness before anything is written; nothing received is ever evaluated or executed.
* **Replays**: every submission carries a nonce that is kept; a request sent twice is refused the second time.
"""
from __future__ import annotations

import collections
import csv
import hashlib
import hmac
import io
import json
import math
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

#: the most a submission's body may hold; the service refuses a bigger one before reading it as JSON
MAX_BODY = 16 * 1024
#: the most parts one question may have, and the longest text a choice, a question id or a nonce may be
MAX_PARTS, MAX_TEXT, MAX_QUESTION_ID = 8, 200, 120
#: the largest magnitude a number may have (the predictions of the widgets reach 1e18; a float holds 1.8e308)
MAX_MAGNITUDE = 1e300
#: letters of a poll's code: no 0/O, 1/I/L, so it can be read off a projector
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
#: the keys a submission may carry; any other (a "user", a "student", a "name") is refused: identity comes from
#: the login or the page's token, never from what the page says
SUBMISSION_KEYS = {"poll", "question_id", "entries", "truths", "correct", "nonce"}

_QUESTION_ID = re.compile(r"[A-Za-z0-9_.:/-]{1," + str(MAX_QUESTION_ID) + "}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


REPLAYED = ("This request was received before (a replayed request); nothing was stored. "
            "Commit again to send a new one.")


class Refused(Exception):
    """A request the store or the service refuses: an HTTP status and a sentence for the student."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _invalid(message: str) -> Refused:
    return Refused(400, message + " Nothing was stored.")


@dataclass(frozen=True)
class Submission:
    """A validated commit: the poll's code, the question, and one entry, truth and verdict per part."""

    poll: str
    question_id: str
    entries: tuple
    truths: tuple
    correct: tuple
    nonce: str


def _value(value, what: str):
    """A part's entry or truth: a finite number (int or float, never bool) or a short text (a choice)."""
    if isinstance(value, bool):
        raise _invalid(f"{what} is true/false; a number or the text of a choice was expected.")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise _invalid(f"{what} is not a finite number.")
        if abs(number) > MAX_MAGNITUDE:
            raise _invalid(f"{what} is larger than {MAX_MAGNITUDE:g}.")
        return number
    if isinstance(value, str):
        if not value.strip():
            raise _invalid(f"{what} is empty.")
        if len(value) > MAX_TEXT:
            raise _invalid(f"{what} is longer than {MAX_TEXT} characters.")
        return value
    raise _invalid(f"{what} is a {type(value).__name__}; a number or the text of a choice was expected.")


def parse_json(body: bytes):
    """``body`` as JSON, refusing NaN/Infinity (Python's json reads them; JSON has no such numbers)."""
    if len(body) > MAX_BODY:
        raise Refused(413, f"The request is larger than {MAX_BODY // 1024} KB. Nothing was stored.")

    def no_constant(name):
        raise _invalid(f"The request holds {name}, which is not a number.")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=no_constant)
    except Refused:
        raise
    except (ValueError, RecursionError):
        raise _invalid("The request is not JSON.") from None


def validate_submission(payload) -> Submission:
    """The submission ``payload`` says, checked: its keys, the question's id, one entry/truth/verdict per part."""
    if not isinstance(payload, dict):
        raise _invalid("The request is not a JSON object.")
    extra = set(payload) - SUBMISSION_KEYS
    if extra:
        named = sorted(k for k in extra if isinstance(k, str))[:3]
        raise _invalid(f"The request carries fields it may not ({', '.join(named)}): who you are comes from your "
                       "login or your page, never from the request.")
    missing = SUBMISSION_KEYS - set(payload)
    if missing:
        raise _invalid(f"The request lacks {', '.join(sorted(missing))}.")
    poll, question_id, nonce = payload["poll"], payload["question_id"], payload["nonce"]
    if not (isinstance(poll, str) and _CODE.fullmatch(poll)):
        raise _invalid(f"The poll's code must be {CODE_LENGTH} letters or digits.")
    if not (isinstance(question_id, str) and _QUESTION_ID.fullmatch(question_id)):
        raise _invalid(f"The question's id must be 1 to {MAX_QUESTION_ID} letters, digits or _.:/-.")
    if not (isinstance(nonce, str) and _NONCE.fullmatch(nonce)):
        raise _invalid("The request's nonce must be 16 to 64 letters, digits, _ or -.")
    entries, truths, correct = payload["entries"], payload["truths"], payload["correct"]
    if not all(isinstance(x, list) for x in (entries, truths, correct)):
        raise _invalid("entries, truths and correct must be lists.")
    if not 1 <= len(entries) <= MAX_PARTS or not len(entries) == len(truths) == len(correct):
        raise _invalid(f"A question has 1 to {MAX_PARTS} parts, with one entry, truth and verdict each.")
    entries = tuple(_value(v, f"Entry {i + 1}") for i, v in enumerate(entries))
    truths = tuple(_value(v, f"Truth {i + 1}") for i, v in enumerate(truths))
    for i, (e, t) in enumerate(zip(entries, truths)):
        if isinstance(e, float) != isinstance(t, float):
            raise _invalid(f"Entry {i + 1} and its truth are not of one kind (a number, or a choice).")
    if not all(isinstance(c, bool) for c in correct):
        raise _invalid("correct must hold true or false for each part.")
    return Submission(poll, question_id, entries, truths, tuple(correct), nonce)


# --------------------------------------------------------------------------------------------------------------
# The models (the schema as the last migration leaves it)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(256))


class Poll(Base):
    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    show_names: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    opened_at: Mapped[float] = mapped_column(sa.Float)
    closed_at: Mapped[float | None] = mapped_column(sa.Float, nullable=True)


class Question(Base):
    __tablename__ = "questions"
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), primary_key=True)
    question_id: Mapped[str] = mapped_column(sa.String(MAX_QUESTION_ID), primary_key=True)
    revealed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    first_at: Mapped[float] = mapped_column(sa.Float)


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (sa.UniqueConstraint("poll_id", "question_id", "student", name="one_answer_per_student"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"))
    question_id: Mapped[str] = mapped_column(sa.String(MAX_QUESTION_ID))
    student: Mapped[str] = mapped_column(sa.String(64))            # a pseudonym: HMAC of the identity
    name: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)  # only in a show_names poll
    entries: Mapped[str] = mapped_column(sa.Text)                   # JSON lists
    truths: Mapped[str] = mapped_column(sa.Text)
    correct: Mapped[str] = mapped_column(sa.Text)
    submitted_at: Mapped[float] = mapped_column(sa.Float)
    commits: Mapped[int] = mapped_column(sa.Integer, default=1)     # how many times this student committed it


class Nonce(Base):
    __tablename__ = "nonces"
    student: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    received_at: Mapped[float] = mapped_column(sa.Float)


# --------------------------------------------------------------------------------------------------------------
# Migrations: each takes a connection inside a transaction; version N is MIGRATIONS[N - 1]


def _v1_polls_and_answers(conn) -> None:
    """Version 1: settings (the store's secret), polls, their questions, the answers."""
    meta = sa.MetaData()
    sa.Table("settings", meta, sa.Column("key", sa.String(64), primary_key=True),
             sa.Column("value", sa.String(256), nullable=False))
    sa.Table("polls", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("code", sa.String(16), nullable=False, unique=True),
             sa.Column("title", sa.String(200), nullable=False),
             sa.Column("show_names", sa.Boolean, nullable=False),
             sa.Column("opened_at", sa.Float, nullable=False), sa.Column("closed_at", sa.Float, nullable=True))
    sa.Table("questions", meta, sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id"), primary_key=True),
             sa.Column("question_id", sa.String(MAX_QUESTION_ID), primary_key=True),
             sa.Column("revealed", sa.Boolean, nullable=False), sa.Column("first_at", sa.Float, nullable=False))
    sa.Table("answers", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id"), nullable=False),
             sa.Column("question_id", sa.String(MAX_QUESTION_ID), nullable=False),
             sa.Column("student", sa.String(64), nullable=False), sa.Column("name", sa.String(200), nullable=True),
             sa.Column("entries", sa.Text, nullable=False), sa.Column("truths", sa.Text, nullable=False),
             sa.Column("correct", sa.Text, nullable=False), sa.Column("submitted_at", sa.Float, nullable=False),
             sa.UniqueConstraint("poll_id", "question_id", "student", name="one_answer_per_student"))
    meta.create_all(conn)
    conn.execute(sa.text("INSERT INTO settings (key, value) VALUES ('secret', :s)"), {"s": secrets.token_hex(32)})


def _v2_replays_and_commit_counts(conn) -> None:
    """Version 2: the nonces of the requests received (a replay is refused), and how often each answer was
    committed (a re-commit replaces the answer and counts)."""
    meta = sa.MetaData()
    sa.Table("nonces", meta, sa.Column("student", sa.String(64), primary_key=True),
             sa.Column("nonce", sa.String(64), primary_key=True),
             sa.Column("received_at", sa.Float, nullable=False))
    meta.create_all(conn)
    conn.execute(sa.text("ALTER TABLE answers ADD COLUMN commits INTEGER NOT NULL DEFAULT 1"))


MIGRATIONS = [_v1_polls_and_answers, _v2_replays_and_commit_counts]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(engine) -> int:
    """The number of migrations applied to the database behind ``engine`` (0 for an empty one)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("schema_version"):
            return 0
        return conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one_or_none() or 0


def migrate(engine, upto: int = SCHEMA_VERSION) -> int:
    """Apply the migrations the database lacks, up to version ``upto``, each with its version bump in one
    transaction (a failed migration leaves the previous version). Returns the version reached."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # two services starting at once: one creates, the other waits
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(2027)"))
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO schema_version (version) "
                             "SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)"))
    for version in range(schema_version(engine) + 1, upto + 1):
        with engine.begin() as conn:
            # a write first takes the writer's lock (PostgreSQL: the row's; SQLite: the database's), so a second
            # service starting at the same moment waits here and then reads the version the first one left
            conn.execute(sa.text("UPDATE schema_version SET version = version"))
            current = conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one()
            if current >= version:
                continue
            MIGRATIONS[version - 1](conn)
            conn.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": version})
    return schema_version(engine)


# --------------------------------------------------------------------------------------------------------------
# The store


def make_engine(url: str):
    """An engine for ``url``; SQLite is made durable and safe to share between the service's threads."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _durable(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a commit is on disk before it returns
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    return insert


class Store:
    """A poll store on the database at ``url`` (migrated to :data:`SCHEMA_VERSION` when opened)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        with Session(self.engine) as session:
            self.secret = session.get(Setting, "secret").value.encode()

    def close(self) -> None:
        self.engine.dispose()

    # identities and tokens --------------------------------------------------------------------------------------

    def sign(self, purpose: str, text: str) -> str:
        return hmac.new(self.secret, f"{purpose}\0{text}".encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, identity: str) -> str:
        """How a student is stored: the same for the same identity, and no way back to it without the secret."""
        return self.sign("student", identity)[:32]

    # polls --------------------------------------------------------------------------------------------------------

    @staticmethod
    def _poll_dict(poll: Poll) -> dict:
        return {"code": poll.code, "title": poll.title, "show_names": poll.show_names,
                "open": poll.closed_at is None, "opened_at": poll.opened_at, "closed_at": poll.closed_at}

    def open_poll(self, title: str = "", show_names: bool = False) -> dict:
        """Open a new poll with a fresh short code."""
        title = str(title)[:200]
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                with Session(self.engine) as session, session.begin():
                    poll = Poll(code=code, title=title, show_names=bool(show_names), opened_at=time.time())
                    session.add(poll)
                    session.flush()
                    return self._poll_dict(poll)
            except IntegrityError:  # the code is taken: draw another
                continue
        raise RuntimeError("could not draw a free poll code")

    def close_poll(self, code: str) -> dict:
        with Session(self.engine) as session, session.begin():
            poll = self._poll(session, code)
            if poll.closed_at is None:
                poll.closed_at = time.time()
            return self._poll_dict(poll)

    def poll(self, code: str) -> dict:
        with Session(self.engine) as session:
            return self._poll_dict(self._poll(session, code))

    def polls(self) -> list[dict]:
        with Session(self.engine) as session:
            return [self._poll_dict(p) for p in session.scalars(sa.select(Poll).order_by(Poll.id.desc()))]

    def current_poll(self) -> dict | None:
        """The poll opened last that is still open, or None."""
        with Session(self.engine) as session:
            poll = session.scalars(sa.select(Poll).where(Poll.closed_at.is_(None)).order_by(Poll.id.desc())).first()
            return None if poll is None else self._poll_dict(poll)

    @staticmethod
    def _poll(session, code) -> Poll:
        poll = session.scalars(sa.select(Poll).where(Poll.code == str(code).upper())).first() if code else None
        if poll is None:
            raise Refused(404, f"There is no poll {str(code)[:16]!r}.")
        return poll

    # answers ------------------------------------------------------------------------------------------------------

    def submit(self, identity: str, submission: Submission) -> str:
        """Keep ``submission`` as ``identity``'s current answer to its question; returns "stored" for a first
        answer, "replaced" for a re-commit. Refuses (409) a nonce this student has sent before, (404/410) a poll
        that does not exist or is closed. Nothing is written unless everything is."""
        student = self.pseudonym(identity)
        try:
            with Session(self.engine) as session, session.begin():
                poll = self._open_poll(session, submission.poll)
                session.add(Nonce(student=student, nonce=submission.nonce, received_at=time.time()))
                session.flush()  # a replayed nonce fails here, before anything else is written
                return self._keep(session, poll, student, identity, submission)
        except IntegrityError:
            raise Refused(409, REPLAYED) from None

    def submit_many(self, items: list[tuple[str, Submission]]) -> list:
        """:meth:`submit` for each (identity, submission), in order, in one transaction (one write to disk for a
        class committing at once); each result is "stored", "replaced" or the :class:`Refused` for that item, which
        leaves the others as they are. Replays are found before anything is written, within the batch too."""
        keyed = [(identity, self.pseudonym(identity), submission) for identity, submission in items]
        results: list = [None] * len(items)
        try:
            with Session(self.engine) as session, session.begin():
                seen = set(session.execute(sa.select(Nonce.student, Nonce.nonce).where(
                    sa.tuple_(Nonce.student, Nonce.nonce).in_([(st, sub.nonce) for _, st, sub in keyed]))).all())
                polls: dict = {}
                for i, (identity, student, submission) in enumerate(keyed):
                    try:
                        if submission.poll not in polls:
                            polls[submission.poll] = self._open_poll(session, submission.poll)
                        if (student, submission.nonce) in seen:
                            raise Refused(409, REPLAYED)
                        seen.add((student, submission.nonce))
                        session.add(Nonce(student=student, nonce=submission.nonce, received_at=time.time()))
                        results[i] = self._keep(session, polls[submission.poll], student, identity, submission)
                    except Refused as refused:  # nothing of this item was written
                        results[i] = refused
            return results
        except IntegrityError:  # another process wrote the same rows meanwhile: one at a time, each on its own
            out = []
            for identity, submission in items:
                try:
                    out.append(self.submit(identity, submission))
                except Refused as refused:
                    out.append(refused)
            return out

    def _open_poll(self, session, code: str) -> Poll:
        poll = self._poll(session, code)
        if poll.closed_at is not None:
            raise Refused(410, f"Poll {poll.code} is closed; your answer was not shared.")
        return poll

    def _keep(self, session, poll: Poll, student: str, identity: str, submission: Submission) -> str:
        """Write the answer (its question first, if new); "stored" or "replaced"."""
        now = time.time()
        insert = _upsert(self.engine.dialect.name)
        if session.get(Question, (poll.id, submission.question_id)) is None:
            if insert is not None:
                session.execute(insert(Question).values(
                    poll_id=poll.id, question_id=submission.question_id, revealed=False, first_at=now
                ).on_conflict_do_nothing())
            else:
                session.add(Question(poll_id=poll.id, question_id=submission.question_id, revealed=False,
                                     first_at=now))
        existing = session.scalars(sa.select(Answer).where(
            Answer.poll_id == poll.id, Answer.question_id == submission.question_id,
            Answer.student == student)).first()
        values = {"name": identity[:200] if poll.show_names else None,
                  "entries": json.dumps(list(submission.entries)),
                  "truths": json.dumps(list(submission.truths)),
                  "correct": json.dumps(list(submission.correct)), "submitted_at": now}
        if existing is not None:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.commits += 1
            return "replaced"
        if insert is not None:  # a concurrent first commit of the same student: the later one wins
            statement = insert(Answer).values(poll_id=poll.id, question_id=submission.question_id,
                                              student=student, commits=1, **values)
            session.execute(statement.on_conflict_do_update(
                index_elements=["poll_id", "question_id", "student"],
                set_={**values, "commits": Answer.commits + 1}))
        else:
            session.add(Answer(poll_id=poll.id, question_id=submission.question_id, student=student,
                               commits=1, **values))
        session.flush()
        return "stored"

    def set_revealed(self, code: str, question_id: str, revealed: bool) -> None:
        with Session(self.engine) as session, session.begin():
            poll = self._poll(session, code)
            question = session.get(Question, (poll.id, str(question_id)))
            if question is None:
                raise Refused(404, f"Poll {poll.code} has no answers to {str(question_id)[:MAX_QUESTION_ID]!r}.")
            question.revealed = bool(revealed)

    def answers(self, code: str) -> list[dict]:
        """Every current answer of the poll, oldest question first; ``name`` is None unless the poll shows names."""
        with Session(self.engine) as session:
            poll = self._poll(session, code)
            rows = session.scalars(sa.select(Answer).where(Answer.poll_id == poll.id)
                                   .order_by(Answer.question_id, Answer.submitted_at, Answer.id))
            return [{"question_id": a.question_id, "student": a.student, "name": a.name,
                     "entries": json.loads(a.entries), "truths": json.loads(a.truths),
                     "correct": json.loads(a.correct), "submitted_at": a.submitted_at, "commits": a.commits}
                    for a in rows]

    def count(self, code: str | None = None) -> int:
        with Session(self.engine) as session:
            query = sa.select(sa.func.count(Answer.id))
            if code is not None:
                query = query.where(Answer.poll_id == self._poll(session, code).id)
            return session.scalar(query)

    def summary(self, code: str) -> dict:
        """The instructor's view of a poll: per question, its answers counted and drawn (see :func:`summarise`)."""
        with Session(self.engine) as session:
            poll = self._poll(session, code)
            questions = session.scalars(sa.select(Question).where(Question.poll_id == poll.id)
                                        .order_by(Question.first_at, Question.question_id)).all()
            revealed = {q.question_id: q.revealed for q in questions}
            order = [q.question_id for q in questions]
            info = self._poll_dict(poll)
        by_question = collections.defaultdict(list)
        for answer in self.answers(code):
            by_question[answer["question_id"]].append(answer)
        return {**info, "questions": [summarise(q, by_question[q], revealed[q], info["show_names"]) for q in order]}

    def csv(self, code: str) -> str:
        """The poll's answers as CSV: one row per answer and part (names only in a poll that shows them)."""
        out = io.StringIO()
        writer = csv.writer(out)
        poll = self.poll(code)
        writer.writerow(["poll", "question_id", "student", "part", "entry", "truth", "correct", "submitted_at",
                         "commits"])
        for a in self.answers(code):
            who = a["name"] if poll["show_names"] and a["name"] else a["student"][:12]
            for part, (entry, truth, ok) in enumerate(zip(a["entries"], a["truths"], a["correct"]), start=1):
                writer.writerow([poll["code"], a["question_id"], _csv_safe(who), part, _csv_safe(entry),
                                 _csv_safe(truth), ok,
                                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a["submitted_at"])), a["commits"]])
        return out.getvalue()


def _csv_safe(value):
    """A cell a spreadsheet will not read as a formula (a choice's text comes from the page)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --------------------------------------------------------------------------------------------------------------
# What the instructor's view draws


def _truth_of(answers: list[dict]) -> tuple[list, int]:
    """The truth most answers report (each student's widget computes it in the question's state, so they agree;
    a page that sends a different one is outvoted), and how many reported it."""
    counts = collections.Counter(json.dumps(a["truths"]) for a in answers)
    text, agreeing = counts.most_common(1)[0]
    return json.loads(text), agreeing


def histogram(values: list[float], truth: float, bins: int = 10) -> dict:
    """Bins for ``values`` with ``truth`` inside the range; on a log scale when every value and the truth are
    positive and they span more than two decades (predictions of a gradient's growth do)."""
    points = [*values, truth]
    log = min(points) > 0 and max(points) / min(points) > 100
    scale = (lambda x: math.log10(x)) if log else (lambda x: x)
    low, high = min(map(scale, points)), max(map(scale, points))
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins

    def index(x):
        return min(bins - 1, int((scale(x) - low) / width))

    counts = [0] * bins
    for v in values:
        counts[index(v)] += 1
    edges = [low + i * width for i in range(bins + 1)]
    if log:
        edges = [10 ** e for e in edges]
    return {"kind": "number", "log": log, "edges": edges, "counts": counts, "truth": truth,
            "truth_bin": index(truth)}


def summarise(question_id: str, answers: list[dict], revealed: bool, show_names: bool) -> dict:
    """One question of the view: how many answered, and per part a histogram (numbers) or bars (choices)."""
    truths, agreeing = _truth_of(answers)
    parts = []
    for i, truth in enumerate(truths):
        entries = [a["entries"][i] for a in answers if i < len(a["entries"])]
        within = sum(bool(a["correct"][i]) for a in answers if i < len(a["correct"]))
        if isinstance(truth, str):
            counts = collections.Counter(e for e in entries if isinstance(e, str))
            counts.setdefault(truth, 0)
            part = {"kind": "choice", "truth": truth,
                    "bars": [{"label": label, "count": n, "truth": label == truth}
                             for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]}
        else:
            part = histogram([e for e in entries if not isinstance(e, str)], truth)
        part["within"] = within
        parts.append(part)
    out = {"question_id": question_id, "answers": len(answers), "revealed": revealed, "parts": parts,
           "truth_agreeing": agreeing}
    if show_names:
        out["names"] = sorted(a["name"] for a in answers if a["name"])
    return out
