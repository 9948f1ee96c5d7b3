"""The ``pumpflix_instances`` and ``pumpflix_instance_events`` tables, and the link of an
instance to its n8n workflow: what ``instances run`` records and ``list``, ``show``,
``logs`` read back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from pumpflix_cli.db.models import Instance, InstanceEvent, N8nLink, Template
from pumpflix_cli.records import EventRecord, InstanceRecord, as_utc, utcnow
from pumpflix_cli.redact import scrub
from pumpflix_cli.references import MAX_CANDIDATES, parse_reference

# Every column but the final JSON: what lists need.
_COLUMNS = (
    Instance.id,
    Instance.status,
    Instance.template_id,
    Template.name.label("template_name"),
    Instance.template_version,
    Instance.inputs,
    Instance.credentials,
    Instance.n8n_workflow_id,
    Instance.n8n_execution_id,
    Instance.error,
    Instance.output,
    Instance.created_at,
    Instance.updated_at,
    Instance.started_at,
    Instance.finished_at,
)


def _record(row: Any, *, final_workflow: dict[str, Any] | None = None) -> InstanceRecord:
    return InstanceRecord(
        id=str(row.id),
        status=row.status,
        template_id=None if row.template_id is None else str(row.template_id),
        template_name=row.template_name,
        template_version=row.template_version,
        inputs=dict(row.inputs or {}),
        credentials=dict(row.credentials or {}),
        n8n_workflow_id=row.n8n_workflow_id,
        n8n_execution_id=row.n8n_execution_id,
        error=row.error,
        output=row.output,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        final_workflow=final_workflow,
    )


def _select(*extra: Any) -> Any:
    return select(*_COLUMNS, *extra).outerjoin(Template, Template.id == Instance.template_id)


class InstanceStore:
    """Queries over instances and their events within a caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- writing ---------------------------------------------------------------------

    def create(
        self,
        instance_id: str,
        *,
        template_id: str,
        template_version: int,
        inputs: Mapping[str, Any],
        credentials: Mapping[str, str],
        final_workflow: dict[str, Any],
        status: str = "deploying",
    ) -> None:
        now = utcnow()
        self.session.execute(
            insert(Instance).values(
                id=uuid.UUID(instance_id),
                template_id=template_id,
                template_version=template_version,
                inputs=dict(inputs),
                credentials=dict(credentials),
                final_workflow=final_workflow,
                status=status,
                created_at=now,
                updated_at=now,
            )
        )

    def update(self, instance_id: str, **values: Any) -> None:
        """Set columns of one instance (``status``, ``error``, ``output``, n8n ids, times).
        An error is scrubbed of secrets before it is stored: it may quote a driver, n8n or
        a URL, and ``instances list`` prints it."""
        if isinstance(values.get("error"), str):
            values["error"] = scrub(values["error"])
        self.session.execute(
            update(Instance)
            .where(Instance.id == uuid.UUID(instance_id))
            .values(**values, updated_at=utcnow())
        )

    def add_events(self, instance_id: str, events: Sequence[EventRecord]) -> None:
        """Write events of an instance; none once the instance is deleted (a run still
        going on in another pumpflix while ``instances delete`` removed it)."""
        if not events:
            return
        key = uuid.UUID(instance_id)
        if self.session.execute(select(Instance.id).where(Instance.id == key)).first() is None:
            return
        self.session.execute(
            insert(InstanceEvent),
            [
                {
                    "instance_id": key,
                    "time": event.time,
                    "level": event.level,
                    "source": event.source,
                    "node_name": event.node,
                    "message": scrub(event.message),
                    "data": event.data,
                }
                for event in events
            ],
        )

    def link(
        self,
        n8n_url: str,
        instance_id: str,
        workflow_id: str,
        *,
        content_hash: str | None,
        n8n_updated_at: str | None,
    ) -> None:
        """Record that this instance is n8n workflow ``workflow_id`` on that n8n, so a
        template sync never takes it for one of its own."""
        self.session.execute(
            insert(N8nLink).values(
                n8n_url=n8n_url,
                n8n_workflow_id=workflow_id,
                kind="instance",
                instance_id=uuid.UUID(instance_id),
                content_hash=content_hash,
                n8n_updated_at=n8n_updated_at,
                synced_at=utcnow(),
            )
        )

    def forget_workflow(self, instance_id: str) -> None:
        """The instance's n8n workflow is gone: it no longer names one, nor links to it."""
        key = uuid.UUID(instance_id)
        self.session.execute(delete(N8nLink).where(N8nLink.instance_id == key))
        self.session.execute(
            update(Instance)
            .where(Instance.id == key)
            .values(n8n_workflow_id=None, updated_at=utcnow())
        )

    def delete(self, instance_ids: Sequence[str]) -> int:
        """Remove instances with their events and links; how many there were."""
        keys = [uuid.UUID(instance_id) for instance_id in instance_ids]
        self.session.execute(delete(InstanceEvent).where(InstanceEvent.instance_id.in_(keys)))
        self.session.execute(delete(N8nLink).where(N8nLink.instance_id.in_(keys)))
        result = self.session.execute(delete(Instance).where(Instance.id.in_(keys)))
        return int(getattr(result, "rowcount", 0) or 0)

    # --- reading ---------------------------------------------------------------------

    def deployed_to(self, instance_id: str) -> str | None:
        """The base URL of the n8n the instance's workflow was deployed to (its link)."""
        return self.session.execute(
            select(N8nLink.n8n_url).where(N8nLink.instance_id == uuid.UUID(instance_id))
        ).scalar()

    def created_before(
        self,
        *,
        settled: datetime | None,
        in_flight: datetime,
        statuses: Sequence[str] = (),
        in_flight_statuses: Sequence[str] = ("deploying", "running"),
    ) -> list[InstanceRecord]:
        """Instances, oldest first, created before ``settled`` (any time when None) — or,
        while one of ``in_flight_statuses``, before ``in_flight`` — of ``statuses`` (all
        when empty)."""
        settled_ones: ColumnElement[bool] = Instance.status.not_in(in_flight_statuses)
        if settled is not None:
            settled_ones = and_(settled_ones, Instance.created_at < settled)
        flying = and_(Instance.status.in_(in_flight_statuses), Instance.created_at < in_flight)
        query = _select().where(or_(settled_ones, flying))
        if statuses:
            query = query.where(Instance.status.in_(statuses))
        query = query.order_by(Instance.created_at, Instance.id)
        return [_record(row) for row in self.session.execute(query)]

    def get(self, instance_id: str, *, final_workflow: bool = False) -> InstanceRecord | None:
        extra = (Instance.final_workflow,) if final_workflow else ()
        row = self.session.execute(
            _select(*extra).where(Instance.id == uuid.UUID(instance_id))
        ).first()
        if row is None:
            return None
        return _record(row, final_workflow=row.final_workflow if final_workflow else None)

    def resolve(self, ref: str) -> list[InstanceRecord]:
        """Instances a reference may mean (``references``): its whole id, or the ids it is a
        prefix of (6+ hex digits, dashed or not, any case)."""
        parsed = parse_reference(ref)
        if parsed.exact_id is not None:
            found = self.get(parsed.exact_id)
            return [found] if found is not None else []
        if parsed.digits is None:
            return []
        # As ``references.id_digits``: a UUID column is dashed text on PostgreSQL and 32 hex
        # digits on SQLite; normalised, one pattern fits both.
        digits = func.replace(func.lower(cast(Instance.id, String)), "-", "")
        rows = self.session.execute(
            _select()
            .where(digits.like(parsed.like_pattern()))
            .order_by(Instance.created_at, Instance.id)
            .limit(MAX_CANDIDATES)
        )
        return [_record(row) for row in rows]

    def newest(
        self,
        *,
        status: str | None = None,
        template_id: str | None = None,
        limit: int | None = None,
    ) -> list[InstanceRecord]:
        """Newest first."""
        query = _select()
        if status is not None:
            query = query.where(Instance.status == status)
        if template_id is not None:
            query = query.where(Instance.template_id == template_id)
        query = query.order_by(Instance.created_at.desc(), Instance.id)
        if limit is not None:
            query = query.limit(limit)
        return [_record(row) for row in self.session.execute(query)]

    def events(self, instance_id: str, *, node: str | None = None) -> list[EventRecord]:
        """The instance's events in time order (ties in the order they were written)."""
        query = select(
            InstanceEvent.time,
            InstanceEvent.level,
            InstanceEvent.source,
            InstanceEvent.node_name,
            InstanceEvent.message,
            InstanceEvent.data,
        ).where(InstanceEvent.instance_id == uuid.UUID(instance_id))
        if node is not None:
            query = query.where(InstanceEvent.node_name == node)
        query = query.order_by(InstanceEvent.time, InstanceEvent.id)
        return [
            EventRecord(
                source=row.source,
                message=row.message,
                time=as_utc(row.time) or utcnow(),
                level=row.level,
                node=row.node_name,
                data=row.data,
            )
            for row in self.session.execute(query)
        ]
