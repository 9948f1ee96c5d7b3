"""Promotion: a new ``user`` template made of an instance, from the final JSON it ran or
from its workflow as n8n now holds it (perhaps edited there), with what the run did
undone — the entry point and settings it gave it, and the values and credential ids it
filled in, put back as the template held them (`recorded.unfill_instance`) — so the new
template asks for the same input variables and credentials as the one it came from, and
never holds a secret value. Its credentials and variables are then extracted afresh."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import ConflictError, InvalidInputError, NotFoundError, UsageError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import EventRecord, InstanceRecord, TemplateRecord
from pumpflix_cli.references import ReferenceNotFoundError, name_key
from pumpflix_cli.services.instances.prepare import KEEP_EXECUTION_DATA
from pumpflix_cli.services.instances.queries import resolve_instance
from pumpflix_cli.services.instances.recorded import unfill_instance
from pumpflix_cli.workflow import (
    WorkflowError,
    entry_point_of,
    n8n_request_body,
    prepare,
    template_name,
    without_entry_point,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary
    from pumpflix_cli.workflow.unfill import UnfillNote


class InvalidNameError(UsageError):
    """The name asked for cannot be a template's; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid template name: {reason}")
        self.reason = reason


class NameTakenError(ConflictError):
    """A user template of the name asked for exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a user template named '{name}' exists already")
        self.name = name


class NeverDeployedError(UsageError):
    """The instance has no workflow in n8n to promote: it never got there, or its run
    removed it when it finished (runs clean up after themselves)."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(
            f"instance {instance_id} has no workflow in n8n (never deployed, or removed after "
            "its run)"
        )
        self.instance_id = instance_id


class WorkflowGoneError(NotFoundError):
    """The instance's n8n workflow has been deleted from n8n (its final JSON is kept)."""

    def __init__(self, instance_id: str, workflow_id: str) -> None:
        super().__init__(f"n8n workflow {workflow_id} of instance {instance_id} is gone from n8n")
        self.instance_id = instance_id
        self.workflow_id = workflow_id


@dataclass
class Promotion:
    """The template an instance became: what ``instances promote`` reports, and what
    could not simply be put back (``warnings``, one line each, never a value)."""

    template: TemplateRecord
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return self.template.summary_json()


def promote(
    database: Callable[[], Database],
    library: TemplateLibrary,
    ref: str,
    *,
    name: str,
    description: str | None = None,
    thumbnail: str | None = None,
    n8n: Callable[[], N8nClient] | None = None,
) -> Promotion:
    """A new ``user`` template from an instance's final JSON or, given ``n8n``, from its
    workflow as n8n now holds it."""
    from pumpflix_cli.db.templates import TemplateDraft, TemplateStore

    try:
        name = template_name(name)
    except WorkflowError as exc:
        raise InvalidNameError(str(exc)) from None
    instance, source = _source(database, ref, n8n)
    notes: list[UnfillNote] = []
    if instance is not None:
        unfilled = unfill_instance(instance, source)
        source, notes = unfilled.workflow, unfilled.notes
    try:
        prepared = prepare({**source, "name": name}, fallback_name=name)
    except WorkflowError as exc:
        raise InvalidInputError(f"cannot make a template of it: {exc}") from None
    warnings = [note_text(note) for note in notes] + [
        f"node '{finding.node}' parameter '{finding.path}' looks like a hard-coded secret"
        for finding in prepared.secrets
    ]
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
        key = name_key(name)
        if any(
            name_key(t.name) == key and t.source_type == "user" for t in templates.resolve(name)
        ):
            raise NameTakenError(name)
        (result,) = templates.upsert([draft], update_changed=False)
        if result.outcome != "created" or result.id is None:  # lost a race for the name
            raise NameTakenError(name)
        if instance is not None:
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
    return Promotion(record, warnings)


def note_text(note: UnfillNote) -> str:
    """One line for what promotion could not simply put back; names, never values."""
    where = f"node '{note.node}' parameter '{note.path}'"
    names = ", ".join(note.variables)
    if note.kind == "edited":
        return (
            f"{where} was changed after the run and still holds the value given for {names}: "
            "kept as written (no longer a variable there)"
        )
    if note.kind == "edited-secret":
        return (
            f"{where} was changed after the run and held secret variable {names}: the "
            "template's text is put back there (that change is not kept)"
        )
    if note.kind == "stray-secret":
        return f"{where} held the value of secret variable {names}, now masked as ***"
    return (
        "this instance was run before pumpflix recorded where its variables went: the "
        "values it was given stay filled in (secret ones masked)"
    )


def _source(
    database: Callable[[], Database], ref: str, n8n: Callable[[], N8nClient] | None
) -> tuple[InstanceRecord | None, dict[str, Any]]:
    """The instance ``ref`` names and the workflow to promote: pumpflix's instance, else
    (an exact id) the platform's ``WorkflowInstance``, whose ``finalJson`` or template's
    ``n8nJson`` is promoted."""
    from pumpflix_cli.db.platform_instances import platform_instance_workflow

    try:
        instance = resolve_instance(database, ref, final_workflow=True)
    except ReferenceNotFoundError:
        with database().session() as session:
            workflow = platform_instance_workflow(session, ref)
        if workflow is None:
            raise
        if n8n is not None:
            raise UsageError(
                f"instance {ref} is the platform's: pumpflix did not deploy it to n8n, "
                "so only its final JSON can be promoted"
            ) from None
        return None, workflow
    if instance.final_workflow is None:
        raise NotFoundError(f"instance {instance.id} has no final JSON to promote")
    return instance, instance.final_workflow if n8n is None else _from_n8n(instance, n8n())


def _from_n8n(instance: InstanceRecord, client: N8nClient) -> dict[str, Any]:
    from pumpflix_cli.n8n.client import N8nNotFoundError

    assert instance.final_workflow is not None
    if instance.n8n_workflow_id is None:
        raise NeverDeployedError(instance.id)
    try:
        workflow = client.workflow(instance.n8n_workflow_id)
    except N8nNotFoundError:
        raise WorkflowGoneError(instance.id, instance.n8n_workflow_id) from None
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
