"""Comparing two copies of a workflow as n8n would run them (workflow/diff.py)."""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.services.n8n.diff import DiffEntry, DiffReport, Status
from pumpflix_cli.workflow import NodeChange, diff_workflows, same_workflow
from tests.factories import workflow


def as_n8n_returns_it(document: dict[str, Any]) -> dict[str, Any]:
    """The same workflow after a round trip through n8n: new ids and webhook ids, other
    positions, its own bookkeeping, credential ids of another instance."""
    copied = copy.deepcopy(document)
    for index, node in enumerate(copied["nodes"]):
        node.update({"id": f"n8n-{index}", "position": [index * 100, 42], "webhookId": "w"})
        for ref in (node.get("credentials") or {}).values():
            ref["id"] = "other-instance-id"
    copied.update({"id": "abc", "versionId": "v2", "nodeGroups": [], "tags": [], "meta": None})
    copied["nodes"].reverse()
    return copied


def test_a_round_trip_through_n8n_is_the_same_workflow() -> None:
    document = workflow("Greeting", extra_node=True)
    assert same_workflow(document, as_n8n_returns_it(document))


def test_a_changed_parameter_names_its_node_and_field() -> None:
    ours = workflow("Greeting", text="hello")
    theirs = workflow("Greeting", text="hi")

    diff = diff_workflows(ours, theirs)

    assert diff.changed == [NodeChange("Set greeting", ["parameters"])]
    assert not (diff.added or diff.removed or diff.connections or diff.settings)
    assert diff.summary() == "1 node changed (Set greeting)"


def test_added_and_removed_nodes_and_connections() -> None:
    small, large = workflow("Greeting"), workflow("Greeting", extra_node=True)

    forward, backward = diff_workflows(small, large), diff_workflows(large, small)

    assert (forward.added, forward.removed) == (["Post to Slack"], [])
    assert (backward.added, backward.removed) == ([], ["Post to Slack"])
    assert forward.connections and backward.connections


def test_settings_and_name_differences_are_reported() -> None:
    ours, theirs = workflow("Greeting"), workflow("Hello")
    theirs["settings"] = {"executionOrder": "v1", "timezone": "UTC"}

    diff = diff_workflows(ours, theirs)

    assert diff.name == ("Greeting", "Hello")
    assert diff.settings == ["timezone"]
    assert json.loads(json.dumps(diff.to_json()))["settingsChanged"] == ["timezone"]


def test_empty_connection_groups_do_not_count() -> None:
    ours = workflow("Greeting")
    theirs = copy.deepcopy(ours)
    source = "When clicking 'Test workflow'"
    theirs["connections"][source]["main"].append([])
    theirs["connections"]["Set greeting"] = {"main": [None]}

    assert same_workflow(ours, theirs)


@given(
    positions=st.lists(st.tuples(st.integers(-900, 900), st.integers(-900, 900)), min_size=3),
    order=st.permutations([0, 1, 2]),
)
def test_positions_ids_and_node_order_never_matter(
    positions: list[tuple[int, int]], order: list[int]
) -> None:
    ours = workflow("Greeting", extra_node=True)
    theirs = copy.deepcopy(ours)
    for node, (x, y) in zip(theirs["nodes"], positions, strict=False):
        node["position"] = [x, y]
        node["id"] = f"{x}:{y}"
    theirs["nodes"] = [theirs["nodes"][i] for i in order]
    assert same_workflow(ours, theirs)


@given(text=st.text(max_size=20), other=st.text(max_size=20))
def test_diff_is_symmetric(text: str, other: str) -> None:
    ours, theirs = workflow("Greeting", text=text), workflow("Greeting", text=other)
    forward, backward = diff_workflows(ours, theirs), diff_workflows(theirs, ours)
    assert forward.same == backward.same == (text == other)
    assert forward.changed == backward.changed


@given(
    st.lists(st.sampled_from(typing.get_args(Status)), max_size=5),
    st.booleans(),
)
def test_diff_fails_only_when_asked_and_anything_is_out_of_step(
    statuses: list[Status], fail_on_difference: bool
) -> None:
    report = DiffReport([DiffEntry(s, f"T{i}") for i, s in enumerate(statuses)], fail_on_difference)

    drift = any(s != "in-sync" for s in statuses)
    assert report.exit_code == (ExitCode.FAILURE if fail_on_difference and drift else ExitCode.OK)
