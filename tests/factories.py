"""Small, valid n8n workflows for tests, and helpers to write them to files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def workflow(
    name: str | None = "Send greeting", *, text: str = "hello", extra_node: bool = False
) -> dict[str, Any]:
    """A Manual Trigger → Set workflow; ``text`` changes its content."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "name": "When clicking 'Test workflow'",
            "type": "n8n-nodes-base.manualTrigger",
            "typeVersion": 1,
            "position": [0, 0],
            "parameters": {},
        },
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000002",
            "name": "Set greeting",
            "type": "n8n-nodes-base.set",
            "typeVersion": 3.4,
            "position": [220, 0],
            "parameters": {
                "assignments": {
                    "assignments": [
                        {"id": "x1", "name": "greeting", "value": text, "type": "string"}
                    ]
                }
            },
        },
    ]
    connections: dict[str, Any] = {
        "When clicking 'Test workflow'": {
            "main": [[{"node": "Set greeting", "type": "main", "index": 0}]]
        }
    }
    if extra_node:
        nodes.append(
            {
                "id": "a1b2c3d4-0000-4000-8000-000000000003",
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2,
                "position": [440, 0],
                "parameters": {"text": "={{ $vars.SLACK_CHANNEL }} {{GREETING_TARGET}}"},
                "credentials": {"slackApi": {"id": "17", "name": "Slack account"}},
            }
        )
        connections["Set greeting"] = {
            "main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]
        }
    document: dict[str, Any] = {
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1"},
        "meta": {"instanceId": "0123456789abcdef"},
        "id": "n8nWorkflowId1",
        "active": False,
    }
    if name is not None:
        document["name"] = name
    return document


def write(folder: Path, file_name: str, document: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(json.dumps(document))
    return path
