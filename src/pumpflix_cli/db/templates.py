"""The template library's tables: resolving references, listing and streaming, deleting;
the bulk upsert that import relies on is in ``template_upsert``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Instance, N8nLink, Template, TemplateMeta, TemplateVersion
from pumpflix_cli.db.names import NameKey
from pumpflix_cli.db.template_rows import (
    SUMMARY_COLUMNS,
    record_from_row,
    summaries_select,
    summary_select,
)
from pumpflix_cli.db.template_upsert import TemplateDraft, TemplateUpsert, WriteResult
from pumpflix_cli.records import TemplateRecord, TemplateVersionInfo, iso
from pumpflix_cli.references import MAX_CANDIDATES, parse_reference

__all__ = ["SUMMARY_COLUMNS", "TemplateDraft", "TemplateStore", "WriteResult", "record_from_row"]


class TemplateStore:
    """Queries over the platform's ``"WorkflowTemplate"`` with pumpflix's
    ``pumpflix_templates`` and ``pumpflix_template_versions``, within a caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- reading ---------------------------------------------------------------------

    def resolve(self, ref: str) -> list[TemplateRecord]:
        """Templates a reference may mean (``references``): those whose name is ``ref`` in
        normalised form (``db.names``) and those whose id it writes (whole or a prefix,
        dashed or not, any case), all of them, so that a name shaped like an id prefix is
        ambiguous rather than chosen. Two rows may share a name (the platform allows
        it): both are returned."""
        parsed = parse_reference(ref)
        matches = NameKey(Template.name) == parsed.name
        if parsed.digits is not None:
            # The id normalised as ``references.id_digits`` does: any case, dashes or not.
            digits = func.replace(func.lower(Template.id), "-", "")
            matches = or_(matches, digits.like(parsed.like_pattern()))
        rows = self.session.execute(
            summaries_select()
            .where(matches)
            .order_by(Template.source_type, Template.created_at, Template.id)
            .limit(MAX_CANDIDATES)
        )
        return [record_from_row(row) for row in rows]

    def get(self, template_id: str, *, history: bool = True) -> TemplateRecord | None:
        row = self.session.execute(
            summaries_select(Template.n8n_json).where(Template.id == template_id)
        ).first()
        if row is None:
            return None
        record = record_from_row(row, workflow=json.loads(row.n8n_json))
        record.workflow_json = row.n8n_json
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
        query = summary_select(types).add_columns(Template.n8n_json)
        if ids is not None:
            query = query.where(Template.id.in_(list(ids)))
        result = self.session.execute(query, execution_options={"yield_per": chunk})
        for row in result:
            yield record_from_row(row, workflow=json.loads(row.n8n_json))

    def instance_counts(self, template_ids: Sequence[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(Instance.template_id, func.count())
            .where(Instance.template_id.in_(list(template_ids)))
            .group_by(Instance.template_id)
        )
        return {str(template_id): count for template_id, count in rows}

    # --- writing ---------------------------------------------------------------------

    def delete(self, template_ids: Sequence[str]) -> int:
        """The templates and, in the same transaction, pumpflix's rows about them (by code:
        no pumpflix table references the platform's); their instances are kept."""
        ids = list(template_ids)
        self.session.execute(delete(N8nLink).where(N8nLink.template_id.in_(ids)))
        self.session.execute(
            update(Instance).where(Instance.template_id.in_(ids)).values(template_id=None)
        )
        self.session.execute(delete(TemplateVersion).where(TemplateVersion.template_id.in_(ids)))
        self.session.execute(delete(TemplateMeta).where(TemplateMeta.id.in_(ids)))
        result = self.session.execute(delete(Template).where(Template.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    def upsert(self, drafts: Sequence[TemplateDraft], *, update_changed: bool) -> list[WriteResult]:
        """Create, update or leave each draft, safely against concurrent imports of the same
        templates. An existing template with other content gets a new version when
        ``update_changed``; otherwise it is left and reported as a ``conflict``."""
        return TemplateUpsert(self.session, update_changed=update_changed).run(drafts)
