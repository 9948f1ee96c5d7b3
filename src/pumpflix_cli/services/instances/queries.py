"""Instances as they are recorded: finding one by reference, listing them, showing one
(its inputs with secret-looking values masked), and its events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import UsageError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import INSTANCE_SUMMARY, EventRecord, InstanceRecord, camel_json
from pumpflix_cli.redact import MASK
from pumpflix_cli.references import single
from pumpflix_cli.services.instances.executions import refresh
from pumpflix_cli.services.instances.recorded import shown_inputs
from pumpflix_cli.workflow.secret_names import names_a_secret
from pumpflix_cli.workflow.tokens import looks_like_token

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary

STATUSES = ("created", "deploying", "running", "success", "error", "canceled")
# What ``show`` adds to what ``list`` prints.
INSTANCE_DETAIL = (*INSTANCE_SUMMARY, "inputs", "credentials", "output")


# --- reading -----------------------------------------------------------------------------


def resolve_instance(
    database: Callable[[], Database], ref: str, *, final_workflow: bool = False
) -> InstanceRecord:
    """The one instance ``ref`` names: its id or a unique id prefix (6+ characters)."""
    with database().session() as session:
        store = InstanceStore(session)
        candidates = store.resolve(ref)
        if len(candidates) == 1 and final_workflow:
            found = store.get(candidates[0].id, final_workflow=True)
            candidates = [found] if found is not None else []
    return single("instance", ref, candidates, lambda c: c.status)


@dataclass
class InstanceList:
    """Instances, newest first: what ``instances list`` reports."""

    records: list[InstanceRecord]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_json(self) -> list[dict[str, Any]]:
        return [instance_json(record) for record in self.records]


def list_instances(
    database: Callable[[], Database],
    library: TemplateLibrary,
    *,
    status: str | None = None,
    template_ref: str | None = None,
    limit: int | None = None,
) -> InstanceList:
    """Instances, newest first."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status '{status}'", hint="one of " + ", ".join(STATUSES))
    template_id = library.resolve(template_ref).id if template_ref else None
    with database().session() as session:
        store = InstanceStore(session)
        return InstanceList(store.newest(status=status, template_id=template_id, limit=limit))


@dataclass
class InstanceDetail:
    """One instance: what ``instances show`` reports."""

    record: InstanceRecord
    warning: str | None = None  # why a running instance could not be refreshed from n8n

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs it was run with, secret-looking values masked."""
        return masked_inputs(self.record.inputs)

    def to_json(self) -> dict[str, Any]:
        return instance_json(self.record, detail=True)


def show_instance(
    database: Callable[[], Database],
    ref: str,
    *,
    final_workflow: bool = False,
    n8n: Callable[[], N8nClient] | None = None,
) -> InstanceDetail:
    """One instance; one still running is first refreshed from ``n8n`` when given."""
    record = resolve_instance(database, ref, final_workflow=final_workflow)
    if n8n is None or record.status != "running":
        return InstanceDetail(record)
    warning = refresh(record, n8n=n8n, database=database)
    return InstanceDetail(
        resolve_instance(database, record.id, final_workflow=final_workflow), warning
    )


def instance_events(
    database: Callable[[], Database], instance: InstanceRecord, *, node: str | None = None
) -> list[EventRecord]:
    with database().session() as session:
        return InstanceStore(session).events(instance.id, node=node)


# --- JSON (the platform's camelCase) ----------------------------------------------------


def instance_json(record: InstanceRecord, *, detail: bool = False) -> dict[str, Any]:
    """What ``instances list`` prints; with ``detail``, what ``show`` adds: the inputs
    (secret-looking values masked), the credential mapping, the output, and the final
    JSON when it was loaded."""
    data = camel_json(record, only=INSTANCE_DETAIL if detail else INSTANCE_SUMMARY)
    if detail:
        data["inputs"] = masked_inputs(record.inputs)
        if record.final_workflow is not None:
            data["finalJson"] = record.final_workflow
    return data


# --- masking -----------------------------------------------------------------------------


def mask_secrets(value: Any, *, key: str | None = None) -> Any:
    """A copy of ``value`` with secret-looking values replaced by ``***``: any value under
    a key that names a secret (``password``, ``API_KEY``, ``token`` …) and any string that
    looks like a token (the import's hard-coded-secret scanner)."""
    if key is not None and names_a_secret(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item, key=key) for item in value]
    if isinstance(value, str) and looks_like_token(value):
        return MASK
    return value


def masked_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return dict(mask_secrets(shown_inputs(inputs)))
