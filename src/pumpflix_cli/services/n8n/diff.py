"""``n8n diff``: per template, whether n8n holds the same workflow, and if not, which nodes
were added, removed or changed (positions, node ids and other volatile fields ignored)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import camel_json
from pumpflix_cli.services.n8n.pairing import SyncState
from pumpflix_cli.workflow import WorkflowDiff, WorkflowError, diff_workflows

Status = Literal["in-sync", "differs", "missing-in-n8n", "missing-in-pumpflix", "error"]
_NAMING = ("name", "template_id", "source_type", "workflow_id", "status")


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
        diff = None if self.diff is None else self.diff.to_json()  # its own JSON shape
        return camel_json(self, only=_NAMING) | {"diff": diff, "error": self.error}


@dataclass(frozen=True)
class DiffReport:
    entries: list[DiffEntry]
    fail_on_difference: bool = False

    @property
    def in_sync(self) -> bool:
        return all(entry.status == "in-sync" for entry in self.entries)

    @property
    def exit_code(self) -> ExitCode:
        """A difference is the answer, not a failure — unless the caller asked to fail on
        one (as ``git diff --exit-code``: a CI step that must stop on drift)."""
        if self.fail_on_difference and not self.in_sync:
            return ExitCode.FAILURE
        return ExitCode.OK

    def to_json(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.entries]


def diff_state(state: SyncState, *, fail_on_difference: bool = False) -> DiffReport:
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
    return DiffReport(entries, fail_on_difference)
