"""What migration 0003 needs: the platform's ``"WorkflowTemplate"`` created exactly as
Prisma does or adopted as it is, and SQLite's shapes of pumpflix's rebuilt tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pumpflix_cli.errors import PumpflixError

# PLATFORM.md's DDL, verbatim: what `prisma migrate` writes for the model.
PLATFORM_DDL = """CREATE TABLE "WorkflowTemplate" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "sourceType" TEXT NOT NULL,
    "n8nJson" TEXT NOT NULL,
    "requiredCredentials" TEXT[],
    "inputVariables" TEXT[],
    "thumbnail" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "WorkflowTemplate_pkey" PRIMARY KEY ("id")
);"""

TABLE = "WorkflowTemplate"
TEXT_COLUMNS = ("id", "name", "description", "sourceType", "n8nJson", "thumbnail")
LIST_COLUMNS = ("requiredCredentials", "inputVariables")
TIME_COLUMNS = ("createdAt", "updatedAt")


def ensure_platform_table(bind: sa.Connection) -> None:
    """Create the platform's table when absent; when present, check the columns pumpflix
    reads and writes (names and compatible types) and adopt it unaltered."""
    inspector = sa.inspect(bind)
    if not inspector.has_table(TABLE):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(PLATFORM_DDL)
        else:
            sqlite_platform_table(sa.MetaData()).create(bind)
        return
    found = {column["name"]: column["type"] for column in inspector.get_columns(TABLE)}
    problems = []
    for name in (*TEXT_COLUMNS, *LIST_COLUMNS, *TIME_COLUMNS):
        if name not in found:
            problems.append(f'"{name}" is missing')
        elif bind.dialect.name == "postgresql" and not _compatible(name, found[name]):
            problems.append(f'"{name}" is {found[name]}')
    if problems:
        raise PumpflixError(
            f'the existing "{TABLE}" table cannot be adopted: {"; ".join(problems)} '
            "(pumpflix never alters the platform's table: deploy the platform's migrations)"
        )


def _compatible(name: str, kind: sa.types.TypeEngine) -> bool:  # type: ignore[type-arg]
    if name in LIST_COLUMNS:
        return isinstance(kind, postgresql.ARRAY) and isinstance(kind.item_type, sa.String)
    if name in TIME_COLUMNS:
        return isinstance(kind, sa.DateTime)
    return isinstance(kind, sa.String)


def sqlite_platform_table(metadata: sa.MetaData) -> sa.Table:
    """The platform's table on SQLite: the same names, lists as JSON text."""
    return sa.Table(
        TABLE,
        metadata,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sourceType", sa.Text(), nullable=False),
        sa.Column("n8nJson", sa.Text(), nullable=False),
        sa.Column("requiredCredentials", sa.JSON(), nullable=True),
        sa.Column("inputVariables", sa.JSON(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="WorkflowTemplate_pkey"),
    )


def sqlite_dashed(column: str) -> str:
    """SQL turning SQLite's 32-hex-digit Uuid text into the dashed lowercase form."""
    c = f"lower({column})"
    spans = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    dashed = " || '-' || ".join(f"substr({c}, {start}, {length})" for start, length in spans)
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {dashed} END"


def sqlite_shapes() -> sa.MetaData:
    """The rebuilt tables, each named ``<table>_new`` with its final constraint names."""
    metadata = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "pumpflix_templates_new",
        metadata,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_pumpflix_templates_version_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_pumpflix_templates"),
    )
    sa.Table(
        "pumpflix_template_versions_new",
        metadata,
        sa.Column("template_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("workflow", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["pumpflix_templates.id"],
            name="fk_pumpflix_template_versions_template_id_pumpflix_templates",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("template_id", "version", name="pk_pumpflix_template_versions"),
    )
    sa.Table("pumpflix_templates", metadata, sa.Column("id", sa.Text(), primary_key=True))
    sa.Table("pumpflix_instances", metadata, sa.Column("id", sa.Uuid(), primary_key=True))
    sa.Table(
        "pumpflix_instances_new",
        metadata,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Text(), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.JSON(), nullable=False),
        sa.Column("final_workflow", sa.JSON(), nullable=True),
        sa.Column("n8n_workflow_id", sa.String(64), nullable=True),
        sa.Column("n8n_execution_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("finished_at", ts, nullable=True),
        sa.CheckConstraint(
            "status IN ('created', 'deploying', 'running', 'success', 'error', 'canceled')",
            name="ck_pumpflix_instances_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pumpflix_instances"),
    )
    sa.Table(
        "pumpflix_n8n_links_new",
        metadata,
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("n8n_url", sa.String(500), nullable=False),
        sa.Column("n8n_workflow_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template_id", sa.Text(), nullable=True),
        sa.Column("instance_id", sa.Uuid(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("n8n_updated_at", sa.String(64), nullable=True),
        sa.Column("synced_at", ts, nullable=False),
        sa.CheckConstraint("kind IN ('template', 'instance')", name="ck_pumpflix_n8n_links_kind"),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["pumpflix_instances.id"],
            name="fk_pumpflix_n8n_links_instance_id_pumpflix_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pumpflix_n8n_links"),
        sa.UniqueConstraint("n8n_url", "instance_id", name="uq_pumpflix_n8n_links_instance"),
        sa.UniqueConstraint("n8n_url", "n8n_workflow_id", name="uq_pumpflix_n8n_links_workflow"),
        sa.UniqueConstraint("n8n_url", "template_id", name="uq_pumpflix_n8n_links_template"),
    )
    return metadata
