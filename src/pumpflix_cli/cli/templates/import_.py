"""``pumpflix templates import`` (``import_`` because ``import`` is a keyword)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, SourceType, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.templates.importing import ImportReport


class OnConflict(StrEnum):
    update = "update"
    skip = "skip"
    fail = "fail"


def import_(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Workflow files, folders (searched for *.json), or - for stdin.", metavar="PATH..."
        ),
    ],
    source_type: Annotated[
        SourceType | None,
        typer.Option(
            "--type", help="Import as prebuilt or user (default: a bundle's own type, else user)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    repair: Annotated[
        bool, typer.Option("--repair", help="Rewrite connections keyed by node id to names.")
    ] = False,
    atomic: Annotated[
        bool, typer.Option("--atomic", help="All or nothing: one invalid file imports none.")
    ] = False,
    on_conflict: Annotated[
        OnConflict,
        typer.Option(
            "--on-conflict",
            help="An existing template with other content: update (a new version), "
            "skip it, or fail the item.",
        ),
    ] = OnConflict.update,
    json: JsonOption = False,
) -> None:
    """Import n8n workflows as templates: new ones are created, changed ones get a new
    version, unchanged ones are left alone.

    Exit 0 when everything landed, 5 when some files failed and the rest landed, 4 when
    nothing landed and every failure is a conflict (--on-conflict fail, or a template
    another session held past PUMPFLIX_LOCK_TIMEOUT), 65 when nothing valid was given.
    """
    from pumpflix_cli.services.templates.importing import (
        ImportOptions,
        collect_files,
        import_templates,
    )

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    settings = app_.settings
    options = ImportOptions(
        source_type=source_type.value if source_type else None,
        dry_run=dry_run,
        repair=repair,
        atomic=atomic,
        on_conflict=on_conflict.value,
        max_file_bytes=settings.max_file_bytes,
        max_depth=settings.max_depth,
    )
    files = collect_files(paths)
    with out.progress("importing", total=len(files)) as advance:
        report = import_templates(
            files,
            options,
            database=app_.database,
            library=app_.library(),
            stdin=sys.stdin.buffer if "-" in paths else None,
            warn=out.warn,
            progress=advance,
        )
    _name_the_option(report)
    finish(out, report, lambda: _render(out, report))


def _name_the_option(report: ImportReport) -> None:
    """A failure an option caused or would cure says which option."""
    for failure in report.failures:
        if failure.conflict is not None:
            failure.error = f"{failure.error} (--on-conflict fail)"
        elif failure.remedy == "repair":
            failure.error = f"{failure.error}; use --repair to rewrite them to names"


def _render(out: Output, report: ImportReport) -> None:
    for failure in report.failures:
        out.failure(f"failed: {failure.path}: {failure.error}")
    prefix = "dry run: would have " if report.dry_run else ""
    summary = (
        f"{prefix}created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}"
        + (f", skipped {report.skipped}" if report.skipped else "")
        + f", failed {report.failed}"
        + (f" ({len(report.repaired)} repaired)" if report.repaired else "")
    )
    out.text(summary)
    if report.atomic and report.failed:
        out.info("nothing was imported (--atomic)")
