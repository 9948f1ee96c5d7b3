"""``pumpflix instances list``: instances, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish
from pumpflix_cli.cli.completion import complete_template_ref
from pumpflix_cli.cli.instances.options import Status

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import InstanceRecord


def list_(
    ctx: typer.Context,
    status: Annotated[
        Status | None, typer.Option("--status", help="Only instances with this status.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="REF",
            help="Only instances of this template.",
            autocompletion=complete_template_ref,
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N instances.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """List instances, newest first."""
    from pumpflix_cli.services.instances.queries import list_instances

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    report = list_instances(
        app_.database,
        app_.library(),
        status=None if status is None else status.value,
        template_ref=template,
        limit=limit,
    )
    finish(out, report, lambda: _render(out, report.records))


def _render(out: Output, records: list[InstanceRecord]) -> None:
    from pumpflix_cli.output import Column, format_time

    if not records:
        out.info("no instances")
        return
    out.table(
        [
            Column("id"),
            Column("status"),
            Column("template", 1, "name"),
            Column("created", 3),
            Column("n8n workflow", 4),
            Column("execution", 5),
            Column("error", 2, "text"),
        ],
        [
            (
                r.short_id,
                r.status,
                r.template_name or r.template_id or "(deleted)",
                format_time(r.created_at, "second"),
                r.n8n_workflow_id,
                r.n8n_execution_id,
                r.error or "",
            )
            for r in records
        ],
    )
