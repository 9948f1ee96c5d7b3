"""An instance's executions on n8n, and its record of them: finding the execution a call
started, waiting for it, writing the instance's steps and node runs as they happen, and
following the executions of its workflow as they finish (SPEC §3, §6).

Reading an execution's JSON is the pure `pumpflix_cli.workflow.executions`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.records import EventRecord, InstanceRecord
from pumpflix_cli.workflow import (
    ExecutionSummary,
    execution_order,
    instance_status,
    recorded_executions,
    summarize,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient

# --- recording ---------------------------------------------------------------------------


class InstanceRecorder:
    """Writes an instance's steps and executions as they happen, each in its own short
    transaction, and keeps the in-memory record in step with its row."""

    def __init__(self, database: Callable[[], Database], instance: InstanceRecord) -> None:
        self.database = database
        self.instance = instance

    def step(
        self, message: str, *, level: str = "info", at: datetime | None = None, **data: Any
    ) -> None:
        """One of pumpflix's own steps, as an event."""
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
        self._remember(values)

    def execution(self, summary: ExecutionSummary) -> list[EventRecord]:
        """Store a finished execution's events; it settles the instance when it is the
        instance's own execution (or the first one of an instance that had none)."""
        events = [*summary.events, summary.finished_event()]
        instance = self.instance
        settles = instance.n8n_execution_id in (None, summary.id) and instance.status == "running"
        values = _settled(summary) if settles else {}
        with self.database().session() as session:
            store = InstanceStore(session)
            store.add_events(instance.id, events)
            if values:
                store.update(instance.id, **values)
        self._remember(values)
        return events

    def _remember(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if hasattr(self.instance, key):
                setattr(self.instance, key, value)


def _settled(summary: ExecutionSummary) -> dict[str, Any]:
    """The instance's columns once its execution is read."""
    values: dict[str, Any] = {
        "n8n_execution_id": summary.id,
        "status": summary.status,
        "started_at": summary.started_at,
    }
    if summary.finished:
        values |= {
            "output": summary.output,
            "error": summary.error,
            "finished_at": summary.stopped_at or datetime.now(UTC),
        }
    return values


# --- finding and waiting -----------------------------------------------------------------

POLL_FIRST, POLL_MAX = 0.2, 1.0  # seconds between looks: quick at first, then every second
Clock = Callable[[], float]
Sleep = Callable[[float], None]
T = TypeVar("T")


def _poll(
    look: Callable[[], T], done: Callable[[T], bool], until: float, clock: Clock, sleep: Sleep
) -> T:
    """Look again and again until what is seen is ``done`` or time is up: the last look."""
    delay = POLL_FIRST
    while True:
        seen = look()
        if done(seen) or clock() >= until:
            return seen
        sleep(max(0.0, min(delay, until - clock())))
        delay = min(POLL_MAX, delay * 2)


def find_execution(
    client: N8nClient,
    workflow_id: str,
    until: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> dict[str, Any] | None:
    """The newest execution of the instance's workflow (finished, waiting or running):
    a workflow of one instance has one execution per call."""

    def look() -> list[dict[str, Any]]:
        return client.executions(workflow_id, limit=5) + client.executions(
            workflow_id, status="running", limit=5
        )

    found = _poll(look, bool, until, clock, sleep)
    return max(found, key=lambda e: execution_order(str(e.get("id")))) if found else None


def wait_for_execution(
    client: N8nClient,
    workflow_id: str,
    until: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ExecutionSummary | None:
    """Find the execution, then poll it by id until it finishes or time is up."""
    found = find_execution(client, workflow_id, until, clock=clock, sleep=sleep)
    if found is None:
        return None
    execution_id = str(found["id"])
    return _poll(
        lambda: summarize(client.execution(execution_id)),
        lambda summary: summary.finished,
        until,
        clock,
        sleep,
    )


# --- following ---------------------------------------------------------------------------

FollowEnd = Literal["done", "deadline", "gone"]


@dataclass
class FollowResult:
    reason: FollowEnd
    running: int = 0  # executions still running when it ended


def follow(
    instance: InstanceRecord,
    *,
    client: N8nClient,
    database: Callable[[], Database],
    emit: Callable[[EventRecord], None],
    max_wait: float | None = None,
    poll: float = 1.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> FollowResult:
    """Poll n8n for executions of the instance's workflow; record and ``emit`` the events
    of each as it finishes. Ends when nothing more can happen (the workflow is inactive
    and none of its executions is running), when the workflow is gone from n8n, or after
    ``max_wait`` seconds; otherwise it runs until interrupted."""
    from pumpflix_cli.n8n.client import N8nNotFoundError

    workflow_id = instance.n8n_workflow_id
    if workflow_id is None:
        return FollowResult("gone")
    recorder = InstanceRecorder(database, instance)
    with database().session() as session:
        recorded = recorded_executions(InstanceStore(session).events(instance.id))
    deadline = None if max_wait is None else clock() + max_wait
    while True:
        try:
            active = bool(client.workflow(workflow_id).get("active"))
        except N8nNotFoundError:
            return FollowResult("gone")
        listed = {str(e["id"]): e for e in client.executions(workflow_id, limit=100)}
        listed |= {
            str(e["id"]): e for e in client.executions(workflow_id, status="running", limit=100)
        }
        own = instance.n8n_execution_id
        if own is not None and own not in recorded and own not in listed:
            # Just started, n8n may list it in neither list yet; by id it always answers.
            with contextlib.suppress(N8nNotFoundError):
                listed[own] = client.execution(own, include_data=False)
        running = 0
        for execution_id in sorted(listed, key=execution_order):
            if execution_id in recorded:
                continue
            summary = _finished(client, execution_id, listed[execution_id])
            if summary is None:
                running += 1
                continue
            for event in recorder.execution(summary):
                emit(event)
            recorded.add(execution_id)
        if not active and running == 0:
            return FollowResult("done")
        if deadline is not None and clock() >= deadline:
            return FollowResult("deadline", running)
        sleep(poll if deadline is None else max(0.0, min(poll, deadline - clock())))


def _finished(
    client: N8nClient, execution_id: str, listed: dict[str, Any]
) -> ExecutionSummary | None:
    """The execution read in full once it has finished; None while it still runs."""
    if instance_status(str(listed.get("status"))) == "running":
        return None
    try:
        summary = summarize(client.execution(execution_id))
    except PumpflixError:
        return None  # deleted meanwhile, or n8n hiccuped: look again next time
    return summary if summary.finished else None


def refresh(
    instance: InstanceRecord,
    *,
    n8n: Callable[[], N8nClient],
    database: Callable[[], Database],
) -> str | None:
    """One look at n8n for an instance still running, as one pass of `follow`: what has
    finished since is recorded and settles it. Why it could not look, if it could not."""
    if instance.status != "running" or instance.n8n_workflow_id is None:
        return None
    try:
        result = follow(instance, client=n8n(), database=database, emit=lambda _e: None, max_wait=0)
    except PumpflixError as exc:
        return f"not refreshed from n8n: {exc.message}"
    if result.reason == "gone":
        return f"its n8n workflow {instance.n8n_workflow_id} is gone from n8n"
    return None
