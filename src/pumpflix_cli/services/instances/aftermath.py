"""What a run leaves in n8n as it ends (issue 13), and the instance of a run interrupted.

Once the execution is read (or none can start) the workflow is deleted, unless the run
was asked to keep it; it stays, deactivated, while its execution goes on (not waited for,
or out of time) so that ``logs --follow`` can read it, and active for an app trigger. An
interrupted run (Ctrl-C, SIGTERM) stops its execution and deletes its workflow, unless
asked to keep it. What n8n cannot do is recorded: the instance still names the workflow,
and ``instances prune`` removes it later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.services.instances.cleanup import IN_FLIGHT_STATUSES, remove_workflow

if TYPE_CHECKING:
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.instances.executions import InstanceRecorder

# Why a workflow outlives its run: an app trigger waits for its app; an execution not
# waited for, or out of time, still runs.
Lingering = Literal["app", "running"]
PRUNE = "pumpflix instances prune"


def leave_n8n(
    client: N8nClient,
    recorder: InstanceRecorder,
    workflow_id: str,
    *,
    keep: bool,
    keep_active: bool,
    lingers: Lingering | None,
    interrupted: bool,
    follow: str,
    note: Callable[[str], None],
) -> list[str]:
    """Leave n8n as the run should (see the module); the notes for the operator.
    ``follow`` is the command that follows the instance's executions."""
    if interrupted:
        kept = " (its n8n workflow kept, as asked)" if keep or keep_active else ""
        recorder.step(f"interrupted{kept}", level="warning")
        lingers = None
    if keep_active:
        return []
    if lingers == "app":
        return [
            f"n8n workflow {workflow_id} stays active for its app trigger; `{PRUNE}` removes it"
        ]
    if keep or lingers is not None:
        notes = deactivate(client, recorder, workflow_id)
        if lingers is not None:
            notes.append(
                f"kept n8n workflow {workflow_id} (deactivated) while its execution runs, "
                f"for `{follow}`; `{PRUNE}` removes it later"
            )
        return notes
    note(f"deleting n8n workflow {workflow_id}")
    try:
        remove_workflow(client, recorder.database, recorder.instance)
    except PumpflixError as exc:
        message = (
            f"could not delete n8n workflow {workflow_id}: {exc.message}; "
            f"`{PRUNE}` removes it later"
        )
        recorder.step(message, level="warning", step="cleanup-failed")
        if interrupted:  # the run ends in an exception: its notes are never shown
            note(message)
            return []
        return [message]
    return []


def deactivate(client: N8nClient, recorder: InstanceRecorder, workflow_id: str) -> list[str]:
    """Deactivate the workflow; a warning for the operator when n8n would not."""
    try:
        client.deactivate_workflow(workflow_id)
    except PumpflixError as exc:
        message = f"could not deactivate n8n workflow {workflow_id}: {exc.message}"
        recorder.step(message, level="warning")
        return [message]
    recorder.step(f"deactivated n8n workflow {workflow_id}")
    return []


def cancel_interrupted(recorder: InstanceRecorder, *, kept: bool) -> None:
    """An interrupted run's instance is canceled, unless its execution goes on in a
    workflow kept as asked (``logs --follow`` then records how it ends)."""
    instance = recorder.instance
    if instance.status not in IN_FLIGHT_STATUSES:
        return
    if kept and instance.n8n_workflow_id is not None:
        return
    left = instance.n8n_workflow_id
    recorder.update(
        status="canceled",
        error="the run was interrupted"
        + ("" if left is None else f"; n8n workflow {left} is left to prune"),
        finished_at=datetime.now(UTC),
    )
