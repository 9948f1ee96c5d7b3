"""n8n executions read into what an instance records (SPEC §3, §6): its status, output and
error, and one event per node run.

Pure: it reads the JSON n8n returns for ``GET /executions/{id}?includeData=true`` and
builds plain records; fetching, waiting and storing are the services' part."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pumpflix_cli.records import EventRecord, parse_utc
from pumpflix_cli.workflow.entry_points import stand_in_names

# n8n's execution statuses, as the instance records them; any other is still running.
FINISHED = {"success": "success", "error": "error", "crashed": "error", "canceled": "canceled"}
# The step event written once an execution's node runs are recorded (so they are not
# recorded twice).
FINISHED_STEP = "execution-finished"


def instance_status(n8n_status: str) -> str:
    """An n8n execution status in the instance's words: running, success, error, canceled."""
    return FINISHED.get(n8n_status, "running")


def execution_order(execution_id: str) -> tuple[int, str]:
    """Sort key for n8n's execution ids: numbers given as strings."""
    return (int(execution_id), "") if execution_id.isdigit() else (0, execution_id)


def execution_id_of_reply(body: Any) -> str | None:
    """The execution id a stand-in Webhook answering at once replies with (see
    `entry_points.EXECUTION_ID_REPLY`); None for any other answer."""
    if isinstance(body, int) and not isinstance(body, bool):
        return str(body)
    if isinstance(body, str) and body.strip().isdigit():
        return body.strip()
    return None


def _time(value: Any) -> datetime | None:
    """n8n's times: epoch milliseconds in run data, ISO 8601 on executions."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and value:
        try:
            return parse_utc(value)
        except ValueError:
            return None
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
        status=instance_status(n8n_status),
        n8n_status=n8n_status,
        started_at=_time(execution.get("startedAt")),
        stopped_at=_time(execution.get("stoppedAt")),
        events=node_events(
            str(execution.get("id")),
            run_data,
            hidden=stand_in_names(execution.get("workflowData")),
        ),
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


def node_events(
    execution_id: str, run_data: dict[str, Any], *, hidden: Collection[str] = ()
) -> list[EventRecord]:
    """One event per node run, in the order n8n ran them; none for the ``hidden`` nodes
    (the Webhook pumpflix put in front of a trigger is no node of the template's)."""
    events: list[tuple[float, int, EventRecord]] = []
    for node, runs in run_data.items():
        if not isinstance(runs, list) or node in hidden:
            continue
        for index, run in enumerate(runs):
            if not isinstance(run, dict):
                continue
            event = _node_event(execution_id, str(node), index, run)
            started = _time(run.get("startTime"))
            order = run.get("executionIndex")
            position = order if isinstance(order, int) else len(events)
            events.append(((started.timestamp() if started else 0.0), position, event))
    events.sort(key=lambda entry: (entry[1], entry[0]))
    return [event for _, _, event in events]


def _node_event(execution_id: str, node: str, index: int, run: dict[str, Any]) -> EventRecord:
    """One run of one node: its status, when it started, how long it took, how many items
    it gave, and its error."""
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
    return EventRecord(
        source="n8n",
        message=error or f"{status}: {items} item{'s' * (items != 1)} out{took}",
        time=started or datetime.now(UTC),
        level="error" if error is not None or status == "error" else "info",
        node=node,
        data=data,
    )


def recorded_executions(events: Iterable[EventRecord]) -> set[str]:
    """The executions whose node runs these events already hold."""
    return {
        str(e.execution_id)
        for e in events
        if e.execution_id is not None and (e.data or {}).get("step") == FINISHED_STEP
    }
