"""``instances run``: a template filled in, deployed to n8n as a workflow of its own, run
through a webhook, and its execution recorded (SPEC §3, §4, §6).

`prepare_run` decides everything without writing (a missing variable stops it there);
`run_instance` records the instance, then drives n8n step by step, writing each step as
an event so that whatever happens the instance says how far it got and why it stopped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import (
    InvalidInputError,
    PumpflixError,
    ServiceTimeoutError,
    UsageError,
)
from pumpflix_cli.records import EventRecord, InstanceRecord
from pumpflix_cli.references import short_id
from pumpflix_cli.services.instances.executions import (
    ExecutionSummary,
    find_execution,
    record_execution,
    wait_for_execution,
)
from pumpflix_cli.services.instances.inputs import unused
from pumpflix_cli.services.n8n.pairing import INSTANCE_TAG
from pumpflix_cli.workflow import (
    MAX_N8N_NAME_LENGTH,
    EntryPoint,
    MissingVariablesError,
    WorkflowError,
    content_hash,
    extract_credentials,
    materialize,
    n8n_request_body,
    with_entry_point,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient, WebhookReply
    from pumpflix_cli.records import TemplateRecord

# Instances always keep their execution data: their logs are read from it.
KEEP_EXECUTION_DATA = {"saveDataSuccessExecution": "all", "saveDataErrorExecution": "all"}
# --no-wait: how long to listen for the webhook's answer before taking the call as accepted.
ACCEPT_WAIT = 2.0
# How long an execution may take to show up after a webhook answered with an error.
ERROR_GRACE = 5.0


@dataclass(frozen=True)
class RunRequest:
    template_ref: str
    variables: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    payload: Any = None
    wait: bool = True
    keep_active: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class PreparedRun:
    """Everything decided before anything is written."""

    instance_id: str
    template: TemplateRecord
    final: dict[str, Any]  # the template with its variables and credentials filled in
    body: dict[str, Any]  # what n8n is sent: ``final`` with its entry point, as n8n takes it
    entry: EntryPoint
    request: RunRequest

    @property
    def short_id(self) -> str:
        return short_id(self.instance_id)

    @property
    def webhook_path(self) -> str:
        return webhook_path(self.instance_id)


@dataclass
class RunOutcome:
    instance: InstanceRecord
    entry: EntryPoint
    events: list[EventRecord]
    execution: ExecutionSummary | None = None
    problem: PumpflixError | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        instance = self.instance
        return {
            "id": instance.id,
            "status": instance.status,
            "templateId": instance.template_id,
            "n8nWorkflowId": instance.n8n_workflow_id,
            "n8nExecutionId": instance.n8n_execution_id,
            "output": instance.output,
            "error": instance.error,
        }


def webhook_path(instance_id: str) -> str:
    """Where an instance's webhook listens: a path of its own, so runs never collide."""
    return f"pumpflix-{instance_id.replace('-', '')}"


def workflow_name(template_name: str, short_id: str) -> str:
    """The n8n workflow's name: the template's, cut to fit n8n's limit, and the short id."""
    suffix = f" [{short_id}]"
    room = MAX_N8N_NAME_LENGTH - len(suffix)
    name = template_name if len(template_name) <= room else template_name[: room - 1] + "…"
    return name + suffix


def prepare_run(
    request: RunRequest, template: TemplateRecord, warn: Callable[[str], None]
) -> PreparedRun:
    """Fill the template in and build what n8n will be sent; raises before any write."""
    workflow = template.workflow or {}
    try:
        final = materialize(workflow, request.variables, request.credentials)
    except MissingVariablesError as exc:
        raise UsageError(
            f"template '{template.name}' needs values for: {', '.join(exc.names)}",
            hint="give each with --var NAME=VALUE or in --vars-file FILE",
        ) from None
    needed = extract_credentials(workflow)
    for name in unused(request.variables, template.input_variables):
        warn(f"--var {name}: the template does not use this variable")
    for credential_type in unused(request.credentials, needed):
        warn(f"--credential {credential_type}: the template uses no credential of this type")
    unmapped = unused(needed, request.credentials)
    if unmapped:
        warn(
            "no --credential given for "
            + ", ".join(unmapped)
            + ": n8n uses the credentials the template names, if it has them"
        )
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
    body["settings"] = {**body["settings"], **KEEP_EXECUTION_DATA}
    if request.payload is not None and entry.kind == "app":
        warn("--input is not used: the workflow starts with an app trigger, not a webhook")
    elif entry.method in ("GET", "HEAD", "DELETE") and not isinstance(request.payload, dict | None):
        warn(f"--input is not used: a {entry.method} webhook takes an object, as its query")
    return PreparedRun(instance_id, template, final, body, entry, request)


class _Recorder:
    """Writes an instance's steps as they happen, each in its own short transaction."""

    def __init__(self, database: Callable[[], Database], instance: InstanceRecord) -> None:
        self.database = database
        self.instance = instance

    def step(
        self, message: str, *, level: str = "info", at: datetime | None = None, **data: Any
    ) -> None:
        event = EventRecord(
            source="pumpflix",
            message=message,
            time=at or datetime.now(UTC),
            level=level,
            data=data or None,
        )
        with self.database().session() as session:
            InstanceStore(session).add_events(self.instance.id, [event])

    def update(self, **values: Any) -> None:
        with self.database().session() as session:
            InstanceStore(session).update(self.instance.id, **values)
        for key, value in values.items():
            if hasattr(self.instance, key):
                setattr(self.instance, key, value)


def run_instance(
    prepared: PreparedRun,
    *,
    client: N8nClient,
    database: Callable[[], Database],
    note: Callable[[str], None] = lambda _m: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Record the instance, deploy and run it; every outcome comes back as a
    `RunOutcome` (``problem`` says why it did not succeed), never as an exception."""
    request, template = prepared.request, prepared.template
    started = clock()
    deadline = started + request.timeout
    with database().session() as session:
        store = InstanceStore(session)
        store.create(
            prepared.instance_id,
            template_id=template.id,
            template_version=template.version,
            inputs={"variables": dict(request.variables), "input": request.payload},
            credentials=dict(request.credentials),
            final_workflow=prepared.final,
        )
        instance = store.get(prepared.instance_id)
    assert instance is not None
    recorder = _Recorder(database, instance)
    recorder.step(
        f"deploying template '{template.name}' v{template.version} to n8n at {client.base_url}"
    )
    outcome = RunOutcome(instance, prepared.entry, [])
    activated = False
    try:
        workflow_id = _deploy(prepared, client, database, recorder, note)
        _activate(client, workflow_id)
        activated = True
        recorder.update(status="running", started_at=datetime.now(UTC))
        outcome.notes.extend(_activated(prepared, recorder))
        if prepared.entry.kind != "app":
            _call(prepared, client, database, recorder, outcome, note, deadline, clock, sleep)
    except PumpflixError as exc:
        _failed(recorder, exc)
        outcome.problem = exc
    except KeyboardInterrupt:
        recorder.step("interrupted; an execution may still be running in n8n", level="warning")
        raise
    finally:
        if activated and not request.keep_active and prepared.entry.kind != "app":
            _deactivate(client, recorder, outcome)
    with database().session() as session:
        store = InstanceStore(session)
        outcome.instance = store.get(instance.id) or instance
        outcome.events = store.events(instance.id)
    return outcome


def _deploy(
    prepared: PreparedRun,
    client: N8nClient,
    database: Callable[[], Database],
    recorder: _Recorder,
    note: Callable[[str], None],
) -> str:
    note(f"creating the n8n workflow '{prepared.body['name']}'")
    tag_id = client.ensure_tag(INSTANCE_TAG)
    created = client.create_workflow(prepared.body)
    workflow_id = str(created["id"])
    with database().session() as session:
        store = InstanceStore(session)
        store.update(prepared.instance_id, n8n_workflow_id=workflow_id)
        store.link(
            client.base_url,
            prepared.instance_id,
            workflow_id,
            content_hash=content_hash(prepared.final),
            n8n_updated_at=created.get("updatedAt"),
        )
    recorder.instance.n8n_workflow_id = workflow_id
    recorder.step(
        f"created n8n workflow {workflow_id} '{prepared.body['name']}'",
        workflowId=workflow_id,
    )
    client.set_workflow_tags(workflow_id, [tag_id])
    return workflow_id


def _activate(client: N8nClient, workflow_id: str) -> None:
    from pumpflix_cli.n8n.client import N8nRejectedError

    try:
        client.activate_workflow(workflow_id)
    except N8nRejectedError as exc:
        exc.hint = exc.hint or (
            "n8n refuses to activate the workflow as it stands; a missing credential is "
            "mapped with --credential TYPE=ID (an n8n credential's id)"
        )
        raise


def _activated(prepared: PreparedRun, recorder: _Recorder) -> list[str]:
    entry = prepared.entry
    if entry.kind == "app":
        message = (
            "activated: the workflow starts with an app trigger, so n8n runs it when the "
            "app calls; follow it with: pumpflix instances logs "
            f"{prepared.short_id} --follow"
        )
        recorder.step(message)
        return [message]
    how = (
        f"its trigger '{entry.node}' is a Webhook here"
        if entry.kind == "swapped"
        else f"its Webhook '{entry.node}'"
    )
    recorder.step(
        f"activated; {how} at {entry.method} /webhook/{entry.path}",
        entry=entry.kind,
        node=entry.node,
    )
    return []


def _call(
    prepared: PreparedRun,
    client: N8nClient,
    database: Callable[[], Database],
    recorder: _Recorder,
    outcome: RunOutcome,
    note: Callable[[str], None],
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    request, entry = prepared.request, prepared.entry
    assert entry.path is not None and recorder.instance.n8n_workflow_id is not None
    workflow_id = recorder.instance.n8n_workflow_id
    note(f"calling {entry.method} /webhook/{entry.path}")
    called = datetime.now(UTC)
    wait = max(0.1, deadline - clock()) if request.wait else min(ACCEPT_WAIT, request.timeout)
    reply = client.call_webhook(entry.path, method=entry.method, payload=request.payload, wait=wait)
    recorder.step(_reply_message(entry, reply), at=called, httpStatus=reply.status)
    refused = reply.answered and reply.status is not None and reply.status >= 400
    if not request.wait:
        if refused and reply.status != 500:
            raise PumpflixError(f"the webhook refused the call: {_reply_text(reply)}")
        execution_id = _execution_id_reply(reply) if entry.kind == "swapped" else None
        if execution_id is None:
            until = min(deadline, clock() + ACCEPT_WAIT)
            found = find_execution(client, workflow_id, until, clock=clock, sleep=sleep)
            execution_id = None if found is None else str(found["id"])
        if execution_id is not None:
            recorder.update(n8n_execution_id=execution_id)
        message = (
            "accepted; not waiting (follow with: pumpflix instances logs "
            f"{prepared.short_id} --follow)"
        )
        recorder.step(message, executionId=execution_id)
        outcome.notes.append(message)
        return
    if not reply.answered:
        _timed_out(prepared, client, recorder, outcome, workflow_id)
        return
    look_until = deadline if not refused else min(deadline, clock() + ERROR_GRACE)
    note("waiting for the execution")
    summary = wait_for_execution(client, workflow_id, look_until, clock=clock, sleep=sleep)
    if summary is None or not summary.finished:
        if refused:
            raise PumpflixError(f"the webhook refused the call: {_reply_text(reply)}")
        if summary is not None:
            recorder.update(n8n_execution_id=summary.id)
        _timed_out(prepared, client, recorder, outcome, workflow_id)
        return
    outcome.execution = summary
    record_execution(database, recorder.instance, summary)
    if summary.status != "success":
        where = f" at node '{summary.failed_node}'" if summary.failed_node else ""
        outcome.problem = PumpflixError(
            f"the execution failed{where}: {summary.error}"
            if summary.status == "error"
            else str(summary.error),
            hint=f"pumpflix instances logs {prepared.short_id} shows every node's run",
        )


def _reply_message(entry: EntryPoint, reply: WebhookReply) -> str:
    if not reply.answered:
        return f"called {entry.method} /webhook/{entry.path}: no answer yet"
    return f"called {entry.method} /webhook/{entry.path}: HTTP {reply.status}"


def _reply_text(reply: WebhookReply) -> str:
    body = reply.body
    message = body.get("message") if isinstance(body, dict) else body
    text = str(message or "").strip().splitlines()
    return f"HTTP {reply.status}" + (f": {text[0][:300]}" if text else "")


def _execution_id_reply(reply: WebhookReply) -> str | None:
    """A swapped-in Webhook answering at once replies with its execution's id."""
    body = reply.body
    if isinstance(body, int) and not isinstance(body, bool):
        return str(body)
    if isinstance(body, str) and body.strip().isdigit():
        return body.strip()
    return None


def _timed_out(
    prepared: PreparedRun,
    client: N8nClient,
    recorder: _Recorder,
    outcome: RunOutcome,
    workflow_id: str,
) -> None:
    """Out of time: the execution goes on in n8n; say where to look."""
    if recorder.instance.n8n_execution_id is None:
        try:
            running = client.executions(workflow_id, status="running", limit=5)
        except PumpflixError:
            running = []
        if running:
            recorder.update(n8n_execution_id=str(running[0]["id"]))
    timeout = prepared.request.timeout
    message = f"the execution did not finish within {timeout:g} s; it may still be running in n8n"
    recorder.update(error=message)
    recorder.step(message, level="warning")
    outcome.problem = ServiceTimeoutError(
        "n8n",
        f"the execution did not finish within {timeout:g} s",
        hint=f"it may still be running: pumpflix instances logs {prepared.short_id} --follow",
    )


def _failed(recorder: _Recorder, exc: PumpflixError) -> None:
    recorder.update(status="error", error=exc.message, finished_at=datetime.now(UTC))
    recorder.step(f"failed: {exc.message}", level="error")


def _deactivate(client: N8nClient, recorder: _Recorder, outcome: RunOutcome) -> None:
    workflow_id = recorder.instance.n8n_workflow_id
    if workflow_id is None:
        return
    try:
        client.deactivate_workflow(workflow_id)
    except PumpflixError as exc:
        message = f"could not deactivate n8n workflow {workflow_id}: {exc.message}"
        recorder.step(message, level="warning")
        outcome.notes.append(message)
        return
    recorder.step(f"deactivated n8n workflow {workflow_id}")
