"""``pumpflix n8n status``: is n8n reachable, and does it accept our key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.n8n.status import N8nStatusReport


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
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: N8nStatusReport) -> None:
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
