"""``pumpflix instances logs``: an instance's events, and following its executions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import app_context
from pumpflix_cli.cli.instances.options import InstanceArgument

if TYPE_CHECKING:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import EventRecord, InstanceRecord


def logs(
    ctx: typer.Context,
    instance: InstanceArgument,
    node: Annotated[
        str | None, typer.Option("--node", metavar="NAME", help="Only this node's runs.")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Poll n8n and print executions of the instance's workflow as they finish, "
            "until interrupted (or until nothing more can run: the workflow is inactive and "
            "nothing of it is running).",
        ),
    ] = False,
    max_wait: Annotated[
        float | None,
        typer.Option(
            "--max-wait",
            min=0.0,
            metavar="S",
            help="With --follow: stop after S seconds (exit 75 if an execution is still running).",
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="One JSON object per event, one per line, on stdout.")
    ] = False,
) -> None:
    """The instance's events in time order: pumpflix's steps and one line per node run.

    One still running is first refreshed from n8n (once; --follow keeps looking).
    """
    from pumpflix_cli.services.instances.executions import refresh
    from pumpflix_cli.services.instances.queries import instance_events, resolve_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = resolve_instance(app_.database, instance)
    if not follow:
        warning = refresh(record, n8n=app_.n8n, database=app_.database)
        if warning is not None:
            out.warn(warning)
    for event in instance_events(app_.database, record, node=node):
        _print_event(out, event)
    if follow:
        _follow(app_, record, node, max_wait)


def _follow(
    app_: AppContext, record: InstanceRecord, node: str | None, max_wait: float | None
) -> None:
    from pumpflix_cli.errors import ServiceTimeoutError
    from pumpflix_cli.output import plural
    from pumpflix_cli.services.instances.executions import follow

    out = app_.output
    if record.n8n_workflow_id is None:
        out.info("nothing to follow: the instance never reached n8n")
        return

    def emit(event: EventRecord) -> None:
        if node is None or event.node == node:
            _print_event(out, event)

    try:
        result = follow(
            record, client=app_.n8n(), database=app_.database, emit=emit, max_wait=max_wait
        )
    except KeyboardInterrupt:  # the usual way to stop following
        return
    if result.reason == "gone":
        out.warn(f"n8n workflow {record.n8n_workflow_id} is gone from n8n")
    elif result.reason == "deadline" and result.running:
        raise ServiceTimeoutError(
            "n8n",
            f"{plural(result.running, 'execution')} still running after {max_wait:g} s",
            hint="follow again later",
        )


def _print_event(out: Output, event: EventRecord) -> None:
    if out.json_mode:
        out.json_line(event.to_json())
        return
    from pumpflix_cli.output import format_time

    where = f" [{event.node}]" if event.node else ""
    out.line(
        f"{format_time(event.time, 'ms')} {event.level:<7} {event.source:<8}{where} {event.message}"
    )
