"""``pumpflix instances``: templates run on n8n, and what became of each run."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pumpflix_cli.cli.common import JsonOption, app_context
from pumpflix_cli.cli.completion import complete_template_ref

if TYPE_CHECKING:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import EventRecord, InstanceRecord, TemplateRecord
    from pumpflix_cli.services.instances.run import RunOutcome

app = typer.Typer(help="Run templates on n8n and follow their instances.", no_args_is_help=True)


class Status(StrEnum):
    created = "created"
    deploying = "deploying"
    running = "running"
    success = "success"
    error = "error"
    canceled = "canceled"


InstanceArgument = Annotated[
    str, typer.Argument(help="The instance's id or a unique id prefix (6+ characters).")
]


@app.command()
def run(
    ctx: typer.Context,
    template: Annotated[
        str,
        typer.Argument(
            help="Id, unique id prefix (6+) or exact name.", autocompletion=complete_template_ref
        ),
    ],
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var", metavar="NAME=VALUE", help="A value for an input variable (repeatable)."
        ),
    ] = None,
    vars_file: Annotated[
        Path | None,
        typer.Option(
            "--vars-file",
            dir_okay=False,
            help="Variables from a JSON object or NAME=VALUE lines; --var wins.",
        ),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            "--credential",
            metavar="TYPE=ID",
            help="Use n8n credential ID for the credential type TYPE (repeatable).",
        ),
    ] = None,
    input_: Annotated[
        str | None,
        typer.Option(
            "--input",
            metavar="JSON|@FILE",
            help="What the webhook is sent: JSON, @file or @- for stdin.",
        ),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once n8n has accepted the call.")
    ] = False,
    keep_active: Annotated[
        bool, typer.Option("--keep-active", help="Leave the n8n workflow active afterwards.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, metavar="S", help="Wait at most S seconds for the run."),
    ] = 60.0,
    json: JsonOption = False,
) -> None:
    """Fill a template in, deploy it to n8n as a workflow of its own and run it.

    A Manual or Schedule Trigger is swapped for a Webhook of the same name;
    a template's own Webhook is called at a path of the instance's own; a
    workflow started only by app triggers is deployed and left active for the
    app to call.

    Exit 0 on success, 1 when the execution failed, 2 for missing variables
    (nothing is written), 75 on timeout, 69 when n8n cannot be reached.
    """
    from pumpflix_cli.services.instances.inputs import collect_variables, parse_input, parse_pairs
    from pumpflix_cli.services.instances.run import RunRequest, prepare_run, run_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    request = RunRequest(
        template_ref=template,
        variables=collect_variables(var or [], vars_file),
        credentials=parse_pairs(credential or [], option="--credential", what="TYPE"),
        payload=parse_input(sys.stdin.read() if input_ == "@-" else input_),
        wait=not no_wait,
        keep_active=keep_active,
        timeout=timeout,
    )
    # From the database, not the cache: nothing is written anywhere before the checks.
    found = app_.library().show(template, use_cache=False)
    prepared = prepare_run(request, found, out.warn)
    outcome = run_instance(prepared, client=app_.n8n(), database=app_.database, note=out.info)
    for note in outcome.notes:
        out.info(note)
    out.emit(outcome.to_json(), lambda: _render_run(out, outcome))
    if outcome.problem is not None:
        raise outcome.problem


def _render_run(out: Output, outcome: RunOutcome) -> None:
    instance, entry, execution = outcome.instance, outcome.entry, outcome.execution
    entry_text = {
        "swapped": f"'{entry.node}' run through a Webhook",
        "webhook": f"Webhook '{entry.node}'",
        "app": "app trigger: n8n runs it when the app calls",
    }[entry.kind]
    duration = execution.duration_ms if execution is not None else None
    out.fields(
        {
            "instance": instance.id,
            "template": f"{instance.template_name} (v{instance.template_version})",
            "status": instance.status,
            "entry": entry_text,
            "n8n workflow": instance.n8n_workflow_id or "-",
            "n8n execution": instance.n8n_execution_id or "-",
            "duration": "-" if duration is None else f"{duration} ms",
            "error": instance.error or "-",
        },
    )
    if execution is not None and execution.events:
        _render_nodes(out, execution.events)
    if instance.output is not None:
        _render_json(out, "output", instance.output)


def _render_nodes(out: Output, events: list[EventRecord]) -> None:
    out.table(
        ["node", "status", "started", "ms", "items", "error"],
        [
            (
                e.node,
                (e.data or {}).get("status"),
                e.time.strftime("%H:%M:%S.%f")[:-3],
                (e.data or {}).get("durationMs"),
                (e.data or {}).get("itemsOut"),
                (e.data or {}).get("error") or "",
            )
            for e in events
            if e.source == "n8n"
        ],
        no_wrap=("status", "started", "ms", "items"),
    )


def _render_json(out: Output, title: str, value: Any) -> None:
    from pumpflix_cli.output import to_json

    out.text(f"{title}:")
    _line(out, to_json(value))


@app.command("list")
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
    from pumpflix_cli.services.instances.queries import instance_json, list_instances

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    records = list_instances(
        app_.database,
        app_.library(),
        status=None if status is None else status.value,
        template_ref=template,
        limit=limit,
    )
    out.emit([instance_json(r) for r in records], lambda: _render_list(out, records))


def _render_list(out: Output, records: list[InstanceRecord]) -> None:
    if not records:
        out.info("no instances")
        return
    out.table(
        ["id", "status", "template", "created", "n8n workflow", "execution", "error"],
        [
            (
                r.short_id,
                r.status,
                r.template_name or r.template_id or "(deleted)",
                _when(r.created_at),
                r.n8n_workflow_id,
                r.n8n_execution_id,
                (r.error or "")[:80],
            )
            for r in records
        ],
        no_wrap=("id", "status", "created", "n8n workflow", "execution"),
    )


def _when(value: Any) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def show(
    ctx: typer.Context,
    instance: InstanceArgument,
    final_json: Annotated[
        bool, typer.Option("--final-json", help="Include the final workflow JSON.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show one instance: status, inputs (secret-looking values masked), output."""
    from pumpflix_cli.services.instances.queries import instance_json, resolve_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = resolve_instance(app_.database, instance, final_workflow=final_json)
    data = instance_json(record, detail=True)
    out.emit(data, lambda: _render_show(out, record, data))


def _render_show(out: Output, record: InstanceRecord, data: dict[str, Any]) -> None:
    out.fields(
        {
            "id": record.id,
            "status": record.status,
            "template": f"{record.template_name or '(deleted)'} "
            f"({record.template_id or '-'}, v{record.template_version})",
            "n8n workflow": record.n8n_workflow_id or "-",
            "n8n execution": record.n8n_execution_id or "-",
            "error": record.error or "-",
            "created": _when(record.created_at),
            "started": _when(record.started_at),
            "finished": _when(record.finished_at),
            "credentials": ", ".join(f"{k}={v}" for k, v in record.credentials.items()) or "-",
        },
    )
    _render_json(out, "inputs", data["inputs"])
    if record.output is not None:
        _render_json(out, "output", record.output)
    if "finalJson" in data:
        _render_json(out, "final JSON", data["finalJson"])


@app.command()
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
    """The instance's events in time order: pumpflix's steps and one line per node run."""
    from pumpflix_cli.services.instances.queries import instance_events, resolve_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = resolve_instance(app_.database, instance)
    for event in instance_events(app_.database, record, node=node):
        _print_event(out, event)
    if follow:
        _follow(app_, record, node, max_wait)


def _follow(
    app_: AppContext, record: InstanceRecord, node: str | None, max_wait: float | None
) -> None:
    from pumpflix_cli.errors import ServiceTimeoutError
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
            f"{result.running} execution(s) still running after {max_wait:g} s",
            hint="follow again later",
        )


def _print_event(out: Output, event: EventRecord) -> None:
    if out.json_mode:
        from pumpflix_cli.services.instances.queries import event_json

        out.json_line(event_json(event))
        return
    stamp = event.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    where = f" [{event.node}]" if event.node else ""
    _line(out, f"{stamp} {event.level:<7} {event.source:<8}{where} {event.message}")


def _line(out: Output, text: str) -> None:
    """Text on stdout as it is, never folded at the terminal's width (logs are grepped,
    JSON is copied)."""
    out.console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command()
def promote(
    ctx: typer.Context,
    instance: InstanceArgument,
    name: Annotated[str, typer.Option("--name", help="The new user template's name.")],
    description: Annotated[
        str | None, typer.Option("--description", metavar="D", help="Its description.")
    ] = None,
    thumbnail: Annotated[
        str | None, typer.Option("--thumbnail", metavar="URL", help="Its thumbnail.")
    ] = None,
    from_n8n: Annotated[
        bool,
        typer.Option(
            "--from-n8n",
            help="Take the workflow as it now stands in n8n (edits made there included) "
            "instead of the instance's final JSON.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Make a new user template of an instance, its credentials and variables read afresh.

    Exit 4 when a user template of that name exists.
    """
    from pumpflix_cli.services.instances.queries import promote as promote_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = promote_instance(
        app_.database,
        app_.library(),
        instance,
        name=name,
        description=description,
        thumbnail=thumbnail,
        n8n=app_.n8n if from_n8n else None,
    )
    out.emit(record.summary_json(), lambda: _render_template(out, record))


def _render_template(out: Output, record: TemplateRecord) -> None:
    out.fields(
        {
            "id": record.id,
            "name": record.name,
            "type": record.source_type,
            "description": record.description or "",
            "version": record.version,
            "credentials": ", ".join(record.required_credentials) or "-",
            "input variables": ", ".join(record.input_variables) or "-",
            "thumbnail": record.thumbnail or "-",
        },
        title="promoted",
    )
