"""The harness gives a real, usable n8n: API key auth, workflows, webhooks, Code nodes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import N8n
from .n8n_api import delete_workflow


@pytest.fixture
def web(n8n: N8n) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=n8n.url, timeout=30.0, trust_env=False) as client:
        yield client


def webhook_workflow(path: str, name: str, next_node: dict[str, Any]) -> dict[str, Any]:
    """A workflow: Webhook (POST /webhook/<path>, reply with the last node) -> next_node."""
    return {
        "name": name,
        "nodes": [
            {
                "id": str(uuid.uuid4()),
                "name": "Webhook",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": str(uuid.uuid4()),
                "parameters": {
                    "httpMethod": "POST",
                    "path": path,
                    "responseMode": "lastNode",
                    "options": {},
                },
            },
            {"id": str(uuid.uuid4()), "position": [220, 0], **next_node},
        ],
        "connections": {
            "Webhook": {"main": [[{"node": next_node["name"], "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def call_webhook(web: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST the webhook, retrying the brief 404 "not registered" after activation."""
    deadline = time.monotonic() + 20
    while True:
        resp = web.post(f"/webhook/{path}", json=body)
        if resp.status_code != 404 or time.monotonic() > deadline:
            return resp
        time.sleep(0.25)


def run_deployed(
    api: httpx.Client, web: httpx.Client, next_node: dict[str, Any], body: dict[str, Any]
) -> tuple[httpx.Response, dict[str, Any]]:
    """Create, activate and call a webhook workflow; delete it afterwards.

    Returns the webhook's reply and the finished execution (with its data).
    """
    path = f"pumpflix-e2e-{uuid.uuid4().hex}"
    created = api.post("/workflows", json=webhook_workflow(path, path, next_node))
    assert created.status_code == 200, created.text
    workflow_id = created.json()["id"]
    assert created.json()["active"] is False
    try:
        activated = api.post(f"/workflows/{workflow_id}/activate")
        assert activated.status_code == 200, activated.text
        assert activated.json()["active"] is True

        reply = call_webhook(web, path, body)

        execution: dict[str, Any] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = api.get(
                "/executions", params={"workflowId": workflow_id, "includeData": "true"}
            )
            assert listed.status_code == 200, listed.text
            if listed.json()["data"]:
                execution = listed.json()["data"][0]
                if execution.get("stoppedAt"):
                    break
            time.sleep(0.25)
        return reply, execution
    finally:
        deactivated, deleted = delete_workflow(api, workflow_id)
        assert deactivated.status_code == 200, deactivated.text
        assert deleted.status_code == 200, deleted.text
        assert api.get(f"/workflows/{workflow_id}").status_code == 404


def test_public_api_requires_the_key(n8n: N8n, web: httpx.Client, api: httpx.Client) -> None:
    assert web.get("/api/v1/workflows").status_code == 401
    wrong = web.get("/api/v1/workflows", headers={"X-N8N-API-KEY": "not-a-key"})
    assert wrong.status_code == 401

    listed = api.get("/workflows", params={"limit": 1})
    assert listed.status_code == 200, listed.text
    assert isinstance(listed.json()["data"], list)


def test_webhook_workflow_runs_and_replies_with_last_node(
    api: httpx.Client, web: httpx.Client
) -> None:
    set_node = {
        "name": "Greet",
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "parameters": {
            "mode": "manual",
            "assignments": {
                "assignments": [
                    {
                        "id": str(uuid.uuid4()),
                        "name": "greeting",
                        "value": "=hello {{ $json.body.name }}",
                        "type": "string",
                    }
                ]
            },
            "options": {},
        },
    }
    reply, execution = run_deployed(api, web, set_node, {"name": "pumpflix"})

    assert reply.status_code == 200, reply.text
    assert reply.json() == {"greeting": "hello pumpflix"}
    assert execution["status"] == "success"
    assert isinstance(execution["id"], str)
    run_data = execution["data"]["resultData"]["runData"]
    assert set(run_data) == {"Webhook", "Greet"}
    assert run_data["Greet"][0]["executionStatus"] == "success"


def test_code_node_runs_on_the_task_runner(api: httpx.Client, web: httpx.Client) -> None:
    # Code nodes run in n8n's task runner, reached through the broker port that the
    # harness gives every instance of its own.
    code_node = {
        "name": "Add",
        "type": "n8n-nodes-base.code",
        "typeVersion": 2,
        "parameters": {
            "jsCode": (
                "const body = $input.first().json.body;\n"
                "return [{ json: { sum: body.a + body.b } }];"
            )
        },
    }
    reply, execution = run_deployed(api, web, code_node, {"a": 2, "b": 40})

    assert reply.status_code == 200, reply.text
    assert reply.json()["sum"] == 42
    assert execution["status"] == "success"
