"""`pumpflix n8n status` against a real n8n, and a wrong API key on every n8n command."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CliRun

from .conftest import N8n

WRONG_KEY = "pf-wrong-key-0123456789abcdef"


def test_status_reports_version_key_and_counts(cli: CliRun, n8n: N8n) -> None:
    env = {"N8N_URL": n8n.url, "N8N_API_KEY": n8n.api_key}

    result = cli("n8n", "status", "--json", env=env)

    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {
        "url",
        "reachable",
        "version",
        "apiKeyValid",
        "workflows",
        "managed",
        "latencyMs",
    }
    assert status["url"] == n8n.url
    assert status["reachable"] is True
    assert status["version"] == "2.40.7"
    assert status["apiKeyValid"] is True
    assert isinstance(status["workflows"], int)
    assert 0 <= status["managed"] <= status["workflows"]
    assert status["latencyMs"] > 0

    human = cli("n8n", "status", env=env)
    assert human.exit_code == 0, human.stderr
    assert "2.40.7" in human.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("n8n", "status"),
        ("n8n", "status", "--json"),
        ("n8n", "sync", "--push"),
        ("n8n", "sync", "--pull", "--json"),
        ("n8n", "diff"),
    ],
)
def test_a_wrong_api_key_exits_77_without_printing_it(
    cli: CliRun, n8n: N8n, command: tuple[str, ...]
) -> None:
    result = cli(*command, env={"N8N_URL": n8n.url, "N8N_API_KEY": WRONG_KEY})

    assert result.exit_code == 77, result.output
    assert "n8n rejected the API key" in result.stderr
    assert WRONG_KEY not in result.stdout + result.stderr
    if "status" in command and "--json" in command:
        status = json.loads(result.stdout)
        assert (status["reachable"], status["apiKeyValid"]) == (True, False)


def test_status_without_an_api_key_exits_69_saying_so(cli: CliRun, n8n: N8n) -> None:
    result = cli("n8n", "status", "--json", env={"N8N_URL": n8n.url})

    assert result.exit_code == 69
    assert "N8N_API_KEY is not set" in result.stderr
    status = json.loads(result.stdout)
    assert status["reachable"] is True
    assert status["apiKeyValid"] is None
