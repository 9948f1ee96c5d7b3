"""``pumpflix instances prune``: instances by age and status removed from n8n and pumpflix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, YesOption, app_context, confirm_destructive, finish
from pumpflix_cli.cli.instances.options import (
    ExecutionsOption,
    Status,
    parse_duration,
    render_removals,
    warn_kept,
)
from pumpflix_cli.text import plural

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.instances.cleanup import RemovalReport


def prune(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Only instances created longer ago than this: 90s, 30m, 12h, 7d, 2w, 1h30m.",
        ),
    ] = None,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            "--status", metavar="STATUS", help="Only instances with this status (repeatable)."
        ),
    ] = None,
    executions: ExecutionsOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; change nothing.")
    ] = False,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Delete instances by age and status, as instances delete does.

    This is how n8n workflows left by runs are removed: those kept with --keep
    or --no-wait, app-triggered ones, and those a run could not delete.

    An instance still deploying or running is taken only once older than
    --older-than, or 1 h without it: another pumpflix may be running it.
    Exit 5 when some could not be deleted, 69 when n8n is unreachable.
    """
    from pumpflix_cli.services.instances.cleanup import prune_candidates, remove_instances

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    age = None if older_than is None else parse_duration(older_than, option="--older-than")
    candidates = prune_candidates(
        app_.database, older_than=age, statuses=[s.value for s in status or []]
    )
    if candidates and not dry_run:
        with_workflows = sum(c.n8n_workflow_id is not None for c in candidates)
        confirm_destructive(
            out,
            f"Delete {plural(len(candidates), 'instance')} and "
            f"{plural(with_workflows, 'n8n workflow')}?",
            yes=yes,
        )
    report = remove_instances(
        app_.database, candidates, app_.n8n, executions=executions, dry_run=dry_run
    )
    warn_kept(out, report)
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: RemovalReport) -> None:
    if not report.removals:
        out.info("nothing to prune")
        return
    render_removals(out, report)
