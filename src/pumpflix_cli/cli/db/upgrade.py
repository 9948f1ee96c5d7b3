"""``pumpflix db upgrade``: apply every pending migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.schema import UpgradeReport


def upgrade(ctx: typer.Context, json: JsonOption = False) -> None:
    """Apply every pending migration (PostgreSQL or the embedded SQLite).

    Creates the platform's "WorkflowTemplate" table when it is absent, or adopts it as
    it is (never altered); pumpflix's own tables are named pumpflix_*.
    """
    from pumpflix_cli.services.schema import upgrade_schema

    app_ = app_context(ctx, json_output=json)
    report = upgrade_schema(app_.database(check_schema=False))
    out = app_.output
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: UpgradeReport) -> None:
    schema = report.schema
    if report.previous == schema.current:
        since = " (already up to date)"
    else:
        since = f" (was {report.previous or 'empty'})"
    out.success(f"{schema.service} schema at {schema.current}{since}")
