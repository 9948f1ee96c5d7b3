"""The test harness (SPEC §7): real PostgreSQL and Redis, a database and a key space of
this run's own, removed afterwards; the database-touching tests run on SQLite as well."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from typer.testing import CliRunner, Result

from pumpflix_cli.cli.app import app

# Where the real services are; override for a machine that keeps them elsewhere.
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]

# Settings the CLI reads; a developer's shell must not leak into the tests.
SETTING_PREFIXES = ("PUMPFLIX_",)
SETTING_NAMES = ("DATABASE_URL", "REDIS_URL", "N8N_URL", "N8N_API_KEY", "NO_COLOR")
KEEP = frozenset({"PUMPFLIX_CORPUS", "PUMPFLIX_N8N_CACHE", "PUMPFLIX_N8N_STATE"})


# Trust authentication accepts any password: the test database URLs carry one, so every
# CLI run in the suite proves it never prints it.
TEST_DB_PASSWORD = "pg-test-secret-4f1d"


def pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    parts = urlsplit(base)
    if parts.password is None and parts.username:
        base = base.replace(f"//{parts.username}@", f"//{parts.username}:{TEST_DB_PASSWORD}@", 1)
    return f"{base}/{database}"


def create_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the developer's shell, no ./.env, and a private data directory."""
    for name in list(os.environ):
        if (name.startswith(SETTING_PREFIXES) and name not in KEEP) or name in SETTING_NAMES:
            monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("PUMPFLIX_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This run's own PostgreSQL database, migrated to head, dropped at the end.

    The platform deploys first here: its own DDL makes ``"WorkflowTemplate"`` and
    ``db upgrade`` adopts it, so every PostgreSQL test runs on an adopted table (the
    tests that start from an empty database cover pumpflix creating it)."""
    from tests.platform.harness import WORKFLOW_TEMPLATE_DDL

    name = f"pumpflix_test_{RUN_ID}"
    url = create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(WORKFLOW_TEMPLATE_DDL)
    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.migrate import upgrade

    database = Database(Settings(DATABASE_URL=url))
    upgrade(database)
    database.dispose()
    yield url
    drop_database(name)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new, unmigrated PostgreSQL database for this one test."""
    name = f"pumpflix_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    yield url
    drop_database(name)


def _truncate_all(url: str) -> None:
    from pumpflix_cli.db.models import Base

    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} CASCADE")


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """This run's own Redis key space; every key under it is deleted at the end."""
    prefix = f"pumpflix-test-{RUN_ID}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_BASE_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@dataclass(frozen=True)
class Backend:
    """The environment that points the CLI at one database backend."""

    name: str
    env: Mapping[str, str]
    # Extra PostgreSQL databases a test created, dropped after it.
    cleanups: list[str] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Backend]:
    """Runs the test on the embedded SQLite default and on PostgreSQL."""
    if request.param == "sqlite":
        env = {"PUMPFLIX_DATA_DIR": str(tmp_path / "data")}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield Backend("sqlite", env)
        return
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("DATABASE_URL", url)
    backend = Backend("postgres", {"DATABASE_URL": url})
    yield backend
    _truncate_all(url)
    for name in backend.cleanups:
        drop_database(name)


@pytest.fixture
def redis_env(monkeypatch: pytest.MonkeyPatch, redis_prefix: str) -> dict[str, str]:
    """Points the CLI at the real Redis under this test's own prefix."""
    prefix = f"{redis_prefix}{uuid.uuid4().hex[:8]}:"
    env = {"REDIS_URL": REDIS_BASE_URL, "PUMPFLIX_CACHE_PREFIX": prefix}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


CliRun = Callable[..., Result]


@pytest.fixture
def cli() -> CliRun:
    """Runs ``pumpflix`` in-process: ``cli("db", "status", "--json", env={...})``.

    Every run is checked for leaked secrets: the passwords in its database and Redis URLs,
    its n8n API key and its cache key must appear nowhere in what it printed.
    """
    runner = CliRunner()

    def run(*args: str, env: Mapping[str, str] | None = None, input: Any = None) -> Result:
        settings = {**os.environ, **(env or {})}
        result = runner.invoke(
            app, list(args), env=dict(env or {}), input=input, catch_exceptions=False
        )
        assert_no_secret_leaked(settings, result.stdout + result.stderr, args)
        return result

    return run


SECRET_SETTINGS = ("N8N_API_KEY", "PUMPFLIX_CACHE_KEY")
URL_SETTINGS = ("DATABASE_URL", "REDIS_URL", "N8N_URL")


def secrets_in(settings: Mapping[str, str]) -> dict[str, str]:
    """Setting name -> secret value, for the settings of one run: the secret settings, and
    each URL's password and secret query values as pumpflix reads them (a URL it refuses
    must not be printed at all: its text after the scheme counts as the secret)."""
    from pumpflix_cli.urls import UrlError, parse_url

    found = {name: settings[name] for name in SECRET_SETTINGS if len(settings.get(name, "")) >= 6}
    for name in URL_SETTINGS:
        value = settings.get(name, "")
        if not value:
            continue
        try:
            secrets = parse_url(value).secrets()
        except UrlError:
            secrets = [value.partition("://")[2]]
        for index, secret in enumerate(secrets):
            if len(secret) >= 4:
                found[f"{name} secret {index}"] = secret
    return found


def assert_no_secret_leaked(settings: Mapping[str, str], printed: str, args: Any) -> None:
    leaked = [name for name, value in secrets_in(settings).items() if value in printed]
    assert not leaked, f"pumpflix {' '.join(map(str, args))} printed the secret {leaked}"
