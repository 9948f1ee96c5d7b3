"""Templates move to the platform's ``"WorkflowTemplate"`` table; pumpflix keeps its own data.

``"WorkflowTemplate"`` is created with exactly the platform's DDL when absent, or adopted
when the platform deployed first (its columns are checked, never altered; Prisma's
``_prisma_migrations`` is never touched). Every template moves there (ids as dashed UUID
text, the workflow as JSON text, lists as ``TEXT[]``, ``description`` never NULL,
timestamps UTC without a zone at millisecond precision); ``pumpflix_templates`` keeps the
version and content hash per template id; the ``template_id`` columns become dashed text,
without a foreign key to the platform's table. Every version, instance, event and link is
kept. SQLite rebuilds the changed tables (foreign keys off, see ``db/migrate.py``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pumpflix_cli.db.migrations.platform_table import (
    ensure_platform_table,
    sqlite_dashed,
    sqlite_shapes,
)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM_COLUMNS = (
    '"id", "name", "description", "sourceType", "n8nJson", "requiredCredentials", '
    '"inputVariables", "thumbnail", "createdAt", "updatedAt"'
)


def upgrade() -> None:
    bind = op.get_bind()
    ensure_platform_table(bind)
    if bind.dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    raise NotImplementedError(
        "0003 cannot be downgraded: templates now live in the platform's WorkflowTemplate "
        "table, which pumpflix shares and never alters; restore a backup taken before "
        "the upgrade instead"
    )


def _upgrade_postgresql() -> None:
    op.execute(
        f'INSERT INTO "WorkflowTemplate" ({PLATFORM_COLUMNS}) '
        "SELECT id::text, name, COALESCE(description, ''), source_type, workflow::text, "
        "ARRAY(SELECT jsonb_array_elements_text(required_credentials)), "
        "ARRAY(SELECT jsonb_array_elements_text(input_variables)), thumbnail, "
        "date_trunc('milliseconds', created_at AT TIME ZONE 'UTC'), "
        "date_trunc('milliseconds', updated_at AT TIME ZONE 'UTC') "
        "FROM pumpflix_templates"
    )
    for table in ("pumpflix_template_versions", "pumpflix_instances", "pumpflix_n8n_links"):
        fk = f"fk_{table}_template_id_pumpflix_templates"
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{fk}"')
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN template_id TYPE TEXT USING template_id::text"
        )
    for constraint in ("uq_{}_source_type_name", "ck_{}_source_type"):
        name = constraint.format("pumpflix_templates")
        op.execute(f"ALTER TABLE pumpflix_templates DROP CONSTRAINT {name}")
    op.execute("DROP INDEX ix_pumpflix_templates_name")
    for column in (
        "name",
        "description",
        "source_type",
        "workflow",
        "required_credentials",
        "input_variables",
        "thumbnail",
        "created_at",
        "updated_at",
    ):
        op.execute(f"ALTER TABLE pumpflix_templates DROP COLUMN {column}")
    op.execute("ALTER TABLE pumpflix_templates ALTER COLUMN id TYPE TEXT USING id::text")
    op.create_foreign_key(
        "fk_pumpflix_template_versions_template_id_pumpflix_templates",
        "pumpflix_template_versions",
        "pumpflix_templates",
        ["template_id"],
        ["id"],
        ondelete="CASCADE",
    )


def _upgrade_sqlite() -> None:
    op.execute(
        f'INSERT INTO "WorkflowTemplate" ({PLATFORM_COLUMNS}) '
        f"SELECT {sqlite_dashed('id')}, name, COALESCE(description, ''), source_type, workflow, "
        "required_credentials, input_variables, thumbnail, created_at, updated_at "
        "FROM pumpflix_templates"
    )
    # Rebuild each changed table: the new shape under a temporary name, the rows copied
    # (ids converted), the old table dropped, the new one renamed, its indexes made.
    shapes = sqlite_shapes()
    copies = {
        "pumpflix_templates": {"id": sqlite_dashed("id")},
        "pumpflix_template_versions": {"template_id": sqlite_dashed("template_id")},
        "pumpflix_instances": {"template_id": sqlite_dashed("template_id")},
        "pumpflix_n8n_links": {"template_id": sqlite_dashed("template_id")},
    }
    for name, converted in copies.items():
        shape: sa.Table = shapes.tables[name + "_new"]
        for index in list(shape.indexes):
            shape.indexes.discard(index)
        shape.create(op.get_bind())
        columns = [c.name for c in shape.columns]
        selected = ", ".join(converted.get(c, c) for c in columns)
        op.execute(f"INSERT INTO {name}_new ({', '.join(columns)}) SELECT {selected} FROM {name}")
        op.execute(f"DROP TABLE {name}")
        op.execute(f"ALTER TABLE {name}_new RENAME TO {name}")
    op.create_index(
        "ix_pumpflix_instances_status_created_at",
        "pumpflix_instances",
        ["status", "created_at"],
    )
    op.create_index("ix_pumpflix_instances_template_id", "pumpflix_instances", ["template_id"])
