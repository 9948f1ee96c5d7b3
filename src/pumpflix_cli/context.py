"""The application context every command receives: settings, the printer, and the
service clients, each created on first use so a command pays only for what it touches."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pumpflix_cli.output import Output

if TYPE_CHECKING:
    from pumpflix_cli.cache.client import RedisClient
    from pumpflix_cli.cache.templates import TemplateCache
    from pumpflix_cli.config import LoadedSettings, Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.errors import CacheStaleError
    from pumpflix_cli.n8n.client import N8nClient
    from pumpflix_cli.services.templates.library import TemplateLibrary


class AppContext:
    def __init__(
        self, output: Output, env_file: Path | None = None, *, log_format_given: bool = False
    ) -> None:
        self.output = output
        self.env_file = env_file
        self.log_format_given = log_format_given  # --log-format or the environment chose it
        self._loaded: LoadedSettings | None = None
        self._database: Database | None = None
        self._database_checked = False
        self._redis: RedisClient | None = None
        self._n8n: N8nClient | None = None
        # A committed write whose cache invalidation failed: the command ends with it.
        self.stale_cache: CacheStaleError | None = None

    @property
    def loaded_settings(self) -> LoadedSettings:
        if self._loaded is None:
            from pumpflix_cli.config import load_settings

            self._loaded = load_settings(self.env_file)
            if not self.log_format_given:  # PUMPFLIX_LOG_FORMAT from a .env file
                self.output.log_format = self._loaded.settings.log_format
        return self._loaded

    @property
    def settings(self) -> Settings:
        return self.loaded_settings.settings

    def database(self, *, check_schema: bool = True) -> Database:
        """The database; the embedded one is created and migrated on first use."""
        if self._database is None:
            from pumpflix_cli.db.engine import Database

            self._database = Database(self.settings)
        if check_schema and not self._database_checked:
            from pumpflix_cli.db.schema_version import ensure_current

            ensure_current(self._database)
            self._database_checked = True
        return self._database

    def redis(self) -> RedisClient:
        if self._redis is None:
            from pumpflix_cli.cache.client import connect

            self._redis = connect(self.settings)
        return self._redis

    def template_cache(self) -> TemplateCache | None:
        """The template cache, or None when no REDIS_URL is set (reads use the database)."""
        settings = self.settings
        if settings.redis_url is None:
            return None
        from pumpflix_cli.cache.codec import ValueCodec
        from pumpflix_cli.cache.store import RevisionedStore
        from pumpflix_cli.cache.templates import TemplateCache

        key = settings.cache_key.get_secret_value() if settings.cache_key else None
        store = RevisionedStore(self.redis(), settings.redis_url, ValueCodec(key), self.output.warn)
        ttls = {"prebuilt": settings.cache_ttl_prebuilt, "user": settings.cache_ttl_user}
        return TemplateCache(store, settings.cache_prefix, ttls)

    def library(self) -> TemplateLibrary:
        from pumpflix_cli.services.templates.library import TemplateLibrary

        return TemplateLibrary(
            self.database, self.template_cache(), self.output.warn, stale=self._cache_stale
        )

    def _cache_stale(self, error: CacheStaleError) -> None:
        if self.stale_cache is None:
            self.stale_cache = error

    def n8n(self) -> N8nClient:
        if self._n8n is None:
            from pumpflix_cli.errors import ServiceUnavailableError
            from pumpflix_cli.n8n.client import N8nClient

            settings = self.settings
            if settings.n8n_url is None:
                raise ServiceUnavailableError(
                    "n8n", "not configured", hint="set N8N_URL and N8N_API_KEY"
                )
            key = settings.n8n_api_key.get_secret_value() if settings.n8n_api_key else None
            self._n8n = N8nClient(settings.n8n_url, key, timeout=settings.n8n_timeout)
        return self._n8n

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
        if self._redis is not None:
            self._redis.close()
        if self._n8n is not None:
            self._n8n.close()
