"""``pumpflix instances run``: a template filled in, deployed to n8n and run."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, TemplateRefArgument, app_context, finish
from pumpflix_cli.cli.instances.options import render_json

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import EventRecord
    from pumpflix_cli.services.instances.prepare import PreparedRun
    from pumpflix_cli.services.instances.run import RunOutcome


def run(
    ctx: typer.Context,
    template: TemplateRefArgument,
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
    secret_var: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-var",
            metavar="NAME=VALUE",
            help="A variable whose value is secret: stored masked, never shown (repeatable).",
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
        bool,
        typer.Option(
            "--no-wait",
            help="Return once n8n has accepted the call (the n8n workflow is kept, "
            "deactivated, for logs --follow; instances prune removes it).",
        ),
    ] = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="Keep the n8n workflow (deactivated) instead of deleting it afterwards."
        ),
    ] = False,
    keep_active: Annotated[
        bool, typer.Option("--keep-active", help="Keep the n8n workflow, and active.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, metavar="S", help="Wait at most S seconds for the run."),
    ] = 60.0,
    json: JsonOption = False,
) -> None:
    """Fill a template in, deploy it to n8n as a workflow of its own and run it.

    A Manual or Schedule Trigger is started through a Webhook put in front of
    it and gives what it gives on a manual run (or --input); a template's own
    Webhook is called at a path of the instance's own; a workflow started only
    by app triggers is deployed and left active for the app to call. Once its
    execution is read the n8n workflow is deleted, unless --keep; Ctrl-C or
    SIGTERM stops the execution and deletes it too.

    A variable is stored masked when given with --secret-var, when its name
    says secret (TOKEN, PASSWORD, API_KEY …) or when its value looks like a token.

    Exit 0 on success, 1 when the execution failed, 2 for missing variables
    (nothing is written), 75 on timeout, 69 when n8n cannot be reached, 130 /
    143 when interrupted by SIGINT / SIGTERM.
    """
    from pumpflix_cli.cli.instances.inputs import collect_variables, parse_input, parse_pairs
    from pumpflix_cli.errors import UsageError
    from pumpflix_cli.redact import register_secret
    from pumpflix_cli.services.instances.prepare import (
        InputNotItemsError,
        RunRequest,
        VariablesNeededError,
        prepare_run,
    )
    from pumpflix_cli.services.instances.recorded import secret_variables
    from pumpflix_cli.services.instances.run import ActivationRefusedError, run_instance

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    secrets = parse_pairs(secret_var or [], option="--secret-var", what="NAME")
    variables = {**collect_variables(var or [], vars_file), **secrets}
    for name in secret_variables(variables, secrets):  # never in a message either
        register_secret(variables[name])
    request = RunRequest(
        template_ref=template,
        variables=variables,
        secret_variables=frozenset(secrets),
        credentials=parse_pairs(credential or [], option="--credential", what="TYPE"),
        payload=parse_input(sys.stdin.read() if input_ == "@-" else input_),
        wait=not no_wait,
        keep=keep,
        keep_active=keep_active,
        timeout=timeout,
    )
    # From the database, not the cache: nothing is written anywhere before the checks.
    found = app_.library().show(template, use_cache=False)
    try:
        prepared = prepare_run(request, found)
    except VariablesNeededError as exc:
        raise UsageError(
            exc.message, hint="give each with --var NAME=VALUE or in --vars-file FILE"
        ) from None
    except InputNotItemsError as exc:
        raise UsageError(
            f"--input: {exc.message}",
            hint="""--input '{"name": "Ada"}' or '[{"n": 1}, {"n": 2}]'""",
        ) from None
    for warning in unused_warnings(prepared):
        out.warn(warning)
    client = app_.n8n()
    with terminate_as_interrupt() as terminated:
        try:
            outcome = run_instance(
                prepared,
                client=client,
                database=app_.database,
                note=out.info,
                follow_command=lambda short_id: f"pumpflix instances logs {short_id} --follow",
            )
        except KeyboardInterrupt:
            stopped = "terminated" if terminated else "interrupted"
            out.error(
                f"{stopped}; what became of the instance: "
                f"pumpflix instances show {prepared.short_id}"
            )
            raise typer.Exit(128 + (terminated[0] if terminated else signal.SIGINT)) from None
    for note in outcome.notes:
        out.info(note)
    if isinstance(outcome.problem, ActivationRefusedError):
        outcome.problem.hint = outcome.problem.hint or (
            "n8n refuses to activate the workflow as it stands; a missing credential is "
            "mapped with --credential TYPE=ID (an n8n credential's id)"
        )
    finish(out, outcome, lambda: _render(out, outcome))


@contextmanager
def terminate_as_interrupt() -> Iterator[list[int]]:
    """While inside, SIGTERM interrupts as Ctrl-C does, so that a run stopped by a service
    manager or ``kill`` cleans n8n up on its way out; the signals received are listed."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set a handler
        return

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def unused_warnings(prepared: PreparedRun) -> list[str]:
    """What was given on the command line for nothing, in the flags' words."""
    marked = prepared.request.secret_variables
    warnings = [
        f"{'--secret-var' if name in marked else '--var'} {name}: "
        "the template does not use this variable"
        for name in prepared.unused_variables
    ]
    warnings += [
        f"--credential {credential_type}: the template uses no credential of this type"
        for credential_type in prepared.unused_credentials
    ]
    if prepared.unmapped_credentials:
        warnings.append(
            "no --credential given for "
            + ", ".join(prepared.unmapped_credentials)
            + ": n8n uses the credentials the template names, if it has them"
        )
    if prepared.payload_unused:
        entry = prepared.entry
        warnings.append(
            "--input is not used: the workflow starts with an app trigger, not a webhook"
            if entry.kind == "app"
            else f"--input is not used: a {entry.method} webhook takes an object, as its query"
        )
    return warnings


def _render(out: Output, outcome: RunOutcome) -> None:
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
        render_json(out, "output", instance.output)


def _render_nodes(out: Output, events: list[EventRecord]) -> None:
    from pumpflix_cli.output import Column, format_time

    out.table(
        [
            Column("node", fit="name"),
            Column("status"),
            Column("started", 3),
            Column("ms", 2),
            Column("items", 4),
            Column("error", 1, "text"),
        ],
        [
            (
                e.node,
                (e.data or {}).get("status"),
                format_time(e.time, "clock"),
                (e.data or {}).get("durationMs"),
                (e.data or {}).get("itemsOut"),
                (e.data or {}).get("error") or "",
            )
            for e in events
            if e.source == "n8n"
        ],
    )
