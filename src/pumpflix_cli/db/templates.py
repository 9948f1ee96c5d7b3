"""The template library's tables: resolving references, listing and streaming, deleting;
the bulk upsert that import relies on is in ``template_upsert``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Instance, Template, TemplateMeta, TemplateVersion
from pumpflix_cli.db.names import NameKey, keys_among
from pumpflix_cli.db.template_rows import (
    SUMMARY_COLUMNS,
    listed,
    record_from_row,
    summaries_select,
    summary_select,
)
from pumpflix_cli.db.template_upsert import TemplateDraft, TemplateUpsert, WriteResult
from pumpflix_cli.errors import WriteContentionError
from pumpflix_cli.records import TemplateRecord, TemplateVersionInfo, iso
from pumpflix_cli.references import MAX_CANDIDATES, parse_reference

# Up to this limit the first rows are chosen by a narrow scan, then read by id.
PICK_AT_MOST = 1000
# The leading columns of the platform's rows: what choosing and filtering them needs.
NARROW_COLUMNS: tuple[Any, ...] = (Template.id, Template.name, Template.description)

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
        self,
        types: Sequence[str],
        *,
        matches: Callable[[str, str | None], bool] | None = None,
        limit: int | None = None,
    ) -> list[TemplateRecord]:
        """The summaries of ``types`` in listing order, those that ``matches`` (a filter on
        name and description with Python's own case rules, which neither SQLite's
        ``lower()`` nor PostgreSQL's locale reproduce), at most ``limit``."""
        binary = self.dialect == "postgresql"
        if limit is not None and limit <= PICK_AT_MOST:
            return self._first(types, matches, limit)
        query = summary_select(types, binary_order=binary)
        if limit is not None and matches is None:
            query = query.limit(limit)
        # Streamed through a server-side cursor: rows are turned into records as they come.
        rows = self.session.execute(query, execution_options={"yield_per": 1000})
        found: list[TemplateRecord] = []
        for row in rows:
            if matches is None or matches(row.name, row.description or None):
                found.append(record_from_row(row))
                if limit is not None and len(found) >= limit:
                    break
        rows.close()
        return found

    def _first(
        self, types: Sequence[str], matches: Callable[[str, str | None], bool] | None, limit: int
    ) -> list[TemplateRecord]:
        """The first ``limit``: chosen by a scan of the narrow leading columns (id, name,
        description; ``LIMIT`` in the query unless a filter runs here, then the rows stream
        until enough matched), then only those rows read whole. Without an index of our
        own on the platform's table (never altered), the scan is the floor; keeping the
        rows' other columns (the JSON before them) out of it is what makes it cheap."""
        query = listed(select(*NARROW_COLUMNS), types, binary_order=self.dialect == "postgresql")
        if matches is None:
            query = query.limit(limit)
        rows = self.session.execute(query, execution_options={"yield_per": min(limit, 1000)})
        chosen: list[str] = []
        for row in rows:
            if matches is None or matches(row.name, row.description or None):
                chosen.append(row.id)
                if len(chosen) >= limit:
                    break
        rows.close()
        if not chosen:
            return []
        found = self.session.execute(summaries_select().where(Template.id.in_(chosen)))
        by_id = {str(row.id): record_from_row(row) for row in found}
        return [by_id[str(i)] for i in chosen if str(i) in by_id]

    def stream(
        self, types: Sequence[str], *, ids: Iterable[str] | None = None, chunk: int = 200
    ) -> Iterator[TemplateRecord]:
        """Every template of ``types`` (or of ``ids``) with its JSON, in name order, read
        through a server-side cursor so memory stays flat whatever the count."""
        query = summary_select(types, binary_order=self.dialect == "postgresql")
        query = query.add_columns(Template.n8n_json)
        if ids is not None:
            query = query.where(Template.id.in_(list(ids)))
        result = self.session.execute(query, execution_options={"yield_per": chunk})
        for row in result:
            yield record_from_row(row, workflow=json.loads(row.n8n_json))

    def holders(
        self, keys: Sequence[tuple[str, str]], ids: Sequence[str]
    ) -> list[tuple[str, str, str]]:
        """``(id, source type, name)`` of every template holding one of ``keys`` (source
        type, name in normalised form) or ``ids``: what an import batch would write to."""
        found: set[tuple[str, str, str]] = set()
        columns = (Template.id, Template.source_type, Template.name)
        for start in range(0, max(len(keys), len(ids)), 500):  # bounded IN lists
            conditions = []
            if keys[start : start + 500]:
                wanted = keys[start : start + 500]
                conditions.append(
                    keys_among(Template.source_type, Template.name, wanted, self.dialect)
                )
            if ids[start : start + 500]:
                conditions.append(Template.id.in_(list(ids[start : start + 500])))
            rows = self.session.execute(select(*columns).where(or_(*conditions)))
            found.update((str(i), t, n) for i, t, n in rows)
        return sorted(found)

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
        no pumpflix table references the platform's); their instances are kept, and so
        are their n8n links: a link to a template that is gone is the tombstone that keeps
        a sync from pulling the workflow back (services/n8n/pairing.py)."""
        ids = list(template_ids)
        self.session.execute(
            update(Instance).where(Instance.template_id.in_(ids)).values(template_id=None)
        )
        self.session.execute(delete(TemplateVersion).where(TemplateVersion.template_id.in_(ids)))
        self.session.execute(delete(TemplateMeta).where(TemplateMeta.id.in_(ids)))
        result = self.session.execute(delete(Template).where(Template.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    def upsert(
        self,
        drafts: Sequence[TemplateDraft],
        *,
        update_changed: bool,
        lock_timeout: float | None = None,
    ) -> list[WriteResult]:
        """Create, update or leave each draft, safely against concurrent imports of the same
        templates. An existing template with other content gets a new version when
        ``update_changed``; otherwise it is left and reported as a ``conflict``.

        A wait for another session's lock ends after ``lock_timeout`` seconds (PostgreSQL;
        SQLite's wait is the engine's). Raises `WriteContentionError` when another session
        held what the write needed or wrote the same row meanwhile: the caller's
        transaction must be rolled back, and trying again may succeed."""
        upsert = TemplateUpsert(self.session, update_changed=update_changed)
        try:
            return upsert.run(drafts, lock_timeout=lock_timeout)
        except IntegrityError as exc:
            # Every key is locked and every id read under lock before it is written, so a
            # duplicate can only be a row another session inserted at the same moment.
            raise WriteContentionError(
                "another session wrote one of these templates at the same moment"
            ) from exc
