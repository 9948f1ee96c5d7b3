"""Engines for PostgreSQL (psycopg 3) and the embedded SQLite default, and the translation
of driver errors into the exit-code contract with passwords masked."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pumpflix_cli.db.names import register_sqlite_function
from pumpflix_cli.errors import (
    CredentialsRejectedError,
    OutputError,
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    WriteContentionError,
)
from pumpflix_cli.files import make_folder
from pumpflix_cli.redact import error_text, mask_url

if TYPE_CHECKING:
    from pumpflix_cli.config import Settings


def sqlalchemy_url(url: str) -> str:
    """A plain ``postgresql://`` URL, as the platform writes it, driven by psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


# What PostgreSQL says when it refuses who we are (SQLSTATE class 28, which psycopg does
# not carry on a failed connection): a wrong or missing password, a role that does not
# exist or may not log in, a pg_hba.conf rule against us. Exit 77, not "is the server
# running?".
_CREDENTIAL_REFUSALS = re.compile(
    r"password authentication failed|no password supplied|pg_hba\.conf"
    r'|\brole "[^"]*" (?:does not exist|is not permitted to log in)'
)


def _credentials_rejected(exc: SQLAlchemyError, lowered: str) -> bool:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("28"):
        return True
    return _CREDENTIAL_REFUSALS.search(lowered) is not None


def _after_fatal(reason: str) -> str:
    """The server's own words (``role "x" does not exist``), without libpq's preamble."""
    _, sep, tail = reason.partition("FATAL:")
    return tail.strip() if sep else reason


# What SQLite says when its file or folder cannot be written (read-only, not ours).
_SQLITE_UNWRITABLE = re.compile(
    r"readonly database|read-only file system|unable to open database file"
)


class DatabaseErrorTranslator:
    """Turns a driver exception into a :class:`PumpflixError` naming the service."""

    def __init__(self, service: str, url: str, sqlite_file: Path | None = None) -> None:
        self.service = service
        self.url = url
        self.sqlite_file = sqlite_file

    def translate(self, exc: SQLAlchemyError) -> PumpflixError:
        reason = error_text(exc)  # never DETAIL/CONTEXT/QUERY: they quote row data
        lowered = reason.lower()
        if self.sqlite_file is not None and _SQLITE_UNWRITABLE.search(lowered):
            # The embedded database's folder (or file) refuses writes: name the folder.
            return OutputError(
                str(self.sqlite_file.parent),
                f"the database there cannot be written ({reason})",
                hint="reads work from a read-only folder; writes need it writable",
            )
        where = mask_url(self.url)
        if _credentials_rejected(exc, lowered):
            return CredentialsRejectedError(
                self.service,
                f"the server rejected our credentials ({where}): {_after_fatal(reason)}",
                hint="check the user and password in DATABASE_URL",
            )
        if _contended(exc, lowered):
            return WriteContentionError(
                f"{self.service}: another session holds what this write needs ({reason})",
                hint="try again; PUMPFLIX_LOCK_TIMEOUT sets how long to wait",
            )
        if "timeout expired" in lowered or "timed out" in lowered:
            return ServiceTimeoutError(self.service, f"timed out ({where}): {reason}")
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            hint = (
                "is the server running and DATABASE_URL right? pumpflix doctor checks it"
                if self.sqlite_file is None
                else "is PUMPFLIX_DATA_DIR right? pumpflix doctor checks it"
            )
            return ServiceUnavailableError(
                self.service, f"cannot use the database at {where}: {reason}", hint=hint
            )
        return PumpflixError(f"{self.service} error: {reason}")


# PostgreSQL: lock_not_available (lock_timeout), deadlock_detected, serialization_failure.
_CONTENTION_STATES = frozenset({"55P03", "40P01", "40001"})


def _contended(exc: SQLAlchemyError, lowered: str) -> bool:
    """A lock another session held: retrying may succeed (SQLite says "locked")."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in _CONTENTION_STATES:
        return True
    return isinstance(exc, OperationalError) and (
        "database is locked" in lowered or "database table is locked" in lowered
    )


@dataclass(frozen=True)
class ServerInfo:
    version: str
    latency_ms: float


class Database:
    """The configured database: one lazily created engine and its sessions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.effective_database_url
        self.embedded = settings.embedded
        # The embedded database's file is a path, never parsed from a URL: a data dir with
        # "?", "#", "%20" or spaces names exactly that folder. A DATABASE_URL is a URL.
        self.sqlite_file: Path | None = settings.sqlite_path.absolute() if self.embedded else None
        self.dialect = (
            "sqlite" if self.embedded else make_url(sqlalchemy_url(self.url)).get_backend_name()
        )
        self.service = "SQLite" if self.dialect == "sqlite" else "PostgreSQL"
        self._translator = DatabaseErrorTranslator(self.service, self.url, self.sqlite_file)
        # The embedded database opened read-only (its folder or file is not writable):
        # reads work, nothing is migrated, a write is one line naming the folder.
        self.read_only = False
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        if self.sqlite_file is not None:
            make_folder(self.sqlite_file.parent)
            mode = sqlite_open_mode(self.sqlite_file)
            self.read_only = mode != "rw"
            # Writers queue for SQLite's one write lock, as long as the lock timeout.
            wait = self.settings.lock_timeout
            engine = create_engine(
                sqlite_url(self.sqlite_file, mode),
                connect_args={"timeout": wait},
                hide_parameters=True,
            )
            on_connect = _sqlite_pragmas(round(wait * 1000))
            event.listen(engine, "connect", on_connect if mode == "rw" else _sqlite_read_pragmas)
            if mode == "rw":  # a read-only connection cannot take the write lock
                event.listen(engine, "begin", _sqlite_begin_immediate)
            return engine
        url = make_url(sqlalchemy_url(self.url))
        if self.dialect == "sqlite":  # a DATABASE_URL naming a SQLite file
            if url.database and url.database != ":memory:":
                make_folder(Path(url.database).expanduser().parent)
            # Writers queue for SQLite's one write lock, as long as the lock timeout.
            wait = self.settings.lock_timeout
            engine = create_engine(url, connect_args={"timeout": wait}, hide_parameters=True)
            event.listen(engine, "connect", _sqlite_pragmas(round(wait * 1000)))
            event.listen(engine, "begin", _sqlite_begin_immediate)
            return engine
        connect_args: dict[str, Any] = {
            "connect_timeout": max(1, round(self.settings.db_timeout)),
            "application_name": "pumpflix",
        }
        # hide_parameters: SQLAlchemy's errors otherwise quote every value written (a
        # workflow and the tokens in it) in a "[parameters: …]" line.
        return create_engine(
            url, connect_args=connect_args, pool_pre_ping=False, hide_parameters=True
        )

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver errors raised inside the block."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise self._translator.translate(exc) from exc

    @contextmanager
    def session(self, *, rollback: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success (rolled back instead when
        ``rollback``, as a dry run wants), rolled back on error."""
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self.errors(), self._sessions() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            if rollback:
                session.rollback()
            else:
                session.commit()

    def server_info(self) -> ServerInfo:
        """The server's version and one round trip's time."""
        with self.errors(), self.engine.connect() as conn:
            started = time.perf_counter()
            if self.dialect == "sqlite":
                version = "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar())
            else:
                version = str(conn.execute(text("show server_version")).scalar())
            latency = (time.perf_counter() - started) * 1000
        return ServerInfo(version=version, latency_ms=round(latency, 2))

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def sqlite_open_mode(file: Path) -> str:
    """How to open the embedded database: ``rw``; ``ro`` when the file exists and it or
    its folder cannot be written; ``immutable`` when the folder cannot be written and
    SQLite could not make the WAL index (``-shm``) a WAL reader needs beside the file."""
    if not file.exists():
        return "rw"  # to be created: a folder that refuses it is named by the error
    folder_writable = os.access(file.parent, os.W_OK)
    if folder_writable and os.access(file, os.W_OK):
        return "rw"
    if not folder_writable and not file.with_name(file.name + "-shm").exists():
        return "immutable"
    return "ro"


def sqlite_url(file: Path, mode: str) -> URL:
    """The embedded database's URL, built from the path (never parsed from text); a
    read-only open is an SQLite URI, the path percent-encoded."""
    if mode == "rw":
        return URL.create("sqlite", database=str(file))
    from urllib.parse import quote

    query = {"uri": "true", "mode": "ro"} | ({"immutable": "1"} if mode == "immutable" else {})
    return URL.create("sqlite", database="file:" + quote(str(file), safe="/"), query=query)


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    register_sqlite_function(dbapi_connection)


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_function(dbapi_connection)

    return on_connect


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts, so concurrent importers queue on
    busy_timeout instead of failing when a read lock cannot be upgraded."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")
