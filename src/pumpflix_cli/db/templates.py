"""The template library's tables: resolving references, listing and streaming, and the
bulk, concurrency-safe upsert that import relies on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Select,
    String,
    Text,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import Instance, Template, TemplateVersion
from pumpflix_cli.records import TemplateRecord, TemplateVersionInfo, iso, utcnow
from pumpflix_cli.references import parse_reference

OnConflict = Literal["update", "skip", "fail"]
Outcome = Literal["created", "updated", "unchanged", "skipped", "failed"]

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


def _summary_select(types: Sequence[str]) -> Select[*tuple[Any, ...]]:
    query = select(*SUMMARY_COLUMNS)
    if set(types) != {"prebuilt", "user"}:
        query = query.where(Template.source_type.in_(list(types)))
    return query.order_by(Template.name, Template.source_type, Template.id)


class TemplateStore:
    """Queries over ``templates`` and ``template_versions`` within a caller's session."""

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
        query = _summary_select(types)
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
        query = _summary_select(types).add_columns(Template.workflow)
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

    def upsert(self, drafts: Sequence[TemplateDraft], on_conflict: OnConflict) -> list[WriteResult]:
        """Create, update (a new version) or leave each draft, safely against concurrent
        imports of the same templates: existing rows are locked in key order and new ones
        inserted with ON CONFLICT DO NOTHING, re-read when another import won the race."""
        results: list[WriteResult] = []
        by_key = [d for d in drafts if d.template_id is None]
        by_id = [d for d in drafts if d.template_id is not None]
        if by_key:
            results.extend(self._upsert_by_key(sorted(by_key, key=lambda d: d.key), on_conflict))
        for draft in by_id:
            results.append(self._upsert_by_id(draft, on_conflict))
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
                "(LIKE templates INCLUDING DEFAULTS) ON COMMIT DROP"
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
                f"INSERT INTO templates ({listed}) SELECT {listed} FROM pumpflix_incoming "
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

    def _upsert_by_key(
        self, drafts: Sequence[TemplateDraft], on_conflict: OnConflict
    ) -> list[WriteResult]:
        existing = self._lock_by_keys([d.key for d in drafts])
        created = self._insert_new([d for d in drafts if d.key not in existing])
        raced = [d.key for d in drafts if d.key not in existing and d.key not in created]
        existing.update(self._lock_by_keys(raced))
        results = []
        for draft in drafts:
            if draft.key in created:
                results.append(WriteResult(draft, "created", id=created[draft.key], version=1))
            else:
                results.append(self._apply(draft, existing[draft.key], on_conflict))
        return results

    def _apply(self, draft: TemplateDraft, row: Any, on_conflict: OnConflict) -> WriteResult:
        """Bring an existing row in line with the draft, as ``on_conflict`` says."""
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
        if on_conflict == "skip":
            return WriteResult(draft, "skipped", id=template_id, version=row.version)
        if on_conflict == "fail":
            return WriteResult(
                draft,
                "failed",
                id=template_id,
                version=row.version,
                error=f"template '{row.name}' ({row.source_type}) exists with different "
                "content (--on-conflict fail)",
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

    def _upsert_by_id(self, draft: TemplateDraft, on_conflict: OnConflict) -> WriteResult:
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
        return self._apply(draft, row, on_conflict)
