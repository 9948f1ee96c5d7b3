"""n8n going away under `n8n sync --push` and `instances run`, and n8n hanging (issue 7).

The shared session n8n is never touched: this module starts an n8n of its own with
``scripts/n8n-e2e up``, kills its process group mid-run (SIGKILL: a crash, not a polite
shutdown), brings it back on the same port, database and API key with
``scripts/n8n-e2e restart``, and checks that running the same command again converges.
pumpflix runs as the installed script in a process of its own, as cron would run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, subprocess_env

from .conftest import REPO_ROOT, SCRIPT, UP_TIMEOUT, N8n, _parse_env
from .n8n_api import all_workflows, api_client
from .test_instances_run import chain, code, manual

TEMPLATES = 150  # enough that a push is still under way when n8n is killed
RUN_TIMEOUT = 180.0  # a safety net for a stuck subprocess, not a measurement


@dataclass(frozen=True)
class PrivateN8n(N8n):
    state_dir: Path

    def pid(self) -> int:
        state = json.loads((self.state_dir / "state.json").read_text())
        return int(state["pid"])


def harness(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT,
        check=False,
    )
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, f"scripts/n8n-e2e {' '.join(args)}:\n{tail}"
    return result.stdout


@pytest.fixture(scope="module")
def private_n8n(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateN8n]:
    """An n8n for this module alone: killing it disturbs no other test."""
    state_dir = tmp_path_factory.mktemp("n8n-faults") / "state"
    try:
        found = _parse_env(harness("up", "--state-dir", str(state_dir)))
        yield PrivateN8n(found.url, found.api_key, state_dir)
    finally:
        harness("down", "--state-dir", str(state_dir))


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            raw = (entry / "stat").read_text()
            fields = raw[raw.rindex(")") + 2 :].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False


def kill_n8n(n8n: PrivateN8n) -> None:
    """Kill n8n and its task runner at once, as a crash or an OOM kill would."""
    pgid = n8n.pid()
    os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while group_alive(pgid):
        assert time.monotonic() < deadline, f"n8n (process group {pgid}) outlived SIGKILL"
        time.sleep(0.05)


def restart_n8n(n8n: PrivateN8n) -> None:
    again = _parse_env(harness("restart", "--state-dir", str(n8n.state_dir)))
    assert (again.url, again.api_key) == (n8n.url, n8n.api_key)


@pytest.fixture
def n8n_up(private_n8n: PrivateN8n) -> Iterator[PrivateN8n]:
    """The private n8n, running; restarted afterwards if a failed test left it down."""
    yield private_n8n
    if not group_alive(private_n8n.pid()):
        restart_n8n(private_n8n)


@pytest.fixture
def api(private_n8n: PrivateN8n) -> Iterator[httpx.Client]:
    """The API client of the private n8n (this module's, not the session's)."""
    with api_client(private_n8n, timeout=10.0) as client:
        yield client


@pytest.fixture
def database_url(empty_postgres_url: str, tmp_path: Path) -> str:
    """A PostgreSQL database of this test's own, migrated by the CLI itself."""
    result = subprocess.run(
        [PUMPFLIX, "db", "upgrade"],
        env=subprocess_env({"DATABASE_URL": empty_postgres_url}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return empty_postgres_url


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


class Pumpflix:
    """Runs the installed ``pumpflix`` with one environment and checks what it printed."""

    def __init__(self, env: dict[str, str], cwd: Path, secrets: list[str]) -> None:
        self.env = subprocess_env(env)
        self.cwd = cwd
        self.secrets = secrets

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [PUMPFLIX, *args],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, proc: subprocess.Popen[str]) -> Run:
        try:
            stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"pumpflix {proc.args!r} did not end")
        run = Run(proc.returncode, stdout, stderr)
        for secret in self.secrets:
            assert secret not in stdout + stderr, "pumpflix printed a secret"
        assert "Traceback" not in stderr, stderr
        return run

    def __call__(self, *args: str) -> Run:
        return self.finish(self.start(*args))

    def json(self, *args: str) -> Any:
        run = self(*args, "--json")
        assert run.code == 0, run.stderr
        return json.loads(run.stdout)


def assert_n8n_outage(run: Run, url: str, codes: tuple[int, ...] = (69, 75)) -> None:
    """Exit 69 or 75 with one ``error:`` line naming n8n and where it was looked for."""
    assert run.code in codes, (run.code, run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("error: n8n: "), errors
    assert url in errors[0], errors


def wait_until(what: str, check: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Poll ``check`` while ``proc`` runs; fail (never skip) if it ends first."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not check():
        if proc.poll() is not None:
            pytest.fail(f"pumpflix ended (exit {proc.returncode}) before {what}")
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def named(api: httpx.Client, mark: str) -> list[dict[str, Any]]:
    return [w for w in all_workflows(api) if str(w["name"]).startswith(mark)]


def count_named(api: httpx.Client, mark: str) -> int:
    """How many workflows named ``mark…`` n8n holds; 0 while n8n cannot answer."""
    try:
        return len(named(api, mark))
    except (httpx.HTTPError, AssertionError):
        return 0


# --- n8n killed during a push ---------------------------------------------------------


def test_n8n_killed_mid_push_exits_69_and_the_next_pushes_converge(
    n8n_up: PrivateN8n, api: httpx.Client, database_url: str, tmp_path: Path
) -> None:
    mark = f"pff{uuid.uuid4().hex[:8]} "
    folder = tmp_path / "templates"
    for index in range(TEMPLATES):
        name = f"{mark}{index:03d}"
        write(folder, f"{index:03d}.json", workflow(name, text=f"hello {index}"))
    env = {"DATABASE_URL": database_url, "N8N_URL": n8n_up.url, "N8N_API_KEY": n8n_up.api_key}
    pumpflix = Pumpflix(env, tmp_path, [n8n_up.api_key])
    imported = pumpflix.json("templates", "import", str(folder), "--type", "prebuilt")
    assert imported["created"] == TEMPLATES, imported

    push = pumpflix.start("n8n", "sync", "--push", "--json")
    wait_until("a first part of the push reached n8n", lambda: count_named(api, mark) >= 20, push)
    kill_n8n(n8n_up)
    stopped = pumpflix.finish(push)

    assert_n8n_outage(stopped, n8n_up.url, codes=(69,))
    assert "cannot reach n8n" in stopped.stderr
    assert stopped.stdout == ""  # no report that would read as a finished sync

    restart_n8n(n8n_up)
    landed = named(api, mark)
    assert 20 <= len(landed) < TEMPLATES  # it really stopped midway

    second = pumpflix.json("n8n", "sync", "--push")
    assert second["failed"] == 0 and second["conflicts"] == 0, second
    assert second["created"] + second["updated"] + second["unchanged"] == TEMPLATES, second
    assert second["created"] >= TEMPLATES - len(landed), second

    before = {w["id"]: (w["versionId"], w["updatedAt"]) for w in named(api, mark)}
    third = pumpflix.json("n8n", "sync", "--push")
    assert third == {
        "created": 0,
        "updated": 0,
        "unchanged": TEMPLATES,
        "conflicts": 0,
        "deleted": 0,
        "failed": 0,
        "errors": [],
    }
    after = named(api, mark)
    assert {w["id"]: (w["versionId"], w["updatedAt"]) for w in after} == before

    # Every template is exactly one workflow tagged pumpflix, the ones written just
    # before the kill included (tagging is a second request).
    tagged: dict[str, int] = {}
    for found in after:
        if "pumpflix" in [tag["name"] for tag in found.get("tags") or []]:
            tagged[found["name"]] = tagged.get(found["name"], 0) + 1
    assert tagged == {f"{mark}{index:03d}": 1 for index in range(TEMPLATES)}
    status = pumpflix.json("n8n", "status")
    assert status["managed"] >= TEMPLATES


# --- n8n killed during an instance's run ----------------------------------------------


def test_n8n_killed_mid_run_marks_the_instance_error_and_a_rerun_succeeds(
    n8n_up: PrivateN8n, api: httpx.Client, database_url: str, tmp_path: Path
) -> None:
    mark = f"pfr{uuid.uuid4().hex[:8]} "
    # The Code node takes a few seconds: time to kill n8n while the execution runs.
    slow = chain(
        f"{mark}Slow",
        manual(),
        code(
            "Take a while",
            "const end = Date.now() + 4000;\n"
            "while (Date.now() < end) { /* busy */ }\n"
            "return [{ json: { done: true } }];",
        ),
    )
    write(tmp_path / "templates", "slow.json", slow)
    env = {"DATABASE_URL": database_url, "N8N_URL": n8n_up.url, "N8N_API_KEY": n8n_up.api_key}
    pumpflix = Pumpflix(env, tmp_path, [n8n_up.api_key])
    imported = pumpflix.json("templates", "import", str(tmp_path / "templates"))
    assert imported["created"] == 1, imported

    def executing() -> bool:
        try:
            page = api.get("/executions", params={"status": "running", "limit": 5})
        except httpx.HTTPError:
            return False
        return page.status_code == 200 and bool(page.json().get("data"))

    running = pumpflix.start("instances", "run", f"{mark}Slow", "--json", "--timeout", "120")
    wait_until("the execution was running in n8n", executing, running)
    kill_n8n(n8n_up)
    stopped = pumpflix.finish(running)

    assert_n8n_outage(stopped, n8n_up.url, codes=(69,))
    reported = json.loads(stopped.stdout)
    assert reported["status"] == "error"
    instance = pumpflix.json("instances", "show", reported["id"])
    assert instance["status"] == "error"
    assert instance["error"].startswith("n8n: "), instance["error"]
    assert n8n_up.url in instance["error"]
    assert instance["n8nWorkflowId"]  # it got as far as deploying

    restart_n8n(n8n_up)
    rerun = pumpflix("instances", "run", f"{mark}Slow", "--json", "--timeout", "120")
    assert rerun.code == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert again["id"] != reported["id"]
    assert again["status"] == "success"
    assert again["output"] == {"done": True} or again["output"] == [{"done": True}], again
    assert pumpflix.json("instances", "show", reported["id"])["status"] == "error"


# --- a hung n8n -----------------------------------------------------------------------


@pytest.fixture
def hung_n8n() -> Iterator[str]:
    """Accepts connections (the kernel completes them) and never reads nor answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_hung_n8n_exits_75_from_status_and_sync(
    hung_n8n: str, database_url: str, tmp_path: Path
) -> None:
    key = f"pf-hang-key-{uuid.uuid4().hex}"
    env = {"N8N_URL": hung_n8n, "N8N_API_KEY": key, "DATABASE_URL": database_url}
    pumpflix = Pumpflix(env | {"PUMPFLIX_N8N_TIMEOUT": "0.5"}, tmp_path, [key])
    write(tmp_path / "templates", "one.json", workflow(f"pfh{uuid.uuid4().hex[:8]} One"))
    assert pumpflix.json("templates", "import", str(tmp_path / "templates"))["created"] == 1

    for command in (("n8n", "status"), ("n8n", "sync", "--push")):
        for extra in ((), ("--json",)):
            run = pumpflix(*command, *extra)
            assert_n8n_outage(run, hung_n8n, codes=(75,))
            assert "timed out" in run.stderr
            assert "PUMPFLIX_N8N_TIMEOUT" in run.stderr  # the hint says what sets the limit
