"""Both sides of a sync, read once, and which template goes with which n8n workflow.

A template's workflow is the one its ``pumpflix_n8n_links`` row names for this n8n. Without a link,
a template and a workflow tagged ``pumpflix`` that share a name, each the only one of its
side with that name, are taken as a pair ("adopted"): so a fresh database pushing the
same templates again (a CI job) updates the workflows instead of duplicating them.
Workflows tagged ``pumpflix-instance`` or linked to an instance belong to instances and
are never touched; archived workflows are n8n's bin and count as gone.

A link outlives its template: deleting a template keeps its link as a tombstone, so the
workflow it names stays pumpflix's whether or not it carries the tag (a workflow pulled
before pulls tagged does not). Such a workflow is never pulled back as a new template; it
is an orphan for ``--prune``, or is adopted by a new template of its name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord
from pumpflix_cli.references import name_key

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.links import LinkRecord
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary

MANAGED_TAG = "pumpflix"
INSTANCE_TAG = "pumpflix-instance"


def tag_names(workflow: dict[str, Any]) -> set[str]:
    return {
        str(tag.get("name"))
        for tag in workflow.get("tags") or []
        if isinstance(tag, dict) and tag.get("name")
    }


def is_managed(workflow: dict[str, Any]) -> bool:
    return MANAGED_TAG in tag_names(workflow)


@dataclass(frozen=True)
class Pair:
    """A template and its n8n workflow (None: not in n8n), with the link of the last sync
    (None: never synced, or adopted by name)."""

    template: TemplateRecord
    workflow: dict[str, Any] | None
    link: LinkRecord | None


@dataclass
class SyncState:
    """What a sync or a diff starts from."""

    n8n_url: str
    templates: list[TemplateRecord]  # the selected templates, with their JSON
    all_templates: list[TemplateRecord]  # every template, without JSON
    links: list[LinkRecord]
    workflows: list[dict[str, Any]]
    selected_by_ref: bool = False

    pairs: list[Pair] = field(init=False)
    unlinked: list[dict[str, Any]] = field(init=False)  # made in n8n, no template
    orphans: list[dict[str, Any]] = field(init=False)  # pumpflix's, template gone
    # Ids of orphans linked to a template deleted here (tagged or not), and of tombstones
    # whose workflow is gone from n8n as well (nothing is left for them to guard).
    deleted_here: set[str] = field(init=False)
    spent_tombstones: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self._pair()

    def _pair(self) -> None:
        live = {str(w["id"]): w for w in self.workflows if not w.get("isArchived")}
        instance_ids = {link.workflow_id for link in self.links if link.kind == "instance"}
        ours = {
            wid: w
            for wid, w in live.items()
            if wid not in instance_ids and INSTANCE_TAG not in tag_names(w)
        }
        known = {t.id for t in self.all_templates}
        by_template: dict[str, LinkRecord] = {}
        tombstones: set[str] = set()  # workflows linked to a template deleted here
        for row in self.links:
            if row.kind != "template" or row.template_id is None:
                continue
            if row.template_id in known:
                by_template[row.template_id] = row
            else:
                tombstones.add(row.workflow_id)
        self.spent_tombstones = sorted(tombstones - set(live))
        linked = {link.workflow_id for link in by_template.values()}

        def pumpflix_owns(wid: str, workflow: dict[str, Any]) -> bool:
            return wid in tombstones or is_managed(workflow)

        adopted = _adopt(
            [t for t in self.all_templates if t.id not in by_template],
            [w for wid, w in ours.items() if wid not in linked and pumpflix_owns(wid, w)],
        )
        taken = linked | {str(w["id"]) for w in adopted.values()}
        self.pairs = []
        for template in self.templates:
            link = by_template.get(template.id)
            if link is not None:
                self.pairs.append(Pair(template, ours.get(link.workflow_id), link))
            else:
                self.pairs.append(Pair(template, adopted.get(template.id), None))
        free = {wid: w for wid, w in ours.items() if wid not in taken}
        self.unlinked = [w for wid, w in free.items() if not pumpflix_owns(wid, w)]
        self.orphans = [w for wid, w in free.items() if pumpflix_owns(wid, w)]
        self.deleted_here = tombstones & set(free)

    def template_names(self, source_type: str) -> set[str]:
        """The names of ``source_type``'s templates, in normalised form (`name_key`)."""
        return {name_key(t.name) for t in self.all_templates if t.source_type == source_type}


def _adopt(
    templates: Sequence[TemplateRecord], workflows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """template id → workflow, for names held by exactly one unlinked template and one
    unlinked managed workflow."""
    by_name: dict[str, list[TemplateRecord]] = defaultdict(list)
    for template in templates:
        by_name[name_key(template.name)].append(template)
    flows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for workflow in workflows:
        flows[name_key(str(workflow.get("name")))].append(workflow)
    return {
        by_name[name][0].id: found[0]
        for name, found in flows.items()
        if len(found) == 1 and len(by_name.get(name, ())) == 1
    }


def load_state(
    client: N8nClient,
    database: Callable[[], Database],
    library: TemplateLibrary,
    *,
    types: Sequence[str] = SOURCE_TYPES,
    refs: Sequence[str] = (),
) -> SyncState:
    """Read n8n's workflows (one paginated list), then the templates and links."""
    from pumpflix_cli.db.links import LinkStore
    from pumpflix_cli.db.templates import TemplateStore

    ids = [record.id for record in library.resolve_many(refs)] if refs else None
    workflows = client.workflows()
    with database().session() as session:
        store = TemplateStore(session)
        all_templates = store.summaries(SOURCE_TYPES)
        selected_types = SOURCE_TYPES if ids is not None else types
        templates = list(store.stream(selected_types, ids=ids))
        links = LinkStore(session, client.base_url).all()
    return SyncState(
        n8n_url=client.base_url,
        templates=templates,
        all_templates=all_templates,
        links=links,
        workflows=workflows,
        selected_by_ref=ids is not None,
    )
