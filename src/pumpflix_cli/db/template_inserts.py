"""The two bulk writes of the upsert that move the JSON: new rows by COPY (PostgreSQL)
and the history snapshot copied inside the database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import cast, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Template, TemplateMeta, TemplateVersion


@contextmanager
def _as_sqlalchemy_error(statement: str) -> Iterator[None]:
    """psycopg's own errors (from its cursor, used for COPY) as SQLAlchemy raises them for
    every other statement, so that the callers' translation sees them too (a unique
    violation is a concurrent insert; nothing reaches the user as a raw driver error)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def copy_insert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: COPY the rows into a temporary table shaped like the platform's, then
    one INSERT … SELECT: the JSON crosses the wire once, as text (lists as TEXT[])."""
    columns = ", ".join(f'"{column}"' for column in rows[0])
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with _as_sqlalchemy_error("COPY"), driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS pumpflix_incoming "
            '(LIKE "WorkflowTemplate") ON COMMIT DROP'
        )
        cursor.execute("TRUNCATE pumpflix_incoming")
        with cursor.copy(f"COPY pumpflix_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(list(row.values()))
        cursor.execute(
            f'INSERT INTO "WorkflowTemplate" ({columns}) SELECT {columns} '
            'FROM pumpflix_incoming ORDER BY "sourceType", name'
        )


def snapshot_versions(session: Session, template_ids: Sequence[str]) -> None:
    """Record the current content of these templates as their current version; copied
    inside the database, so the JSON crosses the wire once."""
    if not template_ids:
        return
    workflow: Any = Template.n8n_json
    created: Any = Template.updated_at
    if session.get_bind().dialect.name == "postgresql":
        workflow = cast(workflow, JSONB)
        created = func.timezone("UTC", created)
    columns = ("template_id", "version", "name", "workflow", "content_hash", "created_at")
    for start in range(0, len(template_ids), 500):
        session.execute(
            insert(TemplateVersion).from_select(
                columns,
                select(
                    Template.id,
                    TemplateMeta.version,
                    Template.name,
                    workflow,
                    TemplateMeta.content_hash,
                    created,
                )
                .join(TemplateMeta, TemplateMeta.id == Template.id)
                .where(Template.id.in_(list(template_ids[start : start + 500]))),
            )
        )
