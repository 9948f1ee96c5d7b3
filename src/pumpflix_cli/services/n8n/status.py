"""``n8n status``: is n8n reachable, which version, is our API key accepted, and how many
workflows it holds (``managed``: tagged ``pumpflix``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.errors import (
    CredentialsRejectedError,
    PumpflixError,
    ServiceUnavailableError,
)
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import camel_json
from pumpflix_cli.services.n8n.pairing import is_managed

if TYPE_CHECKING:
    from pumpflix_cli.n8n.client import N8nClient


@dataclass
class N8nStatusReport:
    url: str
    reachable: bool = False
    version: str | None = None
    api_key_valid: bool | None = None
    workflows: int | None = None
    managed: int | None = None
    latency_ms: float | None = None
    # Why the command fails, if it does; raised after the report is printed.
    problem: PumpflixError | None = None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.problem is None else self.problem.exit_code

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, skip=("problem",))


def n8n_status(client: N8nClient) -> N8nStatusReport:
    """Never raises for n8n being down or refusing the key: both are part of the answer,
    kept in ``problem`` for the exit code."""
    report = N8nStatusReport(url=client.base_url)
    try:
        report.latency_ms = client.ping()
        report.reachable = True
        report.version = client.version()
        if not client.has_api_key:
            raise ServiceUnavailableError(
                "n8n", "N8N_API_KEY is not set", hint="create a key in n8n and set N8N_API_KEY"
            )
        try:
            workflows = [w for w in client.workflows() if not w.get("isArchived")]
        except CredentialsRejectedError:
            report.api_key_valid = False
            raise
        report.api_key_valid = True
        report.workflows = len(workflows)
        report.managed = sum(1 for w in workflows if is_managed(w))
    except PumpflixError as exc:
        report.problem = exc
    return report
