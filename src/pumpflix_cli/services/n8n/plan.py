"""``n8n sync``, deciding: what to push, pull, link, delete or report (SPEC §6, issue 5).

Each template pairs with at most one n8n workflow (see `pairing`). Which side changed
since the last sync is told by the link: our content hash against the template's, n8n's
``updatedAt`` against the workflow's. A push sends what changed in pumpflix, a pull
brings in what changed in n8n, and when both changed (and differ) that is a conflict,
skipped unless ``prefer`` names the side that wins. Nothing that is equal is written, so a
second run writes nothing at all. A workflow a pull brings in is tagged ``pumpflix`` as it
is linked, like a pushed one, so it is pumpflix's in any database (adopted, pruned).
`plan_sync` decides all of it without writing; ``services/n8n/sync.py`` carries a plan out.
The actions, the report and the rules stay together (a little over 300 lines) so each
rule reads beside what it decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import camel_json
from pumpflix_cli.references import name_key
from pumpflix_cli.services.n8n.pairing import Pair, SyncState, is_managed
from pumpflix_cli.workflow import (
    PreparedWorkflow,
    WorkflowError,
    n8n_request_body,
    prepare,
    same_workflow,
)

if TYPE_CHECKING:
    from pumpflix_cli.records import TemplateRecord

Prefer = Literal["pumpflix", "n8n"]
ActionKind = Literal[
    "create",  # POST the template, tag it, link it
    "update",  # PUT the template over the workflow (and tag it if the tag is missing)
    "link",  # both sides hold the same content: record it, write nothing else
    "pull-update",  # a new template version from the workflow (and tag it if untagged)
    "pull-create",  # a new user template from a workflow made in n8n, which is tagged
    "delete",  # pruning: a pumpflix workflow (tagged, or linked) whose template is gone
    "unchanged",
    "conflict",
    "fail",
]
COUNTED_AS = {
    "create": "created",
    "pull-create": "created",
    "update": "updated",
    "pull-update": "updated",
    "link": "unchanged",
    "unchanged": "unchanged",
    "conflict": "conflicts",
    "delete": "deleted",
    "fail": "failed",
}


@dataclass(frozen=True)
class SyncOptions:
    push: bool
    pull: bool
    types: Sequence[str] = ("prebuilt", "user")
    refs: Sequence[str] = ()
    dry_run: bool = False
    prune: bool = False
    prefer: Prefer | None = None


@dataclass
class Action:
    kind: ActionKind
    name: str
    template: TemplateRecord | None = None
    workflow: dict[str, Any] | None = None
    body: dict[str, Any] | None = None  # what a push sends
    prepared: PreparedWorkflow | None = None  # what a pull stores
    add_tag: bool = False  # the workflow lacks the pumpflix tag: tag it once written
    reason: str | None = None  # for conflicts and failures

    @property
    def workflow_id(self) -> str | None:
        return None if self.workflow is None else str(self.workflow["id"])

    def problem(self) -> SyncProblem:
        return SyncProblem(
            kind="conflict" if self.kind == "conflict" else "failed",
            name=self.name,
            template_id=None if self.template is None else self.template.id,
            workflow_id=self.workflow_id,
            error=self.reason,
        )


@dataclass(frozen=True)
class SyncProblem:
    """A conflict (changed on both sides and not settled) or a failed item. A conflict's
    ``error`` says why it is one; how to settle it is the caller's to say."""

    kind: Literal["conflict", "failed"]
    name: str
    template_id: str | None
    workflow_id: str | None
    error: str | None


NoteKind = Literal[
    "workflow-gone",  # the linked n8n workflow is gone from n8n
    "changed-in-n8n",  # changed in n8n, but only pushing
    "orphan-kept",  # tagged pumpflix, no template here, and not pruning
    "deleted-kept",  # linked to a template deleted here, and not pruning
]


@dataclass(frozen=True)
class PlanNote:
    """Something the plan leaves alone that the user should hear about."""

    kind: NoteKind
    name: str
    workflow_id: str | None = None


@dataclass
class SyncPlan:
    options: SyncOptions
    state: SyncState
    actions: list[Action]
    notes: list[PlanNote] = field(default_factory=list)

    @property
    def deletions(self) -> list[Action]:
        return [a for a in self.actions if a.kind == "delete"]

    @property
    def pushes(self) -> list[Action]:
        """Actions that write to n8n other than deletions."""
        return [a for a in self.actions if a.kind in ("create", "update")]

    @property
    def pulls(self) -> list[Action]:
        return [a for a in self.actions if a.kind in ("pull-update", "pull-create")]

    @property
    def n8n_writes(self) -> int:
        """How many writes the plan makes in n8n: pushes, deletions and pulls' tags."""
        tags = sum(1 for a in self.pulls if a.add_tag)
        return len(self.pushes) + len(self.deletions) + tags


_REPORT_FIELDS = ("created", "updated", "unchanged", "conflicts", "deleted", "failed", "errors")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[SyncProblem] = field(default_factory=list)
    dry_run: bool = False
    changes: list[tuple[str, str]] = field(default_factory=list)  # (what, name), for people

    def count(self, action: Action) -> None:
        counter = COUNTED_AS[action.kind]
        setattr(self, counter, getattr(self, counter) + 1)
        if action.kind in ("conflict", "fail"):
            self.errors.append(action.problem())
        elif counter != "unchanged":
            self.changes.append((action.kind, action.name))

    @property
    def exit_code(self) -> ExitCode:
        if self.failed:
            return ExitCode.PARTIAL
        if self.conflicts:
            return ExitCode.CONFLICT
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=_REPORT_FIELDS)


# --- planning (no writes) -------------------------------------------------------------


def plan_sync(state: SyncState, options: SyncOptions) -> SyncPlan:
    plan = SyncPlan(options, state, [])
    for pair in state.pairs:
        action = _plan_pair(pair, options, plan.notes)
        if action is not None:
            plan.actions.append(action)
    if options.pull and not state.selected_by_ref and "user" in options.types:
        plan.actions.extend(_plan_new_templates(state))
    if not options.prune:
        # An orphan the user made by deleting its template is worth a word in every
        # direction; one found tagged is, when only pulling (a push could prune it).
        for w in state.orphans:
            if str(w["id"]) in state.deleted_here:
                plan.notes.append(PlanNote("deleted-kept", str(w.get("name")), str(w["id"])))
            elif options.pull and not options.push:
                plan.notes.append(PlanNote("orphan-kept", str(w.get("name")), str(w["id"])))
    if options.prune:
        plan.actions.extend(Action("delete", str(w.get("name")), workflow=w) for w in state.orphans)
    return plan


def _plan_pair(pair: Pair, options: SyncOptions, notes: list[PlanNote]) -> Action | None:
    template, workflow, link = pair.template, pair.workflow, pair.link
    name = template.name
    if workflow is None:
        if options.push:
            return _push_action("create", template, None)
        if link is not None:
            notes.append(PlanNote("workflow-gone", name, link.workflow_id))
        return None
    template_changed = link is None or template.content_hash != link.content_hash
    n8n_changed = link is None or workflow.get("updatedAt") != link.n8n_updated_at
    if not template_changed and not n8n_changed:
        return Action("unchanged", name, template, workflow)
    try:
        same = same_workflow({**(template.workflow or {}), "name": name}, workflow)
    except WorkflowError as exc:
        return Action("fail", name, template, workflow, reason=str(exc))
    if same:
        unfinished = link is not None and link.n8n_updated_at is None  # see `_link_for`
        if unfinished and not is_managed(workflow):
            return Action("update", name, template, workflow, add_tag=True)  # the tag only
        return Action("link", name, template, workflow)
    winner = _winner(link is None, template_changed, n8n_changed, options)
    if winner == "pumpflix":
        return _push_action("update", template, workflow)
    if winner == "n8n":
        return _pull_action(template, workflow)
    if winner == "conflict":
        why = (
            "no sync recorded, and the template and the n8n workflow differ"
            if link is None
            else "changed in pumpflix and in n8n since the last sync"
        )
        return Action("conflict", name, template, workflow, reason=why)
    if n8n_changed and options.push:
        notes.append(PlanNote("changed-in-n8n", name, str(workflow["id"])))
    return Action("unchanged", name, template, workflow)


def _winner(
    unlinked: bool, template_changed: bool, n8n_changed: bool, options: SyncOptions
) -> str | None:
    """Which side's content should land: "pumpflix", "n8n", "conflict", or None (the
    changed side is not the direction asked for)."""
    if unlinked:  # no baseline: the direction asked for decides, or `prefer` for both
        if options.push and options.pull:
            return options.prefer or "conflict"
        return "pumpflix" if options.push else "n8n"
    if template_changed and n8n_changed:
        return options.prefer or "conflict"
    if template_changed:
        return "pumpflix" if options.push else None
    return "n8n" if options.pull else None


def _push_action(
    kind: ActionKind, template: TemplateRecord, workflow: dict[str, Any] | None
) -> Action:
    try:
        body = n8n_request_body(template.workflow or {}, name=template.name)
    except WorkflowError as exc:
        return Action("fail", template.name, template, workflow, reason=f"cannot push: {exc}")
    missing_tag = workflow is None or not is_managed(workflow)
    return Action(kind, template.name, template, workflow, body=body, add_tag=missing_tag)


def _pull_action(template: TemplateRecord, workflow: dict[str, Any]) -> Action:
    try:
        prepared = prepare(n8n_request_body(workflow), fallback_name=template.name)
    except WorkflowError as exc:
        return Action("fail", template.name, template, workflow, reason=f"cannot pull: {exc}")
    return Action(
        "pull-update",
        template.name,
        template,
        workflow,
        prepared=prepared,
        add_tag=not is_managed(workflow),
    )


def _plan_new_templates(state: SyncState) -> list[Action]:
    """Workflows made in n8n become user templates; a name that another user template or
    another such workflow holds is refused, naming the other."""
    taken = state.template_names("user")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for workflow in state.unlinked:
        by_name.setdefault(name_key(str(workflow.get("name"))), []).append(workflow)
    actions: list[Action] = []
    for key, workflows in by_name.items():
        for workflow in workflows:
            name = str(workflow.get("name"))
            others = [str(w["id"]) for w in workflows if w is not workflow]
            if others:
                reason = f"n8n workflows {', '.join(others)} have the same name; rename one"
            elif key in taken:
                reason = f"a user template named '{name}' exists already; rename one of them"
            else:
                try:
                    prepared = prepare(n8n_request_body(workflow), fallback_name=name)
                except WorkflowError as exc:
                    reason = f"cannot pull: {exc}"
                else:
                    actions.append(
                        Action("pull-create", name, None, workflow, prepared=prepared, add_tag=True)
                    )
                    continue
            actions.append(Action("fail", name, None, workflow, reason=reason))
    return actions
