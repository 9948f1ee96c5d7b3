"""The schema revision this pumpflix needs, checked on every command without importing
Alembic (a test keeps ``HEAD`` equal to the newest migration)."""

from __future__ import annotations

from sqlalchemy import text

from pumpflix_cli.db.engine import Database
from pumpflix_cli.errors import PumpflixError

HEAD = "0001"


def current_revision(database: Database) -> str | None:
    """What ``alembic_version`` says, or None for a database never migrated."""
    with database.errors(), database.engine.connect() as conn:
        if not database.engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_current(database: Database) -> None:
    """The embedded database migrates itself on first use; PostgreSQL must be upgraded
    on purpose (``pumpflix db upgrade``), as a production database should be."""
    current = current_revision(database)
    if current == HEAD:
        return
    if database.embedded:
        from pumpflix_cli.db.migrate import upgrade

        upgrade(database)
        return
    raise PumpflixError(
        f"the database schema is at {current or 'nothing'}, this pumpflix needs {HEAD}",
        hint="run: pumpflix db upgrade",
    )
