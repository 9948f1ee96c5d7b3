"""``pumpflix templates list``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, TypeFilter, TypeOption, app_context, types_of
from pumpflix_cli.cli.templates.options import NoCacheOption
from pumpflix_cli.references import short_id

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import TemplateRecord


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
    if out.json_mode:  # streamed: a long list never exists as one string
        out.json_array(r.summary_json() for r in records)
    else:
        _render(out, records)


def _render(out: Output, records: list[TemplateRecord]) -> None:
    from pumpflix_cli.output import Column, format_time

    if not records:
        out.info("no templates")
        return
    out.table(
        [
            Column("id"),
            Column("name", fit="name"),
            Column("type", 1),
            Column("ver", 2),
            Column("updated", 3),
            Column("creds", 4),
            Column("vars", 5),
        ],
        [
            (
                short_id(r.id),
                r.name,
                r.source_type,
                r.version,
                format_time(r.updated_at, "minute"),
                len(r.required_credentials),
                len(r.input_variables),
            )
            for r in records
        ],
    )
