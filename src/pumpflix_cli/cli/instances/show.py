"""``pumpflix instances show``: one instance, its inputs masked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish
from pumpflix_cli.cli.instances.options import InstanceArgument, render_json

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.instances.queries import InstanceDetail


def show(
    ctx: typer.Context,
    instance: InstanceArgument,
    final_json: Annotated[
        bool, typer.Option("--final-json", help="Include the final workflow JSON.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show one instance: status, inputs (secret-looking values masked), output.

    One still running is first refreshed from n8n: an execution that has finished
    since is recorded (as logs --follow does, once).
    """
    from pumpflix_cli.services.instances.queries import show_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    report = show_instance(app_.database, instance, final_workflow=final_json, n8n=app_.n8n)
    if report.warning is not None:
        out.warn(report.warning)
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: InstanceDetail) -> None:
    from pumpflix_cli.output import format_time

    record = report.record
    out.fields(
        {
            "id": record.id,
            "status": record.status,
            "template": f"{record.template_name or '(deleted)'} "
            f"({record.template_id or '-'}, v{record.template_version})",
            "n8n workflow": record.n8n_workflow_id or "-",
            "n8n execution": record.n8n_execution_id or "-",
            "error": record.error or "-",
            "created": format_time(record.created_at, "second"),
            "started": format_time(record.started_at, "second"),
            "finished": format_time(record.finished_at, "second"),
            "credentials": ", ".join(f"{k}={v}" for k, v in record.credentials.items()) or "-",
        },
    )
    render_json(out, "inputs", report.inputs)
    if record.output is not None:
        render_json(out, "output", record.output)
    if record.final_workflow is not None:
        render_json(out, "final JSON", record.final_workflow)
