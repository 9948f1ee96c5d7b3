"""Tracebacks (``--verbose``, ``PUMPFLIX_DEBUG=1``, and what Python prints itself) from the
installed console script as a real process, and the issue's driver-error example: a
PostgreSQL error quoting the workflow never prints the token in it. The matrix
(``test_secret_matrix.py``) covers every setting and command in-process."""

from __future__ import annotations

import json
import secrets as random_secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import REDIS_BASE_URL, Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, subprocess_env
from tests.secret_leaks import closed_port, database_rows, leaked, refusing_http_server

TOKEN = "sk-live-Zx81qPq0VnT3cK9wLm2aa"
REDIS_HOST = REDIS_BASE_URL.partition("://")[2].partition("/")[0]  # host:port


def pumpflix(*args: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PUMPFLIX, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(env),
        cwd=cwd,
        check=False,
        timeout=120,
    )


def _base64_like() -> str:
    return f"Xy7+Ab/{random_secrets.token_hex(3)}cD9e@=="


@pytest.mark.parametrize("debug", ["--verbose", "PUMPFLIX_DEBUG=1"])
@pytest.mark.parametrize(
    ("variable", "url", "command", "code"),
    [
        # the issue's raw '/' password: the drivers' own readings print a piece of it
        ("DATABASE_URL", "postgresql://root:{pw}@127.0.0.1:{closed}/db", ("db", "status"), 69),
        ("REDIS_URL", f"redis://nouser-tb:{{pw}}@{REDIS_HOST}/0", ("cache", "stats"), 77),
        # a URL that reads two ways is refused at settings time
        ("DATABASE_URL", "postgresql://root:{pw}@h/db?application_name=a@b", ("doctor",), 2),
    ],
    ids=["database-refused", "redis-bad-auth", "ambiguous"],
)
def test_tracebacks_of_the_installed_script_hold_no_secret(
    tmp_path: Path, variable: str, url: str, command: tuple[str, ...], code: int, debug: str
) -> None:
    password = _base64_like()
    env = {variable: url.format(pw=password, closed=closed_port())}
    env["PUMPFLIX_DATA_DIR"] = str(tmp_path / "data")
    flags: list[str] = []
    if debug == "--verbose":
        flags.append("--verbose")
    else:
        env["PUMPFLIX_DEBUG"] = "1"
    result = pumpflix(*flags, *command, env=env, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert leaked(result.stdout + result.stderr, [password]) == []


def test_an_instance_run_against_a_refusing_n8n_stores_and_prints_no_credential(
    tmp_path: Path,
) -> None:
    """The issue's example: N8N_URL with a user and password; ``instances run`` stored it in
    the instance's error and ``instances list --json`` showed it."""
    password = _base64_like()
    env = {"PUMPFLIX_DATA_DIR": str(tmp_path / "data"), "N8N_API_KEY": "n8n_api_tb_0123456789"}
    path = write(tmp_path / "t", "t.json", workflow("Traceback run"))
    assert pumpflix("templates", "import", str(path), env=env, cwd=tmp_path).returncode == 0
    with refusing_http_server() as port:
        env["N8N_URL"] = f"http://admin:{password}@127.0.0.1:{port}"
        run = pumpflix("--verbose", "instances", "run", "Traceback run", env=env, cwd=tmp_path)
        listed = pumpflix("instances", "list", "--json", env=env, cwd=tmp_path)
    assert run.returncode == 77, run.stderr
    instances = json.loads(listed.stdout)
    assert instances[0]["status"] == "error"
    assert "http://***@127.0.0.1" in instances[0]["error"]
    printed = run.stdout + run.stderr + listed.stdout + listed.stderr
    secrets = [password, env["N8N_API_KEY"]]
    assert leaked(printed, secrets) == []
    assert leaked(database_rows(tmp_path / "data" / "pumpflix.sqlite3"), secrets) == []


def test_python_s_own_tracebacks_are_scrubbed(tmp_path: Path) -> None:
    """An exception that escapes every handler (in the main thread or another) is printed
    by the hooks the entry point installs: its message cut to the primary line, scrubbed."""
    password = _base64_like()
    script = f"""
import threading
from pumpflix_cli.__main__ import _scrub_uncaught_tracebacks
from pumpflix_cli.redact import register_secret
_scrub_uncaught_tracebacks()
register_secret({password!r})
def fail():
    raise RuntimeError("cannot reach postgresql://root:{password}@db/x\\nDETAIL: {TOKEN}")
thread = threading.Thread(target=fail)
thread.start()
thread.join()
fail()
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stderr.count("RuntimeError: cannot reach postgresql://root:***@db/x") == 2
    assert leaked(result.stderr, [password, TOKEN]) == []


@pytest.mark.parametrize("flags", [(), ("--verbose",), ("--json",)])
def test_a_postgresql_error_quoting_the_workflow_never_prints_its_token(
    cli: CliRun, backend: Backend, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """The issue's example: a workflow with a hard-coded token and a number JSON cannot
    hold (1e999 reads as Infinity); PostgreSQL's error quoted the workflow up to it."""
    document = workflow("Token and infinity")
    # the token right before the number, where PostgreSQL's CONTEXT line quotes it
    document["nodes"][1]["parameters"]["auth"] = f"Bearer {TOKEN}"
    document["nodes"][1]["parameters"]["x"] = "__INFINITY__"
    path = tmp_path / "t" / "infinity.json"
    path.parent.mkdir()
    path.write_text(json.dumps(document).replace('"__INFINITY__"', "1e999"))
    for env in ({}, {"PUMPFLIX_DEBUG": "1"}):
        result = cli(*flags, "templates", "import", str(path), env=env)
        assert leaked(result.stdout + result.stderr, [TOKEN]) == []
