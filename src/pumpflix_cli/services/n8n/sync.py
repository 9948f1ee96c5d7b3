"""``n8n sync``, doing: carrying out a plan from ``plan`` (SPEC §6, issue 5).

`run_sync` makes the n8n writes a few at a time, then writes the templates and links in
one transaction. When n8n stops answering midway, the writes not yet begun are skipped,
what was written is linked, and the outage is raised (exit 69 or 75): the next run picks
up where this one stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pumpflix_cli.errors import (
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from pumpflix_cli.services.n8n.pairing import MANAGED_TAG
from pumpflix_cli.services.n8n.plan import Action, SyncPlan, SyncReport
from pumpflix_cli.text import plural

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.links import TemplateLink
    from pumpflix_cli.db.templates import TemplateDraft
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary


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
            f"{plural(done, 'change')} reached n8n and are recorded; once n8n answers, the same "
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
        template_id=template.id if template else None,
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
        results = TemplateStore(session).upsert(drafts, update_changed=True) if drafts else []
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
