"""Settings, resolved from the environment and an optional ``.env`` file (SPEC §2).

The platform's own names (``DATABASE_URL``, ``REDIS_URL``, ``N8N_URL``, ``N8N_API_KEY``)
are read as they are; pumpflix's own settings carry the ``PUMPFLIX_`` prefix. Importing
this module imports pydantic, so the CLI imports it only when a command needs settings.
(A little over 300 lines: the settings, their checks and ``config show``'s view of them
read best together.)
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pumpflix_cli.errors import ConfigError
from pumpflix_cli.redact import register_secret, scrub
from pumpflix_cli.urls import ParsedUrl, UrlError, mask_url, parse_url

PREFIX = "PUMPFLIX_"
# Variables with our prefix that belong to the project's tooling, not to the CLI.
TOOLING_VARIABLES = frozenset({"PUMPFLIX_CORPUS", "PUMPFLIX_N8N_CACHE", "PUMPFLIX_N8N_STATE"})
DEFAULT_ENV_FILE = Path(".env")


class Settings(BaseSettings):
    """Every setting the CLI reads. ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL (postgresql://user:pw@host/db); unset: embedded SQLite",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="Redis URL (redis://, rediss:// for TLS); unset: cache off",
    )
    n8n_url: str | None = Field(
        default=None, validation_alias="N8N_URL", description="n8n base URL (http://host:5678)"
    )
    n8n_api_key: SecretStr | None = Field(
        default=None, validation_alias="N8N_API_KEY", description="n8n public API key"
    )
    data_dir: Path | None = Field(
        default=None, description="where the embedded SQLite database lives"
    )
    cache_prefix: str = Field(
        default="",
        description="prefix of every Redis key; empty: the platform's own keys (tests isolate)",
    )
    cache_ttl_prebuilt: int = Field(default=6 * 3600, gt=0, description="TTL of prebuilt (s)")
    cache_ttl_user: int = Field(default=3600, gt=0, description="TTL of user templates (s)")
    cache_key: SecretStr | None = Field(
        default=None, description="Fernet key: encrypts cached values when set"
    )
    redis_cluster: bool = Field(default=False, description="REDIS_URL names a Redis Cluster")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="diagnostics on stderr: text for people, json (one object a line) for logs",
    )
    db_timeout: float = Field(default=5.0, gt=0, description="database connect timeout (s)")
    lock_timeout: float = Field(
        default=10.0, gt=0, description="longest wait for a row or lock another session holds (s)"
    )
    redis_timeout: float = Field(default=2.0, gt=0, description="Redis connect/read timeout (s)")
    n8n_timeout: float = Field(default=30.0, gt=0, description="n8n request timeout (s)")
    max_file_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, description="largest workflow file import reads"
    )
    max_depth: int = Field(default=100, gt=0, description="deepest JSON nesting import accepts")
    debug: bool = Field(default=False, description="print tracebacks for every error")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = _parse_setting_url(value)
        if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg", "sqlite"}:
            raise ValueError(
                f"unsupported scheme {parts.scheme!r} (use postgresql:// or sqlite:///path)"
            )
        if parts.scheme != "sqlite" and not parts.host and "host=" not in (parts.query or ""):
            raise ValueError("a PostgreSQL URL needs a host")
        return parts.canonical()

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = _parse_setting_url(value)
        if parts.scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(f"unsupported scheme {parts.scheme!r} (use redis:// or rediss://)")
        if parts.scheme != "unix" and not parts.host:
            raise ValueError("a Redis URL needs a host")
        return parts.canonical()

    @field_validator("n8n_url")
    @classmethod
    def _check_n8n_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = _parse_setting_url(value)
        if parts.scheme not in {"http", "https"} or not parts.host:
            raise ValueError("expected http://host[:port] or https://host[:port]")
        return parts.canonical().rstrip("/")

    @field_validator("cache_key")
    @classmethod
    def _check_cache_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not _is_fernet_key(value.get_secret_value()):
            raise ValueError(
                "must be 32 random bytes in URL-safe base64, as printed by "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'"
            )
        return value

    @field_validator("cache_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        # Empty is the platform's own key space; otherwise a side key's hash tag (``{`` +
        # the guarded key + ``}``) and our SCAN patterns need no braces or glob characters.
        if any(ch.isspace() or ch in "*?[]{}\\" for ch in value):
            raise ValueError("must be without spaces, glob characters, backslashes or braces")
        return value

    @model_validator(mode="after")
    def _register_secrets(self) -> Settings:
        """The second net (``redact.scrub``): every secret these settings hold is masked
        wherever it shows up, in each form it may be written in."""
        for field in URL_FIELDS:
            url = getattr(self, field)
            if url is not None:
                for secret in parse_url(url).secrets():
                    register_secret(secret)
        for field in SECRET_FIELDS:
            secret = getattr(self, field)
            if secret is not None:
                register_secret(secret.get_secret_value())
        return self

    # --- derived ---------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        """No DATABASE_URL: the embedded SQLite database is used."""
        return self.database_url is None

    @property
    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir.expanduser()
        from platformdirs import user_data_dir

        return Path(user_data_dir("pumpflix", appauthor=False))

    @property
    def sqlite_path(self) -> Path:
        return self.resolved_data_dir / "pumpflix.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"


def _parse_setting_url(value: str) -> ParsedUrl:
    """A URL setting read the one way it can be read (:mod:`pumpflix_cli.urls`); the
    error names its scheme at most, never the value."""
    try:
        parts = parse_url(value)
    except UrlError as exc:
        raise ValueError(str(exc)) from None
    if parts.fragment is not None:
        raise ValueError(
            f"the {parts.scheme}:// URL has a '#' (a fragment): percent-encode it as %23"
        )
    return parts


_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")


def _is_fernet_key(key: str) -> bool:
    """Exactly what ``Fernet.generate_key()`` prints: 32 bytes in canonical URL-safe base64,
    44 characters. The lenient decoder would skip stray characters (``<key>garbage!!``)."""
    if _FERNET_KEY.fullmatch(key) is None:
        return False
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and base64.urlsafe_b64encode(raw).decode("ascii") == key


SECRET_FIELDS = frozenset({"n8n_api_key", "cache_key"})
URL_FIELDS = frozenset({"database_url", "redis_url", "n8n_url"})
Source = Literal["environment", "env file", "default"]


@dataclass(frozen=True)
class ResolvedSetting:
    field: str
    variable: str
    value: Any  # masked where secret
    source: str
    description: str
    secret: bool


def variable_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else PREFIX + field.upper()


def _read_env_file(path: Path) -> dict[str, str | None]:
    from dotenv import dotenv_values

    return dict(dotenv_values(path))


def _check_unknown(names: list[str], where: str) -> None:
    known = {variable_name(field) for field in Settings.model_fields}
    for name in names:
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper in TOOLING_VARIABLES:
            continue
        guess = difflib.get_close_matches(upper, sorted(known), n=1)
        hint = f"did you mean {guess[0]}?" if guess else "pumpflix config show lists every setting"
        raise ConfigError(f"unknown setting {name} in {where}", hint=hint)


class LoadedSettings:
    """Settings plus where each value came from, for ``config show``."""

    def __init__(self, settings: Settings, env_file: Path | None, file_values: dict[str, Any]):
        self.settings = settings
        self.env_file = env_file
        self._file_values = {key.upper(): value for key, value in file_values.items()}

    def source_of(self, field: str) -> str:
        name = variable_name(field)
        if any(key.upper() == name for key in os.environ):
            return "environment"
        if name in self._file_values:
            return f"env file {self.env_file}"
        return "default"

    def resolved(self) -> list[ResolvedSetting]:
        rows = []
        for field, info in Settings.model_fields.items():
            value: Any = getattr(self.settings, field)
            secret = field in SECRET_FIELDS
            if secret:
                value = "***" if value is not None else None
            elif field in URL_FIELDS and value is not None:
                value = mask_url(value)
            elif isinstance(value, Path):
                value = str(value)
            if field == "data_dir" and value is None:
                value = str(self.settings.resolved_data_dir)
            rows.append(
                ResolvedSetting(
                    field=field,
                    variable=variable_name(field),
                    value=value,
                    source=self.source_of(field),
                    description=info.description or "",
                    secret=secret,
                )
            )
        return rows


def load_settings(env_file: Path | None = None) -> LoadedSettings:
    """Resolve the settings; ``env_file`` None means ``./.env`` when it exists.

    Raises :class:`ConfigError` (exit 2) for a malformed value or an unknown setting.
    """
    path: Path | None = env_file
    file_values: dict[str, Any] = {}
    if path is not None and not path.is_file():
        raise ConfigError(f"env file {path} does not exist")
    if path is None and DEFAULT_ENV_FILE.is_file():
        path = DEFAULT_ENV_FILE
    if path is not None:
        file_values = _read_env_file(path)
    _check_unknown(list(os.environ), "the environment")
    if path is not None:
        _check_unknown(list(file_values), str(path))
    try:
        settings = Settings(_env_file=path)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = (
            field
            if field.isupper()
            else variable_name(field)
            if field in Settings.model_fields
            else field
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            scrub(f"invalid setting {name}: {message}"),
            hint="pumpflix config show lists the settings and where each came from",
        ) from None
    return LoadedSettings(settings, path, file_values)
