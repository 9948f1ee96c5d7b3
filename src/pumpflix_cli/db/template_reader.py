"""What ``cache warm`` and ``cache verify`` read: templates with their workflow JSON as
*text* (the cache stores JSON, so decoding and re-encoding it would be wasted work), the
version history of many templates at once, and their ids and types."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Template, TemplateVersion
from pumpflix_cli.db.template_rows import record_from_row, summaries_select
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord, TemplateVersionInfo, iso

# A half-open range [low, high) of ids (text, compared byte by byte): every query has the
# same shape. Ids are ASCII, so "\x7f" is above them all.
IdRange = tuple[str, str]
ALL_IDS: IdRange = ("", "\x7f")


def split_ids(ids: Sequence[str], parts: int) -> list[IdRange]:
    """``parts`` contiguous ranges covering every possible id, each holding about as many
    of ``ids`` (templates created meanwhile fall in one of them too)."""
    ordered = sorted(ids)
    if parts <= 1 or len(ordered) < parts:
        return [ALL_IDS]
    bounds = sorted({ordered[len(ordered) * k // parts] for k in range(1, parts)})
    lows = [ALL_IDS[0], *bounds]
    return list(zip(lows, [*bounds, ALL_IDS[1]], strict=True))


def _of_types(query: Any, column: Any, types: Sequence[str]) -> Any:
    return query if set(types) >= set(SOURCE_TYPES) else query.where(column.in_(list(types)))


class BulkTemplateReader:
    """Queries within the caller's session. ``snapshot()`` first makes every later query of
    the session read one snapshot of the database (PostgreSQL's REPEATABLE READ; SQLite's
    transactions are serial already), so history and templates agree with each other."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def snapshot(self) -> None:
        if self.dialect == "postgresql":
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    def _in(self, column: Any, ids: IdRange) -> Any:
        """``column`` in the half-open range ``ids``, compared byte by byte."""
        if self.dialect == "postgresql":
            column = column.collate("C")
        low, high = ids
        return (column >= low) & (column < high)

    def ids(self, types: Sequence[str]) -> list[tuple[str, str]]:
        """``(id, source type)`` of every template of ``types``."""
        query = _of_types(select(Template.id, Template.source_type), Template.source_type, types)
        return [(str(row.id), row.source_type) for row in self._execute(query)]

    def _execute(self, query: Any, **options: Any) -> Any:
        return self.session.execute(query, execution_options=options)

    def history(
        self, types: Sequence[str], ids: IdRange = ALL_IDS
    ) -> dict[str, list[TemplateVersionInfo]]:
        """Every version (without its JSON) of every template of ``types`` in ``ids``."""
        v = TemplateVersion
        query = _of_types(
            select(v.template_id, v.version, v.content_hash, v.created_at)
            .join(Template, Template.id == v.template_id)
            .where(self._in(v.template_id, ids))
            .order_by(v.template_id, v.version),
            Template.source_type,
            types,
        )
        found: dict[str, list[TemplateVersionInfo]] = {}
        for row in self._execute(query):
            found.setdefault(str(row.template_id), []).append(
                TemplateVersionInfo(row.version, row.content_hash, iso(row.created_at))
            )
        return found

    def templates(
        self, types: Sequence[str], ids: IdRange = ALL_IDS, *, chunk: int = 500
    ) -> Iterator[tuple[TemplateRecord, str]]:
        """Each template of ``types`` in ``ids``, its summary with its workflow as JSON
        text (as the platform's table holds it), through a server-side cursor so memory
        stays flat whatever the count."""
        query = _of_types(
            summaries_select(Template.n8n_json).where(self._in(Template.id, ids)),
            Template.source_type,
            types,
        )
        for row in self._execute(query, yield_per=chunk):
            yield record_from_row(row), row.n8n_json

    def summaries(self, types: Sequence[str]) -> dict[str, TemplateRecord]:
        """Every template of ``types`` without its JSON, by id."""
        query = _of_types(summaries_select(), Template.source_type, types)
        return {str(row.id): record_from_row(row) for row in self._execute(query)}
