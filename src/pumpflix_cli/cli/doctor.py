"""``pumpflix doctor``: the health of PostgreSQL (or embedded SQLite), Redis and n8n."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.common import JsonOption, app_context
from pumpflix_cli.exit_codes import ExitCode


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

    def render() -> None:
        rows = []
        for name, health in report.items():
            state = "ok" if health.ok else ("not configured" if not health.configured else "FAIL")
            latency = f"{health.latencyMs:.1f} ms" if health.latencyMs is not None else ""
            rows.append(
                (name, state, health.version or "", latency, health.error or health.url or "")
            )
        out.table(["service", "state", "version", "latency", "detail"], rows)

    out.emit({name: health.as_json() for name, health in report.items()}, render)
    if not all(health.healthy for health in report.values()):
        raise typer.Exit(int(ExitCode.UNAVAILABLE))
