"""Runs give the trigger's downstream nodes exactly what the trigger gives, on a real n8n.

n8n's public API cannot start a manual run, so the expectation is derived from what n8n's
own triggers give: a Manual Trigger one empty item, a Schedule Trigger the time of the run
(read here from a real Schedule Trigger's execution). Each node's output is read from the
execution's data in n8n.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import CliRun

from .test_instances_run import add_template, assign, chain, code, events, node, run

# A Code node showing what it was given: its items and, by name, the trigger's.
LOOK = (
    "return $input.all().map((item) => ({ json: "
    "{ seen: item.json, trigger: $('Start').all().map((t) => t.json) } }));"
)


def start(node_type: str = "manualTrigger", **parameters: Any) -> dict[str, Any]:
    return node("Start", node_type, parameters, typeVersion=1.2)


def looking(name: str, trigger: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """Trigger → Code "Look" → Set "Keep" (keeps its input and adds ``x``)."""
    keep = assign("Keep", {"x": "y"})
    keep["parameters"]["includeOtherFields"] = True
    document = chain(name, trigger, code("Look", LOOK), keep)
    document["settings"] |= settings
    return document


def outputs(api: httpx.Client, execution_id: str) -> dict[str, list[Any]]:
    """Each node's output items (json only, every branch) in the execution's first run."""
    found = api.get(f"/executions/{execution_id}", params={"includeData": "true"})
    assert found.status_code == 200, found.text
    run_data = found.json()["data"]["resultData"]["runData"]
    return {
        name: [item["json"] for branch in runs[0]["data"]["main"] for item in branch or []]
        for name, runs in run_data.items()
    }


def test_a_manual_trigger_gives_its_nodes_one_empty_item_as_n8n_s_own_run_does(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Faithful"
    add_template(cli, tmp_path / "t", looking(name, start()))

    code_, report, stderr = run(cli, env, name, "--keep")

    assert code_ == 0, stderr
    seen = outputs(api, report["n8nExecutionId"])
    assert seen["Start"] == [{}]
    assert seen["Look"] == [{"seen": {}, "trigger": [{}]}]
    assert seen["Keep"] == [{"seen": {}, "trigger": [{}], "x": "y"}]
    assert report["output"] == seen["Keep"]
    # the log shows the trigger as the template has it, and no node of pumpflix's
    runs = [e for e in events(cli, env, report["id"]) if e["source"] == "n8n"]
    assert [(e["node"], e["data"]["itemsOut"]) for e in runs] == [
        ("Start", 1),
        ("Look", 1),
        ("Keep", 1),
    ]


def test_an_input_is_what_the_trigger_gives_one_item_per_object(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Given"
    add_template(cli, tmp_path / "t", looking(name, start()))

    for given, items in (
        ({"name": "Ada"}, [{"name": "Ada"}]),
        ([{"n": 1}, {"n": 2, "deep": {"a": [1]}}], [{"n": 1}, {"n": 2, "deep": {"a": [1]}}]),
    ):
        code_, report, stderr = run(cli, env, name, "--input", json.dumps(given), "--keep")
        assert code_ == 0, stderr
        seen = outputs(api, report["n8nExecutionId"])
        assert seen["Start"] == items
        assert seen["Look"] == [{"seen": item, "trigger": items} for item in items]

    refused = cli("instances", "run", name, "--input", "[1, 2]", env=env)
    assert refused.exit_code == 2
    assert "--input: the trigger 'Start' gives items" in refused.stderr


def test_a_schedule_trigger_gives_the_time_of_the_run_as_n8n_s_own_schedule_does(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    zone = "Asia/Kolkata"  # not the server's: the workflow's own zone must be used
    every_second = {"rule": {"interval": [{"field": "seconds", "secondsInterval": 1}]}}
    real = _scheduled_item(api, f"{prefix}Real schedule", zone, every_second)
    name = f"{prefix}Scheduled"
    add_template(
        cli, tmp_path / "t", looking(name, start("scheduleTrigger", **every_second), timezone=zone)
    )

    code_, report, stderr = run(cli, env, name, "--keep")

    assert code_ == 0, stderr
    [given] = outputs(api, report["n8nExecutionId"])["Start"]
    assert list(given) == list(real)  # the same fields, in the same order
    assert given["Timezone"] == real["Timezone"] == "Asia/Kolkata (UTC+05:30)"
    for field, value in real.items():  # the same format: digits may differ, nothing else
        assert re.fullmatch(_shape(value), given[field]), (field, value, given[field])
    assert given["timestamp"].endswith("+05:30")
    assert given["timestamp"][11:13] == given["Hour"]


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _shape(value: str) -> str:
    """A pattern matching ``value`` with any number, month or day name, ordinal suffix
    and am/pm in the place of its own."""
    alternatives = (MONTHS, DAYS, ["am", "pm"], ["st", "nd", "rd", "th"])
    parts = []
    for token in re.split(r"(\d+|[A-Za-z]+)", value):
        if token.isdigit():
            parts.append(r"\d+")
            continue
        words = next((words for words in alternatives if token in words), None)
        parts.append(f"({'|'.join(words)})" if words else re.escape(token))
    return "".join(parts)


def _scheduled_item(
    api: httpx.Client, name: str, zone: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """What a real Schedule Trigger gives: one run of a workflow scheduled every second."""
    trigger = node("Tick", "scheduleTrigger", parameters, typeVersion=1.2)
    body = {
        "name": name,
        "nodes": [trigger],
        "connections": {},
        "settings": {"executionOrder": "v1", "timezone": zone, "saveDataSuccessExecution": "all"},
    }
    created = api.post("/workflows", json=body)
    assert created.status_code == 200, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/workflows/{workflow_id}/activate").status_code == 200
    try:
        deadline = time.monotonic() + 30
        while True:
            found = api.get(
                "/executions",
                params={"workflowId": workflow_id, "includeData": "true", "limit": 1},
            ).json()["data"]
            if found and found[0]["status"] == "success":
                break
            assert time.monotonic() < deadline, "the real schedule never ran"
            time.sleep(0.5)
    finally:
        api.post(f"/workflows/{workflow_id}/deactivate")
    [item] = found[0]["data"]["resultData"]["runData"]["Tick"][0]["data"]["main"][0]
    return dict(item["json"])


def test_every_webhook_of_two_instances_listens_apart(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Two hooks"
    hooks = [
        node(
            hook,
            "webhook",
            {"httpMethod": "POST", "path": "shared", "responseMode": "lastNode", "options": {}},
            typeVersion=2,
            webhookId=str(uuid.uuid4()),
        )
        for hook in ("First", "Second")
    ]
    document = chain(name, hooks[0], assign("Answer", {"ok": "yes"}))
    document["nodes"].append(hooks[1])
    document["connections"]["Second"] = {"main": [[{"node": "Answer", "type": "main", "index": 0}]]}
    add_template(cli, tmp_path / "t", document)

    first = run(cli, env, name, "--keep-active")
    second = run(cli, env, name, "--keep-active")

    assert (first[0], second[0]) == (0, 0), (first[2], second[2])
    paths = [
        {
            n["name"]: n["parameters"]["path"]
            for n in _workflow(api, r[1]["n8nWorkflowId"])["nodes"]
            if n["type"] == "n8n-nodes-base.webhook"
        }
        for r in (first, second)
    ]
    assert len({*paths[0].values(), *paths[1].values()}) == 4  # two instances, none shared
    # both stay active side by side, and the second Webhook of each answers at its path
    for found in paths:
        answer = httpx.post(f"{env['N8N_URL']}/webhook/{found['Second']}", json={})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ok": "yes"}
    activated = [
        e["message"] for e in events(cli, env, first[1]["id"]) if "activated" in e["message"]
    ]
    assert activated == [
        f"activated; its Webhook 'First' at POST /webhook/{paths[0]['First']}; "
        f"also listening: 'Second' at /webhook/{paths[0]['Second']}"
    ]


def _workflow(api: httpx.Client, workflow_id: str) -> dict[str, Any]:
    found = api.get(f"/workflows/{workflow_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())
