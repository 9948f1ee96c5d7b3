"""Removing instances' workflows from n8n, and instances from pumpflix (issue 13): a run's
own workflow once its execution is read, and ``instances delete`` / ``prune``.

A workflow goes the way n8n 2.40.7 allows: its running and waiting executions stopped
(n8n fails inside when the workflow of a running execution is deleted), deactivated, then
deleted, which takes its executions with it; a 404 means it is gone already. The instance
then names it no more (its id cleared, its link dropped, a step saying so), so nothing
shows a workflow that is gone. What n8n cannot do (n8n down) leaves the instance naming
its workflow, which is how ``prune`` finds it later. ``delete`` and ``prune`` then remove
the instances themselves: their rows and their events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import (
    ConflictError,
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import EventRecord, InstanceRecord, camel_json
from pumpflix_cli.text import plural
from pumpflix_cli.workflow import execution_order

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient

IN_FLIGHT_STATUSES = ("deploying", "running")
# An instance still deploying or running may be a run going on in another pumpflix: prune
# leaves it this long, unless told an age of its own.
IN_FLIGHT_GRACE = timedelta(hours=1)
# The step recorded once an instance's workflow is gone from n8n.
WORKFLOW_DELETED_STEP = "workflow-deleted"

WorkflowFate = Literal["deleted", "alreadyGone", "none", "toDelete"]


class WorkflowElsewhereError(ConflictError):
    """The instance's workflow is on another n8n than the one configured now."""

    def __init__(self, workflow_id: str, url: str) -> None:
        super().__init__(f"its n8n workflow {workflow_id} is on another n8n ({url})")
        self.workflow_id = workflow_id
        self.url = url


@dataclass(frozen=True)
class WorkflowRemoval:
    fate: WorkflowFate
    executions_deleted: int = 0


def remove_workflow(
    client: N8nClient,
    database: Callable[[], Database],
    instance: InstanceRecord,
    *,
    executions: bool = False,
) -> WorkflowRemoval:
    """Remove the instance's n8n workflow and record that it is gone; with ``executions``
    delete each of its executions by id first (n8n would take them with the workflow; so
    they go even where it would not). Raises `PumpflixError` when n8n cannot do it: the
    instance then still names its workflow."""
    workflow_id = instance.n8n_workflow_id
    if workflow_id is None:
        return WorkflowRemoval("none")
    with database().session() as session:
        store = InstanceStore(session)
        deployed_to = store.deployed_to(instance.id)
        recorded = {e.execution_id for e in store.events(instance.id)} - {None}
    if deployed_to is not None and deployed_to.rstrip("/") != client.base_url.rstrip("/"):
        raise WorkflowElsewhereError(workflow_id, deployed_to)
    for status in ("running", "waiting"):
        for execution_id in client.execution_ids(workflow_id, status=status):
            client.stop_execution(execution_id)
    deleted = 0
    if executions:
        ids = set(client.execution_ids(workflow_id)) | {str(i) for i in recorded}
        if instance.n8n_execution_id is not None:
            ids.add(instance.n8n_execution_id)
        deleted = sum(client.delete_execution(i) for i in sorted(ids, key=execution_order))
    fate: WorkflowFate = "deleted" if client.delete_workflow(workflow_id) else "alreadyGone"
    message = (
        f"deleted n8n workflow {workflow_id}"
        if fate == "deleted"
        else f"n8n workflow {workflow_id} was gone from n8n already"
    )
    step = EventRecord(
        source="pumpflix",
        message=message + (f" and {plural(deleted, 'execution')}" if executions else ""),
        data={"step": WORKFLOW_DELETED_STEP, "workflowId": workflow_id},
    )
    with database().session() as session:
        store = InstanceStore(session)
        store.forget_workflow(instance.id)
        store.add_events(instance.id, [step])
    instance.n8n_workflow_id = None
    return WorkflowRemoval(fate, deleted)


# --- delete and prune --------------------------------------------------------------------


@dataclass
class Removal:
    """One instance that ``delete`` or ``prune`` removed, would remove, or could not."""

    instance: InstanceRecord
    workflow_id: str | None
    workflow: WorkflowFate
    executions_deleted: int = 0
    problem: PumpflixError | None = None
    removed: bool = False

    def to_json(self) -> dict[str, Any]:
        return camel_json(self.instance, only=("id", "status", "template_name", "created_at")) | {
            "n8nWorkflowId": self.workflow_id,
            "workflow": self.workflow,
            "executionsDeleted": self.executions_deleted,
            "removed": self.removed,
            "error": None if self.problem is None else self.problem.message,
        }


@dataclass
class RemovalReport:
    """What ``instances delete`` and ``prune`` report."""

    removals: list[Removal] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failed(self) -> list[Removal]:
        return [r for r in self.removals if r.problem is not None]

    @property
    def problem(self) -> PumpflixError | None:
        """When none could be removed, the first one's reason: the command's error."""
        failed = self.failed
        return failed[0].problem if failed and len(failed) == len(self.removals) else None

    @property
    def exit_code(self) -> ExitCode:
        """0 when every instance went (or would); 5 when some did and some could not; when
        none could, the first one's reason (69 when n8n is unreachable)."""
        if not self.failed:
            return ExitCode.OK
        return ExitCode.PARTIAL if self.problem is None else self.problem.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "removed": sum(r.removed for r in self.removals),
            "failed": len(self.failed),
            "instances": [r.to_json() for r in self.removals],
        }


def remove_instances(
    database: Callable[[], Database],
    instances: Sequence[InstanceRecord],
    n8n: Callable[[], N8nClient],
    *,
    executions: bool = False,
    dry_run: bool = False,
) -> RemovalReport:
    """Remove each instance: its n8n workflow (see `remove_workflow`), then its row and
    events. One that n8n cannot rid of its workflow is kept, with the reason; once n8n
    is unreachable the rest that have a workflow are not tried."""
    report = RemovalReport(dry_run=dry_run)
    down: PumpflixError | None = None
    for instance in instances:
        workflow_id = instance.n8n_workflow_id
        removal = Removal(instance, workflow_id, "none" if workflow_id is None else "toDelete")
        report.removals.append(removal)
        if dry_run:
            continue
        try:
            if workflow_id is not None:
                if down is not None:
                    raise down
                done = remove_workflow(n8n(), database, instance, executions=executions)
                removal.workflow, removal.executions_deleted = done.fate, done.executions_deleted
            with database().session() as session:
                InstanceStore(session).delete([instance.id])
            removal.removed = True
        except (ServiceUnavailableError, ServiceTimeoutError) as exc:
            down, removal.problem = exc, exc
        except PumpflixError as exc:
            removal.problem = exc
    return report


def prune_candidates(
    database: Callable[[], Database],
    *,
    older_than: timedelta | None = None,
    statuses: Sequence[str] = (),
    now: datetime | None = None,
) -> list[InstanceRecord]:
    """The instances ``prune`` removes, oldest first: created more than ``older_than`` ago
    (any age when None) and of one of ``statuses`` (any when empty). One still deploying
    or running is left for `IN_FLIGHT_GRACE` unless ``older_than`` says otherwise."""
    now = now or datetime.now(UTC)
    with database().session() as session:
        return InstanceStore(session).created_before(
            settled=None if older_than is None else now - older_than,
            in_flight=now - (IN_FLIGHT_GRACE if older_than is None else older_than),
            statuses=statuses,
            in_flight_statuses=IN_FLIGHT_STATUSES,
        )
