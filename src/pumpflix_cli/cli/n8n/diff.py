"""``pumpflix n8n diff``: each template against its n8n workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    app_context,
    finish,
    types_of,
)
from pumpflix_cli.cli.n8n.options import RefsArgument

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.n8n.diff import DiffEntry, DiffReport

# What to do about a workflow missing on one side.
MISSING = {
    "missing-in-n8n": "not in n8n (n8n sync --push creates it)",
    "missing-in-pumpflix": "no template (n8n sync --pull imports it)",
}


def diff(
    ctx: typer.Context,
    refs: RefsArgument = None,
    type_: TypeOption = TypeFilter.all,
    json: JsonOption = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit 1 when anything differs or is missing on one side (for CI).",
        ),
    ] = False,
) -> None:
    """Per template: in sync with its n8n workflow, differs (nodes added, removed or
    changed, connections, settings; positions and node ids ignored), or missing on one
    side. "added" nodes are in n8n only, "removed" ones in the template only. Exit 0 —
    or, with --exit-code, 1 when anything is not in sync (as git diff --exit-code)."""
    from pumpflix_cli.services.n8n.diff import diff_state
    from pumpflix_cli.services.n8n.pairing import load_state

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    state = load_state(
        app_.n8n(), app_.database, app_.library(), types=types_of(type_), refs=list(refs or [])
    )
    report = diff_state(state, fail_on_difference=exit_code)
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: DiffReport) -> None:
    if not report.entries:
        out.info("no templates and no n8n workflows to compare")
        return
    from pumpflix_cli.output import Column

    out.table(
        [
            Column("name", fit="name"),
            Column("type", 3),
            Column("n8n id", 2),
            Column("status"),
            Column("details", 1, "text"),
        ],
        [
            (e.name, e.source_type or "—", e.workflow_id or "—", e.status, _details(e))
            for e in report.entries
        ],
    )


def _details(entry: DiffEntry) -> str:
    if entry.error is not None:
        return entry.error
    if entry.diff is not None:
        return entry.diff.summary()
    return MISSING.get(entry.status, "")
