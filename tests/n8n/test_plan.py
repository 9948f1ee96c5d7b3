"""What a sync decides for each template and workflow, before writing anything
(services/n8n/plan.py `plan_sync` over services/n8n/pairing.py `SyncState`)."""

from __future__ import annotations

import uuid
from typing import Any

from pumpflix_cli.db.links import LinkRecord
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.n8n.pairing import SyncState
from pumpflix_cli.services.n8n.plan import SyncOptions, plan_sync
from pumpflix_cli.workflow import content_hash
from tests.factories import workflow

URL = "http://n8n.test"
PUSH = SyncOptions(push=True, pull=False)
PULL = SyncOptions(push=False, pull=True)
BOTH = SyncOptions(push=True, pull=True)


def template(name: str, text: str = "hello", source_type: str = "prebuilt") -> TemplateRecord:
    document = workflow(name, text=text)
    return TemplateRecord(
        id=str(uuid.uuid4()),
        name=name,
        source_type=source_type,
        version=1,
        content_hash=content_hash(document),
        workflow=document,
    )


def remote(
    name: str, text: str = "hello", *, tags: tuple[str, ...] = ("pumpflix",), at: str = "t1"
) -> dict[str, Any]:
    document = workflow(name, text=text)
    return {
        **{k: document[k] for k in ("name", "nodes", "connections", "settings")},
        "id": f"wf-{uuid.uuid4().hex[:8]}",
        "updatedAt": at,
        "isArchived": False,
        "tags": [{"id": f"tag-{t}", "name": t} for t in tags],
    }


def link(t: TemplateRecord, w: dict[str, Any], *, hash_: str | None = None) -> LinkRecord:
    return LinkRecord(
        workflow_id=w["id"],
        kind="template",
        template_id=t.id,
        instance_id=None,
        content_hash=hash_ or t.content_hash,
        n8n_updated_at=w["updatedAt"],
    )


def state(
    templates: list[TemplateRecord],
    workflows: list[dict[str, Any]],
    links: list[LinkRecord] = (),  # type: ignore[assignment]
) -> SyncState:
    return SyncState(URL, templates, list(templates), list(links), workflows)


def kinds(options: SyncOptions, sync_state: SyncState) -> dict[str, str]:
    return {a.name: a.kind for a in plan_sync(sync_state, options).actions}


def test_unlinked_templates_are_created_and_linked_ones_left_alone() -> None:
    new, old = template("New"), template("Old")
    pushed = remote("Old")

    assert kinds(PUSH, state([new, old], [pushed], [link(old, pushed)])) == {
        "New": "create",
        "Old": "unchanged",
    }


def test_a_change_on_one_side_flows_in_the_direction_asked_for() -> None:
    ours = template("Flow", text="new")
    theirs = remote("Flow", text="old")
    changed_here = state([ours], [theirs], [link(ours, theirs, hash_="old-hash")])
    assert kinds(PUSH, changed_here) == {"Flow": "update"}
    assert kinds(PULL, changed_here) == {"Flow": "unchanged"}

    mine = template("Flow", text="old")
    edited = remote("Flow", text="edited", at="t2")
    changed_there = state([mine], [edited], [link(mine, {**edited, "updatedAt": "t1"})])
    assert kinds(PULL, changed_there) == {"Flow": "pull-update"}
    plan = plan_sync(changed_there, PUSH)
    assert [a.kind for a in plan.actions] == ["unchanged"]
    assert [(note.kind, note.name) for note in plan.notes] == [("changed-in-n8n", "Flow")]


def test_a_change_on_both_sides_is_a_conflict_unless_a_side_is_preferred() -> None:
    ours = template("Flow", text="ours")
    theirs = remote("Flow", text="theirs", at="t2")
    both = state([ours], [theirs], [link(ours, {**theirs, "updatedAt": "t1"}, hash_="base")])

    for options in (PUSH, PULL, BOTH):
        assert kinds(options, both) == {"Flow": "conflict"}
    assert kinds(SyncOptions(push=True, pull=True, prefer="pumpflix"), both) == {"Flow": "update"}
    assert kinds(SyncOptions(push=True, pull=True, prefer="n8n"), both) == {"Flow": "pull-update"}


def test_both_sides_changed_to_the_same_content_only_records_it() -> None:
    ours = template("Flow", text="same")
    theirs = remote("Flow", text="same", at="t2")
    both = state([ours], [theirs], [link(ours, {**theirs, "updatedAt": "t1"}, hash_="base")])

    assert kinds(BOTH, both) == {"Flow": "link"}


def test_a_linked_workflow_without_the_tag_gets_it_with_its_next_update() -> None:
    # A workflow pulled before pulls tagged is linked but untagged; writing pumpflix's
    # content into it tags it, and a sync with nothing to send writes nothing.
    ours = template("Flow")
    untagged = remote("Flow", tags=())
    assert kinds(PUSH, state([ours], [untagged], [link(ours, untagged)])) == {"Flow": "unchanged"}

    older = remote("Flow", text="older", tags=())
    changed = state([ours], [older], [link(ours, older, hash_="before")])
    [action] = plan_sync(changed, PUSH).actions
    assert (action.kind, action.add_tag) == ("update", True)


def test_a_fresh_database_adopts_a_pumpflix_workflow_of_the_same_name() -> None:
    ours, theirs = template("Flow", text="v2"), remote("Flow", text="v1")

    assert kinds(PUSH, state([ours], [theirs])) == {"Flow": "update"}
    assert kinds(PULL, state([ours], [theirs])) == {"Flow": "pull-update"}
    assert kinds(BOTH, state([ours], [theirs])) == {"Flow": "conflict"}
    same = remote("Flow", text="v2")
    assert kinds(PUSH, state([ours], [same])) == {"Flow": "link"}


def test_a_name_held_twice_is_never_adopted() -> None:
    prebuilt, user = template("Flow"), template("Flow", source_type="user")
    found = remote("Flow")

    plan = plan_sync(state([prebuilt, user], [found]), SyncOptions(push=True, pull=False))

    assert [a.kind for a in plan.actions] == ["create", "create"]
    assert plan.state.orphans == [found]


def test_workflows_made_in_n8n_become_user_templates_unless_the_name_is_taken() -> None:
    taken = template("Taken", source_type="user")
    made = remote("Made in n8n", tags=())
    clash = remote("Taken", tags=())
    twin_a, twin_b = remote("Twin", tags=()), remote("Twin", tags=())

    plan = plan_sync(state([taken], [made, clash, twin_a, twin_b]), PULL)

    by_workflow = {a.workflow_id: a for a in plan.actions if a.template is None}
    assert by_workflow[made["id"]].kind == "pull-create"
    assert by_workflow[clash["id"]].kind == "fail"
    assert "a user template named 'Taken' exists" in str(by_workflow[clash["id"]].reason)
    assert by_workflow[twin_a["id"]].kind == by_workflow[twin_b["id"]].kind == "fail"
    assert twin_b["id"] in str(by_workflow[twin_a["id"]].reason)


def test_instances_and_archived_workflows_are_never_touched() -> None:
    instance = remote("Run 1", tags=("pumpflix-instance",))
    archived = {**remote("Old", tags=()), "isArchived": True}
    orphan = remote("Gone")

    plan = plan_sync(state([], [instance, archived, orphan]), SyncOptions(True, True, prune=True))

    assert [(a.kind, a.workflow_id) for a in plan.actions] == [("delete", orphan["id"])]


def test_a_template_that_n8n_refuses_fails_alone() -> None:
    too_long = template("x" * 150)
    fine = template("Fine")

    plan = plan_sync(state([too_long, fine], []), PUSH)

    assert [a.kind for a in plan.actions] == ["fail", "create"]
    assert "n8n allows at most 128" in str(plan.actions[0].reason)


def test_pulls_tag_the_workflows_they_bring_in() -> None:
    made = remote("Made in n8n", tags=())
    mine, untagged = template("Flow", text="old"), remote("Flow", text="edited", tags=(), at="t2")
    tagged_mine, tagged = template("Tagged", text="old"), remote("Tagged", text="new", at="t2")
    links = [
        link(mine, {**untagged, "updatedAt": "t1"}),
        link(tagged_mine, {**tagged, "updatedAt": "t1"}),
    ]

    plan = plan_sync(state([mine, tagged_mine], [made, untagged, tagged], links), PULL)

    assert {(a.name, a.kind, a.add_tag) for a in plan.actions} == {
        ("Made in n8n", "pull-create", True),
        ("Flow", "pull-update", True),
        ("Tagged", "pull-update", False),
    }
    assert plan.n8n_writes == 2


def test_a_pull_whose_tagging_failed_is_tagged_by_the_next_sync_either_way() -> None:
    ours, untagged = template("Flow"), remote("Flow", tags=())
    unfinished = link(ours, untagged)
    unfinished = LinkRecord(**{**unfinished.__dict__, "n8n_updated_at": None})

    for options in (PUSH, PULL, BOTH):
        [action] = plan_sync(state([ours], [untagged], [unfinished]), options).actions
        assert (action.kind, action.add_tag, action.body) == ("update", True, None)
    tagged = {**untagged, "tags": [{"id": "t", "name": "pumpflix"}]}
    assert kinds(PULL, state([ours], [tagged], [unfinished])) == {"Flow": "link"}


def test_a_workflow_of_a_template_deleted_here_is_never_pulled_back() -> None:
    # The template was pulled from n8n (so untagged, as pulls once left it) and deleted
    # here: its link stays as a tombstone naming a template that is gone.
    deleted = template("Pulled")
    pulled = remote("Pulled", tags=())
    tombstone = link(deleted, pulled)
    kept = template("Kept")

    for options in (PULL, BOTH):
        plan = plan_sync(state([kept], [pulled], [tombstone]), options)
        assert [a.kind for a in plan.actions if a.name == "Pulled"] == []
        assert [(n.kind, n.workflow_id) for n in plan.notes] == [("deleted-kept", pulled["id"])]
    pruning = plan_sync(state([kept], [pulled], [tombstone]), SyncOptions(True, True, prune=True))
    assert [(a.kind, a.workflow_id) for a in pruning.actions if a.template is None] == [
        ("delete", pulled["id"])
    ]
    assert pruning.notes == []


def test_a_new_template_of_a_deleted_one_s_name_adopts_its_workflow() -> None:
    deleted, again = template("Flow"), template("Flow")
    old = remote("Flow", tags=())

    [action] = plan_sync(state([again], [old], [link(deleted, old)]), PUSH).actions

    assert (action.kind, action.workflow_id) == ("link", old["id"])


def test_a_tombstone_whose_workflow_is_gone_is_spent() -> None:
    deleted, kept = template("Gone"), template("Kept")
    gone, archived = remote("Gone"), {**remote("Binned"), "isArchived": True}
    live = remote("Kept")
    links = [link(deleted, gone), link(template("Binned"), archived), link(kept, live)]

    sync_state = state([kept], [archived, live], links)

    assert sync_state.spent_tombstones == sorted([gone["id"], archived["id"]])
    assert sync_state.orphans == []
