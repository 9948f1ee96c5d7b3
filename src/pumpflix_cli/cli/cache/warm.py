"""``pumpflix cache warm``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    app_context,
    finish,
    types_of,
)

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.warm import WarmReport


def warm(ctx: typer.Context, type_: TypeOption = TypeFilter.all, json: JsonOption = False) -> None:
    """Load every template (and the lists) into Redis; safe while others read and write."""
    from pumpflix_cli.services.cache.inspect import CacheService

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    service = CacheService.of(app_.database, app_.template_cache())
    with out.progress("warming", None) as advance:
        report = service.warm(types_of(type_), progress=advance)
    if report.skipped:
        out.info(f"{report.skipped} changed while warming; the next read loads them")
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: WarmReport) -> None:
    from pumpflix_cli.output import plural

    if out.quiet:
        return
    by_type = ", ".join(f"{t} {n}" for t, n in report.by_type.items())
    warmed = plural(report.warmed, "template")
    out.text(f"warmed {warmed} ({by_type}) in {report.seconds:.2f} s")
