"""The tests' own calls to n8n's public API: a client, listing and deleting workflows."""

from __future__ import annotations

import time
from typing import Any

import httpx

from .conftest import N8n


def api_client(n8n: N8n, *, timeout: float = 30.0) -> httpx.Client:
    """A client of n8n's public API with the test's API key (never pumpflix's code)."""
    return httpx.Client(
        base_url=f"{n8n.url}/api/v1",
        headers={"X-N8N-API-KEY": n8n.api_key},
        timeout=timeout,
        trust_env=False,
    )


def all_workflows(api: httpx.Client) -> list[dict[str, Any]]:
    """Every workflow n8n holds, page by page."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 250}
    while True:
        page = api.get("/workflows", params=params)
        assert page.status_code == 200, page.text
        found.extend(page.json()["data"])
        if not page.json().get("nextCursor"):
            return found
        params["cursor"] = page.json()["nextCursor"]


def delete_workflow(api: httpx.Client, workflow_id: str) -> tuple[httpx.Response, httpx.Response]:
    """Deactivate, then delete a workflow; returns both answers for a caller to check.

    n8n 2.x refuses (409) to delete a published workflow, and unpublishing finishes
    shortly after the deactivate call returns (409 "still being unpublished"): retry.
    """
    deactivated = api.post(f"/workflows/{workflow_id}/deactivate")
    deadline = time.monotonic() + 20
    while True:
        deleted = api.delete(f"/workflows/{workflow_id}")
        if deleted.status_code != 409 or time.monotonic() > deadline:
            return deactivated, deleted
        time.sleep(0.25)


def delete_named(api: httpx.Client, mark: str) -> None:
    """Delete every n8n workflow whose name starts with ``mark``."""
    for found in all_workflows(api):
        if str(found["name"]).startswith(mark):
            _, deleted = delete_workflow(api, found["id"])
            assert deleted.status_code != 409, f"could not delete workflow {found['id']}"
