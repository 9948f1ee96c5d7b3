"""The bulk, concurrency-safe upsert that import, sync and promote rely on: create, update
(a new version) or leave each draft.

What to do with an existing template whose content differs is the caller's decision: with
``update_changed`` the store writes a new version, without it the store leaves the row
and reports a ``conflict`` carrying the existing template."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Template, TemplateMeta, TemplateVersion
from pumpflix_cli.db.names import NameKey, keys_among
from pumpflix_cli.db.template_drafts import Outcome, TemplateDraft, WriteResult
from pumpflix_cli.db.template_inserts import copy_insert, snapshot_versions
from pumpflix_cli.db.template_rows import (
    platform_now,
    record_from_row,
    row_hash,
    summaries_select,
)
from pumpflix_cli.references import name_key

__all__ = ["Outcome", "TemplateDraft", "TemplateUpsert", "WriteResult"]


class TemplateUpsert:
    """One upsert within a caller's session. Keys are serialised first (PostgreSQL: a
    transaction-scoped advisory lock per (source type, name), taken in one sorted order;
    SQLite: BEGIN IMMEDIATE serialises writers), then read and written: no unique
    constraint on names is needed (the platform's table has none)."""

    def __init__(self, session: Session, *, update_changed: bool) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.update_changed = update_changed

    def run(
        self, drafts: Sequence[TemplateDraft], *, lock_timeout: float | None = None
    ) -> list[WriteResult]:
        if lock_timeout is not None and self.dialect == "postgresql":
            # For this transaction only (a pooler's session settings would leak).
            self.session.execute(
                text("SELECT set_config('lock_timeout', :wait, true)"),
                {"wait": f"{max(1, round(lock_timeout * 1000))}ms"},
            )
        self._serialise(sorted({d.key for d in drafts}))
        results: list[WriteResult] = []
        by_key = [d for d in drafts if d.template_id is None]
        by_id = [d for d in drafts if d.template_id is not None]
        if by_key:
            results.extend(self._upsert_by_key(sorted(by_key, key=lambda d: d.key)))
        for draft in by_id:
            results.append(self._upsert_by_id(draft))
        return results

    def _serialise(self, keys: Sequence[tuple[str, str]]) -> None:
        if self.dialect != "postgresql" or not keys:
            return
        self.session.execute(
            text(
                "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT "
                "hashtextextended('pumpflix:' || t || chr(31) || n, 0) AS h "
                "FROM unnest(CAST(:types AS text[]), CAST(:names AS text[])) AS k(t, n) "
                "ORDER BY h) AS locks"
            ),
            {"types": [k[0] for k in keys], "names": [k[1] for k in keys]},
        )

    def _json(self, draft: TemplateDraft) -> str:
        return draft.json_text()

    def _lock_by_keys(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
        if not keys:
            return {}
        found: dict[tuple[str, str], list[Any]] = {}
        order = (Template.source_type, Template.name, Template.created_at, Template.id)
        for start in range(0, len(keys), 500):  # bounded IN lists
            wanted = keys[start : start + 500]
            among = keys_among(Template.source_type, Template.name, wanted, self.dialect)
            locked = self._lock(among, order)
            if not locked:
                continue
            rows = self.session.execute(
                summaries_select().where(Template.id.in_(locked)).order_by(*order)
            )
            for row in rows:
                found.setdefault((row.source_type, name_key(row.name)), []).append(row)
        return found

    def _lock(self, where: Any, order: Sequence[Any] = ()) -> list[str]:
        """Lock the rows ``where`` selects; their ids. The caller reads them afterwards,
        in a statement of its own: a row read by the locking statement after a wait is
        the platform's row as committed, but pumpflix's row beside it (version, hash) as
        it was before the wait, which could write a version that already exists."""
        query = select(Template.id).where(where).order_by(*order).with_for_update(of=Template)
        return [str(template_id) for template_id in self.session.execute(query).scalars()]

    def _insert_new(self, drafts: Sequence[TemplateDraft]) -> dict[tuple[str, str], str]:
        """Insert the drafts (their keys are held, so none exists); return their ids."""
        if not drafts:
            return {}
        now = platform_now()
        rows = [
            {
                "id": draft.template_id or str(uuid.uuid4()),
                "name": draft.name,
                "description": draft.description or "",
                "sourceType": draft.source_type,
                "n8nJson": draft.json_text(),
                "requiredCredentials": draft.required_credentials,
                "inputVariables": draft.input_variables,
                "thumbnail": draft.thumbnail,
                "createdAt": now,
                "updatedAt": now,
            }
            for draft in drafts
        ]
        # A bundle's id may be one the platform deleted: pumpflix's rows left about it go.
        kept_ids = [draft.template_id for draft in drafts if draft.template_id is not None]
        if kept_ids:
            self.session.execute(
                delete(TemplateVersion).where(TemplateVersion.template_id.in_(kept_ids))
            )
            self.session.execute(delete(TemplateMeta).where(TemplateMeta.id.in_(kept_ids)))
        if self.dialect == "postgresql":
            copy_insert(self.session, rows)
        else:
            # The ORM's insert takes attribute names (``source_type`` for "sourceType").
            keys = {prop.columns[0].name: prop.key for prop in inspect(Template).column_attrs}
            self.session.execute(
                insert(Template),
                [{keys[name]: value for name, value in row.items()} for row in rows],
            )
        self.session.execute(
            insert(TemplateMeta),
            [
                {"id": row["id"], "version": 1, "content_hash": draft.content_hash}
                for row, draft in zip(rows, drafts, strict=True)
            ],
        )
        ids = [str(row["id"]) for row in rows]
        snapshot_versions(self.session, ids)
        return {draft.key: str(row["id"]) for row, draft in zip(rows, drafts, strict=True)}

    def _adopt(self, row: Any) -> None:
        """A template the platform created gets pumpflix's row (version 1, its hash) and
        its first history entry before pumpflix writes it."""
        if row.content_hash is not None:
            return
        self.session.execute(
            insert(TemplateMeta).values(id=row.id, version=1, content_hash=row_hash(row))
        )
        snapshot_versions(self.session, [row.id])

    def _upsert_by_key(self, drafts: Sequence[TemplateDraft]) -> list[WriteResult]:
        existing = self._lock_by_keys([d.key for d in drafts])
        created = self._insert_new([d for d in drafts if d.key not in existing])
        results = []
        for draft in drafts:
            rows = existing.get(draft.key, [])
            if draft.key in created:
                results.append(WriteResult(draft, "created", id=created[draft.key], version=1))
            elif len(rows) > 1:
                results.append(self._ambiguous(draft, rows))
            else:
                results.append(self._apply(draft, rows[0]))
        return results

    def _ambiguous(self, draft: TemplateDraft, rows: Sequence[Any]) -> WriteResult:
        ids = ", ".join(str(row.id) for row in rows)
        return WriteResult(
            draft,
            "failed",
            error=f"{len(rows)} {draft.source_type} templates are named '{draft.name}' "
            f"({ids}): which one to write is ambiguous; rename or delete all but one",
        )

    def _apply(self, draft: TemplateDraft, row: Any) -> WriteResult:
        """Bring an existing row in line with the draft: metadata always; different
        content only when ``update_changed`` (else the row is reported as a conflict)."""
        template_id = str(row.id)
        # A name equal in normalised form is the row's own: never rewritten for its form.
        name = row.name if name_key(row.name) == name_key(draft.name) else draft.name
        if row_hash(row) == draft.content_hash:
            changes = {
                column: value
                for column, value in (
                    ("description", draft.description),
                    ("thumbnail", draft.thumbnail),
                    ("name", name),
                    ("source_type", draft.source_type),
                )
                if value is not None and getattr(row, column) != value
            }
            if not changes:
                return WriteResult(draft, "unchanged", id=template_id, version=row.version)
            self._adopt(row)
            self.session.execute(
                update(Template)
                .where(Template.id == row.id)
                .values(**changes, updated_at=platform_now())
            )
            return WriteResult(
                draft, "updated", id=template_id, version=row.version, previous_type=row.source_type
            )
        if not self.update_changed:
            return WriteResult(
                draft,
                "conflict",
                id=template_id,
                version=row.version,
                existing=record_from_row(row),
            )
        self._adopt(row)
        version = row.version + 1
        self.session.execute(
            update(Template)
            .where(Template.id == row.id)
            .values(
                name=name,
                source_type=draft.source_type,
                n8n_json=self._json(draft),
                required_credentials=draft.required_credentials,
                input_variables=draft.input_variables,
                updated_at=platform_now(),
                **{
                    k: v
                    for k, v in (("description", draft.description), ("thumbnail", draft.thumbnail))
                    if v is not None
                },
            )
        )
        self.session.execute(
            update(TemplateMeta)
            .where(TemplateMeta.id == row.id)
            .values(version=version, content_hash=draft.content_hash)
        )
        snapshot_versions(self.session, [row.id])
        return WriteResult(
            draft, "updated", id=template_id, version=version, previous_type=row.source_type
        )

    def _upsert_by_id(self, draft: TemplateDraft) -> WriteResult:
        """A bundle keeps its template's identity: the id decides, not the name."""
        assert draft.template_id is not None
        row = None
        if self._lock(Template.id == draft.template_id):
            row = self.session.execute(
                summaries_select().where(Template.id == draft.template_id)
            ).first()
        holder = self.session.execute(
            select(Template.id).where(
                Template.source_type == draft.source_type,
                NameKey(Template.name) == name_key(draft.name),
                Template.id != draft.template_id,
            )
        ).first()
        if holder is not None:
            return WriteResult(
                draft,
                "failed",
                error=f"another {draft.source_type} template named '{draft.name}' exists "
                f"({holder.id}); the bundle's template is {draft.template_id}",
            )
        if row is None:
            created = self._insert_new([draft])
            return WriteResult(draft, "created", id=created[draft.key], version=1)
        return self._apply(draft, row)
