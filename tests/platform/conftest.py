"""Fixtures for the platform conformance tests (issue 11): the platform's own client.

``platform_runtime`` installs what the client needs once per session (Node 24 through
``scripts/n8n-e2e``'s install path, the npm packages by ``npm ci`` into a cache folder
keyed by the lock file); a failed install fails the tests, it does not skip them.
``platform`` is that client pointed at ``platform_database_url`` and at the test's own
Redis prefix from ``redis_env`` (the same ``PUMPFLIX_CACHE_PREFIX`` an in-process
pumpflix run of the test uses). ``platform_database_url`` is a database of this run's own
holding the platform's table made with its exact DDL; a test module that wants pumpflix
and the platform on one database overrides it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.conftest import RUN_ID, create_database, drop_database

from .harness import REPO_ROOT, WORKFLOW_TEMPLATE_DDL, Platform, Runtime

PLATFORM_TESTS = Path(__file__).resolve().parent
# Node is already there wherever the e2e tests ran; npm ci takes seconds, a fresh Node a
# minute or two (pip downloads a 60 MB wheel).
INSTALL_TIMEOUT = 900.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PLATFORM_TESTS in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.platform)


@pytest.fixture(scope="session")
def platform_runtime() -> Runtime:
    command = [sys.executable, "-m", "tests.platform.harness", "install"]
    try:
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"installing the platform client took over {INSTALL_TIMEOUT:.0f} s")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-60:])
        pytest.fail(
            f"installing the platform client exited {result.returncode}:\n{tail}", pytrace=False
        )
    return Runtime.from_json(result.stdout)


@contextmanager
def platform_database(label: str) -> Iterator[str]:
    """A database of this run's own holding only the platform's table (its own DDL),
    dropped afterwards; ``label`` keeps the names of parallel fixtures apart."""
    name = f"pumpflix_{label}_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(WORKFLOW_TEMPLATE_DDL)
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def platform_database_url() -> Iterator[str]:
    """This run's own database with the platform's "WorkflowTemplate" table."""
    with platform_database("platform") as url:
        yield url


@pytest.fixture
def platform(
    platform_runtime: Runtime, platform_database_url: str, redis_env: dict[str, str]
) -> Iterator[Platform]:
    """The platform's client on the test's database and Redis prefix; rows emptied after."""
    yield Platform(
        runtime=platform_runtime,
        database_url=platform_database_url,
        redis_url=redis_env["REDIS_URL"],
        prefix=redis_env["PUMPFLIX_CACHE_PREFIX"],
    )
    with psycopg.connect(platform_database_url, autocommit=True) as conn:
        conn.execute('TRUNCATE "WorkflowTemplate"')
