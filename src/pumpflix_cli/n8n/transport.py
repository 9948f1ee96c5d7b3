"""The transport under the n8n client: API key header, timeouts on every call, retries
with backoff, cursor pagination, bounded concurrency, and the mapping of transport and
HTTP failures onto the exit-code contract (SPEC §6, §9). The calls themselves (workflows,
webhooks, executions) are in ``client``."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
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
from pumpflix_cli.json_text import NonJsonNumberError, loads
from pumpflix_cli.redact import error_text, register_secret, scrub
from pumpflix_cli.urls import parse_url

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


class N8nTransport:
    """One n8n instance over one connection pool, safe to share between threads."""

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
        url = parse_url(base_url.rstrip("/"))
        # What we print and record (links are keyed by it): never a credential. httpx gets
        # the URL without its user info and the credentials as basic auth, so no request
        # URL it builds (or quotes in an error) holds them either.
        self.base_url = url.masked()
        self._api_key = api_key
        self._timeout = timeout
        register_secret(api_key)
        for secret in url.secrets():
            register_secret(secret)
        auth = None
        if url.raw_userinfo:
            auth = httpx.BasicAuth(url.username or "", url.password or "")
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        headers = {"Accept": "application/json", "User-Agent": "pumpflix"}
        if api_key:
            headers["X-N8N-API-KEY"] = api_key
        self._http = httpx.Client(
            base_url=url.without_userinfo(),
            auth=auth,
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
        reason = error_text(exc)
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
            return loads(response.content)
        except NonJsonNumberError as exc:
            raise N8nRequestError(
                f"n8n answered {method} {path} with JSON that cannot be stored: {exc}", status
            ) from None
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
