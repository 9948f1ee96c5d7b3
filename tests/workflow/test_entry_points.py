"""How an instance's workflow is started from outside: a template's own Webhook at a path
of the instance's own, a stand-in Webhook in front of a Manual or Schedule Trigger (which
becomes Code giving the trigger's own items), every listening node on a path of its own,
and all of it undone for promotion."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.workflow import WorkflowError, same_workflow
from pumpflix_cli.workflow.entry_points import (
    STAND_IN_NOTE,
    input_problem,
    stand_in_names,
    trigger_code,
    webhook_payload,
    with_entry_point,
    without_entry_point,
)
from tests.factories import workflow


def test_a_manual_trigger_becomes_code_of_its_name_behind_a_stand_in_webhook() -> None:
    original = workflow()
    result, entry = with_entry_point(original, "pumpflix-abc123")
    trigger = "When clicking 'Test workflow'"
    stand_in = f"{trigger} (pumpflix)"
    assert (entry.kind, entry.node, entry.path, entry.method, entry.stand_in) == (
        "swapped",
        trigger,
        "pumpflix-abc123",
        "POST",
        stand_in,
    )
    hook, code = result["nodes"][0], result["nodes"][1]
    assert (hook["name"], hook["type"], hook["position"]) == (
        stand_in,
        "n8n-nodes-base.webhook",
        [-220, 0],
    )
    assert hook["parameters"]["path"] == "pumpflix-abc123"
    assert hook["parameters"]["responseMode"] == "lastNode"
    assert hook["notes"] == STAND_IN_NOTE
    # the trigger keeps its name, id and place, and so every connection from it
    assert (code["name"], code["id"], code["position"]) == (
        trigger,
        original["nodes"][0]["id"],
        [0, 0],
    )
    assert code["type"] == "n8n-nodes-base.code"
    assert code["parameters"] == {"jsCode": trigger_code("n8n-nodes-base.manualTrigger")}
    assert result["connections"] == {
        **original["connections"],
        stand_in: {"main": [[{"node": trigger, "type": "main", "index": 0}]]},
    }
    assert stand_in_names(result) == {stand_in}
    assert stand_in_names(original) == set()


def test_a_stand_in_never_takes_the_name_of_a_node_of_the_template() -> None:
    document = workflow()
    taken = "When clicking 'Test workflow' (pumpflix)"
    document["nodes"][1]["name"] = taken
    document["connections"] = {
        "When clicking 'Test workflow'": {"main": [[{"node": taken, "type": "main", "index": 0}]]}
    }
    result, entry = with_entry_point(document, "p")
    assert entry.stand_in == "When clicking 'Test workflow' (pumpflix 2)"
    assert [n["name"] for n in result["nodes"]].count(taken) == 1


def test_the_trigger_code_gives_the_trigger_s_own_items_unless_the_run_has_an_input() -> None:
    manual = trigger_code("n8n-nodes-base.manualTrigger")
    schedule = trigger_code("n8n-nodes-base.scheduleTrigger")
    assert manual.endswith("return [{ json: {} }];\n")
    assert "'input' in body" in manual and "'input' in body" in schedule
    for field in ("timestamp", "'Readable date'", "'Day of week'", "Timezone"):
        assert field in schedule and field not in manual
    assert trigger_code("n8n-nodes-base.cron") == manual.replace("manualTrigger", "cron")


@pytest.mark.parametrize(
    ("payload", "sent"),
    [
        (None, {}),
        ({"name": "Ada"}, {"input": {"name": "Ada"}}),
        ([{"n": 1}, {"n": 2}], {"input": [{"n": 1}, {"n": 2}]}),
        ([], {"input": []}),
    ],
)
def test_a_stand_in_is_sent_the_input_as_the_trigger_s_items(payload: Any, sent: Any) -> None:
    _, entry = with_entry_point(workflow(), "p")
    assert input_problem(entry, payload) is None
    assert webhook_payload(entry, payload) == sent


@pytest.mark.parametrize("payload", [42, "text", [1, 2], [{"n": 1}, "x"], True])
def test_an_input_that_is_not_items_is_refused_for_a_trigger(payload: Any) -> None:
    _, entry = with_entry_point(workflow(), "p")
    problem = input_problem(entry, payload)
    assert problem is not None and "a JSON object (one item) or an array of objects" in problem


def test_a_template_s_own_webhook_is_sent_the_input_as_it_is() -> None:
    document = workflow()
    document["nodes"][0] = {
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": "orders", "httpMethod": "POST"},
    }
    _, entry = with_entry_point(document, "p")
    assert input_problem(entry, 42) is None
    assert webhook_payload(entry, [1, 2]) == [1, 2]
    assert webhook_payload(entry, None) is None


def test_an_existing_webhook_gets_the_instance_path() -> None:
    document = workflow()
    document["nodes"][0] = {
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": "orders", "httpMethod": "PUT"},
    }
    result, entry = with_entry_point(document, "pumpflix-x")
    assert (entry.kind, entry.method) == ("webhook", "PUT")
    assert result["nodes"][0]["parameters"]["path"] == "pumpflix-x"


def test_an_app_trigger_is_left_for_the_app() -> None:
    document = workflow()
    document["nodes"][0]["type"] = "n8n-nodes-base.telegramTrigger"
    _, entry = with_entry_point(document, "p")
    assert entry.kind == "app"


def test_a_workflow_without_a_trigger_cannot_run() -> None:
    document = workflow()
    del document["nodes"][0]
    with pytest.raises(WorkflowError):
        with_entry_point(document, "p")


def listening(name: str, node_type: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": f"n8n-nodes-base.{node_type}",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": path, "httpMethod": "POST"},
        **extra,
    }


def test_every_webhook_and_form_trigger_listens_at_a_path_of_the_instance_s_own() -> None:
    document = workflow()
    document["nodes"][0] = listening("Orders", "webhook", "orders", webhookId="w-1")
    document["nodes"] += [
        listening("Refunds", "webhook", "orders", webhookId="w-2"),
        listening("Signup", "formTrigger", "signup"),
        listening("Old hook", "webhook", "old", disabled=True),
        {"name": "Pause", "type": "n8n-nodes-base.wait", "webhookId": "w-3", "parameters": {}},
    ]
    document["connections"] = {
        "Orders": document["connections"].pop(next(iter(document["connections"])))
    }

    first, entry = with_entry_point(document, "pumpflix-a")
    second, _ = with_entry_point(document, "pumpflix-b")

    paths = {n["name"]: n["parameters"].get("path") for n in first["nodes"]}
    assert paths == {
        "Orders": "pumpflix-a",
        "Set greeting": None,
        "Refunds": "pumpflix-a-2",
        "Signup": "pumpflix-a-3",
        "Old hook": "pumpflix-a-4",
        "Pause": None,
    }
    assert (entry.node, entry.path) == ("Orders", "pumpflix-a")
    assert entry.listeners == (
        ("Refunds", "/webhook/pumpflix-a-2"),
        ("Signup", "/form/pumpflix-a-3"),
        ("Old hook", "/webhook/pumpflix-a-4"),
    )
    ids = [n.get("webhookId") for n in first["nodes"] + second["nodes"] if "webhookId" in n]
    assert len(ids) == 10 and len(set(ids)) == 10  # all new: the template's and each other's
    assert not {"w-1", "w-2", "w-3"} & set(ids)
    assert same_workflow(without_entry_point(first, document, entry), document)


def test_a_webhook_taking_several_methods_is_called_with_its_first() -> None:
    document = workflow()
    document["nodes"][0] = listening("Hook", "webhook", "x")
    document["nodes"][0]["parameters"] |= {"multipleMethods": True, "httpMethod": ["PUT", "GET"]}
    assert with_entry_point(document, "p")[1].method == "PUT"


# --- any workflow ------------------------------------------------------------------------

KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "manual": ("manualTrigger", {}),
    "schedule": ("scheduleTrigger", {"rule": {"interval": [{"field": "hours"}]}}),
    "webhook": ("webhook", {"path": "hook", "httpMethod": "POST"}),
    "form": ("formTrigger", {"path": "form"}),
    "wait": ("wait", {"amount": 1}),
    "set": ("set", {"values": {}}),
    "app": ("telegramTrigger", {"updates": ["message"]}),
}


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    """Workflows of triggers, listening nodes and plain ones, some disabled, some with
    webhook ids, some named as a stand-in would be."""
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=7))
    nodes: list[dict[str, Any]] = []
    for index, kind in enumerate(kinds):
        node_type, parameters = KINDS[kind]
        name = f"{kind} {index}"
        if index and draw(st.booleans()):
            name = f"{nodes[0]['name']} (pumpflix)"
            if any(n["name"] == name for n in nodes):
                name += f" {index}"
        node: dict[str, Any] = {
            "id": f"node-{index}",
            "name": name,
            "type": f"n8n-nodes-base.{node_type}",
            "typeVersion": 1,
            "position": [index * 200, 0],
            "parameters": dict(parameters),
        }
        if draw(st.booleans()):
            node["webhookId"] = f"hook-{index}"
        if draw(st.integers(0, 3)) == 0:
            node["disabled"] = True
        nodes.append(node)
    connections = {
        a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(nodes)
    }
    return {"name": "any", "nodes": nodes, "connections": connections, "settings": {}}


@given(document=workflows(), respond=st.sampled_from(["lastNode", "onReceived"]))
def test_two_instances_of_any_workflow_never_share_a_path_and_undo_to_the_template(
    document: dict[str, Any], respond: Any
) -> None:
    try:
        first, entry = with_entry_point(document, "pumpflix-a", respond=respond)
    except WorkflowError:
        return  # no trigger at all: refused, as tested above
    second, _ = with_entry_point(document, "pumpflix-b", respond=respond)

    def listening_paths(deployed: dict[str, Any]) -> list[str]:
        return [
            n["parameters"]["path"]
            for n in deployed["nodes"]
            if n["type"] in ("n8n-nodes-base.webhook", "n8n-nodes-base.formTrigger")
        ]

    ours, theirs = listening_paths(first), listening_paths(second)
    assert len(set(ours)) == len(ours)
    assert not set(ours) & set(theirs)
    assert not set(ours) & {"hook", "form"}
    hook_ids = [n["webhookId"] for n in first["nodes"] + second["nodes"] if "webhookId" in n]
    assert len(set(hook_ids)) == len(hook_ids)
    names = [n["name"] for n in first["nodes"]]
    assert len(set(names)) == len(names)
    assert stand_in_names(first) == ({entry.stand_in} if entry.stand_in else set())
    restored = without_entry_point(first, document, entry)
    assert same_workflow(restored, document)
    assert [n["name"] for n in restored["nodes"]] == [n["name"] for n in document["nodes"]]
    for before, after in zip(document["nodes"], restored["nodes"], strict=True):
        assert after.get("webhookId") == before.get("webhookId")
        assert after["parameters"].get("path") == before["parameters"].get("path")
