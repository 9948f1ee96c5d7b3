"""The columns every template query reads (all but the n8n JSON) and the record a row of
them becomes: shared by the store, the upsert and the bulk reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from pumpflix_cli.db.models import Template
from pumpflix_cli.records import TemplateRecord, iso

# Every column but the n8n JSON: what lists and comparisons need.
SUMMARY_COLUMNS = (
    Template.id,
    Template.name,
    Template.description,
    Template.source_type,
    Template.required_credentials,
    Template.input_variables,
    Template.thumbnail,
    Template.version,
    Template.content_hash,
    Template.created_at,
    Template.updated_at,
)


def record_from_row(row: Any, *, workflow: dict[str, Any] | None = None) -> TemplateRecord:
    return TemplateRecord(
        id=str(row.id),
        name=row.name,
        description=row.description,
        source_type=row.source_type,
        required_credentials=list(row.required_credentials or []),
        input_variables=list(row.input_variables or []),
        thumbnail=row.thumbnail,
        version=row.version,
        content_hash=row.content_hash,
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
        workflow=workflow,
    )


def summary_select(types: Sequence[str]) -> Select[*tuple[Any, ...]]:
    """The summaries of ``types``, in the one listing order."""
    query = select(*SUMMARY_COLUMNS)
    if set(types) != {"prebuilt", "user"}:
        query = query.where(Template.source_type.in_(list(types)))
    return query.order_by(Template.name, Template.source_type, Template.id)
