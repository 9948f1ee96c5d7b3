"""``pumpflix db status``: the schema's revision, and whether an upgrade is pending."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.schema import SchemaReport


def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the current and the head revision; exit 1 when an upgrade is pending."""
    from pumpflix_cli.services.schema import schema_status

    app_ = app_context(ctx, json_output=json)
    report = schema_status(app_.database(check_schema=False))
    out = app_.output
    try:
        finish(out, report, lambda: _render(out, report))
    except typer.Exit:  # an upgrade is pending: say how, after the report
        out.info("hint: run pumpflix db upgrade")
        raise


def _render(out: Output, report: SchemaReport) -> None:
    out.fields(
        {
            "backend": report.backend,
            "url": report.url,
            "current": report.current or "-",
            "head": report.head,
            "up to date": "yes" if report.up_to_date else "no",
        }
    )
