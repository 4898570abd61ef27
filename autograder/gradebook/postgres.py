"""nbgrader's gradebook on PostgreSQL: checking a configured database, and a private server for tests.

A course keeps its gradebook on the department's PostgreSQL by setting nbgrader's
``c.CourseDirectory.db_url`` (``autograder init --db-url``; docs/configuration.md). nbgrader
creates its tables there on first use, as it does in ``gradebook.db``.

`check_database` turns every way such a URL can be unusable (malformed, driver missing, server
unreachable, wrong password, no such database, read-only, no right to create tables) into one
`CourseError` that says what to fix, before any student is graded.

`PostgresServer` runs a throwaway server from Debian's ``postgresql`` package (``make setup``
installs it): a data folder of its own under /tmp, the unix socket in that folder (owner only)
and 127.0.0.1 on a free port with password authentication, nothing else. PostgreSQL refuses to run
as root, so under root the server runs as Debian's ``postgres`` account. ``make test`` grades
against one (tests/test_postgres.py); ``python -m autograder.gradebook.postgres`` starts one by
hand and prints its URL.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from ..course.assignment import CourseError

DRIVER_PIN = "psycopg2-binary==2.9.13"
SETUP_HINT = "install Debian's PostgreSQL with `make setup` (it runs `apt-get install postgresql`)"
DOCS = "docs/configuration.md, \"The department's PostgreSQL\""


def check_database(db_url: str) -> None:
    """Refuse, with what to fix, a gradebook URL nbgrader could not read and write; SQLite files pass here
    (`.batch.preflight` checks those)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        url = make_url(db_url)
    except ArgumentError:
        raise CourseError(f"the gradebook URL {db_url!r} (c.CourseDirectory.db_url) is not a database URL: write "
                          "postgresql+psycopg2://USER@HOST:PORT/DATABASE, or remove the setting to use gradebook.db "
                          f"({DOCS})") from None
    if url.get_backend_name() == "sqlite":
        return
    shown = url.render_as_string(hide_password=True)
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise CourseError(f"the gradebook URL {shown} names an unknown database kind {url.drivername!r}: use "
                          f"postgresql+psycopg2://... ({DOCS})") from None
    except ImportError as exc:
        if url.drivername == "postgresql" and _installed("psycopg2"):
            raise CourseError(f"the gradebook URL {shown} asks for the psycopg (3) driver, SQLAlchemy's default for "
                              "postgresql://, which is not installed: write postgresql+psycopg2://... (the driver "
                              f"this project installs) in c.CourseDirectory.db_url ({DOCS})") from None
        fix = f"`pip install {DRIVER_PIN}` (`make setup` does)" if url.get_backend_name() == "postgresql" \
            else "its Python package"
        raise CourseError(f"the database driver for {shown} is not installed ({exc}): install into this venv "
                          f"{fix}, then grade again") from None
    engine = create_engine(url, connect_args=_timeout_args(url.get_backend_name()))
    try:
        with engine.connect() as db:
            if url.get_backend_name() != "postgresql":
                return  # nbgrader supports others; only PostgreSQL's rights are checked here
            if db.execute(text("SELECT pg_is_in_recovery()")).scalar():
                raise CourseError(f"the gradebook database {shown} is a read-only standby: give the URL of the "
                                  "primary server")
            _check_rights(db, shown)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CourseError(f"cannot open the gradebook database {shown}: {reason}. Check that the server is "
                          "running and reachable from this machine, the user and password (or ~/.pgpass), and "
                          f"that the database exists (createdb); then grade again ({DOCS})") from None
    finally:
        engine.dispose()


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _timeout_args(backend: str) -> dict[str, object]:
    # A firewalled host would otherwise hang the grader for minutes before saying anything.
    return {"connect_timeout": 15} if backend == "postgresql" else {}


def _check_rights(db, shown: str) -> None:
    """The user must create nbgrader's tables on a new database, and write them on an existing one."""
    from nbgrader.api import Base
    from sqlalchemy import text

    tables = sorted(Base.metadata.tables)
    present = set(db.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                  .scalars())
    missing = [name for name in tables if name not in present]
    if missing and not db.execute(text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar():
        user = db.execute(text("SELECT current_user")).scalar()
        raise CourseError(f"the user {user} may not create nbgrader's tables in {shown}: have the database's "
                          f"owner run `GRANT CREATE ON SCHEMA public TO {user}` (or make {user} its owner)")
    for name in sorted(present & set(tables)):
        if not db.execute(text("SELECT has_table_privilege(:t, 'SELECT,INSERT,UPDATE,DELETE')"), {"t": name}) \
                .scalar():
            user = db.execute(text("SELECT current_user")).scalar()
            raise CourseError(f"the user {user} may not write the gradebook table {name} in {shown}: grant it "
                              f"SELECT, INSERT, UPDATE, DELETE on nbgrader's tables ({DOCS})")


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL server programs (the newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise CourseError(f"PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): {SETUP_HINT}")
    return Path(found[-1]).parent


class PostgresServer:
    """A private PostgreSQL server on loopback, for as long as the ``with`` block (or until `stop`).

    ``url(database)`` is a password URL over 127.0.0.1, the form a department's server has.
    """

    def __init__(self, parent: Path | None = None, *, keep: bool = False) -> None:
        self.bin = postgres_bin()
        self.keep = keep
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        try:
            account = pwd.getpwnam(self.user)
        except KeyError:
            raise CourseError(f"PostgreSQL refuses to run as root and there is no `postgres` account: "
                              f"{SETUP_HINT}") from None
        self._uid, self._gid = account.pw_uid, account.pw_gid
        # Short and reachable by the server's account: a unix socket path may not exceed 107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="autograder-pg-", dir=parent))
        os.chown(self.folder, self._uid, self._gid)
        self.data = self.folder / "data"
        self.port = 0
        self.password = secrets.token_hex(16)
        self.running = False

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _run(self, *command: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        as_other = os.geteuid() != self._uid
        result = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=self.folder,
                                user=self._uid if as_other else None, group=self._gid if as_other else None,
                                extra_groups=[] if as_other else None, timeout=120)
        if check and result.returncode != 0:
            raise CourseError(f"{Path(str(command[0])).name} failed ({result.returncode}): "
                              f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result

    def start(self) -> None:
        """initdb, then the server on a free loopback port (retried if another process takes the port first)."""
        password_file = self.folder / "superuser-password"
        password_file.write_text(self.password + "\n")
        os.chown(password_file, self._uid, self._gid)
        password_file.chmod(0o600)
        self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
                  "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={password_file}")
        password_file.unlink()
        for _ in range(5):
            self.port = _free_port()
            # Loopback only; the socket's folder is the server account's alone, so trust there is safe.
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
            started = self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-o",
                                options, "-w", "-t", "60", "start", check=False)
            if started.returncode == 0:
                self.running = True
                return
        log = (self.folder / "server.log").read_text(errors="replace")[-2000:] \
            if (self.folder / "server.log").exists() else started.stderr
        raise CourseError(f"PostgreSQL did not start in {self.data}: {log}")

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        return f"postgresql+psycopg2://{user}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, user: str = "autograder") -> str:
        """A new database owned by a new login ``user`` (as a department creates one); its URL."""
        password = secrets.token_hex(16)
        self.execute("CREATE ROLE {} LOGIN PASSWORD %s", user, params=(password,))
        self.execute("CREATE DATABASE {} OWNER {}", name, user)
        return self.url(name, user, password)

    def execute(self, statement: str, *names: str, params: tuple = (), database: str = "postgres") -> None:
        """Run one statement as the superuser (over the unix socket); ``{}`` in it are the quoted ``names``."""
        import psycopg2
        from psycopg2 import sql

        # Not ``with db``: psycopg2 would open a transaction, and CREATE DATABASE refuses to run in one.
        db = psycopg2.connect(host=str(self.folder), port=self.port, user="postgres", dbname=database)
        try:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(sql.SQL(statement).format(*map(sql.Identifier, names)), params)
        finally:
            db.close()

    def stop(self) -> None:
        if self.running:
            # Data about to be deleted needs no clean shutdown.
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast" if self.keep else "immediate", "-w", "stop",
                      check=False)
            self.running = False
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    """Start a private server with one database, print its URL, and stop it on Ctrl-C."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--database", default="gradebook", help="the database to create (default: gradebook)")
    args = parser.parse_args()
    with PostgresServer() as server:
        url = server.create_database(args.database)
        print(f"PostgreSQL on 127.0.0.1:{server.port}, data in {server.data}\n"
              f"gradebook URL: {url}\n"
              f"(autograder init COURSE_DIR --db-url '{url}'); Ctrl-C stops the server and deletes its data",
              flush=True)
        stops = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # either one ends the wait, and the with block stops it
        signal.sigwait(stops)


if __name__ == "__main__":
    main()
