"""``pumpflix n8n``: keeping templates and an n8n instance in step."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    app_context,
    confirm_destructive,
    types_of,
)
from pumpflix_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.n8n.diff import DiffEntry
    from pumpflix_cli.services.n8n.plan import SyncReport
    from pumpflix_cli.services.n8n.status import N8nStatusReport

app = typer.Typer(help="Check n8n, sync templates with it and diff them.", no_args_is_help=True)


class Prefer(StrEnum):
    pumpflix = "pumpflix"
    n8n = "n8n"


RefsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Templates by id, unique id prefix (6+ characters) or exact name; default: all.",
        metavar="[REF]...",
        show_default=False,
    ),
]


@app.command("status")
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Whether n8n is reachable, its version, whether the API key is accepted, and how
    many workflows it holds (managed: tagged pumpflix).

    Exit 69 when n8n is unreachable or not configured, 77 when it rejects the API key,
    75 when it does not answer in time.
    """
    from pumpflix_cli.services.n8n.status import n8n_status

    app_ = app_context(ctx, json_output=json)
    report = n8n_status(app_.n8n())
    out = app_.output
    out.emit(report.to_json(), lambda: _render_status(out, report))
    if report.problem is not None:
        raise report.problem


def _render_status(out: Output, report: N8nStatusReport) -> None:
    key = {True: "accepted", False: "rejected", None: "not checked"}[report.api_key_valid]
    out.fields(
        {
            "url": report.url,
            "reachable": "yes" if report.reachable else "no",
            "version": report.version or "unknown",
            "API key": key,
            "workflows": "—" if report.workflows is None else report.workflows,
            "managed by pumpflix": "—" if report.managed is None else report.managed,
            "latency": "—" if report.latency_ms is None else f"{report.latency_ms:.1f} ms",
        },
        title="n8n",
    )


@app.command("sync")
def sync(
    ctx: typer.Context,
    refs: RefsArgument = None,
    push: Annotated[
        bool, typer.Option("--push", help="Send templates changed in pumpflix to n8n.")
    ] = False,
    pull: Annotated[
        bool,
        typer.Option(
            "--pull",
            help="Bring workflows changed in n8n into their templates (a new version); "
            "workflows made in n8n become user templates.",
        ),
    ] = False,
    both: Annotated[bool, typer.Option("--both", help="--push and --pull.")] = False,
    type_: TypeOption = TypeFilter.all,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the same counts; write nothing anywhere.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="With --push: delete n8n workflows tagged pumpflix whose template is gone.",
        ),
    ] = False,
    prefer: Annotated[
        Prefer | None,
        typer.Option(
            "--prefer",
            help="Settle conflicts (changed on both sides) in favour of pumpflix or n8n; "
            "without it they are reported and skipped.",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Prune without asking.")] = False,
    json: JsonOption = False,
) -> None:
    """Keep templates and n8n in step: each template is one n8n workflow named as the
    template and tagged pumpflix; a second run with nothing changed writes nothing.

    Exit 0 when everything is in step, 4 when conflicts were skipped, 5 when some items
    failed (the rest were done).
    """
    from pumpflix_cli.services.n8n.pairing import load_state
    from pumpflix_cli.services.n8n.plan import SyncOptions, plan_sync
    from pumpflix_cli.services.n8n.sync import run_sync

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    options = SyncOptions(
        push=push or both,
        pull=pull or both,
        types=types_of(type_),
        refs=list(refs or []),
        dry_run=dry_run,
        prune=prune,
        prefer=None if prefer is None else prefer.value,
    )
    options.check()
    client = app_.n8n()
    library = app_.library()
    state = load_state(client, app_.database, library, types=options.types, refs=options.refs)
    plan = plan_sync(state, options)
    for note in plan.notes:
        out.info(note)
    if plan.deletions and not dry_run:
        names = ", ".join(f"'{a.name}'" for a in plan.deletions[:5])
        more = f" and {len(plan.deletions) - 5} more" if len(plan.deletions) > 5 else ""
        confirm_destructive(
            out,
            f"Delete {len(plan.deletions)} n8n workflow(s) whose template is gone ({names}{more})?",
            yes=yes,
        )
    writes = len(plan.pushes) + len(plan.deletions)
    with out.progress("syncing with n8n", total=writes or None) as advance:
        report = run_sync(
            plan, client=client, database=app_.database, library=library, progress=advance
        )
    out.emit(report.to_json(), lambda: _render_sync(out, report))
    raise typer.Exit(int(_sync_exit_code(report)))


def _sync_exit_code(report: SyncReport) -> ExitCode:
    if report.failed:
        return ExitCode.PARTIAL
    if report.conflicts:
        return ExitCode.CONFLICT
    return ExitCode.OK


def _render_sync(out: Output, report: SyncReport) -> None:
    for problem in report.errors:
        label = "conflict" if problem["kind"] == "conflict" else "failed"
        out.err_console.print(
            f"{label}: '{problem['name']}': {problem['error']}",
            markup=False,
            style="yellow" if label == "conflict" else "red",
        )
    if out.verbose:
        for kind, name in report.changes:
            out.info(f"{kind}: {name}")
    prefix = "dry run: would have " if report.dry_run else ""
    out.text(
        f"{prefix}created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, conflicts {report.conflicts}, "
        f"deleted {report.deleted}, failed {report.failed}"
    )


@app.command("diff")
def diff(
    ctx: typer.Context,
    refs: RefsArgument = None,
    type_: TypeOption = TypeFilter.all,
    json: JsonOption = False,
) -> None:
    """Per template: in sync with its n8n workflow, differs (nodes added, removed or
    changed, connections, settings; positions and node ids ignored), or missing on one
    side. "added" nodes are in n8n only, "removed" ones in the template only."""
    from pumpflix_cli.services.n8n.diff import diff_state
    from pumpflix_cli.services.n8n.pairing import load_state

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    state = load_state(
        app_.n8n(), app_.database, app_.library(), types=types_of(type_), refs=list(refs or [])
    )
    entries = diff_state(state)
    out.emit([entry.to_json() for entry in entries], lambda: _render_diff(out, entries))


def _render_diff(out: Output, entries: list[DiffEntry]) -> None:
    if not entries:
        out.info("no templates and no n8n workflows to compare")
        return
    out.table(
        ["name", "type", "n8n id", "status", "details"],
        [
            (e.name, e.source_type or "—", e.workflow_id or "—", e.status, e.details)
            for e in entries
        ],
        no_wrap=["n8n id", "status"],
    )
