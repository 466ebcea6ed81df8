"""The class polls' store against a real PostgreSQL server (issue 27): the store tests of tests/test_polls.py, again.

The test starts its own server: Debian's ``postgresql`` (``initdb``/``pg_ctl`` on PATH or in
/usr/lib/postgresql/*/bin; ``.ci/run`` installs it) in a temporary folder, listening only on a unix socket in that
folder, trusted, as a user that is not root (PostgreSQL refuses root: the ``postgres`` system user where it exists,
else ``nobody``). Each test gets a database of its own. Skipped with a message where PostgreSQL or psycopg is
missing, unless RNN_WIDGETS_REQUIRE_POSTGRES is set (as .ci/run does), where that is a failure.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):  # the newest first
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _psycopg() -> bool:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


BIN = postgres_bin()
if BIN is None or not _psycopg():
    missing = "PostgreSQL's initdb/pg_ctl" if BIN is None else "psycopg (pip install 'psycopg[binary]')"
    if os.environ.get("RNN_WIDGETS_REQUIRE_POSTGRES"):
        raise RuntimeError(f"the PostgreSQL test is required here, but {missing} is missing")
    pytest.skip(f"needs {missing} (Debian: apt-get install postgresql; .ci/run installs it)", allow_module_level=True)

# the store's tests, run here with this module's `store` and `store_url_factory` fixtures
from test_polls import (
    submission,
    test_store_csv_names_nobody_unless_the_poll_shows_names,
    test_store_keeps_every_answer_of_a_class_committing_at_once,
    test_store_migrates_version_by_version_and_keeps_the_data,
    test_store_one_current_answer_per_student_and_a_recommit_replaces_it,
    test_store_refuses_a_closed_or_unknown_poll,
    test_store_refuses_a_replayed_request_and_stores_nothing_of_it,
    test_store_summary_draws_numbers_and_choices_with_the_truth,
    test_store_writes_a_batch_in_order_and_refuses_items_of_it_alone,
)

from rnn_widgets.polls.store import Store, validate_submission

__all__ = [  # imported to be collected here
    "test_store_csv_names_nobody_unless_the_poll_shows_names",
    "test_store_keeps_every_answer_of_a_class_committing_at_once",
    "test_store_migrates_version_by_version_and_keeps_the_data",
    "test_store_one_current_answer_per_student_and_a_recommit_replaces_it",
    "test_store_refuses_a_closed_or_unknown_poll",
    "test_store_refuses_a_replayed_request_and_stores_nothing_of_it",
    "test_store_summary_draws_numbers_and_choices_with_the_truth",
    "test_store_writes_a_batch_in_order_and_refuses_items_of_it_alone",
]


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run PostgreSQL's programs as someone other than root."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], user.pw_uid, user.pw_gid
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL as")


class Server:
    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://polls@/{database}?host={self.folder}&port={self.port}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host=str(self.folder), port=self.port, user="polls", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="module")
def postgres():
    from test_polls import free_port

    prefix, uid, gid = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="rnn-polls-pg-"))
    if uid is not None:
        os.chown(folder, uid, gid)
    data, port = folder / "data", free_port()

    def run(*args, timeout=120):
        done = subprocess.run([*prefix, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=folder)
        assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}"

    try:
        run(BIN / "initdb", "-D", data, "-U", "polls", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses='' -c unix_socket_directories={folder} -p {port} -c fsync=on"
        run(BIN / "pg_ctl", "-D", data, "-l", folder / "server.log", "-o", options, "-w", "-t", "60", "start")
        try:
            yield Server(folder, port)
        finally:
            run(BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def store(postgres):
    s = Store(postgres.url(postgres.create_database()))
    yield s
    s.close()


@pytest.fixture
def store_url_factory(postgres):
    return lambda: postgres.url(postgres.create_database())


def test_the_store_really_is_postgresql(store):
    assert store.engine.dialect.name == "postgresql"
    code = store.open_poll()["code"]
    store.submit("ada", validate_submission(submission(code)))
    assert store.count(code) == 1


def test_two_services_starting_at_once_migrate_once(postgres):
    """Two processes opening the same fresh database (the hub restarting its service while the old one starts):
    the version row is locked, each migration runs once."""
    import threading

    url = postgres.url(postgres.create_database())
    stores, errors = [], []

    def start():
        try:
            stores.append(Store(url))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len({s.secret for s in stores}) == 1
    finally:
        for s in stores:
            s.close()
