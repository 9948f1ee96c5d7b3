"""The columns every template query reads (all but the n8n JSON) and the record a row of
them becomes: shared by the store, the upsert and the bulk reader.

A template is a row of the platform's ``"WorkflowTemplate"`` joined (LEFT) to pumpflix's
``pumpflix_templates``: a template the platform created has no row there yet, so it reads
as version 1 and its content hash is computed from its ``n8nJson`` (the only case where
the summary carries the JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select

from pumpflix_cli.db.models import Template, TemplateMeta
from pumpflix_cli.records import TemplateRecord, iso, utcnow
from pumpflix_cli.workflow.canonical import content_hash

# Every column but the n8n JSON: what lists and comparisons need.
SUMMARY_COLUMNS = (
    Template.id,
    Template.name,
    Template.description,
    Template.source_type,
    Template.required_credentials,
    Template.input_variables,
    Template.thumbnail,
    func.coalesce(TemplateMeta.version, 1).label("version"),
    TemplateMeta.content_hash,
    # Only a template without pumpflix's row needs its JSON to have a hash.
    case((TemplateMeta.content_hash.is_(None), Template.n8n_json)).label("unhashed_json"),
    Template.created_at,
    Template.updated_at,
)


def joined(*columns: Any) -> Select[Any]:
    """``columns`` selected from the platform's table LEFT JOIN pumpflix's."""
    return (
        select(*columns)
        .select_from(Template)
        .outerjoin(TemplateMeta, TemplateMeta.id == Template.id)
    )


def summaries_select(*extra: Any) -> Select[Any]:
    return joined(*SUMMARY_COLUMNS, *extra)


def platform_now() -> datetime:
    """The platform's timestamp: UTC without a zone, millisecond precision."""
    now = utcnow()
    return now.replace(tzinfo=None, microsecond=now.microsecond // 1000 * 1000)


def row_hash(row: Any) -> str:
    if row.content_hash is not None:
        return str(row.content_hash)
    return content_hash(json.loads(row.unhashed_json))


def record_from_row(row: Any, *, workflow: dict[str, Any] | None = None) -> TemplateRecord:
    return TemplateRecord(
        id=str(row.id),
        name=row.name,
        description=row.description or None,
        source_type=row.source_type,
        required_credentials=list(row.required_credentials or []),
        input_variables=list(row.input_variables or []),
        thumbnail=row.thumbnail,
        version=row.version,
        content_hash=row_hash(row),
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
        workflow=workflow,
    )


def summary_select(types: Sequence[str], *, binary_order: bool = False) -> Select[Any]:
    """The summaries of ``types``, in the one listing order."""
    return listed(summaries_select(), types, binary_order=binary_order)


def listed(query: Select[Any], types: Sequence[str], *, binary_order: bool) -> Select[Any]:
    """``query`` limited to ``types``, in the one listing order: name, type, id compared by
    code point, as Python compares them (SQLite's default collation does; PostgreSQL
    needs ``binary_order``, its ``"C"`` collation, instead of the database's locale)."""
    if set(types) != {"prebuilt", "user"}:
        query = query.where(Template.source_type.in_(list(types)))
    columns = (Template.name, Template.source_type, Template.id)
    if binary_order:
        return query.order_by(*(column.collate("C") for column in columns))
    return query.order_by(*columns)
