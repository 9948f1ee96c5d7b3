"""``pumpflix doctor``: the health of PostgreSQL (or embedded SQLite), Redis and n8n."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.health import HealthReport


def doctor(ctx: typer.Context, json: JsonOption = False) -> None:
    """Check every service: configured, reachable, version, round-trip time.

    Exits 0 when every configured service is healthy, 69 otherwise.
    """
    from pumpflix_cli.services.health import Services, check_all

    app_ = app_context(ctx, json_output=json)
    report = check_all(
        Services(
            app_.settings,
            database=lambda: app_.database(check_schema=False),
            redis=app_.redis,
            n8n=app_.n8n,
        )
    )
    out = app_.output
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: HealthReport) -> None:
    rows = []
    for name, health in report.services.items():
        state = "ok" if health.ok else ("not configured" if not health.configured else "FAIL")
        latency = f"{health.latency_ms:.1f} ms" if health.latency_ms is not None else ""
        rows.append((name, state, health.version or "", latency, health.error or health.url or ""))
    from pumpflix_cli.output import Column

    out.table(
        [
            Column("service"),
            Column("state"),
            Column("version", 3, "text"),
            Column("latency", 2),
            # the error is why doctor was run: folded onto more lines, never cut
            Column("detail", 1, "wrap"),
        ],
        rows,
    )
