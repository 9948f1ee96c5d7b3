"""Instances: finding them, listing and showing them, their logs, and promotion into a
``user`` template. Running one is `run`; following its logs, `executions`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import ConflictError, InvalidInputError, NotFoundError, UsageError
from pumpflix_cli.records import (
    INSTANCE_SUMMARY,
    EventRecord,
    InstanceRecord,
    TemplateRecord,
    camel_json,
)
from pumpflix_cli.references import single
from pumpflix_cli.services.instances.inputs import masked_inputs
from pumpflix_cli.services.instances.run import KEEP_EXECUTION_DATA
from pumpflix_cli.workflow import (
    WorkflowError,
    entry_point_of,
    n8n_request_body,
    prepare,
    validate_template_name,
    without_entry_point,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary

STATUSES = ("created", "deploying", "running", "success", "error", "canceled")


# --- JSON shapes (the platform's camelCase) ---------------------------------------------


def instance_json(record: InstanceRecord, *, detail: bool = False) -> dict[str, Any]:
    """What ``instances list`` prints; with ``detail``, what ``show`` adds: the inputs
    (secret-looking values masked), the credential mapping, the output, and the final
    JSON when it was loaded."""
    data = camel_json(record, only=INSTANCE_SUMMARY)
    if detail:
        data["inputs"] = masked_inputs(record.inputs)
        data["credentials"] = record.credentials
        data["output"] = record.output
        if record.final_workflow is not None:
            data["finalJson"] = record.final_workflow
    return data


def event_json(event: EventRecord) -> dict[str, Any]:
    return event.to_json()


# --- reading ---------------------------------------------------------------------------


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


def list_instances(
    database: Callable[[], Database],
    library: TemplateLibrary,
    *,
    status: str | None = None,
    template_ref: str | None = None,
    limit: int | None = None,
) -> list[InstanceRecord]:
    """Instances, newest first."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status '{status}'", hint="one of " + ", ".join(STATUSES))
    template_id = library.resolve(template_ref).id if template_ref else None
    with database().session() as session:
        return InstanceStore(session).newest(status=status, template_id=template_id, limit=limit)


def instance_events(
    database: Callable[[], Database], instance: InstanceRecord, *, node: str | None = None
) -> list[EventRecord]:
    with database().session() as session:
        return InstanceStore(session).events(instance.id, node=node)


# --- promotion -------------------------------------------------------------------------


def promote(
    database: Callable[[], Database],
    library: TemplateLibrary,
    ref: str,
    *,
    name: str,
    description: str | None = None,
    thumbnail: str | None = None,
    n8n: Callable[[], N8nClient] | None = None,
) -> TemplateRecord:
    """A new ``user`` template from an instance's final JSON or, given ``n8n``, from its
    workflow as n8n now holds it (perhaps edited there), with the entry point pumpflix
    gave it undone; its credentials and variables are extracted afresh."""
    from pumpflix_cli.db.templates import TemplateDraft, TemplateStore

    try:
        validate_template_name(name)
    except WorkflowError as exc:
        raise UsageError(f"--name: {exc}") from None
    instance = resolve_instance(database, ref, final_workflow=True)
    if instance.final_workflow is None:
        raise NotFoundError(f"instance {instance.id} has no final JSON to promote")
    source = instance.final_workflow if n8n is None else _from_n8n(instance, n8n())
    try:
        prepared = prepare({**source, "name": name}, fallback_name=name)
    except WorkflowError as exc:
        raise InvalidInputError(f"cannot make a template of it: {exc}") from None
    draft = TemplateDraft(
        name=prepared.name,
        source_type="user",
        workflow=prepared.workflow,
        content_hash=prepared.content_hash,
        required_credentials=prepared.required_credentials,
        input_variables=prepared.input_variables,
        description=description if description is not None else prepared.description,
        thumbnail=thumbnail,
    )
    with database().session() as session:
        templates = TemplateStore(session)
        if any(t.name == name and t.source_type == "user" for t in templates.resolve(name)):
            raise ConflictError(
                f"a user template named '{name}' exists already", hint="choose another --name"
            )
        (result,) = templates.upsert([draft], update_changed=False)
        if result.outcome != "created" or result.id is None:
            raise ConflictError(result.error or f"a user template named '{name}' exists already")
        InstanceStore(session).add_events(
            instance.id,
            [
                EventRecord(
                    source="pumpflix",
                    message=f"promoted to user template '{name}' ({result.id})"
                    + (" from its n8n workflow" if n8n is not None else ""),
                    data={"templateId": result.id},
                )
            ],
        )
        record = templates.get(result.id, history=False)
    library.invalidate_cache({"user": []})  # a new template: only the index changed
    assert record is not None
    return record


def _from_n8n(instance: InstanceRecord, client: N8nClient) -> dict[str, Any]:
    from pumpflix_cli.n8n.client import N8nNotFoundError

    assert instance.final_workflow is not None
    if instance.n8n_workflow_id is None:
        raise UsageError(
            f"instance {instance.id} was never deployed to n8n",
            hint="promote it without --from-n8n",
        )
    try:
        workflow = client.workflow(instance.n8n_workflow_id)
    except N8nNotFoundError:
        raise NotFoundError(
            f"n8n workflow {instance.n8n_workflow_id} of instance {instance.id} is gone from n8n",
            hint="promote it without --from-n8n (its final JSON is kept here)",
        ) from None
    try:
        body = n8n_request_body(workflow)
        entry = entry_point_of(instance.final_workflow)
    except WorkflowError as exc:
        raise InvalidInputError(f"the n8n workflow cannot be made a template: {exc}") from None
    restored = without_entry_point(body, instance.final_workflow, entry)
    restored["settings"] = _settings_without_ours(
        restored.get("settings") or {}, instance.final_workflow.get("settings")
    )
    return restored


def _settings_without_ours(settings: dict[str, Any], original: Any) -> dict[str, Any]:
    """The settings with what the deployment forced (keeping execution data) put back as
    the template had it."""
    before = original if isinstance(original, dict) else {}
    result = {k: v for k, v in settings.items() if k not in KEEP_EXECUTION_DATA}
    result |= {k: before[k] for k in KEEP_EXECUTION_DATA if k in before}
    return result
