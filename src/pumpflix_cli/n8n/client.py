"""The n8n public REST API (v1) client: workflows, tags, webhooks, executions and the
version, over the retrying transport in ``transport`` (SPEC §6)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from pumpflix_cli.errors import CredentialsRejectedError
from pumpflix_cli.json_text import loads
from pumpflix_cli.n8n.transport import (
    PAGE_SIZE,
    N8nConflictError,
    N8nNotFoundError,
    N8nRejectedError,
    N8nRequestError,
    N8nTransport,
)

__all__ = [
    "N8nClient",
    "N8nConflictError",
    "N8nNotFoundError",
    "N8nRejectedError",
    "N8nRequestError",
    "N8nStatus",
    "WebhookReply",
]

# n8n registers a webhook about a second after the activation; until then it answers 404.
REGISTER_WITHIN = 15.0
REGISTER_POLL = 0.2
_SENTRY_META = re.compile(r'<meta\s+name="n8n:config:sentry"\s+content="([^"]+)"', re.IGNORECASE)


@dataclass(frozen=True)
class WebhookReply:
    """n8n's answer to a webhook call; ``status`` None when none came within the wait
    (the request was sent whole, so n8n has it: a running call is not cancelled by our
    hanging up)."""

    status: int | None
    body: Any = None

    @property
    def answered(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class N8nStatus:
    reachable: bool
    version: str | None
    api_key_valid: bool | None
    latency_ms: float | None


class N8nClient(N8nTransport):
    """The calls pumpflix makes to one n8n."""

    # --- workflows and tags ------------------------------------------------------------

    def workflows(self, *, tags: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every workflow (archived ones included), de-duplicated: n8n's cursor is an
        offset, so a workflow created while we page may show twice."""
        params: dict[str, Any] = {"excludePinnedData": "true"}
        if tags:
            params["tags"] = ",".join(tags)
        seen: dict[str, dict[str, Any]] = {}
        for workflow in self.paginate("/workflows", params):
            seen.setdefault(str(workflow["id"]), workflow)
        return list(seen.values())

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/workflows/{workflow_id}"))

    def create_workflow(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a workflow; n8n creates it inactive. Not retried once sent: a retry after
        a lost answer could create it twice."""
        return dict(self.api("POST", "/workflows", json=body))

    def update_workflow(self, workflow_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT replaces the whole workflow (tags and activation are kept)."""
        return dict(self.api("PUT", f"/workflows/{workflow_id}", json=body))

    def delete_workflow(self, workflow_id: str, *, settle: float = 20.0) -> bool:
        """Delete a workflow, unpublishing it first when it is active: n8n answers 409 to
        deleting an active workflow, and for a moment after the deactivation as well.
        False when it was gone already. n8n deletes the workflow's executions with it."""
        try:
            self.api("POST", f"/workflows/{workflow_id}/deactivate", idempotent=True)
        except N8nNotFoundError:
            return False
        deadline = time.monotonic() + settle
        while True:
            try:
                self.api("DELETE", f"/workflows/{workflow_id}")
                return True
            except N8nNotFoundError:
                return True  # gone since the deactivation: a retry of ours deleted it
            except N8nConflictError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def tags(self) -> list[dict[str, Any]]:
        return list(self.paginate("/tags"))

    def ensure_tag(self, name: str) -> str:
        """The id of the tag called ``name``, created when missing."""
        for tag in self.tags():
            if tag.get("name") == name:
                return str(tag["id"])
        try:
            return str(self.api("POST", "/tags", json={"name": name})["id"])
        except N8nConflictError:  # created by someone else meanwhile
            for tag in self.tags():
                if tag.get("name") == name:
                    return str(tag["id"])
            raise

    def set_workflow_tags(self, workflow_id: str, tag_ids: Sequence[str]) -> None:
        """Replace the workflow's tags (which does not change its ``updatedAt``)."""
        self.api("PUT", f"/workflows/{workflow_id}/tags", json=[{"id": t} for t in tag_ids])

    def activate_workflow(self, workflow_id: str) -> dict[str, Any]:
        """Publish a workflow: its triggers (webhooks, schedules, app triggers) go live.
        n8n answers 400 when a node's configuration is incomplete or it has no trigger."""
        return dict(self.api("POST", f"/workflows/{workflow_id}/activate", idempotent=True))

    def deactivate_workflow(self, workflow_id: str) -> dict[str, Any]:
        """Unpublish a workflow; executions already running go on to their end."""
        return dict(self.api("POST", f"/workflows/{workflow_id}/deactivate", idempotent=True))

    # --- webhooks and executions ---------------------------------------------------------

    def call_webhook(
        self,
        path: str,
        *,
        method: str = "POST",
        payload: Any = None,
        wait: float,
        register_within: float = REGISTER_WITHIN,
    ) -> WebhookReply:
        """Call ``/webhook/<path>`` and wait up to ``wait`` seconds for the answer.

        The API key is left out: the call is not an API call, and n8n would keep our
        headers in the execution's data. For a moment after an activation n8n answers 404
        "not registered"; that is retried for ``register_within`` seconds. A body method
        sends ``payload`` as JSON; GET, HEAD and DELETE send an object's fields as the
        query. Never retried once n8n may have received the call (a retry could run the
        workflow twice); a connection that never opened is.
        """
        url = f"/webhook/{path.lstrip('/')}"
        kwargs: dict[str, Any] = {}
        if method.upper() in _QUERY_METHODS:
            if isinstance(payload, dict):
                kwargs["params"] = {k: _query_value(v) for k, v in payload.items()}
        else:
            kwargs["json"] = {} if payload is None else payload
        timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0), read=wait)
        registered_by = time.monotonic() + register_within
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(method.upper(), url, timeout=timeout, **kwargs)
            request.headers.pop("X-N8N-API-KEY", None)
            try:
                self._count(request.method)
                response = self._http.send(request)
            except httpx.ReadTimeout:
                return WebhookReply(None)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= self.attempts:
                    raise self._transport_error(request.method, url, exc) from exc
                self._sleep(attempt)
                continue
            except httpx.TransportError as exc:
                raise self._transport_error(request.method, url, exc) from exc
            if (
                response.status_code == 404
                and "not registered" in response.text
                and time.monotonic() < registered_by
            ):
                time.sleep(REGISTER_POLL)
                continue
            return WebhookReply(response.status_code, _decoded(response))

    def executions(
        self,
        workflow_id: str,
        *,
        status: str | None = None,
        include_data: bool = False,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """The newest executions of a workflow, newest first. n8n leaves running ones out
        unless ``status="running"`` is asked for."""
        params: dict[str, Any] = {
            "workflowId": workflow_id,
            "includeData": "true" if include_data else "false",
            "limit": min(max(1, limit), PAGE_SIZE),
        }
        if status is not None:
            params["status"] = status
        page = self.api("GET", "/executions", params=params)
        return list((page or {}).get("data") or [])

    def execution(self, execution_id: str, *, include_data: bool = True) -> dict[str, Any]:
        """One execution, whatever its state (running and waiting ones included)."""
        params = {"includeData": "true" if include_data else "false"}
        return dict(self.api("GET", f"/executions/{execution_id}", params=params))

    def execution_ids(self, workflow_id: str, *, status: str | None = None) -> list[str]:
        """The ids of every execution of a workflow (of one status), page by page; running
        ones only when asked for, as n8n lists them."""
        params: dict[str, Any] = {"workflowId": workflow_id, "includeData": "false"}
        if status is not None:
            params["status"] = status
        return [str(found["id"]) for found in self.paginate("/executions", params)]

    def stop_execution(self, execution_id: str) -> bool:
        """Stop a running or waiting execution; False when there is none to stop (it has
        finished: 409, or is gone: 404)."""
        try:
            self.api("POST", f"/executions/{execution_id}/stop", idempotent=True)
        except (N8nNotFoundError, N8nConflictError):
            return False
        return True

    def delete_execution(self, execution_id: str) -> bool:
        """Delete an execution and its data; False when it was gone already. n8n refuses
        (400) to delete a running one: stop it first."""
        try:
            self.api("DELETE", f"/executions/{execution_id}")
        except N8nNotFoundError:
            return False
        return True

    # --- health ------------------------------------------------------------------------

    def version(self) -> str | None:
        """n8n's version, read from the editor page: the public API does not report it."""
        response = self._send("GET", "/")
        match = _SENTRY_META.search(response.text)
        if not match:
            return None
        try:
            config = json.loads(base64.b64decode(match.group(1)))
        except (ValueError, TypeError):
            return None
        release = str(config.get("release") or "") if isinstance(config, dict) else ""
        return release.removeprefix("n8n@") or None

    def ping(self) -> float:
        """One round trip to ``/healthz``, in milliseconds; raises when n8n is unreachable."""
        started = time.perf_counter()
        self._send("GET", "/healthz")
        return round((time.perf_counter() - started) * 1000, 2)

    def status(self) -> N8nStatus:
        """Reachability, version and whether the API key is accepted; never raises for a
        rejected key (that is part of the answer)."""
        latency = self.ping()
        version = self.version()
        key_valid: bool | None = None
        if self._api_key:
            try:
                self.api("GET", "/workflows", params={"limit": 1})
                key_valid = True
            except CredentialsRejectedError:
                key_valid = False
        return N8nStatus(
            reachable=True, version=version, api_key_valid=key_valid, latency_ms=latency
        )


_QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})


def _query_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _decoded(response: httpx.Response) -> Any:
    """A webhook's answer: JSON when it is JSON, else its text."""
    if "json" in response.headers.get("content-type", ""):
        try:
            return loads(response.content)
        except ValueError:  # not JSON, or numbers JSON has not: kept as the text it is
            pass
    return response.text
