"""The schema revision this pumpflix needs, checked on every command without importing
Alembic (a test keeps ``HEAD`` equal to the newest migration).

The revision lives in ``pumpflix_alembic_version``: a bare ``alembic_version`` may be
another tool's in a shared database. pumpflix before 0002 kept it there, so such a table
is recognised as ours only when it holds a revision of that time and that revision's
tables stand beside it (see :func:`carry_over_legacy_version`).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from pumpflix_cli.db.engine import Database
from pumpflix_cli.errors import OutputError, PumpflixError

HEAD = "0003"
VERSION_TABLE = "pumpflix_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"
# The revisions pumpflix wrote into ``alembic_version``, with the tables each leaves.
LEGACY_REVISIONS = {
    "0001": ("templates", "template_versions", "instances", "instance_events", "n8n_links")
}


def current_revision(database: Database) -> str | None:
    """The database's revision, or None for a database pumpflix never migrated."""
    with database.errors(), database.engine.connect() as conn:
        return read_revision(conn)


def read_revision(conn: Connection) -> str | None:
    """What ``pumpflix_alembic_version`` says, else the revision of a legacy
    ``alembic_version`` of ours (not carried over yet: only ``db upgrade`` writes)."""
    if conn.dialect.has_table(conn, VERSION_TABLE):
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return _legacy_revision(conn)[0]


def _legacy_revision(conn: Connection) -> tuple[str | None, bool]:
    """Our revision in ``alembic_version`` (or None), and whether it is all that table holds."""
    if not conn.dialect.has_table(conn, LEGACY_VERSION_TABLE):
        return None, False
    held = list(conn.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")).scalars())
    ours = [
        revision
        for revision in held
        if revision in LEGACY_REVISIONS
        and all(conn.dialect.has_table(conn, table) for table in LEGACY_REVISIONS[revision])
    ]
    if len(ours) != 1:
        return None, False
    return ours[0], held == ours


def carry_over_legacy_version(conn: Connection) -> str | None:
    """Move pumpflix's revision from a legacy ``alembic_version`` into
    ``pumpflix_alembic_version`` (created as Alembic would), within the caller's
    transaction; the old table is dropped only when it held nothing else. Another tool's
    ``alembic_version`` is left as it is. Returns the revision carried over, if any."""
    if conn.dialect.has_table(conn, VERSION_TABLE):
        return None
    revision, alone = _legacy_revision(conn)
    if revision is None:
        return None
    conn.execute(
        text(
            f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
            f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:r)"), {"r": revision})
    if alone:
        conn.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))
    return revision


def ensure_current(database: Database) -> None:
    """The embedded database migrates itself on first use; PostgreSQL must be upgraded
    on purpose (``pumpflix db upgrade``), as a production database should be."""
    current = current_revision(database)
    if current == HEAD:
        return
    if database.embedded and database.read_only and database.sqlite_file is not None:
        raise OutputError(
            str(database.sqlite_file.parent),
            f"the database there is at {current or 'nothing'}, this pumpflix needs {HEAD}, "
            "and the folder is read-only",
            hint="make the folder writable once, so that pumpflix can upgrade it",
        )
    if database.embedded:
        from pumpflix_cli.db.migrate import upgrade

        upgrade(database)
        return
    raise PumpflixError(
        f"the database schema is at {current or 'nothing'}, this pumpflix needs {HEAD}",
        hint="run: pumpflix db upgrade",
    )
