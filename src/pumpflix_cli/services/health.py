"""``doctor``: is each service configured, reachable, which version, how far away."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import camel_json
from pumpflix_cli.redact import error_text, mask_url, scrub

if TYPE_CHECKING:
    from pumpflix_cli.cache.client import RedisClient
    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.n8n.client import N8nClient


@dataclass(frozen=True)
class Services:
    """How to reach each service: the settings, and a factory per client (each called only
    when its service is configured)."""

    settings: Settings
    database: Callable[[], Database]
    redis: Callable[[], RedisClient]
    n8n: Callable[[], N8nClient]


@dataclass
class ServiceHealth:
    configured: bool
    ok: bool
    version: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    url: str | None = None
    details: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, skip=("details",) if self.details is None else ())

    @property
    def healthy(self) -> bool:
        return self.ok or not self.configured


def _failure(exc: Exception) -> str:
    if isinstance(exc, PumpflixError):
        return scrub(exc.message)
    return f"{type(exc).__name__}: {error_text(exc)}"


def check_database(services: Services) -> tuple[str, ServiceHealth]:
    """The configured database; with no DATABASE_URL that is embedded SQLite, reported
    under ``sqlite`` while ``postgres`` shows as not configured."""
    settings = services.settings
    key = "sqlite" if settings.embedded else "postgres"
    health = ServiceHealth(configured=True, ok=False, url=mask_url(settings.effective_database_url))
    try:
        database = services.database()
        info = database.server_info()
        from pumpflix_cli.db.migrate import status

        schema = status(database)
        health.ok = True
        health.version = info.version
        health.latency_ms = info.latency_ms
        health.details = {
            "schema": schema.current,
            "schemaHead": schema.head,
            "upToDate": schema.up_to_date,
        }
    except Exception as exc:  # doctor reports every failure instead of stopping at one
        health.error = _failure(exc)
    return key, health


def check_redis(services: Services) -> ServiceHealth:
    settings = services.settings
    if settings.redis_url is None:
        return ServiceHealth(configured=False, ok=False, error="REDIS_URL is not set")
    health = ServiceHealth(configured=True, ok=False, url=mask_url(settings.redis_url))
    try:
        from pumpflix_cli.cache.client import server_info

        info = server_info(services.redis(), settings.redis_url)
        health.ok, health.version, health.latency_ms = True, info.version, info.latency_ms
        health.details = {"cluster": info.cluster}
    except Exception as exc:
        health.error = _failure(exc)
    return health


def check_n8n(services: Services) -> ServiceHealth:
    settings = services.settings
    if settings.n8n_url is None:
        return ServiceHealth(configured=False, ok=False, error="N8N_URL is not set")
    health = ServiceHealth(configured=True, ok=False, url=mask_url(settings.n8n_url))
    try:
        status = services.n8n().status()
        health.version, health.latency_ms = status.version, status.latency_ms
        health.details = {"apiKeyValid": status.api_key_valid}
        if status.api_key_valid is None:
            health.error = "N8N_API_KEY is not set"
        elif not status.api_key_valid:
            health.error = "n8n rejected the API key"
        else:
            health.ok = True
    except Exception as exc:
        health.error = _failure(exc)
    return health


@dataclass(frozen=True)
class HealthReport:
    """Each service by name (``postgres`` or ``sqlite``, ``redis``, ``n8n``)."""

    services: dict[str, ServiceHealth]

    @property
    def exit_code(self) -> ExitCode:
        """UNAVAILABLE when a configured service is unhealthy."""
        healthy = all(health.healthy for health in self.services.values())
        return ExitCode.OK if healthy else ExitCode.UNAVAILABLE

    def to_json(self) -> dict[str, Any]:
        return {name: health.to_json() for name, health in self.services.items()}


def check_all(services: Services) -> HealthReport:
    db_key, db_health = check_database(services)
    report: dict[str, ServiceHealth] = {}
    if db_key == "sqlite":
        report["postgres"] = ServiceHealth(
            configured=False, ok=False, error="DATABASE_URL is not set (embedded SQLite in use)"
        )
    report[db_key] = db_health
    report["redis"] = check_redis(services)
    report["n8n"] = check_n8n(services)
    return HealthReport(report)
