"""``n8n sync``: keep templates and an n8n instance in step (SPEC §6, issue 5).

Each template pairs with at most one n8n workflow (see `n8n_state`). Which side changed
since the last sync is told by the link: our content hash against the template's, n8n's
``updatedAt`` against the workflow's. A push sends what changed in pumpflix, a pull
brings in what changed in n8n, and when both changed (and differ) that is a conflict,
skipped unless ``prefer`` names the side that wins. Nothing that is equal is written, so a
second run writes nothing at all.

`plan_sync` decides everything without writing; `run_sync` carries a plan out: the n8n
writes a few at a time, then the templates and links in one transaction. When n8n stops
answering midway, the writes not yet begun are skipped, what was written is linked, and
the outage is raised (exit 69 or 75): the next run picks up where this one stopped.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pumpflix_cli.errors import (
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    ServiceUnreachableError,
    UsageError,
)
from pumpflix_cli.services.n8n_state import MANAGED_TAG, Pair, SyncState, is_managed
from pumpflix_cli.workflow import (
    PreparedWorkflow,
    WorkflowError,
    n8n_request_body,
    prepare,
    same_workflow,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.links import TemplateLink
    from pumpflix_cli.db.templates import TemplateDraft
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.records import TemplateRecord
    from pumpflix_cli.services.templates import TemplateLibrary

Prefer = Literal["pumpflix", "n8n"]
ActionKind = Literal[
    "create",  # POST the template, tag it, link it
    "update",  # PUT the template over the workflow (and tag it if the tag is missing)
    "link",  # both sides hold the same content: record it, write nothing else
    "pull-update",  # a new template version from the workflow
    "pull-create",  # a new user template from a workflow made in n8n
    "delete",  # --prune: a pumpflix workflow whose template is gone
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

    def check(self) -> None:
        if not (self.push or self.pull):
            raise UsageError("say which way to sync", hint="add --push, --pull or --both")
        if self.prune and not self.push:
            raise UsageError("--prune deletes from n8n, so it needs --push or --both")
        if self.prune and self.refs:
            raise UsageError(
                "--prune works on the whole n8n, not on named templates",
                hint="run it without template references",
            )
        if self.prefer == "pumpflix" and not self.push:
            raise UsageError("--prefer pumpflix needs --push or --both")
        if self.prefer == "n8n" and not self.pull:
            raise UsageError("--prefer n8n needs --pull or --both")


@dataclass
class Action:
    kind: ActionKind
    name: str
    template: TemplateRecord | None = None
    workflow: dict[str, Any] | None = None
    body: dict[str, Any] | None = None  # what a push sends
    prepared: PreparedWorkflow | None = None  # what a pull stores
    add_tag: bool = False
    reason: str | None = None  # for conflicts and failures

    @property
    def workflow_id(self) -> str | None:
        return None if self.workflow is None else str(self.workflow["id"])

    def problem(self) -> dict[str, Any]:
        return {
            "kind": "conflict" if self.kind == "conflict" else "failed",
            "name": self.name,
            "templateId": None if self.template is None else self.template.id,
            "workflowId": self.workflow_id,
            "error": self.reason,
        }


@dataclass
class SyncPlan:
    options: SyncOptions
    state: SyncState
    actions: list[Action]
    notes: list[str] = field(default_factory=list)

    @property
    def deletions(self) -> list[Action]:
        return [a for a in self.actions if a.kind == "delete"]

    @property
    def pushes(self) -> list[Action]:
        """Actions that write to n8n other than deletions."""
        return [a for a in self.actions if a.kind in ("create", "update")]


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    changes: list[tuple[str, str]] = field(default_factory=list)  # (what, name), for people

    def count(self, action: Action) -> None:
        counter = COUNTED_AS[action.kind]
        setattr(self, counter, getattr(self, counter) + 1)
        if action.kind in ("conflict", "fail"):
            self.errors.append(action.problem())
        elif counter != "unchanged":
            self.changes.append((action.kind, action.name))

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "deleted": self.deleted,
            "failed": self.failed,
            "errors": self.errors,
        }


# --- planning (no writes) -------------------------------------------------------------


def plan_sync(state: SyncState, options: SyncOptions) -> SyncPlan:
    options.check()
    plan = SyncPlan(options, state, [])
    for pair in state.pairs:
        action = _plan_pair(pair, options, plan.notes)
        if action is not None:
            plan.actions.append(action)
    if options.pull and not state.selected_by_ref and "user" in options.types:
        plan.actions.extend(_plan_new_templates(state))
    if options.pull and not options.push:
        for workflow in state.orphans:
            plan.notes.append(
                f"n8n workflow '{workflow.get('name')}' ({workflow['id']}) is tagged "
                f"{MANAGED_TAG} but has no template here: left alone "
                "(n8n sync --push --prune deletes it)"
            )
    if options.prune:
        plan.actions.extend(Action("delete", str(w.get("name")), workflow=w) for w in state.orphans)
    return plan


def _plan_pair(pair: Pair, options: SyncOptions, notes: list[str]) -> Action | None:
    template, workflow, link = pair.template, pair.workflow, pair.link
    name = template.name
    if workflow is None:
        if options.push:
            return _push_action("create", template, None)
        if link is not None:
            notes.append(f"'{name}': its n8n workflow {link.workflow_id} is gone from n8n")
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
        if options.push and unfinished and not is_managed(workflow):
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
        return Action(
            "conflict",
            name,
            template,
            workflow,
            reason=f"{why}; --prefer pumpflix or --prefer n8n decides",
        )
    if n8n_changed and options.push:
        notes.append(f"'{name}' changed in n8n since the last sync (n8n sync --pull brings it)")
    return Action("unchanged", name, template, workflow)


def _winner(
    unlinked: bool, template_changed: bool, n8n_changed: bool, options: SyncOptions
) -> str | None:
    """Which side's content should land: "pumpflix", "n8n", "conflict", or None (the
    changed side is not the direction asked for)."""
    if unlinked:  # no baseline: the direction asked for decides, or --prefer for --both
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
    return Action("pull-update", template.name, template, workflow, prepared=prepared)


def _plan_new_templates(state: SyncState) -> list[Action]:
    """Workflows made in n8n become user templates; a name that another user template or
    another such workflow holds is refused, naming the other."""
    taken = state.template_names("user")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for workflow in state.unlinked:
        by_name.setdefault(str(workflow.get("name")), []).append(workflow)
    actions: list[Action] = []
    for name, workflows in by_name.items():
        for workflow in workflows:
            others = [str(w["id"]) for w in workflows if w is not workflow]
            if others:
                reason = f"n8n workflows {', '.join(others)} have the same name; rename one"
            elif name in taken:
                reason = f"a user template named '{name}' exists already; rename one of them"
            else:
                try:
                    prepared = prepare(n8n_request_body(workflow), fallback_name=name)
                except WorkflowError as exc:
                    reason = f"cannot pull: {exc}"
                else:
                    actions.append(Action("pull-create", name, None, workflow, prepared=prepared))
                    continue
            actions.append(Action("fail", name, None, workflow, reason=reason))
    return actions


# --- carrying a plan out --------------------------------------------------------------


@dataclass
class _Pushed:
    action: Action
    workflow_id: str | None = None
    updated_at: str | None = None
    error: PumpflixError | None = None


def run_sync(
    plan: SyncPlan,
    *,
    client: N8nClient,
    database: Callable[[], Database],
    library: TemplateLibrary,
    progress: Callable[[int], None] = lambda _n: None,
) -> SyncReport:
    """Carry the plan out (or only count it, for a dry run) and report what happened."""
    report = SyncReport(dry_run=plan.options.dry_run)
    if plan.options.dry_run:
        for action in plan.actions:
            report.count(action)
        return report
    links: list[TemplateLink] = []
    outage = _Outage()
    pushed = _push(plan.pushes, client, progress, outage) if plan.pushes else {}
    deleted = _delete(plan.deletions, client, progress, outage)
    for action in plan.actions:
        if action.kind in ("pull-update", "pull-create"):
            continue  # counted once written
        outcome = pushed.get(id(action))
        if outcome is not None and outcome.error is not None:
            report.count(_failed(action, outcome.error))
        elif action.kind == "delete" and id(action) in deleted:
            error = deleted[id(action)]
            report.count(action if error is None else _failed(action, error))
        else:
            report.count(action)
        link = _link_for(action, outcome)
        if link is not None:
            links.append(link)
    pulls = [a for a in plan.actions if a.kind in ("pull-update", "pull-create")]
    _write(pulls, links, plan, database, library, report)
    outage.raise_if_any(report.created + report.updated + report.deleted)
    return report


class _Outage:
    """The first sign that n8n stopped answering (refused, dropped or timed out, after the
    client's retries), shared by the writers: once it is seen, no further write starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: ServiceUnavailableError | None = None

    def check(self) -> None:
        """Refuse to start another write once n8n is seen to be gone."""
        if self.error is not None:
            raise PumpflixError("skipped: n8n stopped answering")

    def note(self, exc: PumpflixError) -> None:
        # Only a failed connection or a timeout: a 5xx for one workflow stays that
        # workflow's failure.
        if isinstance(exc, ServiceUnreachableError | ServiceTimeoutError):
            with self._lock:
                self.error = self.error or exc

    def raise_if_any(self, done: int) -> None:
        if self.error is None:
            return
        progress = (
            f"{done} change(s) reached n8n and are recorded; once n8n answers, the same "
            "sync carries on from there"
        )
        self.error.hint = f"{self.error.hint}; {progress}" if self.error.hint else progress
        raise self.error


def _failed(action: Action, error: PumpflixError | str) -> Action:
    reason = error if isinstance(error, str) else error.message
    return Action("fail", action.name, action.template, action.workflow, reason=reason)


def _push(
    actions: Sequence[Action],
    client: N8nClient,
    progress: Callable[[int], None],
    outage: _Outage,
) -> dict[int, _Pushed]:
    tag_id = client.ensure_tag(MANAGED_TAG)

    def write(action: Action) -> _Pushed:
        outage.check()
        outcome = _Pushed(action, action.workflow_id)
        try:
            if action.kind == "create" and action.body is not None:
                created = client.create_workflow(action.body)
                outcome.workflow_id = str(created["id"])
                outcome.updated_at = created.get("updatedAt")
            elif action.kind == "update" and action.body is not None and outcome.workflow_id:
                updated = client.update_workflow(outcome.workflow_id, action.body)
                outcome.updated_at = updated.get("updatedAt")
        except PumpflixError as exc:
            outage.note(exc)
            raise
        if action.add_tag and outcome.workflow_id:
            try:
                existing = [str(t["id"]) for t in (action.workflow or {}).get("tags") or []]
                client.set_workflow_tags(outcome.workflow_id, [*existing, tag_id])
            except PumpflixError as exc:  # written but untagged: the next push tags it
                outage.note(exc)
                outcome.error = exc
        return outcome

    results: dict[int, _Pushed] = {}
    for action, outcome, error in client.map(write, actions):
        results[id(action)] = outcome if outcome is not None else _Pushed(action, error=error)
        progress(1)
    return results


def _delete(
    actions: Sequence[Action],
    client: N8nClient,
    progress: Callable[[int], None],
    outage: _Outage,
) -> dict[int, PumpflixError | None]:
    def delete(action: Action) -> None:
        outage.check()
        try:
            client.delete_workflow(str(action.workflow_id))
        except PumpflixError as exc:
            outage.note(exc)
            raise

    results: dict[int, PumpflixError | None] = {}
    for action, _none, error in client.map(delete, actions):
        results[id(action)] = error
        progress(1)
    return results


def _link_for(action: Action, outcome: _Pushed | None) -> TemplateLink | None:
    """The link to record after a push-side action (pulls are linked once written)."""
    from pumpflix_cli.db.links import TemplateLink

    template = action.template
    if template is None or action.kind not in ("create", "update", "link"):
        return None
    workflow_id = outcome.workflow_id if outcome is not None else action.workflow_id
    if workflow_id is None:
        return None  # the create failed
    updated_at: str | None
    if outcome is not None and outcome.error is not None:
        # Written, but tagging it failed: no n8n time marks the link as unfinished, so the
        # next push (seeing the same content, untagged) tags it.
        updated_at = None
    elif outcome is not None and outcome.updated_at is not None:
        updated_at = outcome.updated_at
    else:
        updated_at = (action.workflow or {}).get("updatedAt")
    return TemplateLink(template.id, workflow_id, template.content_hash, updated_at)


def _draft(action: Action) -> TemplateDraft:
    from pumpflix_cli.db.templates import TemplateDraft

    prepared = action.prepared
    assert prepared is not None
    template = action.template
    return TemplateDraft(
        name=prepared.name,
        source_type=template.source_type if template else "user",
        workflow=prepared.workflow,
        content_hash=prepared.content_hash,
        required_credentials=prepared.required_credentials,
        input_variables=prepared.input_variables,
        template_id=uuid.UUID(template.id) if template else None,
    )


def _write(
    pulls: Sequence[Action],
    links: list[TemplateLink],
    plan: SyncPlan,
    database: Callable[[], Database],
    library: TemplateLibrary,
    report: SyncReport,
) -> None:
    """New template versions, new templates and every link, in one transaction; then the
    cache entries of the changed templates are invalidated."""
    from pumpflix_cli.db.links import LinkStore, TemplateLink
    from pumpflix_cli.db.templates import TemplateStore

    deleted = [str(a.workflow_id) for a in plan.deletions if a.workflow_id]
    if not (pulls or links or deleted):
        return
    changed: dict[str, list[str]] = {}
    drafts = [_draft(action) for action in pulls]
    action_of = {id(draft): action for draft, action in zip(drafts, pulls, strict=True)}
    with database().session() as session:
        # upsert returns its results in its own order; each names its draft
        results = TemplateStore(session).upsert(drafts, "update") if drafts else []
        for result in results:
            action = action_of[id(result.draft)]
            if result.outcome == "failed" or result.id is None:
                report.count(_failed(action, result.error or "refused"))
                continue
            report.count(action if result.outcome != "unchanged" else _as_unchanged(action))
            links.append(
                TemplateLink(
                    result.id,
                    str(action.workflow_id),
                    result.draft.content_hash,
                    (action.workflow or {}).get("updatedAt"),
                )
            )
            if result.outcome != "unchanged":
                changed.setdefault(result.draft.source_type, []).append(result.id)
                if result.previous_type and result.previous_type != result.draft.source_type:
                    changed.setdefault(result.previous_type, []).append(result.id)
        store = LinkStore(session, plan.state.n8n_url)
        store.forget_workflows(deleted)
        store.save_template_links(links)
    library.invalidate_cache(changed)


def _as_unchanged(action: Action) -> Action:
    return Action("unchanged", action.name, action.template, action.workflow)
