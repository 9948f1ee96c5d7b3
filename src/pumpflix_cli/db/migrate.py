"""Alembic, driven from code: the migrations ship inside the package, and the revision
lives in ``pumpflix_alembic_version`` (see ``schema_version``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.schema_version import (
    VERSION_TABLE,
    carry_over_legacy_version,
    read_revision,
)
from pumpflix_cli.errors import PumpflixError

SCRIPT_LOCATION = "pumpflix_cli.db:migrations"


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(database: Database | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("version_table", VERSION_TABLE)
    if database is not None:
        config.attributes["database"] = database
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def migration_context(conn: Connection) -> MigrationContext:
    """Alembic's view of this connection, with pumpflix's version table."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})


def status(database: Database) -> SchemaStatus:
    with database.errors(), database.engine.connect() as conn:
        current = read_revision(conn)
    return SchemaStatus(current=current, head=head_revision())


def upgrade(database: Database, revision: str = "head") -> SchemaStatus:
    """Carry a legacy version table over, then migrate: one transaction."""
    with database.errors(), _migrating(database) as conn:
        carry_over_legacy_version(conn)
        config = _config(database)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return status(database)


def downgrade(database: Database, revision: str) -> SchemaStatus:
    with database.errors(), _migrating(database) as conn:
        config = _config(database)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    return status(database)


@contextmanager
def _migrating(database: Database) -> Iterator[Connection]:
    """A connection in one transaction. On SQLite, foreign keys are off around it and
    checked before the commit, as SQLite's procedure for altering a table asks: rebuilding
    a table (batch mode) drops the old one, which would otherwise cascade to its children.
    The pragma is a no-op inside a transaction, so it goes to the driver before BEGIN."""
    sqlite = database.dialect == "sqlite"
    with database.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        if sqlite:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise PumpflixError("the migration would break a foreign key: rolled back")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")
