"""``pumpflix db``: schema migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from pumpflix_cli.cli.common import JsonOption, app_context

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.migrate import SchemaStatus

app = typer.Typer(help="Upgrade the database schema and show its revision.", no_args_is_help=True)


def _report(database: Database, state: SchemaStatus) -> dict[str, Any]:
    from pumpflix_cli.redact import mask_url

    return {
        "backend": database.dialect,
        "url": mask_url(database.url),
        "current": state.current,
        "head": state.head,
        "upToDate": state.up_to_date,
    }


@app.command()
def upgrade(ctx: typer.Context, json: JsonOption = False) -> None:
    """Apply every pending migration (PostgreSQL or the embedded SQLite)."""
    from pumpflix_cli.db.migrate import status
    from pumpflix_cli.db.migrate import upgrade as run_upgrade

    app_ = app_context(ctx, json_output=json)
    database = app_.database(check_schema=False)
    before = status(database).current
    state = run_upgrade(database)
    report = _report(database, state) | {"previous": before}
    out = app_.output
    out.emit(
        report,
        lambda: out.success(
            f"{database.service} schema at {state.current}"
            + (
                " (already up to date)"
                if before == state.current
                else f" (was {before or 'empty'})"
            )
        ),
    )


@app.command()
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the current and the head revision; exit 1 when an upgrade is pending."""
    from pumpflix_cli.db.migrate import status as schema_status

    app_ = app_context(ctx, json_output=json)
    database = app_.database(check_schema=False)
    state = schema_status(database)
    report = _report(database, state)
    out = app_.output
    out.emit(
        report,
        lambda: out.fields(
            {
                "backend": report["backend"],
                "url": report["url"],
                "current": state.current or "-",
                "head": state.head,
                "up to date": "yes" if state.up_to_date else "no",
            }
        ),
    )
    if not state.up_to_date:
        out.info("hint: run pumpflix db upgrade")
        raise typer.Exit(1)
