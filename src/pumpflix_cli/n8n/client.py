"""The n8n public REST API (v1) client: API key header, timeouts on every call, retries
with backoff, cursor pagination, bounded concurrency, and the mapping of transport and
HTTP failures onto the exit-code contract (SPEC §6, §9)."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from pumpflix_cli.errors import (
    ConflictError,
    CredentialsRejectedError,
    InvalidInputError,
    NotFoundError,
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from pumpflix_cli.redact import register_secret, scrub

SERVICE = "n8n"
API = "/api/v1"
PAGE_SIZE = 250  # the most n8n returns per page
CONCURRENCY = 4  # requests in flight: ~4x one at a time here, without crowding n8n
ATTEMPTS = 4
BACKOFF = 0.25  # seconds before the first retry; doubled each time, with jitter
MAX_BACKOFF = 4.0
# Answers worth retrying: n8n restarting behind a proxy, or asking us to slow down.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# n8n registers a webhook about a second after the activation; until then it answers 404.
REGISTER_WITHIN = 15.0
REGISTER_POLL = 0.2
_SENTRY_META = re.compile(r'<meta\s+name="n8n:config:sentry"\s+content="([^"]+)"', re.IGNORECASE)

T = TypeVar("T")
R = TypeVar("R")


class N8nRequestError(PumpflixError):
    """n8n refused a request (4xx other than auth); ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class N8nRejectedError(N8nRequestError, InvalidInputError):
    """n8n answered 400: the body or the request is not acceptable to it."""


class N8nNotFoundError(N8nRequestError, NotFoundError):
    """n8n answered 404."""


class N8nConflictError(N8nRequestError, ConflictError):
    """n8n answered 409 (an active workflow cannot be deleted, ...)."""


_BY_STATUS: dict[int, type[N8nRequestError]] = {
    400: N8nRejectedError,
    404: N8nNotFoundError,
    409: N8nConflictError,
}


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


class N8nClient:
    """One n8n instance over one connection pool, safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        register_secret(api_key)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        headers = {"Accept": "application/json", "User-Agent": "pumpflix"}
        if api_key:
            headers["X-N8N-API-KEY"] = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency
            ),
            trust_env=False,
        )
        self._lock = threading.Lock()
        self.requests = 0  # what was sent, by method, for benchmarks and tests
        self.writes = 0

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    def close(self) -> None:
        self._http.close()

    # --- transport -------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send with retries: a connection that never opened is retried for every method
        (nothing reached n8n); timeouts, dropped connections and 429/502/503/504 only for
        idempotent calls. Raises the mapped error when the attempts run out."""
        retry_all = method in IDEMPOTENT if idempotent is None else idempotent
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.attempts
            try:
                self._count(method)
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise self._transport_error(method, path, exc) from exc
            except httpx.TransportError as exc:
                if last or not retry_all:
                    raise self._transport_error(method, path, exc) from exc
            else:
                if response.status_code not in RETRY_STATUSES or not retry_all or last:
                    return response
                wait = _retry_after(response)
                if wait is not None:
                    time.sleep(min(wait, MAX_BACKOFF))
                    continue
            self._sleep(attempt)

    def _count(self, method: str) -> None:
        with self._lock:
            self.requests += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1

    def _sleep(self, attempt: int) -> None:
        delay = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
        time.sleep(delay * random.uniform(0.5, 1.0))

    def _transport_error(self, method: str, path: str, exc: Exception) -> PumpflixError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return ServiceTimeoutError(
                SERVICE,
                f"{method} {path} timed out at {self.base_url}",
                hint="n8n is slow or stuck; PUMPFLIX_N8N_TIMEOUT sets the limit (seconds)",
            )
        reason = scrub(str(exc)) or type(exc).__name__
        return ServiceUnreachableError(
            SERVICE,
            f"cannot reach n8n at {self.base_url} ({reason})",
            hint="is n8n running and N8N_URL right? pumpflix n8n status checks it",
        )

    def api(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> Any:
        """Call the public API; return the decoded JSON body or raise a mapped error."""
        if not self._api_key:
            raise ServiceUnavailableError(
                SERVICE, "N8N_API_KEY is not set", hint="create a key in n8n and set N8N_API_KEY"
            )
        response = self._send(method, API + path, idempotent=idempotent, **kwargs)
        status = response.status_code
        if status in (401, 403):
            raise CredentialsRejectedError(
                SERVICE,
                f"n8n rejected the API key ({self.base_url})",
                hint="create a key in n8n (Settings → n8n API) and set N8N_API_KEY",
            )
        if status >= 500 or status in RETRY_STATUSES:
            raise ServiceUnavailableError(
                SERVICE,
                f"n8n at {self.base_url} answered {status} to {method} {path}: "
                f"{_error_message(response)}",
                hint="n8n is failing or restarting; try again shortly",
            )
        if status >= 400:
            error = _BY_STATUS.get(status, N8nRequestError)
            raise error(
                f"n8n answered {status} to {method} {path}: {_error_message(response)}", status
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServiceUnavailableError(
                SERVICE,
                f"n8n at {self.base_url} answered {method} {path} with something other than "
                "JSON (is N8N_URL the n8n base URL, and has n8n finished starting?)",
            ) from None

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a cursor-paginated list, ``PAGE_SIZE`` at a time."""
        query = {**(params or {}), "limit": PAGE_SIZE}
        while True:
            page = self.api("GET", path, params=query)
            yield from page.get("data") or []
            cursor = page.get("nextCursor")
            if not cursor:
                return
            query["cursor"] = cursor

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | None, PumpflixError | None]]:
        """Run ``fn`` over ``items`` with at most ``concurrency`` in flight, sharing this
        client's connections; yield ``(item, result, error)`` as each finishes. Expected
        errors are yielded; anything else is raised."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="n8n") as pool:
            futures: dict[Future[R], T] = {pool.submit(fn, item): item for item in items}
            try:
                for future in as_completed(futures):
                    item = futures[future]
                    try:
                        yield item, future.result(), None
                    except PumpflixError as exc:
                        yield item, None, exc
            finally:
                for future in futures:
                    future.cancel()

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

    def delete_workflow(self, workflow_id: str, *, settle: float = 20.0) -> None:
        """Delete a workflow, unpublishing it first when it is active: n8n answers 409 to
        deleting an active workflow, and for a moment after the deactivation as well."""
        try:
            self.api("POST", f"/workflows/{workflow_id}/deactivate", idempotent=True)
        except N8nNotFoundError:
            return
        deadline = time.monotonic() + settle
        while True:
            try:
                self.api("DELETE", f"/workflows/{workflow_id}")
                return
            except N8nNotFoundError:
                return  # gone: a retry of ours, or someone else, deleted it
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
            return response.json()
        except ValueError:
            pass
    return response.text


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return scrub(response.text[:200].strip()) or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return scrub(body["message"][:300])
    return response.reason_phrase
