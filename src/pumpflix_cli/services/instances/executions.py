"""An instance's logs: n8n executions read into events (one per node run), and
``logs --follow``, which records and prints executions of the instance's workflow as they
finish (SPEC §3, §6)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.records import EventRecord, InstanceRecord

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient

# n8n's execution statuses, as the instance records them.
FINISHED = {"success": "success", "error": "error", "crashed": "error", "canceled": "canceled"}
# The step event written once an execution's node runs are recorded: follow skips those.
FINISHED_STEP = "execution-finished"


def _time(value: Any) -> datetime | None:
    """n8n's times: epoch milliseconds in run data, ISO 8601 on executions."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _items(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A node run's output items, every output branch (an IF's true and false) in order."""
    items: list[dict[str, Any]] = []
    for branch in ((run.get("data") or {}).get("main")) or []:
        items.extend(item for item in branch or [] if isinstance(item, dict))
    return items


def _error_message(error: Any) -> str | None:
    if not isinstance(error, dict):
        return None
    message = error.get("message")
    return str(message) if message else str(error.get("name") or "error")


@dataclass
class ExecutionSummary:
    """One n8n execution as an instance records it."""

    id: str
    status: str  # the instance's word: running, success, error, canceled
    n8n_status: str
    started_at: datetime | None
    stopped_at: datetime | None
    output: Any = None
    error: str | None = None
    failed_node: str | None = None
    events: list[EventRecord] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.stopped_at is None:
            return None
        return round((self.stopped_at - self.started_at).total_seconds() * 1000)

    def finished_event(self) -> EventRecord:
        """pumpflix's own record that this execution's node runs are stored."""
        took = f" in {self.duration_ms} ms" if self.duration_ms is not None else ""
        where = f" at node '{self.failed_node}'" if self.failed_node else ""
        message = f"n8n execution {self.id} finished: {self.n8n_status}{took}"
        if self.error:
            message += f"; failed{where}: {self.error}"
        return EventRecord(
            source="pumpflix",
            message=message,
            time=self.stopped_at or datetime.now(UTC),
            level="error" if self.status == "error" else "info",
            node=self.failed_node,
            data={
                "step": FINISHED_STEP,
                "executionId": self.id,
                "status": self.n8n_status,
                "durationMs": self.duration_ms,
            },
        )


def summarize(execution: dict[str, Any]) -> ExecutionSummary:
    """Read an execution (fetched with its data): status, output, error, node runs."""
    n8n_status = str(execution.get("status") or "unknown")
    result = ((execution.get("data") or {}).get("resultData")) or {}
    run_data = result.get("runData") or {}
    summary = ExecutionSummary(
        id=str(execution.get("id")),
        status=FINISHED.get(n8n_status, "running"),
        n8n_status=n8n_status,
        started_at=_time(execution.get("startedAt")),
        stopped_at=_time(execution.get("stoppedAt")),
        events=node_events(str(execution.get("id")), run_data),
    )
    if summary.status == "error":
        failed = [e for e in summary.events if e.level == "error"]
        if failed:
            summary.failed_node = failed[-1].node
        summary.error = _error_message(result.get("error"))
        if summary.error is None and failed:
            summary.error = (failed[-1].data or {}).get("error")
        if summary.error is None:
            summary.error = f"the execution ended with status {n8n_status}"
    elif summary.status == "canceled":
        summary.error = "the execution was canceled in n8n"
    last = result.get("lastNodeExecuted")
    runs = run_data.get(last) if isinstance(last, str) else None
    if (
        summary.status == "success"
        and isinstance(runs, list)
        and runs
        and isinstance(runs[-1], dict)
    ):
        summary.output = [item.get("json") for item in _items(runs[-1])]
    return summary


def node_events(execution_id: str, run_data: dict[str, Any]) -> list[EventRecord]:
    """One event per node run, in the order n8n ran them."""
    events: list[tuple[float, int, EventRecord]] = []
    for node, runs in run_data.items():
        if not isinstance(runs, list):
            continue
        for index, run in enumerate(runs):
            if not isinstance(run, dict):
                continue
            error = _error_message(run.get("error"))
            status = str(run.get("executionStatus") or ("error" if error else "success"))
            started = _time(run.get("startTime"))
            duration = run.get("executionTime")
            items = len(_items(run))
            data: dict[str, Any] = {
                "executionId": execution_id,
                "run": index,
                "status": status,
                "startedAt": None if started is None else started.isoformat(),
                "durationMs": duration,
                "itemsOut": items,
            }
            if error is not None:
                data["error"] = error
                description = (run.get("error") or {}).get("description")
                if description:
                    data["description"] = str(description)
            took = f" in {duration} ms" if isinstance(duration, int | float) else ""
            message = error or f"{status}: {items} item{'s' * (items != 1)} out{took}"
            event = EventRecord(
                source="n8n",
                message=message,
                time=started or datetime.now(UTC),
                level="error" if error is not None or status == "error" else "info",
                node=str(node),
                data=data,
            )
            order = run.get("executionIndex")
            position = order if isinstance(order, int) else len(events)
            events.append(((started.timestamp() if started else 0.0), position, event))
    events.sort(key=lambda entry: (entry[1], entry[0]))
    return [event for _, _, event in events]


def instance_update(summary: ExecutionSummary) -> dict[str, Any]:
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


def recorded_executions(events: Iterable[EventRecord]) -> set[str]:
    return {
        str(e.execution_id)
        for e in events
        if e.execution_id is not None and (e.data or {}).get("step") == FINISHED_STEP
    }


def record_execution(
    database: Callable[[], Database], instance: InstanceRecord, summary: ExecutionSummary
) -> list[EventRecord]:
    """Store a finished execution's events; it settles the instance when it is the
    instance's own execution (or the first one of an instance that had none)."""
    events = [*summary.events, summary.finished_event()]
    with database().session() as session:
        store = InstanceStore(session)
        store.add_events(instance.id, events)
        if instance.n8n_execution_id in (None, summary.id) and instance.status == "running":
            store.update(instance.id, **instance_update(summary))
            instance.status = summary.status
            instance.n8n_execution_id = summary.id
    return events


# --- finding and waiting ---------------------------------------------------------------

POLL_FIRST, POLL_MAX = 0.2, 1.0  # seconds between looks: quick at first, then every second


def find_execution(
    client: N8nClient,
    workflow_id: str,
    until: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """The newest execution of the instance's workflow (finished, waiting or running):
    a workflow of one instance has one execution per call."""
    delay = POLL_FIRST
    while True:
        found = client.executions(workflow_id, limit=5) + client.executions(
            workflow_id, status="running", limit=5
        )
        if found:
            return max(found, key=lambda e: execution_order(str(e.get("id"))))
        if clock() >= until:
            return None
        sleep(max(0.0, min(delay, until - clock())))
        delay = min(POLL_MAX, delay * 2)


def wait_for_execution(
    client: N8nClient,
    workflow_id: str,
    until: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionSummary | None:
    """Find the execution, then poll it by id until it finishes or time is up."""
    found = find_execution(client, workflow_id, until, clock=clock, sleep=sleep)
    if found is None:
        return None
    execution_id = str(found["id"])
    delay = POLL_FIRST
    while True:
        summary = summarize(client.execution(execution_id))
        if summary.finished or clock() >= until:
            return summary
        sleep(max(0.0, min(delay, until - clock())))
        delay = min(POLL_MAX, delay * 2)


# --- follow ----------------------------------------------------------------------------

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
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> FollowResult:
    """Poll n8n for executions of the instance's workflow; record and ``emit`` the events
    of each as it finishes. Ends when nothing more can happen (the workflow is inactive
    and none of its executions is running), when the workflow is gone from n8n, or after
    ``max_wait`` seconds; otherwise it runs until interrupted."""
    workflow_id = instance.n8n_workflow_id
    if workflow_id is None:
        return FollowResult("gone")
    with database().session() as session:
        recorded = recorded_executions(InstanceStore(session).events(instance.id))
    deadline = None if max_wait is None else clock() + max_wait
    from pumpflix_cli.n8n.client import N8nNotFoundError

    while True:
        try:
            active = bool(client.workflow(workflow_id).get("active"))
        except N8nNotFoundError:
            return FollowResult("gone")
        listed = {str(e["id"]): e for e in client.executions(workflow_id, limit=100)}
        listed |= {
            str(e["id"]): e for e in client.executions(workflow_id, status="running", limit=100)
        }
        running = 0
        for execution_id in sorted(listed, key=execution_order):
            if execution_id in recorded:
                continue
            if FINISHED.get(str(listed[execution_id].get("status"))) is None:
                running += 1
                continue
            try:
                summary = summarize(client.execution(execution_id))
            except PumpflixError:
                running += 1  # deleted meanwhile, or n8n hiccuped: look again next time
                continue
            if not summary.finished:
                running += 1
                continue
            for event in record_execution(database, instance, summary):
                emit(event)
            recorded.add(execution_id)
        if not active and running == 0:
            return FollowResult("done")
        if deadline is not None and clock() >= deadline:
            return FollowResult("deadline", running)
        sleep(poll if deadline is None else max(0.0, min(poll, deadline - clock())))


def execution_order(execution_id: str) -> tuple[int, str]:
    """Sort key for n8n's execution ids: numbers given as strings."""
    return (int(execution_id), "") if execution_id.isdigit() else (0, execution_id)
