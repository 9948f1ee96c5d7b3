"""``pumpflix templates export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, TypeFilter, TypeOption, app_context, types_of
from pumpflix_cli.cli.completion import complete_template_ref


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
    from pumpflix_cli.output import plural
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
        out.info(f"exported {plural(count, 'template')}")
        return
    folder = str(target)
    report = {"exported": count, "out": folder}
    out.emit(report, lambda: out.text(f"exported {plural(count, 'template')} to {folder}"))
