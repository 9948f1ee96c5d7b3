"""The n8n public REST API (v1) client: API key header, timeouts on every call, and the
mapping of transport and HTTP failures onto the exit-code contract (SPEC §6)."""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from pumpflix_cli.errors import (
    CredentialsRejectedError,
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from pumpflix_cli.redact import register_secret, scrub

SERVICE = "n8n"
API = "/api/v1"
_SENTRY_META = re.compile(r'<meta\s+name="n8n:config:sentry"\s+content="([^"]+)"', re.IGNORECASE)


@dataclass(frozen=True)
class N8nStatus:
    reachable: bool
    version: str | None
    api_key_valid: bool | None
    latency_ms: float | None


class N8nClient:
    """One n8n instance. Create it with :meth:`from_settings`; close it when done."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        register_secret(api_key)
        headers = {"Accept": "application/json", "User-Agent": "pumpflix"}
        if api_key:
            headers["X-N8N-API-KEY"] = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # --- transport -------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceTimeoutError(
                SERVICE, f"{method} {path} timed out at {self.base_url}"
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                SERVICE,
                f"cannot reach n8n at {self.base_url} ({scrub(str(exc)) or type(exc).__name__})",
                hint="is n8n running and N8N_URL right? pumpflix n8n status checks it",
            ) from exc

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the public API; return the decoded JSON body or raise a mapped error."""
        if not self._api_key:
            raise ServiceUnavailableError(SERVICE, "N8N_API_KEY is not set", hint="set N8N_API_KEY")
        response = self._send(method, API + path, **kwargs)
        if response.status_code in (401, 403):
            raise CredentialsRejectedError(
                SERVICE,
                f"n8n rejected the API key ({self.base_url})",
                hint="create a key in n8n (Settings → n8n API) and set N8N_API_KEY",
            )
        if response.status_code >= 400:
            raise PumpflixError(
                f"n8n answered {response.status_code} to {method} {path}: "
                f"{_error_message(response)}"
            )
        if not response.content:
            return None
        return response.json()

    # --- calls -----------------------------------------------------------------------

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
        release = str(config.get("release") or "")
        return release.removeprefix("n8n@") or None

    def status(self) -> N8nStatus:
        """Reachability, version and whether the API key is accepted; never raises for a
        rejected key (that is part of the answer)."""
        started = time.perf_counter()
        self._send("GET", "/healthz")
        latency = round((time.perf_counter() - started) * 1000, 2)
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


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return scrub(response.text[:200].strip()) or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return scrub(body["message"][:300])
    return response.reason_phrase
