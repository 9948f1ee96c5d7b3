"""``pumpflix templates``: the template library."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    SourceType,
    TypeFilter,
    TypeOption,
    app_context,
    confirm_destructive,
    types_of,
)
from pumpflix_cli.cli.completion import complete_template_ref
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.references import short_id

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import TemplateRecord
    from pumpflix_cli.services.templates.importing import ImportReport

app = typer.Typer(
    help="Import, list, show, export, invalidate and delete templates.", no_args_is_help=True
)


class OnConflict(StrEnum):
    update = "update"
    skip = "skip"
    fail = "fail"


NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Read from the database, bypassing Redis.")
]


@app.command("import")
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

    Exit 0 when everything landed, 5 when some files failed and the rest landed, 65 when
    nothing valid was given.
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
    out.emit(report.to_json(), lambda: _render_import(out, report))
    raise typer.Exit(int(_import_exit_code(report)))


def _import_exit_code(report: ImportReport) -> ExitCode:
    if not report.failed:
        return ExitCode.OK
    if report.atomic or not report.landed:
        return ExitCode.DATA_ERR
    return ExitCode.PARTIAL


def _render_import(out: Output, report: ImportReport) -> None:
    for error in report.errors:
        out.err_console.print(
            f"failed: {error['path']}: {error['error']}", markup=False, style="red"
        )
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


@app.command("list")
def list_(
    ctx: typer.Context,
    type_: TypeOption = TypeFilter.all,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", help="Only names or descriptions containing TEXT.", metavar="TEXT"
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N templates.")
    ] = None,
    no_cache: NoCacheOption = False,
    json: JsonOption = False,
) -> None:
    """List templates by name (from the cache when it is warm)."""
    app_ = app_context(ctx, json_output=json)
    out = app_.output
    records = app_.library().list_templates(
        types_of(type_), search=search, limit=limit, use_cache=not no_cache
    )
    if out.json_mode:
        out.json_array(r.summary_json() for r in records)
    else:
        _render_list(out, records)


def _render_list(out: Output, records: list[TemplateRecord]) -> None:
    if not records:
        out.info("no templates")
        return
    out.table(
        ["id", "name", "type", "ver", "creds", "vars", "updated"],
        [
            (
                short_id(r.id),
                r.name,
                r.source_type,
                r.version,
                len(r.required_credentials),
                len(r.input_variables),
                (r.updated_at or "")[:16].replace("T", " "),
            )
            for r in records
        ],
        no_wrap=("id", "type", "ver", "creds", "vars", "updated"),
    )


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            help="Id, unique id prefix (6+) or exact name.", autocompletion=complete_template_ref
        ),
    ],
    no_cache: NoCacheOption = False,
    json: JsonOption = False,
) -> None:
    """Show one template, its n8n JSON (with --json) and its version history."""
    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = app_.library().show(ref, use_cache=not no_cache)
    out.emit(record.to_json(), lambda: _render_show(out, record))


def _render_show(out: Output, record: TemplateRecord) -> None:
    nodes = (record.workflow or {}).get("nodes") or []
    out.fields(
        {
            "id": record.id,
            "name": record.name,
            "type": record.source_type,
            "description": record.description or "",
            "version": record.version,
            "content hash": record.content_hash,
            "nodes": len(nodes) if isinstance(nodes, list) else "?",
            "credentials": ", ".join(record.required_credentials) or "-",
            "input variables": ", ".join(record.input_variables) or "-",
            "thumbnail": record.thumbnail or "-",
            "created": record.created_at,
            "updated": record.updated_at,
        }
    )
    if record.history:
        out.table(
            ["version", "content hash", "created"],
            [(h.version, h.content_hash[:16], h.created_at) for h in record.history],
            title="history",
        )


@app.command()
def export(
    ctx: typer.Context,
    out_path: Annotated[
        str,
        typer.Option(
            "--out", help="A folder (one file per template) or - for stdout.", metavar="DIR|-"
        ),
    ],
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Templates to export (default: all of --type).",
            metavar="[REF]...",
            autocompletion=complete_template_ref,
        ),
    ] = None,
    type_: TypeOption = TypeFilter.all,
    bundle: Annotated[
        bool, typer.Option("--bundle", help="Add a pumpflix header for a lossless re-import.")
    ] = False,
    keep_credential_ids: Annotated[
        bool, typer.Option("--keep-credential-ids", help="Keep credential ids.")
    ] = False,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Keep pinned and static data.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Write templates as n8n-importable workflow JSON, streaming (flat memory)."""
    from pumpflix_cli.services.templates.exporting import ExportOptions, export_templates

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    options = ExportOptions(
        bundle=bundle, keep_credential_ids=keep_credential_ids, keep_data=keep_data
    )
    ids = [r.id for r in app_.library().resolve_many(refs)] if refs else None
    target = out.stdout if out_path == "-" else Path(out_path)
    with out.progress("exporting", None) as advance:
        count = export_templates(app_.database, types_of(type_), ids, options, target, advance)
    if out_path == "-":
        out.info(f"exported {count} templates")
        return
    folder = str(target)
    report = {"exported": count, "out": folder}
    out.emit(report, lambda: out.text(f"exported {count} templates to {folder}"))


@app.command()
def invalidate(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(metavar="[REF]...", autocompletion=complete_template_ref),
    ] = None,
    type_: Annotated[
        SourceType | None, typer.Option("--type", help="Every template of this type.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every template.")] = False,
    json: JsonOption = False,
) -> None:
    """Drop cached copies so the next read comes from the database."""
    from pumpflix_cli.errors import UsageError

    if not refs and type_ is None and not all_:
        raise UsageError("say what to invalidate", hint="give REFs, --type T or --all")
    app_ = app_context(ctx, json_output=json)
    library = app_.library()
    records = library.resolve_many(refs) if refs else []
    types = ["prebuilt", "user"] if all_ else ([type_.value] if type_ else [])
    count = library.invalidate(records, types)
    out = app_.output
    out.emit({"invalidated": count}, lambda: out.text(f"invalidated {count} templates"))


@app.command()
def delete(
    ctx: typer.Context,
    refs: Annotated[
        list[str], typer.Argument(metavar="REF...", autocompletion=complete_template_ref)
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even when instances use the template.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Delete templates and their history (exit 4 while instances use one, unless --force)."""
    app_ = app_context(ctx, json_output=json)
    out = app_.output
    library = app_.library()
    records = library.resolve_many(refs)
    names = ", ".join(f"'{r.name}' ({r.source_type})" for r in records)
    confirm_destructive(out, f"Delete {len(records)} template(s): {names}?", yes=yes)
    deleted = library.delete(records, force=force)
    out.emit(
        {"deleted": len(deleted), "ids": [r.id for r in deleted]},
        lambda: out.text(f"deleted {len(deleted)} template(s)"),
    )
