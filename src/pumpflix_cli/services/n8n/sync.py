"""``n8n sync``, doing: carrying out a plan from ``plan`` (SPEC §6, issue 5).

`run_sync` makes the n8n writes a few at a time, then writes the templates and links in
one transaction, then tags the workflows pulled in. When n8n stops answering midway, the
writes not yet begun are skipped, what was written is linked, and the outage is raised
(exit 69 or 75): the next run picks up where this one stopped.

A pulled workflow is tagged only once its template is stored (a tagged workflow without a
template would be pruned); until the tag is on, its link records no n8n time, which
tells the next sync to tag it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.services.n8n.plan import Action, SyncPlan, SyncReport
from pumpflix_cli.services.n8n.writes import (
    Outage,
    Pushed,
    delete_workflows,
    push_workflows,
    tag_workflows,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.links import TemplateLink
    from pumpflix_cli.db.templates import TemplateDraft
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary


@dataclass(frozen=True)
class _Pulled:
    """A pull whose template is stored: how it counts once tagged, and its link."""

    action: Action
    counted: Action
    link: TemplateLink


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
    outage = Outage()
    pushed = push_workflows(plan.pushes, client, progress, outage) if plan.pushes else {}
    deleted = delete_workflows(plan.deletions, client, progress, outage)
    for action in plan.actions:
        if action.kind in ("pull-update", "pull-create"):
            continue  # counted once written and tagged
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
    landed = _write(plan.pulls, links, plan, database, library, report)
    to_tag = [pulled.action for pulled in landed if pulled.action.add_tag]
    untagged = tag_workflows(to_tag, client, progress, outage)
    for pulled in landed:
        error = untagged.get(id(pulled.action))
        report.count(pulled.counted if error is None else _failed(pulled.action, error))
    tagged = [p.link for p in landed if p.action.add_tag and id(p.action) not in untagged]
    _finish_links(tagged, plan, database)
    outage.raise_if_any(report.created + report.updated + report.deleted)
    return report


def _failed(action: Action, error: PumpflixError | str) -> Action:
    reason = error if isinstance(error, str) else error.message
    return Action("fail", action.name, action.template, action.workflow, reason=reason)


def _link_for(action: Action, outcome: Pushed | None) -> TemplateLink | None:
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
) -> list[_Pulled]:
    """New template versions, new templates and every link, in one transaction; then the
    cache entries of the changed templates are invalidated. The pulls that landed come
    back to be tagged and counted (a refused one is counted here)."""
    from pumpflix_cli.db.links import LinkStore, TemplateLink
    from pumpflix_cli.db.templates import TemplateStore

    deleted = [str(a.workflow_id) for a in plan.deletions if a.workflow_id]
    forgotten = deleted + plan.state.spent_tombstones
    if not (pulls or links or forgotten):
        return []
    landed: list[_Pulled] = []
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
            # No n8n time until the tag is on: the mark of a link to finish (see above).
            seen_at = None if action.add_tag else (action.workflow or {}).get("updatedAt")
            link = TemplateLink(
                result.id, str(action.workflow_id), result.draft.content_hash, seen_at
            )
            links.append(link)
            counted = action if result.outcome != "unchanged" else _as_unchanged(action)
            landed.append(_Pulled(action, counted, link))
            if result.outcome != "unchanged":
                changed.setdefault(result.draft.source_type, []).append(result.id)
                if result.previous_type and result.previous_type != result.draft.source_type:
                    changed.setdefault(result.previous_type, []).append(result.id)
        store = LinkStore(session, plan.state.n8n_url)
        store.forget_workflows(forgotten)
        store.save_template_links(links)
    library.invalidate_cache(changed)
    return landed


def _finish_links(
    tagged: Sequence[TemplateLink], plan: SyncPlan, database: Callable[[], Database]
) -> None:
    """Record n8n's time on the links of pulled workflows now tagged (tagging leaves a
    workflow's ``updatedAt`` as it was)."""
    from pumpflix_cli.db.links import LinkStore

    if not tagged:
        return
    seen = {str(w["id"]): w.get("updatedAt") for w in plan.state.workflows}
    with database().session() as session:
        LinkStore(session, plan.state.n8n_url).save_template_links(
            [replace(link, n8n_updated_at=seen.get(link.workflow_id)) for link in tagged]
        )


def _as_unchanged(action: Action) -> Action:
    return Action("unchanged", action.name, action.template, action.workflow)
