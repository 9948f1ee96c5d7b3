"""The canonical (exported) form of a workflow and the content hash derived from it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# What `templates export` leaves out by default: n8n's bookkeeping for one instance
# (ids, versions, activation, sharing, timestamps, tags), run data (pinned and static
# data), and our own bundle header.
NON_CONTENT_KEYS = frozenset(
    {
        "id",
        "versionId",
        "active",
        "tags",
        "createdAt",
        "updatedAt",
        "meta",
        "pinData",
        "staticData",
        "triggerCount",
        "isArchived",
        "shared",
        "pumpflix",
        # Read-only fields newer n8n versions add to GET /workflows/{id}.
        "activeVersionId",
        "activeVersion",
        "versionCounter",
        "homeProject",
        "sharedWithProjects",
        "scopes",
        "usedCredentials",
        "parentFolder",
    }
)
# Node keys that differ between two copies of the same workflow in n8n; left out of the hash.
_NODE_IDENTITY_KEYS = ("id", "position", "webhookId")


def canonical_workflow(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow as ``templates export`` writes it by default.

    Drops `NON_CONTENT_KEYS` and credential ids; a credential reference keeps its type and
    ``{"name": ...}`` (the older string form ``{"slackApi": "Slack"}`` becomes
    ``{"slackApi": {"name": "Slack"}}``). Node ids and positions stay. Returns a new dict;
    unchanged nested values are shared with the input, so treat both as read-only.
    """
    canonical = {k: v for k, v in workflow.items() if k not in NON_CONTENT_KEYS}
    nodes = canonical.get("nodes")
    if isinstance(nodes, list):
        canonical["nodes"] = [_canonical_node(node) for node in nodes]
    return canonical


def _canonical_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    credentials = node.get("credentials")
    if not isinstance(credentials, dict):
        return dict(node)
    return {**node, "credentials": {k: _credential_ref(v) for k, v in credentials.items()}}


def _credential_ref(ref: Any) -> Any:
    if isinstance(ref, str):
        return {"name": ref}
    if isinstance(ref, dict):
        return {k: v for k, v in ref.items() if k != "id"}
    return ref


def content_hash(workflow: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical form with node ids, positions and webhook ids left out.

    Keys are sorted, so key order never matters; node order and connection order do.
    A workflow's export imports back with the same hash.
    """
    form = canonical_workflow(workflow)
    nodes = form.get("nodes")
    if isinstance(nodes, list):
        form["nodes"] = [
            {k: v for k, v in node.items() if k not in _NODE_IDENTITY_KEYS}
            if isinstance(node, dict)
            else node
            for node in nodes
        ]
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate (legal in JSON text) must not crash hashing.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
