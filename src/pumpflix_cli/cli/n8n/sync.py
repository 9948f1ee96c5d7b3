"""``pumpflix n8n sync``: push, pull or both, then what was created, updated and skipped.

The plan speaks in data (notes and conflicts with a kind); the options that act on them
are named here."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    app_context,
    confirm_destructive,
    finish,
    types_of,
)
from pumpflix_cli.cli.n8n.options import RefsArgument

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.n8n.plan import PlanNote, SyncOptions, SyncPlan, SyncReport


class Prefer(StrEnum):
    pumpflix = "pumpflix"
    n8n = "n8n"


NOTES = {
    "workflow-gone": "'{name}': its n8n workflow {workflow_id} is gone from n8n",
    "changed-in-n8n": "'{name}' changed in n8n since the last sync (n8n sync --pull brings it)",
    "orphan-kept": "n8n workflow '{name}' ({workflow_id}) is tagged {tag} but has no template "
    "here: left alone (n8n sync --push --prune deletes it)",
    "deleted-kept": "n8n workflow '{name}' ({workflow_id}) belongs to a template deleted here: "
    "left alone, never pulled back (n8n sync --push --prune deletes it)",
}
SETTLES_A_CONFLICT = "--prefer pumpflix or --prefer n8n decides"


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
            help="With --push: delete the n8n workflows whose template is gone (tagged "
            "pumpflix, or linked to a template deleted here).",
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
    check_options(options)
    client = app_.n8n()
    library = app_.library()
    state = load_state(client, app_.database, library, types=options.types, refs=options.refs)
    plan = plan_sync(state, options)
    for note in plan.notes:
        out.info(note_text(note))
    if plan.deletions and not dry_run:
        confirm_destructive(out, _deletion_question(plan), yes=yes)
    with out.progress("syncing with n8n", total=plan.n8n_writes or None) as advance:
        report = run_sync(
            plan, client=client, database=app_.database, library=library, progress=advance
        )
    report = with_settling_hint(report)
    finish(out, report, lambda: _render(out, report))


def check_options(options: SyncOptions) -> None:
    """Refuse combinations of options that contradict each other, before anything is read."""
    from pumpflix_cli.errors import UsageError

    if not (options.push or options.pull):
        raise UsageError("say which way to sync", hint="add --push, --pull or --both")
    if options.prune and not options.push:
        raise UsageError("--prune deletes from n8n, so it needs --push or --both")
    if options.prune and options.refs:
        raise UsageError(
            "--prune works on the whole n8n, not on named templates",
            hint="run it without template references",
        )
    if options.prefer == "pumpflix" and not options.push:
        raise UsageError("--prefer pumpflix needs --push or --both")
    if options.prefer == "n8n" and not options.pull:
        raise UsageError("--prefer n8n needs --pull or --both")


def note_text(note: PlanNote) -> str:
    from pumpflix_cli.services.n8n.pairing import MANAGED_TAG

    return NOTES[note.kind].format(name=note.name, workflow_id=note.workflow_id, tag=MANAGED_TAG)


def _deletion_question(plan: SyncPlan) -> str:
    from pumpflix_cli.output import plural

    deletions = plan.deletions
    names = ", ".join(f"'{a.name}'" for a in deletions[:5])
    more = f" and {len(deletions) - 5} more" if len(deletions) > 5 else ""
    workflows = plural(len(deletions), "n8n workflow")
    return f"Delete {workflows} whose template is gone ({names}{more})?"


def with_settling_hint(report: SyncReport) -> SyncReport:
    """Each conflict says which option settles it, in the JSON as on the terminal."""
    errors = [
        replace(p, error=f"{p.error}; {SETTLES_A_CONFLICT}") if p.kind == "conflict" else p
        for p in report.errors
    ]
    return replace(report, errors=errors)


def _render(out: Output, report: SyncReport) -> None:
    for problem in report.errors:
        conflict = problem.kind == "conflict"
        out.failure(
            f"{'conflict' if conflict else 'failed'}: '{problem.name}': {problem.error}",
            style="yellow" if conflict else "red",
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
