"""Engine and sessions: SQLite by default (WAL, busy timeout, foreign keys), PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 5_000


# The drivers this package ships, by URL scheme: another scheme would fail deep in SQLAlchemy.
KNOWN_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")
URL_EXAMPLES = "sqlite:///path/to/connect.db or postgresql://user@host/db"


class DatabaseUnavailable(Exception):
    """The database cannot be used; the message is one line naming it, its password hidden."""


def shown(url: str | URL) -> str:
    """A URL as it may be shown or logged: with its password as ***."""
    return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)


def check_url(url: str) -> str:
    """The URL if this package can use its scheme; else ValueError saying why (never echoing a
    URL that does not parse: it may hold a password in a place we cannot tell)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"is not a database URL; write {URL_EXAMPLES}") from None
    if parsed.drivername not in KNOWN_SCHEMES:
        raise ValueError(
            f"{shown(parsed)} has the unknown scheme {parsed.drivername}://; write {URL_EXAMPLES}"
        )
    return url


def normalise_url(url: str) -> str:
    """Let people write postgresql:// and still get psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Hand transaction control to SQLAlchemy (pysqlite's own BEGIN handling is wrong for us).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so two writers queue on busy_timeout instead of one
        # failing at once with "database is locked" when it upgrades from a read.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine per process; a short session per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        backend = make_url(self.url).get_backend_name()
        self.is_sqlite = backend == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False})
            _sqlite_pragmas(self.engine)
            self._write_engine: Engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10)
            self._write_engine = self.engine

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        bind = self._write_engine if write else self.engine
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent). The first use of the
        database at start-up: DatabaseUnavailable when it cannot be reached, opened or written."""
        # Imported here: settings check URLs with this module, and need no Alembic for that.
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._write_engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise DatabaseUnavailable(self._unavailable(exc)) from None

    def _unavailable(self, exc: OperationalError) -> str:
        url = make_url(self.url)
        reason = " ".join(str(exc.orig).split()) or type(exc.orig).__name__
        if url.password:  # a driver may quote the URL back; the password stays hidden
            reason = reason.replace(str(url.password), "***")
        if self.is_sqlite:
            path = Path(url.database or "").resolve() if url.database else "in memory"
            return (
                f"cannot open or write the SQLite database {path} ({reason}); check that its "
                "directory exists and that this user may write there."
            )
        return f"cannot use the database at {shown(url)} ({reason})."

    def dispose(self) -> None:
        self.engine.dispose()
