"""The secret-leak matrix (issue #12, SPEC §9): every setting that can hold a secret ×
every place a URL carries one × every way its service fails × every command family, each
with ``--json``, plain, ``--verbose`` and ``PUMPFLIX_DEBUG=1``. No secret, in any form it
may be written in, nor any ``/``-separated piece of one of 4 characters or more, shows in
stdout, stderr or a database row.

The failures are real: a closed port, a host that never resolves (``.invalid``), a role
the server refuses (the shared server trusts 127.0.0.1, so a wrong password alone is not
refused: the role, made with a password here, may not log in), a Redis ACL user that does
not exist, an HTTP server answering 401 where n8n would be, and URLs that do not read one
way. Each scenario proves it reached its failure by the exit code of its service's probe.
The commands run in-process; ``test_secret_tracebacks.py`` runs some as real processes.
"""

from __future__ import annotations

import secrets as random_secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from pumpflix_cli.cli.app import app
from pumpflix_cli.n8n.transport import N8nTransport
from tests.conftest import PG_ADMIN_URL, Backend, CliRun
from tests.factories import workflow, write
from tests.secret_leaks import (
    UNRESOLVABLE,
    closed_port,
    database_rows,
    leaked,
    refusing_http_server,
)

TEMPLATE = "Secret matrix"
FERNET_KEY = "uX3b0zDqS0bS8V-5C0m3pXn2u8Jm1D3lQ5oNwQ7rT0E="
# Every command family that uses the service, and the two that print every setting.
SHOWN = [("config", "show"), ("doctor",)]
TEMPLATE_COMMANDS = [
    ("templates", "import", "{file}"),
    ("templates", "list"),
    ("templates", "show", TEMPLATE),
]
COMMANDS: dict[str, list[tuple[str, ...]]] = {
    "postgres": [
        *SHOWN,
        ("db", "status"),
        ("db", "upgrade"),
        *TEMPLATE_COMMANDS,
        ("instances", "list"),
    ],
    "redis": [*SHOWN, *TEMPLATE_COMMANDS, ("cache", "stats"), ("cache", "warm")],
    "n8n": [*SHOWN, ("n8n", "status"), ("instances", "run", TEMPLATE), ("instances", "list")],
}
# --json, plain, --verbose and PUMPFLIX_DEBUG=1 in two runs: --verbose and PUMPFLIX_DEBUG
# only add to what is printed (details, the traceback), so each run prints everything
# its mode alone would.
MODES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("--json", "--verbose"), {}),
    ((), {"PUMPFLIX_DEBUG": "1"}),
]
VARIABLE = {"postgres": "DATABASE_URL", "redis": "REDIS_URL", "n8n": "N8N_URL"}
PLACEMENTS = ("userinfo-encoded", "userinfo-raw", "userinfo-raw-hash", "query", "query-raw")
FAILURES = ("refused", "unreachable", "bad-auth", "bad-port", "ambiguous")
PROBE = {"postgres": ("db", "status"), "redis": ("cache", "stats"), "n8n": ("n8n", "status")}
EXPECTED = {
    **{"refused": 69, "unreachable": 69, "bad-auth": 77, "bad-port": 2, "ambiguous": 2},
    **{"valid": 0, "malformed": 2},
}
# Refused when the settings are read, before any command does anything of its own: the
# two commands that print the settings and the probe stand for every command.
AT_SETTINGS = frozenset({"bad-port", "ambiguous", "malformed"})


@dataclass(frozen=True)
class Servers:
    closed: int  # nothing listens there
    http_401: int  # an HTTP server refusing every request
    nologin_role: str  # a PostgreSQL role with a password that may not log in


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    import psycopg

    role = f"pumpflix_nologin_{random_secrets.token_hex(4)}"
    password = random_secrets.token_hex(8)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN PASSWORD '{password}'")
    try:
        with refusing_http_server() as port:
            yield Servers(closed_port(), port, role)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The n8n transport retries a refused connection with backoff; the matrix only needs
    the attempts, not the waiting."""
    monkeypatch.setattr(N8nTransport, "_sleep", lambda _self, _attempt: None)


def secret_for(placement: str) -> str:
    """A secret of the characters that make URLs hard; a random part keeps it unique."""
    tag = random_secrets.token_hex(3)
    return {
        "userinfo-encoded": f"E{tag}/+@#%?:=&x",
        "userinfo-raw": f"R{tag}+Ab/cD9e@Q%zz",  # base64-like, an '@', a stray '%'
        "userinfo-raw-hash": f"H{tag}#x?y/Zz+",
        "query": f"Q{tag}/+@#%?:=&x",
        "query-raw": f"S{tag}+Ab/cD9e",  # '+' and '/' as they are
    }[placement]


def service_url(service: str, placement: str, failure: str, secret: str, at: Servers) -> str:
    """The URL of ``service`` carrying ``secret`` in ``placement`` and failing ``failure``."""
    scheme = {"postgres": "postgresql", "redis": "redis", "n8n": "http"}[service]
    port = {"postgres": 5432, "redis": 6379, "n8n": at.http_401}[service]
    path = {"postgres": "/postgres", "redis": "/0", "n8n": ""}[service]
    user = "root"
    host = "127.0.0.1"
    if failure == "refused":
        port = at.closed
    elif failure == "unreachable":
        host = UNRESOLVABLE
    elif failure == "bad-port":
        port = 99999
    elif failure == "bad-auth":
        user = {"postgres": at.nologin_role, "redis": "nouser-matrix", "n8n": "admin"}[service]
    userinfo, query = user, []
    if placement == "userinfo-encoded":
        userinfo += ":" + quote(secret, safe="")
    elif placement.startswith("userinfo"):
        userinfo += ":" + secret
    else:
        if service == "postgres":
            query.append("sslmode=disable")
        name = "token" if service == "n8n" else "password"
        query.append(f"{name}={quote(secret, safe='') if placement == 'query' else secret}")
    if failure == "ambiguous":  # an '@' in the query too: which '@' ends the user info?
        query.append("application_name=me@laptop")
    url = f"{scheme}://{userinfo}@{host}:{port}{path}"
    return url + ("?" + "&".join(query) if query else "")


def run_matrix(
    service: str,
    failure: str,
    env: Mapping[str, str],
    secrets: list[str],
    *,
    files: Path,
    database: str | Path,
) -> None:
    """Every command of ``service`` in every mode under ``env``: fails listing every leak,
    or when the probe did not meet the failure the scenario is named after."""
    commands = COMMANDS[service] if failure not in AT_SETTINGS else [*SHOWN, PROBE[service]]
    runner = CliRunner()
    leaks: list[str] = []
    codes: dict[tuple[str, ...], int] = {}
    for command in commands:
        args = [part.format(file=files / "matrix.json") for part in command]
        for flags, mode_env in MODES:
            result = runner.invoke(app, [*args, *flags], env={**env, **mode_env})
            said = f"pumpflix {' '.join(command)} {' '.join(flags)} {mode_env or ''}"
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                leaks.append(f"{said} raised {result.exception!r}")
            if found := leaked(result.stdout + result.stderr, secrets):
                leaks.append(f"{said} printed {found}")
            codes[command] = result.exit_code
    if found := leaked(database_rows(database), secrets):
        leaks.append(f"the database holds {found}")
    assert not leaks, "\n".join(leaks)
    assert codes[PROBE[service]] == EXPECTED[failure], f"{failure} was not met"


def _seed(tmp_path: Path, failure: str) -> Path:
    """The folder of the file ``templates import`` is given; unless the settings are
    refused anyway, its template is imported first with healthy settings."""
    path = write(tmp_path / "import", "matrix.json", workflow(TEMPLATE))
    if failure not in AT_SETTINGS:
        runner = CliRunner()
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        assert runner.invoke(app, ["templates", "import", str(path)]).exit_code == 0
    return path.parent


def _embedded_database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "pumpflix.sqlite3"


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_database_url_secrets_never_leak(
    servers: Servers, tmp_path: Path, placement: str, failure: str
) -> None:
    files = _seed(tmp_path, "bad-port")  # the database is the one failing: nothing to seed
    secret = secret_for(placement)
    env = {"DATABASE_URL": service_url("postgres", placement, failure, secret, servers)}
    database = _embedded_database(tmp_path)  # what must not be used instead
    run_matrix("postgres", failure, env, [secret], files=files, database=database)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_redis_url_secrets_never_leak(
    servers: Servers, tmp_path: Path, redis_prefix: str, placement: str, failure: str
) -> None:
    files = _seed(tmp_path, failure)
    secret = secret_for(placement)
    env = {
        "REDIS_URL": service_url("redis", placement, failure, secret, servers),
        "PUMPFLIX_CACHE_PREFIX": f"{redis_prefix}matrix-{random_secrets.token_hex(4)}:",
    }
    database = _embedded_database(tmp_path)
    run_matrix("redis", failure, env, [secret], files=files, database=database)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize(
    ("backend", "placement"),
    [*(("sqlite", placement) for placement in PLACEMENTS), ("postgres", "userinfo-raw")],
    indirect=["backend"],
)
def test_n8n_url_secrets_never_leak(
    servers: Servers, backend: Backend, tmp_path: Path, placement: str, failure: str
) -> None:
    """``instances run`` stores n8n's failure (the issue's example: N8N_URL with its
    password in the instance's error, printed by ``instances list``): the rows are searched
    too, on both backends (PostgreSQL for one placement: what is stored does not depend on
    the placement)."""
    files = _seed(tmp_path, failure)
    secret = secret_for(placement)
    key = f"n8n_api_{random_secrets.token_hex(12)}"
    env = {"N8N_URL": service_url("n8n", placement, failure, secret, servers), "N8N_API_KEY": key}
    database = backend.env.get("DATABASE_URL") or _embedded_database(tmp_path)
    run_matrix("n8n", failure, env, [secret, key], files=files, database=database)


@pytest.mark.parametrize("failure", ["refused", "unreachable", "bad-auth"])
def test_the_n8n_api_key_never_leaks(
    servers: Servers, backend: Backend, tmp_path: Path, failure: str
) -> None:
    files = _seed(tmp_path, failure)
    key = f"n8n_api_{random_secrets.token_hex(12)}"
    where = {
        "refused": f"127.0.0.1:{servers.closed}",
        "unreachable": f"{UNRESOLVABLE}:5678",
        "bad-auth": f"127.0.0.1:{servers.http_401}",
    }[failure]
    env = {"N8N_URL": f"http://{where}", "N8N_API_KEY": key}
    database = backend.env.get("DATABASE_URL") or _embedded_database(tmp_path)
    run_matrix("n8n", failure, env, [key], files=files, database=database)


@pytest.mark.parametrize(
    ("failure", "value"),
    [("valid", FERNET_KEY), ("malformed", FERNET_KEY + "garbage!!")],
    ids=["valid", "malformed"],
)
def test_the_cache_key_never_leaks(
    tmp_path: Path, redis_env: dict[str, str], failure: str, value: str
) -> None:
    """A key in use (every cached value encrypted with it) and a key refused as malformed
    (the issue's ``<valid key>garbage!!``): neither is ever printed."""
    files = _seed(tmp_path, failure)
    env = {"PUMPFLIX_CACHE_KEY": value}
    database = _embedded_database(tmp_path)
    run_matrix("redis", failure, env, [FERNET_KEY], files=files, database=database)


@pytest.mark.parametrize("node", ["refused", "not-a-cluster"])
def test_a_redis_cluster_that_cannot_be_used_is_69_naming_no_secret(
    servers: Servers, tmp_path: Path, cli: CliRun, node: str
) -> None:
    """A Cluster client connects when it is made: that failure is translated too (it was
    an "unexpected RedisClusterException", exit 1)."""
    secret = secret_for("userinfo-raw")
    port = servers.closed if node == "refused" else 6379
    env = {"REDIS_URL": f"redis://:{secret}@127.0.0.1:{port}/0", "PUMPFLIX_REDIS_CLUSTER": "1"}
    for flags in (("--json", "--verbose"), ()):
        result = cli("cache", "stats", *flags, env=env)
        assert result.exit_code == 69, result.stderr
        assert leaked(result.stdout + result.stderr, [secret]) == []
