"""``pumpflix cache verify``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.verify import VerifyReport

SHOWN = 20  # findings listed in the human rendering


def verify(ctx: typer.Context, json: JsonOption = False) -> None:
    """Compare Redis with the database: stale, orphaned and missing entries.

    Exit 1 when a cached entry or list is stale or orphaned; missing entries are only
    reported (a cold key is not wrong).
    """
    from pumpflix_cli.services.cache.inspect import CacheService

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    report = CacheService.of(app_.database, app_.template_cache()).verify()
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: VerifyReport) -> None:
    from pumpflix_cli.output import plural

    for label, findings in (("stale", report.stale), ("orphaned", report.orphaned)):
        for finding in findings[:SHOWN]:
            out.text(f"{label}: {finding.key}: {finding.reason}")
        if len(findings) > SHOWN:
            out.text(f"… and {len(findings) - SHOWN} more {label}")
    indexes = ", ".join(f"{t} {state}" for t, state in report.indexes.items())
    out.text(
        f"{plural(report.checked, 'template')}, {report.cached} cached, "
        f"{len(report.missing)} not cached, "
        f"{len(report.stale)} stale, {len(report.orphaned)} orphaned; lists: {indexes}"
    )
    if report.consistent:
        out.success("the cache agrees with the database")
    else:
        out.failure("the cache is inconsistent")
