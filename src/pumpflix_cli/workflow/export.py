"""The workflow as ``templates export`` writes it (SPEC §4)."""

from __future__ import annotations

from typing import Any

from pumpflix_cli.workflow.canonical import canonical_workflow

DATA_KEYS = ("pinData", "staticData")


def export_workflow(
    workflow: dict[str, Any], *, keep_credential_ids: bool = False, keep_data: bool = False
) -> dict[str, Any]:
    """The canonical form (credential ids, ``meta``, pinned and static data, n8n's ids,
    tags and timestamps removed), with credential ids or data kept when asked."""
    exported = canonical_workflow(workflow)
    if keep_data:
        for key in DATA_KEYS:
            if workflow.get(key) is not None:
                exported[key] = workflow[key]
    if keep_credential_ids and isinstance(workflow.get("nodes"), list):
        exported["nodes"] = [
            {**node, "credentials": original["credentials"]}
            if isinstance(node, dict) and isinstance(original, dict) and "credentials" in original
            else node
            for node, original in zip(exported["nodes"], workflow["nodes"], strict=True)
        ]
    return exported
