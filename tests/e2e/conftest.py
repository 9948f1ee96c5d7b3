"""Fixtures for the e2e suite: one real n8n per test session.

With ``N8N_E2E_URL`` and ``N8N_E2E_API_KEY`` set, the suite uses that n8n. Otherwise the
``n8n`` fixture runs ``scripts/n8n-e2e up`` in a state folder of this test session and
``scripts/n8n-e2e down`` when the session ends. Under pytest-xdist the workers share one
n8n: the last worker to finish stops it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
SCRIPT = REPO_ROOT / "scripts" / "n8n-e2e"
# Installing n8n on a fresh machine takes about 4 minutes; starting it under a minute.
UP_TIMEOUT = 1800.0


@dataclass(frozen=True)
class N8n:
    url: str
    api_key: str


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _harness(*args: str, timeout: float) -> str:
    try:
        result = subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"scripts/n8n-e2e {' '.join(args)} timed out after {err.timeout:.0f} s")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-80:])
        pytest.fail(
            f"scripts/n8n-e2e {' '.join(args)} exited {result.returncode}:\n{tail}",
            pytrace=False,
        )
    return result.stdout


def _parse_env(stdout: str) -> N8n:
    values = dict(
        line.split("=", 1)
        for line in stdout.splitlines()
        if line.startswith("N8N_") and "=" in line
    )
    return N8n(url=values["N8N_URL"].rstrip("/"), api_key=values["N8N_API_KEY"])


@pytest.fixture(scope="session")
def n8n(tmp_path_factory: pytest.TempPathFactory) -> Iterator[N8n]:
    url = os.environ.get("N8N_E2E_URL")
    api_key = os.environ.get("N8N_E2E_API_KEY")
    if url and api_key:
        yield N8n(url=url.rstrip("/"), api_key=api_key)
        return

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    # xdist workers' base temp folders are siblings under one folder of the run.
    shared = (base.parent if worker else base) / "n8n-e2e"
    shared.mkdir(parents=True, exist_ok=True)
    state_dir = shared / "state"
    users = shared / "users"
    users.mkdir(exist_ok=True)
    me = users / (worker or "main")

    with (shared / "fixture.lock").open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            me.touch()
            # `up` reuses a healthy n8n already running in the state folder.
            instance = _parse_env(_harness("up", "--state-dir", str(state_dir), timeout=UP_TIMEOUT))
        except BaseException:
            me.unlink(missing_ok=True)
            if not any(users.iterdir()):
                _harness("down", "--state-dir", str(state_dir), timeout=120)
            raise
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    try:
        yield instance
    finally:
        with (shared / "fixture.lock").open("a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                me.unlink(missing_ok=True)
                if not any(users.iterdir()):
                    _harness("down", "--state-dir", str(state_dir), timeout=120)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


# --- fixtures the e2e modules share --------------------------------------------------


@pytest.fixture
def api(n8n: N8n) -> Iterator[httpx.Client]:
    """The test's own client of n8n's public API."""
    from .n8n_api import api_client

    with api_client(n8n) as client:
        yield client


@pytest.fixture
def prefix(api: httpx.Client) -> Iterator[str]:
    """A name prefix of this test's own; its n8n workflows are deleted afterwards."""
    from .n8n_api import delete_named

    mark = f"pf{uuid.uuid4().hex[:8]} "
    yield mark
    delete_named(api, mark)


@pytest.fixture
def env(n8n: N8n, backend: Backend) -> dict[str, str]:
    """Settings pointing pumpflix at the test's database and the session's n8n."""
    return {**backend.env, "N8N_URL": n8n.url, "N8N_API_KEY": n8n.api_key}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(method, path) of every request pumpflix sends (not the test's own)."""
    requests: list[tuple[str, str]] = []
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.headers.get("user-agent") == "pumpflix":
            requests.append((request.method, request.url.path))
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return requests


@pytest.fixture
def n8n_state(n8n: N8n, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The state of the harness running the session's n8n (to run n8n's command line on
    it): in ``$N8N_E2E_STATE_DIR``, the folder the ``n8n`` fixture started it in, or the
    harness' default folder."""
    from .manual_runs import harness_state

    base = tmp_path_factory.getbasetemp()
    started = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "n8n-e2e"
    given = os.environ.get("N8N_E2E_STATE_DIR")
    return harness_state(n8n, [Path(given)] if given else [started / "state"])
