"""The bulk, concurrency-safe upsert that import, sync and promote rely on: create, update
(a new version) or leave each draft.

What to do with an existing template whose content differs is the caller's decision: with
``update_changed`` the store writes a new version, without it the store leaves the row
and reports a ``conflict`` carrying the existing template."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Text, cast, insert, select, tuple_, type_coerce, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Template, TemplateVersion
from pumpflix_cli.db.template_rows import SUMMARY_COLUMNS, record_from_row
from pumpflix_cli.records import TemplateRecord, utcnow

Outcome = Literal["created", "updated", "unchanged", "conflict", "failed"]


@dataclass(frozen=True)
class TemplateDraft:
    """What an import wants stored under (source_type, name), or under ``template_id``
    when the file was a pumpflix bundle."""

    name: str
    source_type: str
    workflow: dict[str, Any]
    content_hash: str
    required_credentials: list[str]
    input_variables: list[str]
    description: str | None = None
    thumbnail: str | None = None
    template_id: uuid.UUID | None = None
    # The workflow already serialized (import does it in worker processes); when set it
    # is stored as it is and ``workflow`` is not read.
    workflow_json: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source_type, self.name)

    def json_text(self) -> str:
        if self.workflow_json is not None:
            return self.workflow_json
        return json.dumps(self.workflow, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class WriteResult:
    draft: TemplateDraft
    outcome: Outcome
    id: str | None = None
    version: int | None = None
    error: str | None = None
    # The source type the template had before, when a bundle moved it to another type.
    previous_type: str | None = None
    # A ``conflict``: the existing template, whose content differs from the draft's.
    existing: TemplateRecord | None = None


class TemplateUpsert:
    """One upsert within a caller's session: existing rows are locked in key order and new
    ones inserted with ON CONFLICT DO NOTHING, re-read when another import won the race."""

    def __init__(self, session: Session, *, update_changed: bool) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.update_changed = update_changed

    def run(self, drafts: Sequence[TemplateDraft]) -> list[WriteResult]:
        results: list[WriteResult] = []
        by_key = [d for d in drafts if d.template_id is None]
        by_id = [d for d in drafts if d.template_id is not None]
        if by_key:
            results.extend(self._upsert_by_key(sorted(by_key, key=lambda d: d.key)))
        for draft in by_id:
            results.append(self._upsert_by_id(draft))
        return results

    def _json(self, draft: TemplateDraft) -> Any:
        """The draft's JSON as the database should receive it: the text, parsed once by the
        server (jsonb) or stored as it is (SQLite), never serialized twice."""
        text = type_coerce(draft.json_text(), Text)
        return cast(text, JSONB) if self.dialect == "postgresql" else text

    def _lock_by_keys(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        if not keys:
            return {}
        query = (
            select(*SUMMARY_COLUMNS)
            .where(tuple_(Template.source_type, Template.name).in_(list(keys)))
            .order_by(Template.source_type, Template.name)
            .with_for_update()
        )
        return {(row.source_type, row.name): row for row in self.session.execute(query)}

    def _insert_new(self, drafts: Sequence[TemplateDraft]) -> dict[tuple[str, str], str]:
        """Insert what is not there yet (another import may have won the race for some);
        return the keys this transaction created."""
        if not drafts:
            return {}
        now = utcnow()
        rows = [
            {
                "id": draft.template_id or uuid.uuid4(),
                "name": draft.name,
                "description": draft.description,
                "source_type": draft.source_type,
                "workflow": draft.json_text(),
                "required_credentials": draft.required_credentials,
                "input_variables": draft.input_variables,
                "thumbnail": draft.thumbnail,
                "version": 1,
                "content_hash": draft.content_hash,
                "created_at": now,
                "updated_at": now,
            }
            for draft in drafts
        ]
        if self.dialect == "postgresql":
            created = self._copy_insert(rows)
        else:
            statement = (
                sqlite.insert(Template)
                .values([row | {"workflow": type_coerce(row["workflow"], Text)} for row in rows])
                .on_conflict_do_nothing()
                .returning(Template.id, Template.source_type, Template.name)
            )
            created = {(r.source_type, r.name): r.id for r in self.session.execute(statement)}
        self._snapshot_versions(list(created.values()))
        return {key: str(created_id) for key, created_id in created.items()}

    def _copy_insert(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT … ON
        CONFLICT DO NOTHING: the JSON crosses the wire once, as text, parsed by the server."""
        columns = list(rows[0])
        driver = self.session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS pumpflix_incoming "
                "(LIKE pumpflix_templates INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE pumpflix_incoming")
            with cursor.copy(f"COPY pumpflix_incoming ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(value) if isinstance(value, list) else value
                            for value in row.values()
                        ]
                    )
            listed = ", ".join(columns)
            cursor.execute(
                f"INSERT INTO pumpflix_templates ({listed}) SELECT {listed} FROM pumpflix_incoming "
                "ORDER BY source_type, name ON CONFLICT DO NOTHING "
                "RETURNING id, source_type, name"
            )
            return {
                (source_type, name): template_id
                for template_id, source_type, name in cursor.fetchall()
            }

    def _snapshot_versions(self, template_ids: Sequence[uuid.UUID]) -> None:
        """Record the current content of these templates as their current version; copied
        inside the database, so the JSON crosses the wire once."""
        if not template_ids:
            return
        columns = ("template_id", "version", "name", "workflow", "content_hash", "created_at")
        self.session.execute(
            insert(TemplateVersion).from_select(
                columns,
                select(
                    Template.id,
                    Template.version,
                    Template.name,
                    Template.workflow,
                    Template.content_hash,
                    Template.updated_at,
                ).where(Template.id.in_(template_ids)),
            )
        )

    def _upsert_by_key(self, drafts: Sequence[TemplateDraft]) -> list[WriteResult]:
        existing = self._lock_by_keys([d.key for d in drafts])
        created = self._insert_new([d for d in drafts if d.key not in existing])
        raced = [d.key for d in drafts if d.key not in existing and d.key not in created]
        existing.update(self._lock_by_keys(raced))
        results = []
        for draft in drafts:
            if draft.key in created:
                results.append(WriteResult(draft, "created", id=created[draft.key], version=1))
            else:
                results.append(self._apply(draft, existing[draft.key]))
        return results

    def _apply(self, draft: TemplateDraft, row: Any) -> WriteResult:
        """Bring an existing row in line with the draft: metadata always; different
        content only when ``update_changed`` (else the row is reported as a conflict)."""
        template_id = str(row.id)
        if row.content_hash == draft.content_hash:
            changes = {
                column: value
                for column, value in (
                    ("description", draft.description),
                    ("thumbnail", draft.thumbnail),
                    ("name", draft.name),
                    ("source_type", draft.source_type),
                )
                if value is not None and getattr(row, column) != value
            }
            if not changes:
                return WriteResult(draft, "unchanged", id=template_id, version=row.version)
            self.session.execute(
                update(Template).where(Template.id == row.id).values(**changes, updated_at=utcnow())
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
        now = utcnow()
        version = row.version + 1
        self.session.execute(
            update(Template)
            .where(Template.id == row.id)
            .values(
                name=draft.name,
                source_type=draft.source_type,
                workflow=self._json(draft),
                content_hash=draft.content_hash,
                required_credentials=draft.required_credentials,
                input_variables=draft.input_variables,
                version=version,
                updated_at=now,
                **{
                    k: v
                    for k, v in (("description", draft.description), ("thumbnail", draft.thumbnail))
                    if v is not None
                },
            )
        )
        self._snapshot_versions([row.id])
        return WriteResult(
            draft, "updated", id=template_id, version=version, previous_type=row.source_type
        )

    def _upsert_by_id(self, draft: TemplateDraft) -> WriteResult:
        """A bundle keeps its template's identity: the id decides, not the name."""
        assert draft.template_id is not None
        row = self.session.execute(
            select(*SUMMARY_COLUMNS).where(Template.id == draft.template_id).with_for_update()
        ).first()
        holder = self.session.execute(
            select(Template.id).where(
                Template.source_type == draft.source_type,
                Template.name == draft.name,
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
            if draft.key in created:
                return WriteResult(draft, "created", id=str(draft.template_id), version=1)
            row = self.session.execute(
                select(*SUMMARY_COLUMNS).where(Template.id == draft.template_id).with_for_update()
            ).one()
        return self._apply(draft, row)
