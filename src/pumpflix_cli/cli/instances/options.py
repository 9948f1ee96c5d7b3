"""What several ``instances`` commands share: the instance argument, and how they show a
JSON value (inputs, output, the final JSON)."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.instances.cleanup import RemovalReport

INSTANCE_HELP = "The instance's id or a unique id prefix (6+ characters)."
InstanceArgument = Annotated[str, typer.Argument(help=INSTANCE_HELP)]

ExecutionsOption = Annotated[
    bool,
    typer.Option(
        "--executions",
        help="Also delete each of their executions in n8n, one by one (n8n 2.40 deletes them "
        "with the workflow anyway).",
    ),
]


class Status(StrEnum):
    created = "created"
    deploying = "deploying"
    running = "running"
    success = "success"
    error = "error"
    canceled = "canceled"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str, *, option: str) -> timedelta:
    """A duration such as ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` or ``1h30m``."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        from pumpflix_cli.errors import UsageError

        raise UsageError(
            f"{option} {text!r} is not a duration",
            hint=f"write {option} as a number and a unit (s, m, h, d, w): 90s, 12h, 7d, 1h30m",
        )
    return timedelta(seconds=sum(float(number) * _UNITS[unit] for number, unit in parts))


def render_json(out: Output, title: str, value: Any) -> None:
    """A titled JSON value, unfolded so that it can be copied."""
    from pumpflix_cli.output import to_json

    out.text(f"{title}:")
    out.block(to_json(value))


def render_removals(out: Output, report: RemovalReport) -> None:
    """What ``delete`` and ``prune`` did (or would do), one row per instance."""
    from pumpflix_cli.output import format_time, plural
    from pumpflix_cli.tables import Column

    done = {"deleted": "deleted", "alreadyGone": "deleted; was gone", "none": "deleted"}
    rows = []
    for removal in report.removals:
        instance = removal.instance
        if report.dry_run:
            result = "would delete"
        elif removal.problem is not None:
            result = f"kept: {removal.problem.message}"
        else:
            result = done[removal.workflow]
        rows.append(
            (
                instance.short_id,
                instance.status,
                format_time(instance.created_at, "second"),
                removal.workflow_id or "-",
                result,
            )
        )
    if rows:
        out.table(
            [
                Column("id"),
                Column("status"),
                Column("created", 2),
                Column("n8n workflow", 3),
                Column("result", 1, "text"),
            ],
            rows,
        )
    removed = sum(r.removed for r in report.removals)
    workflows = sum(r.workflow == "deleted" for r in report.removals)
    if report.dry_run:
        planned = sum(r.workflow_id is not None for r in report.removals)
        out.line(
            f"would delete {plural(len(report.removals), 'instance')} and "
            f"{plural(planned, 'n8n workflow')}; nothing was changed"
        )
    else:
        failed = len(report.failed)
        out.line(
            f"deleted {plural(removed, 'instance')} and {plural(workflows, 'n8n workflow')}"
            + (f"; {failed} kept" if failed else "")
        )


def warn_kept(out: Output, report: RemovalReport) -> None:
    """On stderr, each instance kept because its workflow could not be deleted (unless
    none could: then the command's error says why)."""
    if report.problem is not None:
        return
    for removal in report.failed:
        assert removal.problem is not None
        out.warn(f"instance {removal.instance.short_id} kept: {removal.problem.message}")
