"""``doctor``: every service reported, exit 69 when a configured one is unhealthy."""

from __future__ import annotations

import json
import socket

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun

FIELDS = {"configured", "ok", "version", "latencyMs", "error"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_doctor_reports_postgres_redis_and_n8n(
    cli: CliRun, backend: Backend, redis_env: dict[str, str]
) -> None:
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert {"postgres", "redis", "n8n"} <= set(report)
    for entry in report.values():
        assert set(entry) >= FIELDS
    database = report["postgres"] if backend.name == "postgres" else report["sqlite"]
    assert database["ok"] is True and database["latencyMs"] is not None
    assert report["redis"]["ok"] is True
    assert report["redis"]["version"].count(".") == 2
    assert report["n8n"]["configured"] is False


def test_doctor_on_the_embedded_default_is_healthy(cli: CliRun) -> None:
    result = cli("doctor", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["postgres"]["configured"] is False
    assert report["sqlite"]["ok"] is True
    assert report["redis"]["configured"] is False


def test_doctor_exits_69_when_redis_is_unreachable(cli: CliRun) -> None:
    url = f"redis://:redis-pw-secret@127.0.0.1:{_closed_port()}/0"
    result = cli("doctor", "--json", env={"REDIS_URL": url})
    assert result.exit_code == ExitCode.UNAVAILABLE
    report = json.loads(result.stdout)
    assert report["redis"]["ok"] is False
    assert "redis-pw-secret" not in result.stdout
    assert report["redis"]["error"].startswith("Redis:")


def test_doctor_exits_69_when_n8n_is_unreachable(cli: CliRun) -> None:
    env = {"N8N_URL": f"http://127.0.0.1:{_closed_port()}", "N8N_API_KEY": "key-never-printed"}
    result = cli("doctor", env=env)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "n8n" in result.stdout
    assert "key-never-printed" not in result.stdout + result.stderr


def test_doctor_exits_69_when_postgres_is_unreachable(cli: CliRun) -> None:
    url = f"postgresql://root:pg-pw-secret@127.0.0.1:{_closed_port()}/x"
    result = cli("doctor", "--json", env={"DATABASE_URL": url})
    assert result.exit_code == ExitCode.UNAVAILABLE
    report = json.loads(result.stdout)
    assert report["postgres"]["configured"] is True
    assert report["postgres"]["ok"] is False
    assert "pg-pw-secret" not in result.stdout
