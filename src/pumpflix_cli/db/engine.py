"""Engines for PostgreSQL (psycopg 3) and the embedded SQLite default, and the translation
of driver errors into the exit-code contract with passwords masked."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
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
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from pumpflix_cli.files import make_folder
from pumpflix_cli.redact import mask_url, scrub

if TYPE_CHECKING:
    from pumpflix_cli.config import Settings


def sqlalchemy_url(url: str) -> str:
    """A plain ``postgresql://`` URL, as the platform writes it, driven by psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return scrub(lines[0] if lines else type(original).__name__)


# What PostgreSQL says when it refuses who we are (SQLSTATE class 28, which psycopg does
# not carry on a failed connection): a wrong or missing password, a role that does not
# exist, a pg_hba.conf rule against us. Exit 77, not "is the server running?".
_CREDENTIAL_REFUSALS = re.compile(
    r"password authentication failed|no password supplied|pg_hba\.conf"
    r'|\brole "[^"]*" does not exist'
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


class DatabaseErrorTranslator:
    """Turns a driver exception into a :class:`PumpflixError` naming the service."""

    def __init__(self, service: str, url: str) -> None:
        self.service = service
        self.url = url

    def translate(self, exc: SQLAlchemyError) -> PumpflixError:
        reason = _first_line(exc)
        lowered = reason.lower()
        where = mask_url(self.url)
        if _credentials_rejected(exc, lowered):
            return CredentialsRejectedError(
                self.service,
                f"the server rejected our credentials ({where}): {_after_fatal(reason)}",
                hint="check the user and password in DATABASE_URL",
            )
        if "timeout expired" in lowered or "timed out" in lowered:
            return ServiceTimeoutError(self.service, f"timed out ({where}): {reason}")
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            return ServiceUnavailableError(
                self.service,
                f"cannot use the database at {where}: {reason}",
                hint="is the server running and DATABASE_URL right? pumpflix doctor checks it",
            )
        return PumpflixError(f"{self.service} error: {reason}")


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
        self._translator = DatabaseErrorTranslator(self.service, self.url)
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        url = (
            URL.create("sqlite", database=str(self.sqlite_file))
            if self.sqlite_file is not None
            else make_url(sqlalchemy_url(self.url))
        )
        if self.dialect == "sqlite":
            if url.database and url.database != ":memory:":
                make_folder(Path(url.database).expanduser().parent)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin_immediate)
            return engine
        connect_args: dict[str, Any] = {
            "connect_timeout": max(1, round(self.settings.db_timeout)),
            "application_name": "pumpflix",
        }
        return create_engine(url, connect_args=connect_args, pool_pre_ping=False)

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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below), so the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    register_sqlite_function(dbapi_connection)


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts, so concurrent importers queue on
    busy_timeout instead of failing when a read lock cannot be upgraded."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")
