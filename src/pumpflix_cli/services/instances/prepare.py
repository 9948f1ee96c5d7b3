"""Before ``instances run`` writes anything: the template filled in with the variables
and credential ids given, its entry point decided, and the body n8n will be sent
(SPEC §4, §6). A missing variable stops it here; what was given and is not used is
handed back for the caller to point out."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.references import short_id
from pumpflix_cli.workflow import (
    MAX_N8N_NAME_LENGTH,
    EntryPoint,
    MissingVariablesError,
    WorkflowError,
    extract_credentials,
    input_problem,
    materialize,
    n8n_request_body,
    with_entry_point,
)

# Instances always keep their execution data: their logs are read from it.
KEEP_EXECUTION_DATA = {"saveDataSuccessExecution": "all", "saveDataErrorExecution": "all"}


class InputNotItemsError(UsageError):
    """The run's input cannot be what its trigger gives: items are JSON objects."""


class VariablesNeededError(UsageError):
    """The template needs values for these variables, and none were given."""

    def __init__(self, template: str, names: list[str]) -> None:
        super().__init__(f"template '{template}' needs values for: {', '.join(names)}")
        self.template = template
        self.names = names


@dataclass(frozen=True)
class RunRequest:
    template_ref: str
    variables: Mapping[str, str] = field(default_factory=dict)
    secret_variables: frozenset[str] = frozenset()  # marked secret: stored masked
    credentials: Mapping[str, str] = field(default_factory=dict)
    payload: Any = None
    wait: bool = True
    keep: bool = False  # the n8n workflow stays (deactivated) after the run
    keep_active: bool = False  # the n8n workflow stays, active
    timeout: float = 60.0


@dataclass(frozen=True)
class PreparedRun:
    """Everything decided before anything is written, and what was given for nothing."""

    instance_id: str
    template: TemplateRecord
    final: dict[str, Any]  # the template with its variables and credentials filled in
    body: dict[str, Any]  # what n8n is sent: ``final`` with its entry point, as n8n takes it
    entry: EntryPoint
    request: RunRequest
    unused_variables: list[str] = field(default_factory=list)  # given, not in the template
    unused_credentials: list[str] = field(default_factory=list)  # types the template lacks
    unmapped_credentials: list[str] = field(default_factory=list)  # types it has, no id given

    @property
    def short_id(self) -> str:
        return short_id(self.instance_id)

    @property
    def webhook_path(self) -> str:
        return webhook_path(self.instance_id)

    @property
    def payload_unused(self) -> bool:
        """An input was given that the entry point cannot take: an app trigger takes none,
        a GET, HEAD or DELETE webhook only an object (as its query)."""
        payload, entry = self.request.payload, self.entry
        if payload is None:
            return False
        return entry.kind == "app" or (
            entry.method in ("GET", "HEAD", "DELETE") and not isinstance(payload, dict)
        )


def webhook_path(instance_id: str) -> str:
    """Where an instance's webhook listens: a path of its own, so runs never collide."""
    return f"pumpflix-{instance_id.replace('-', '')}"


def workflow_name(template_name: str, short_id: str) -> str:
    """The n8n workflow's name: the template's, cut to fit n8n's limit, and the short id."""
    suffix = f" [{short_id}]"
    room = MAX_N8N_NAME_LENGTH - len(suffix)
    name = template_name if len(template_name) <= room else template_name[: room - 1] + "…"
    return name + suffix


def unused(given: Iterable[str], needed: Iterable[str]) -> list[str]:
    wanted = set(needed)
    return sorted(name for name in given if name not in wanted)


def prepare_run(request: RunRequest, template: TemplateRecord) -> PreparedRun:
    """Fill the template in and build what n8n will be sent; raises before any write."""
    workflow = template.workflow or {}
    try:
        final = materialize(workflow, request.variables, request.credentials)
    except MissingVariablesError as exc:
        raise VariablesNeededError(template.name, exc.names) from None
    needed = extract_credentials(workflow)
    instance_id = str(uuid.uuid4())
    try:
        deployed, entry = with_entry_point(
            final,
            webhook_path(instance_id),
            respond="lastNode" if request.wait else "onReceived",
        )
        body = n8n_request_body(deployed, name=workflow_name(template.name, short_id(instance_id)))
    except WorkflowError as exc:
        raise InvalidInputError(f"template '{template.name}' cannot run on n8n: {exc}") from None
    problem = input_problem(entry, request.payload)
    if problem is not None:
        raise InputNotItemsError(problem)
    body["settings"] = {**body["settings"], **KEEP_EXECUTION_DATA}
    return PreparedRun(
        instance_id,
        template,
        final,
        body,
        entry,
        request,
        unused_variables=unused(request.variables, template.input_variables),
        unused_credentials=unused(request.credentials, needed),
        unmapped_credentials=unused(needed, request.credentials),
    )
