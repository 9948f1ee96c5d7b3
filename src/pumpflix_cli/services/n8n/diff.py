"""``n8n diff``: per template, whether n8n holds the same workflow, and if not, which nodes
were added, removed or changed (positions, node ids and other volatile fields ignored)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from pumpflix_cli.services.n8n.pairing import SyncState
from pumpflix_cli.workflow import WorkflowDiff, WorkflowError, diff_workflows

Status = Literal["in-sync", "differs", "missing-in-n8n", "missing-in-pumpflix", "error"]


@dataclass(frozen=True)
class DiffEntry:
    status: Status
    name: str
    template_id: str | None = None
    source_type: str | None = None
    workflow_id: str | None = None
    diff: WorkflowDiff | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "templateId": self.template_id,
            "sourceType": self.source_type,
            "workflowId": self.workflow_id,
            "status": self.status,
            "diff": None if self.diff is None else self.diff.to_json(),
            "error": self.error,
        }

    @property
    def details(self) -> str:
        if self.error is not None:
            return self.error
        if self.diff is not None:
            return self.diff.summary()
        return {
            "missing-in-n8n": "not in n8n (n8n sync --push creates it)",
            "missing-in-pumpflix": "no template (n8n sync --pull imports it)",
        }.get(self.status, "")


def diff_state(state: SyncState) -> list[DiffEntry]:
    """One entry per selected template, then (when no template was named) one per n8n
    workflow that no template holds."""
    entries: list[DiffEntry] = []
    for pair in state.pairs:
        template, workflow = pair.template, pair.workflow
        entry = DiffEntry(
            "missing-in-n8n",
            template.name,
            template_id=template.id,
            source_type=template.source_type,
        )
        if workflow is None:
            entries.append(entry)
            continue
        entry = replace(entry, workflow_id=str(workflow["id"]))
        try:
            diff = diff_workflows({**(template.workflow or {}), "name": template.name}, workflow)
        except WorkflowError as exc:
            entries.append(replace(entry, status="error", error=str(exc)))
            continue
        if diff.same:
            entries.append(replace(entry, status="in-sync"))
        else:
            entries.append(replace(entry, status="differs", diff=diff))
    if not state.selected_by_ref:
        for workflow in [*state.unlinked, *state.orphans]:
            entries.append(
                DiffEntry(
                    "missing-in-pumpflix",
                    str(workflow.get("name")),
                    workflow_id=str(workflow["id"]),
                )
            )
    return entries
