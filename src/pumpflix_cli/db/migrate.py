"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pumpflix_cli.db.engine import Database

SCRIPT_LOCATION = "pumpflix_cli.db:migrations"


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["database"] = database
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config_without_db()).get_current_head()
    assert head is not None
    return head


def _config_without_db() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def status(database: Database) -> SchemaStatus:
    with database.errors(), database.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaStatus(current=current, head=head_revision())


def upgrade(database: Database, revision: str = "head") -> SchemaStatus:
    with database.errors(), database.engine.begin() as conn:
        config = _config(database)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return status(database)
