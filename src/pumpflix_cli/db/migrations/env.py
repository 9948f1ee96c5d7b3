"""Alembic environment: runs on the connection pumpflix hands over (see db/migrate.py)."""

from __future__ import annotations

from alembic import context

from pumpflix_cli.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=context.config.get_main_option("version_table", "pumpflix_alembic_version"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
