"""``db upgrade`` and ``db status``: the database's schema revision against the newest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import camel_json
from pumpflix_cli.redact import mask_url

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.migrate import SchemaStatus

_FIELDS = ("backend", "url", "current", "head", "up_to_date")


@dataclass(frozen=True)
class SchemaReport:
    service: str  # for people: "PostgreSQL" or "SQLite"
    backend: str
    url: str  # password masked
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def exit_code(self) -> ExitCode:
        """FAILURE while an upgrade is pending."""
        return ExitCode.OK if self.up_to_date else ExitCode.FAILURE

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=_FIELDS)


@dataclass(frozen=True)
class UpgradeReport:
    schema: SchemaReport  # after the upgrade
    previous: str | None  # the revision it started from (None: an empty database)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return self.schema.to_json() | {"previous": self.previous}


def _report(database: Database, state: SchemaStatus) -> SchemaReport:
    return SchemaReport(
        service=database.service,
        backend=database.dialect,
        url=mask_url(database.url),
        current=state.current,
        head=state.head,
    )


def schema_status(database: Database) -> SchemaReport:
    from pumpflix_cli.db.migrate import status

    return _report(database, status(database))


def upgrade_schema(database: Database) -> UpgradeReport:
    """Apply every pending migration."""
    from pumpflix_cli.db.migrate import status, upgrade

    before = status(database).current
    return UpgradeReport(_report(database, upgrade(database)), previous=before)
