"""The template library's tables: resolving references, listing and streaming, deleting;
the bulk upsert that import relies on is in ``template_upsert``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Instance, Template, TemplateVersion
from pumpflix_cli.db.template_rows import SUMMARY_COLUMNS, record_from_row, summary_select
from pumpflix_cli.db.template_upsert import TemplateDraft, TemplateUpsert, WriteResult
from pumpflix_cli.records import TemplateRecord, TemplateVersionInfo, iso
from pumpflix_cli.references import parse_reference

__all__ = ["SUMMARY_COLUMNS", "TemplateDraft", "TemplateStore", "WriteResult", "record_from_row"]


class TemplateStore:
    """Queries over ``pumpflix_templates`` and ``pumpflix_template_versions`` within a
    caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- reading ---------------------------------------------------------------------

    def resolve(self, ref: str) -> list[TemplateRecord]:
        """Templates a reference may mean: an id, an exact name, or a unique id prefix."""
        parsed = parse_reference(ref)
        if parsed.exact_id is not None:
            rows = self.session.execute(
                select(*SUMMARY_COLUMNS).where(Template.id == uuid.UUID(parsed.exact_id))
            )
            return [record_from_row(row) for row in rows]
        by_name = self.session.execute(
            select(*SUMMARY_COLUMNS).where(Template.name == ref).order_by(Template.source_type)
        ).all()
        if by_name or parsed.prefix is None:
            return [record_from_row(row) for row in by_name]
        prefix = parsed.sql_prefix(dashes=self.dialect != "sqlite")
        rows = self.session.execute(
            select(*SUMMARY_COLUMNS).where(cast(Template.id, String).like(prefix + "%")).limit(20)
        )
        return [record_from_row(row) for row in rows]

    def get(self, template_id: str, *, history: bool = True) -> TemplateRecord | None:
        row = self.session.execute(
            select(*SUMMARY_COLUMNS, Template.workflow).where(Template.id == uuid.UUID(template_id))
        ).first()
        if row is None:
            return None
        record = record_from_row(row, workflow=row.workflow)
        if history:
            versions = self.session.execute(
                select(
                    TemplateVersion.version,
                    TemplateVersion.content_hash,
                    TemplateVersion.created_at,
                )
                .where(TemplateVersion.template_id == row.id)
                .order_by(TemplateVersion.version)
            )
            record.history = [
                TemplateVersionInfo(v.version, v.content_hash, iso(v.created_at)) for v in versions
            ]
        return record

    def summaries(
        self, types: Sequence[str], *, search: str | None = None, limit: int | None = None
    ) -> list[TemplateRecord]:
        query = summary_select(types)
        if search:
            needle = f"%{search.lower()}%"
            query = query.where(
                or_(
                    func.lower(Template.name).like(needle),
                    func.lower(Template.description).like(needle),
                )
            )
        if limit is not None:
            query = query.limit(limit)
        # Streamed through a server-side cursor: rows are turned into records as they come.
        rows = self.session.execute(query, execution_options={"yield_per": 1000})
        return [record_from_row(row) for row in rows]

    def stream(
        self, types: Sequence[str], *, ids: Iterable[str] | None = None, chunk: int = 200
    ) -> Iterator[TemplateRecord]:
        """Every template of ``types`` (or of ``ids``) with its JSON, in name order, read
        through a server-side cursor so memory stays flat whatever the count."""
        query = summary_select(types).add_columns(Template.workflow)
        if ids is not None:
            query = query.where(Template.id.in_([uuid.UUID(i) for i in ids]))
        result = self.session.execute(query, execution_options={"yield_per": chunk})
        for row in result:
            yield record_from_row(row, workflow=row.workflow)

    def instance_counts(self, template_ids: Sequence[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(Instance.template_id, func.count())
            .where(Instance.template_id.in_([uuid.UUID(i) for i in template_ids]))
            .group_by(Instance.template_id)
        )
        return {str(template_id): count for template_id, count in rows}

    # --- writing ---------------------------------------------------------------------

    def delete(self, template_ids: Sequence[str]) -> int:
        result = self.session.execute(
            delete(Template).where(Template.id.in_([uuid.UUID(i) for i in template_ids]))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def upsert(self, drafts: Sequence[TemplateDraft], *, update_changed: bool) -> list[WriteResult]:
        """Create, update or leave each draft, safely against concurrent imports of the same
        templates. An existing template with other content gets a new version when
        ``update_changed``; otherwise it is left and reported as a ``conflict``."""
        return TemplateUpsert(self.session, update_changed=update_changed).run(drafts)
