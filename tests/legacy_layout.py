"""Older layouts of pumpflix's database (0001, 0002), made and filled for the migration
tests: the rows of a database at head turned back into what the older pumpflix would
have held for the same imports (``legacy_rows``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, Table, insert, select, text

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.migrate import SCRIPT_LOCATION
from pumpflix_cli.records import as_utc
from tests.conftest import Backend, create_database

OLD = ("templates", "template_versions", "instances", "instance_events", "n8n_links")
NEW = tuple(f"pumpflix_{table}" for table in OLD)
PLATFORM = "WorkflowTemplate"


def legacy_database(backend: Backend, tmp_path: Path, revision: str = "0001") -> str:
    """A new database at ``revision``: 0001 with its revision in ``alembic_version``, as
    pumpflix left every database before 0002; 0002 in ``pumpflix_alembic_version``."""
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    else:
        name = f"pumpflix_legacy_{uuid.uuid4().hex[:10]}"
        url = create_database(name)
        backend.cleanups.append(name)
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    table = "alembic_version" if revision == "0001" else "pumpflix_alembic_version"
    config.set_main_option("version_table", table)
    with engine_of(url) as engine, engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return url


@contextmanager
def engine_of(url: str | None = None) -> Iterator[Engine]:
    """pumpflix's own engine for ``url`` (None: the configured database), disposed after."""
    database = Database(Settings(DATABASE_URL=url) if url else Settings())
    try:
        yield database.engine
    finally:
        database.dispose()


def rows(url: str, tables: tuple[str, ...]) -> list[list[tuple[Any, ...]]]:
    """Every row of ``tables``, in primary-key order."""
    with engine_of(url) as engine, engine.connect() as conn:
        meta = MetaData()
        found = []
        for name in tables:
            table = Table(name, meta, autoload_with=conn)
            query = select(table).order_by(*table.primary_key.columns)
            found.append([tuple(row) for row in conn.execute(query)])
        return found


def legacy_rows(source: str) -> dict[str, list[dict[str, Any]]]:
    """The head database's rows in the shape of 0001/0002's tables (by their 0001 names):
    each template one row with its JSON, version and hash; template ids as UUIDs."""
    with engine_of(source) as engine, engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"

        def legacy_id(value: str | None) -> Any:
            if value is None:
                return None
            return uuid.UUID(value).hex if sqlite else uuid.UUID(value)

        def when(value: Any) -> Any:
            return value if sqlite else as_utc(value)

        meta = MetaData()
        read = {name: Table(name, meta, autoload_with=conn) for name in (PLATFORM, *NEW)}
        found: dict[str, list[dict[str, Any]]] = {}
        metas = {row.id: row for row in conn.execute(select(read["pumpflix_templates"])).all()}
        found["templates"] = [
            {
                "id": legacy_id(row.id),
                "name": row.name,
                "description": row.description or None,
                "source_type": row.sourceType,
                "workflow": json.loads(row.n8nJson),
                "required_credentials": list(row.requiredCredentials or []),
                "input_variables": list(row.inputVariables or []),
                "thumbnail": row.thumbnail,
                "version": metas[row.id].version,
                "content_hash": metas[row.id].content_hash,
                "created_at": when(row.createdAt),
                "updated_at": when(row.updatedAt),
            }
            for row in conn.execute(select(read[PLATFORM]))
        ]
        for old, new in zip(OLD[1:], NEW[1:], strict=True):
            found[old] = [dict(row._mapping) for row in conn.execute(select(read[new]))]
            for row in found[old]:
                if "template_id" in row:
                    row["template_id"] = legacy_id(row["template_id"])
        return found


def copy_rows(source: str, target: str, revision: str = "0001") -> None:
    """What the source (this pumpflix, head) holds, into the tables of ``target``, a
    database at ``revision`` (0001 or 0002)."""
    found = legacy_rows(source)
    names = OLD if revision == "0001" else NEW
    with engine_of(target) as to, to.begin() as writer:
        meta = MetaData()
        for old, name in zip(OLD, names, strict=True):
            if found[old]:
                writer.execute(insert(Table(name, meta, autoload_with=writer)), found[old])
        if writer.dialect.name == "postgresql":  # the ids came along: as if made here
            for table in (names[3], names[4]):
                writer.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                        f"FROM {table}"
                    )
                )


def platform_rows(url: str) -> list[list[tuple[Any, ...]]]:
    """The platform's table (its JSON parsed: PostgreSQL's jsonb had its own spelling) and
    pumpflix's tables, in primary-key order: what must survive the upgrade."""
    with engine_of(url) as engine, engine.connect() as conn:
        table = Table(PLATFORM, MetaData(), autoload_with=conn)
        templates = [
            tuple(json.loads(v) if k == "n8nJson" else v for k, v in row._mapping.items())
            for row in conn.execute(select(table).order_by(table.c.id))
        ]
    return [templates, *rows(url, NEW)]
