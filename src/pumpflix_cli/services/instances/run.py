"""``instances run``: a prepared run (`prepare`) recorded, deployed to n8n as a workflow of
its own, run through a webhook, and its execution recorded (SPEC §3, §4, §6).

`run_instance` records the instance, then drives n8n step by step, writing each step as
an event so that whatever happens the instance says how far it got and why it stopped;
what it leaves in n8n as it ends is `aftermath`. The steps stay together in `_Run` (a
little over 300 lines) so a run reads top to bottom in the order n8n sees it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import PumpflixError, ServiceTimeoutError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.n8n.client import N8nRejectedError
from pumpflix_cli.records import EventRecord, InstanceRecord, camel_json
from pumpflix_cli.redact import scrub
from pumpflix_cli.services.instances.aftermath import Lingering, cancel_interrupted, leave_n8n
from pumpflix_cli.services.instances.executions import (
    Clock,
    InstanceRecorder,
    Sleep,
    find_execution,
    wait_for_execution,
)
from pumpflix_cli.services.instances.prepare import PreparedRun
from pumpflix_cli.services.instances.recorded import record_run
from pumpflix_cli.services.n8n.pairing import INSTANCE_TAG
from pumpflix_cli.workflow import (
    EntryPoint,
    ExecutionSummary,
    content_hash,
    execution_id_of_reply,
    webhook_payload,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient, WebhookReply

# Not waiting: how long to listen for the webhook's answer before taking the call as accepted.
ACCEPT_WAIT = 2.0
# How long an execution may take to show up after a webhook answered with an error.
ERROR_GRACE = 5.0


class ActivationRefusedError(N8nRejectedError):
    """n8n would not activate the deployed workflow as it stands (a credential it lacks,
    most often)."""


def logs_command(short_id: str) -> str:
    """Where an instance's executions are seen: the command, given its short id."""
    return f"pumpflix instances logs {short_id}"


# The instance as ``instances run`` reports it in JSON.
RUN_JSON = ("id", "status", "template_id", "n8n_workflow_id", "n8n_execution_id", "output", "error")


@dataclass
class RunOutcome:
    instance: InstanceRecord
    entry: EntryPoint
    events: list[EventRecord]
    execution: ExecutionSummary | None = None
    problem: PumpflixError | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.problem is None else self.problem.exit_code

    def to_json(self) -> dict[str, Any]:
        return camel_json(self.instance, only=RUN_JSON)


def run_instance(
    prepared: PreparedRun,
    *,
    client: N8nClient,
    database: Callable[[], Database],
    note: Callable[[str], None] = lambda _m: None,
    follow_command: Callable[[str], str] = logs_command,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> RunOutcome:
    """Record the instance, deploy and run it; every outcome comes back as a
    `RunOutcome` (``problem`` says why it did not succeed), never as an exception.
    ``follow_command`` words the command that follows the instance's executions (given its
    short id), for the notes and hints that point there."""
    request, template = prepared.request, prepared.template
    deadline = clock() + request.timeout
    recorded = record_run(prepared)  # secret values masked, where each value went
    with database().session() as session:
        store = InstanceStore(session)
        store.create(
            prepared.instance_id,
            template_id=template.id,
            template_version=template.version,
            inputs=recorded.inputs,
            credentials=dict(request.credentials),
            final_workflow=recorded.final,
        )
        instance = store.get(prepared.instance_id)
    assert instance is not None
    recorder = InstanceRecorder(database, instance)
    recorder.step(
        f"deploying template '{template.name}' v{template.version} to n8n at {client.base_url}"
    )
    run = _Run(prepared, client, recorder, note, follow_command(prepared.short_id))
    run.drive(deadline, clock, sleep)
    with database().session() as session:
        store = InstanceStore(session)
        run.outcome.instance = store.get(instance.id) or instance
        run.outcome.events = store.events(instance.id)
    return run.outcome


class _Run:
    """One run's steps against n8n, each recorded as it happens."""

    deadline: float
    clock: Clock
    sleep: Sleep

    def __init__(
        self,
        prepared: PreparedRun,
        client: N8nClient,
        recorder: InstanceRecorder,
        note: Callable[[str], None],
        follow: str,  # the command that follows this instance's executions
    ) -> None:
        self.prepared, self.entry, self.request = prepared, prepared.entry, prepared.request
        self.client, self.recorder, self.note, self.follow = client, recorder, note, follow
        self.outcome = RunOutcome(recorder.instance, prepared.entry, [])
        self.workflow_id: str | None = None  # once n8n has created it
        # Why the workflow outlives the run: an app trigger waits for its app; an
        # execution not waited for, or out of time, still runs.
        self.lingers: Lingering | None = None

    def drive(self, deadline: float, clock: Clock, sleep: Sleep) -> None:
        self.deadline, self.clock, self.sleep = deadline, clock, sleep
        interrupted = False
        try:
            workflow_id = self.deploy()
            self.activate(workflow_id)
            self.recorder.update(status="running", started_at=datetime.now(UTC))
            self.activated()
            if self.entry.kind != "app":
                self.call(workflow_id)
        except PumpflixError as exc:
            # Scrubbed before it is recorded: the row (which the store scrubs as well) and
            # the record in memory, which the run's report prints, both carry it.
            message = scrub(exc.message)
            self.recorder.update(status="error", error=message, finished_at=datetime.now(UTC))
            self.recorder.step(f"failed: {message}", level="error")
            self.outcome.problem = exc
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one by the caller
            interrupted = True
            raise
        finally:
            request = self.request
            if self.workflow_id is not None:
                self.outcome.notes += leave_n8n(
                    self.client,
                    self.recorder,
                    self.workflow_id,
                    keep=request.keep,
                    keep_active=request.keep_active,
                    lingers=self.lingers,
                    interrupted=interrupted,
                    follow=self.follow,
                    note=self.note,
                )
            if interrupted:
                cancel_interrupted(self.recorder, kept=request.keep or request.keep_active)

    def deploy(self) -> str:
        prepared, client, name = self.prepared, self.client, self.prepared.body["name"]
        self.note(f"creating the n8n workflow '{name}'")
        tag_id = client.ensure_tag(INSTANCE_TAG)
        created = client.create_workflow(prepared.body)
        workflow_id = self.workflow_id = str(created["id"])
        with self.recorder.database().session() as session:
            store = InstanceStore(session)
            store.update(prepared.instance_id, n8n_workflow_id=workflow_id)
            store.link(
                client.base_url,
                prepared.instance_id,
                workflow_id,
                content_hash=content_hash(prepared.final),
                n8n_updated_at=created.get("updatedAt"),
            )
        self.recorder.instance.n8n_workflow_id = workflow_id
        self.recorder.step(f"created n8n workflow {workflow_id} '{name}'", workflowId=workflow_id)
        client.set_workflow_tags(workflow_id, [tag_id])
        return workflow_id

    def activate(self, workflow_id: str) -> None:
        try:
            self.client.activate_workflow(workflow_id)
        except N8nRejectedError as exc:
            raise ActivationRefusedError(exc.message, exc.status, hint=exc.hint) from exc

    def activated(self) -> None:
        entry = self.entry
        if entry.kind == "app":
            message = (
                "activated: the workflow starts with an app trigger, so n8n runs it when the "
                f"app calls; follow it with: {self.follow}"
            )
            self.recorder.step(message)
            self.outcome.notes.append(message)
            self.lingers = "app"
            return
        at = f"{entry.method} /webhook/{entry.path}"
        message = (
            f"activated; the Webhook '{entry.stand_in}' at {at} starts its trigger "
            f"'{entry.node}', which gives what it would give on a manual run"
            if entry.kind == "swapped"
            else f"activated; its Webhook '{entry.node}' at {at}"
        )
        if entry.listeners:
            message += "; also listening: " + ", ".join(
                f"'{node}' at {path}" for node, path in entry.listeners
            )
        self.recorder.step(message, entry=entry.kind, node=entry.node)

    def call(self, workflow_id: str) -> None:
        request, entry, clock = self.request, self.entry, self.clock
        assert entry.path is not None
        self.note(f"calling {entry.method} /webhook/{entry.path}")
        called = datetime.now(UTC)
        wait = (
            max(0.1, self.deadline - clock()) if request.wait else min(ACCEPT_WAIT, request.timeout)
        )
        reply = self.client.call_webhook(
            entry.path,
            method=entry.method,
            payload=webhook_payload(entry, request.payload),
            wait=wait,
        )
        self.recorder.step(_reply_message(entry, reply), at=called, httpStatus=reply.status)
        refused = reply.answered and reply.status is not None and reply.status >= 400
        if not request.wait:
            if refused and reply.status != 500:
                raise PumpflixError(f"the webhook refused the call: {_reply_text(reply)}")
            self.accepted(workflow_id, reply)
            return
        if not reply.answered:
            self.timed_out(workflow_id)
            return
        look_until = self.deadline if not refused else min(self.deadline, clock() + ERROR_GRACE)
        self.note("waiting for the execution")
        summary = wait_for_execution(
            self.client, workflow_id, look_until, clock=clock, sleep=self.sleep
        )
        if summary is None or not summary.finished:
            if refused:
                raise PumpflixError(f"the webhook refused the call: {_reply_text(reply)}")
            if summary is not None:
                self.recorder.update(n8n_execution_id=summary.id)
            self.timed_out(workflow_id)
            return
        self.finished(summary)

    def accepted(self, workflow_id: str, reply: WebhookReply) -> None:
        """Not waiting: note the execution the call started, if n8n says which."""
        execution_id = execution_id_of_reply(reply.body) if self.entry.kind == "swapped" else None
        if execution_id is None:
            until = min(self.deadline, self.clock() + ACCEPT_WAIT)
            found = find_execution(
                self.client, workflow_id, until, clock=self.clock, sleep=self.sleep
            )
            execution_id = None if found is None else str(found["id"])
        if execution_id is not None:
            self.recorder.update(n8n_execution_id=execution_id)
        message = f"accepted; not waiting (follow with: {self.follow})"
        self.recorder.step(message, executionId=execution_id)
        self.outcome.notes.append(message)
        self.lingers = "running"

    def finished(self, summary: ExecutionSummary) -> None:
        self.outcome.execution = summary
        self.recorder.execution(summary)
        if summary.status != "success":
            where = f" at node '{summary.failed_node}'" if summary.failed_node else ""
            self.outcome.problem = PumpflixError(
                f"the execution failed{where}: {summary.error}"
                if summary.status == "error"
                else str(summary.error),
                hint=f"{logs_command(self.prepared.short_id)} shows every node's run",
            )

    def timed_out(self, workflow_id: str) -> None:
        """Out of time: the execution goes on in n8n; say where to look."""
        if self.recorder.instance.n8n_execution_id is None:
            try:
                running = self.client.executions(workflow_id, status="running", limit=5)
            except PumpflixError:
                running = []
            if running:
                self.recorder.update(n8n_execution_id=str(running[0]["id"]))
        timeout = self.request.timeout
        message = (
            f"the execution did not finish within {timeout:g} s; it may still be running in n8n"
        )
        self.recorder.update(error=message)
        self.recorder.step(message, level="warning")
        self.lingers = "running"
        self.outcome.problem = ServiceTimeoutError(
            "n8n",
            f"the execution did not finish within {timeout:g} s",
            hint=f"it may still be running: {self.follow}",
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
