"""``pumpflix instances delete``: instances removed from n8n and from pumpflix."""

from __future__ import annotations

from typing import Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, YesOption, app_context, confirm_destructive, finish
from pumpflix_cli.cli.instances.options import (
    INSTANCE_HELP,
    ExecutionsOption,
    render_removals,
    warn_kept,
)
from pumpflix_cli.text import plural


def delete(
    ctx: typer.Context,
    instances: Annotated[list[str], typer.Argument(metavar="ID...", help=INSTANCE_HELP)],
    executions: ExecutionsOption = False,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Delete instances: their n8n workflows, then their records and logs.

    Each n8n workflow has its executions stopped, is deactivated and deleted;
    one already gone is fine. An instance whose workflow n8n cannot delete is
    kept (exit 5 when others went; 69 when n8n is unreachable). Exit 3 when an
    ID matches no instance: then nothing is deleted.
    """
    from pumpflix_cli.services.instances.cleanup import remove_instances
    from pumpflix_cli.services.instances.queries import resolve_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    by_id = {r.id: r for r in (resolve_instance(app_.database, ref) for ref in instances)}
    records = list(by_id.values())  # each once, however often named
    named = ", ".join(record.short_id for record in records)
    with_workflows = sum(record.n8n_workflow_id is not None for record in records)
    confirm_destructive(
        out,
        f"Delete {plural(len(records), 'instance')} ({named}) and "
        f"{plural(with_workflows, 'n8n workflow')}?",
        yes=yes,
    )
    report = remove_instances(app_.database, records, app_.n8n, executions=executions)
    warn_kept(out, report)
    finish(out, report, lambda: render_removals(out, report))
