"""pumpflix's tables take the ``pumpflix_`` prefix, their indexes and constraints too.

The platform's own tables share the database (issue 11): a bare ``templates`` or
``instances`` is not a name pumpflix may hold. Every row is kept as it is.

PostgreSQL renames in place (foreign keys follow a table, an index follows its
constraint). SQLite renames the tables (since 3.26 other tables' REFERENCES are rewritten
with them), then rebuilds each in batch mode to rename the constraints written inside its
``CREATE TABLE``; ``db/migrate.py`` turns foreign keys off around the transaction, as
SQLite's own procedure for altering a table asks, so a rebuild cascades nothing away.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

P = "pumpflix_"
# Parents before children: (table, constraints, indexes), each an (old, new) pair.
Renames = tuple[tuple[str, str], tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
RENAMES: tuple[Renames, ...] = (
    (
        ("templates", P + "templates"),
        (
            ("pk_templates", "pk_pumpflix_templates"),
            ("ck_templates_source_type", "ck_pumpflix_templates_source_type"),
            ("ck_templates_version_positive", "ck_pumpflix_templates_version_positive"),
            ("uq_templates_source_type_name", "uq_pumpflix_templates_source_type_name"),
        ),
        (("ix_templates_name", "ix_pumpflix_templates_name"),),
    ),
    (
        ("template_versions", P + "template_versions"),
        (
            ("pk_template_versions", "pk_pumpflix_template_versions"),
            (
                "fk_template_versions_template_id_templates",
                "fk_pumpflix_template_versions_template_id_pumpflix_templates",
            ),
        ),
        (),
    ),
    (
        ("instances", P + "instances"),
        (
            ("pk_instances", "pk_pumpflix_instances"),
            ("ck_instances_status", "ck_pumpflix_instances_status"),
            (
                "fk_instances_template_id_templates",
                "fk_pumpflix_instances_template_id_pumpflix_templates",
            ),
        ),
        (
            ("ix_instances_status_created_at", "ix_pumpflix_instances_status_created_at"),
            ("ix_instances_template_id", "ix_pumpflix_instances_template_id"),
        ),
    ),
    (
        ("instance_events", P + "instance_events"),
        (
            ("pk_instance_events", "pk_pumpflix_instance_events"),
            ("ck_instance_events_source", "ck_pumpflix_instance_events_source"),
            (
                "fk_instance_events_instance_id_instances",
                "fk_pumpflix_instance_events_instance_id_pumpflix_instances",
            ),
        ),
        (
            (
                "ix_instance_events_instance_id_time",
                "ix_pumpflix_instance_events_instance_id_time",
            ),
        ),
    ),
    (
        ("n8n_links", P + "n8n_links"),
        (
            ("pk_n8n_links", "pk_pumpflix_n8n_links"),
            ("ck_n8n_links_kind", "ck_pumpflix_n8n_links_kind"),
            (
                "fk_n8n_links_instance_id_instances",
                "fk_pumpflix_n8n_links_instance_id_pumpflix_instances",
            ),
            (
                "fk_n8n_links_template_id_templates",
                "fk_pumpflix_n8n_links_template_id_pumpflix_templates",
            ),
            ("uq_n8n_links_instance", "uq_pumpflix_n8n_links_instance"),
            ("uq_n8n_links_template", "uq_pumpflix_n8n_links_template"),
            ("uq_n8n_links_workflow", "uq_pumpflix_n8n_links_workflow"),
        ),
        (),
    ),
)
# PostgreSQL's BIGSERIAL sequences; their tables' defaults follow them (by oid).
SEQUENCES = (
    ("instance_events_id_seq", "pumpflix_instance_events_id_seq"),
    ("n8n_links_id_seq", "pumpflix_n8n_links_id_seq"),
)


def _swap(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((new, old) for old, new in pairs)


def upgrade() -> None:
    _rename(RENAMES, SEQUENCES)


def downgrade() -> None:
    back = tuple(
        ((table[1], table[0]), _swap(constraints), _swap(indexes))
        for table, constraints, indexes in reversed(RENAMES)
    )
    _rename(back, _swap(SEQUENCES))


def _rename(renames: Sequence[Renames], sequences: Sequence[tuple[str, str]]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for (old, new), _, _ in renames:
            op.rename_table(old, new)
        for (_, table), constraints, indexes in renames:
            _rebuild_sqlite(table, dict(constraints), dict(indexes))
        return
    for (old, new), constraints, indexes in renames:
        op.rename_table(old, new)
        for old_name, new_name in constraints:
            op.execute(f'ALTER TABLE "{new}" RENAME CONSTRAINT "{old_name}" TO "{new_name}"')
        for old_name, new_name in indexes:
            op.execute(f'ALTER INDEX "{old_name}" RENAME TO "{new_name}"')
    for old_name, new_name in sequences:
        op.execute(f'ALTER SEQUENCE "{old_name}" RENAME TO "{new_name}"')


def _rebuild_sqlite(table: str, constraints: dict[str, str], indexes: dict[str, str]) -> None:
    """The table as it is (reflected), its constraints and indexes renamed, copied over."""
    shape = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    for constraint in shape.constraints:
        if isinstance(constraint.name, str):
            constraint.name = op.f(constraints.get(constraint.name, constraint.name))
    for index in shape.indexes:
        if isinstance(index.name, str):
            index.name = op.f(indexes.get(index.name, index.name))
    with op.batch_alter_table(table, copy_from=shape, recreate="always"):
        pass
