"""The schema (SPEC §3) as SQLAlchemy 2 typed models.

Templates are rows of the platform's ``"WorkflowTemplate"`` (``Template``, never altered);
pumpflix's own data is in its own tables, each named ``pumpflix_*`` (Alembic's version
table too: ``pumpflix_alembic_version``), beside the platform's without a clash. JSON
columns are JSONB on PostgreSQL and JSON on SQLite. Changes to these models ship as an
Alembic migration in ``migrations/versions``; a test checks the two never drift apart.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pumpflix_cli.records import utcnow

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The platform's column types: TEXT[] and TIMESTAMP(3) on PostgreSQL; JSON text and
# SQLAlchemy's DateTime on SQLite.
TextList = JSON().with_variant(ARRAY(Text()), "postgresql")
PlatformTime = DateTime().with_variant(TIMESTAMP(precision=3), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SOURCE_TYPES = ("prebuilt", "user")
INSTANCE_STATUSES = ("created", "deploying", "running", "success", "error", "canceled")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Template(Base):
    """The platform's table, exactly as Prisma's migration creates it (PLATFORM.md): pumpflix
    never alters it. ``id`` is a client-made UUID string, ``n8nJson`` the workflow as JSON
    text, the lists ``TEXT[]`` (JSON text on SQLite), the timestamps UTC without a zone at
    millisecond precision, written by the client (``updatedAt`` on every write). No unique
    constraint on (sourceType, name): the platform may hold two templates with one name."""

    __tablename__ = "WorkflowTemplate"
    __table_args__ = (PrimaryKeyConstraint("id", name="WorkflowTemplate_pkey"),)

    id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column("sourceType", Text)
    n8n_json: Mapped[str] = mapped_column("n8nJson", Text)
    required_credentials: Mapped[list[str] | None] = mapped_column(
        "requiredCredentials", TextList, nullable=True
    )
    input_variables: Mapped[list[str] | None] = mapped_column(
        "inputVariables", TextList, nullable=True
    )
    thumbnail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        "createdAt", PlatformTime, server_default=text("CURRENT_TIMESTAMP")
    )
    updated_at: Mapped[datetime] = mapped_column("updatedAt", PlatformTime)


class TemplateMeta(Base):
    """pumpflix's own data about a template of the platform's table: its version and the
    hash of its content. A template the platform created has no row here until pumpflix
    writes it (reads treat it as version 1 and hash its ``n8nJson``). No foreign key to the
    platform's table (that would put triggers on it): deletes are done by code."""

    __tablename__ = "pumpflix_templates"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))


class TemplateVersion(Base):
    """Every version's JSON is kept: the template's history."""

    __tablename__ = "pumpflix_template_versions"

    template_id: Mapped[str] = mapped_column(
        Text, ForeignKey("pumpflix_templates.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    workflow: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Instance(Base):
    __tablename__ = "pumpflix_instances"
    __table_args__ = (
        CheckConstraint(
            "status IN ('created', 'deploying', 'running', 'success', 'error', 'canceled')",
            name="status",
        ),
        Index("ix_pumpflix_instances_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # An instance outlives its template: the final JSON is its own record.
    # The platform's template id; no foreign key (see ``TemplateMeta``).
    template_id: Mapped[str | None] = mapped_column(Text, index=True)
    template_version: Mapped[int | None] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    credentials: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    final_workflow: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    n8n_workflow_id: Mapped[str | None] = mapped_column(String(64))
    n8n_execution_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="created")
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[Any | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InstanceEvent(Base):
    """One row per node run of an n8n execution, plus pumpflix's own steps: the logs."""

    __tablename__ = "pumpflix_instance_events"
    __table_args__ = (
        CheckConstraint("source IN ('pumpflix', 'n8n')", name="source"),
        Index("ix_pumpflix_instance_events_instance_id_time", "instance_id", "time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pumpflix_instances.id", ondelete="CASCADE")
    )
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default="info")
    source: Mapped[str] = mapped_column(String(16))
    node_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)


class N8nLink(Base):
    """Which template or instance maps to which workflow on which n8n.

    Keyed by the n8n base URL as well, since CI pushes to staging and production alike.
    The hash and n8n ``updatedAt`` seen at the last sync make a second push write nothing
    and let a sync tell which side changed.
    """

    __tablename__ = "pumpflix_n8n_links"
    __table_args__ = (
        UniqueConstraint("n8n_url", "n8n_workflow_id", name="uq_pumpflix_n8n_links_workflow"),
        UniqueConstraint("n8n_url", "template_id", name="uq_pumpflix_n8n_links_template"),
        UniqueConstraint("n8n_url", "instance_id", name="uq_pumpflix_n8n_links_instance"),
        CheckConstraint("kind IN ('template', 'instance')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    n8n_url: Mapped[str] = mapped_column(String(500))
    n8n_workflow_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pumpflix_instances.id", ondelete="CASCADE")
    )
    content_hash: Mapped[str | None] = mapped_column(String(64))
    n8n_updated_at: Mapped[str | None] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
