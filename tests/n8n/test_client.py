"""The n8n adapter's failure paths: n8n down, a hang, a 503. A real n8n cannot be made to
answer 503 or to hang, so these use a closed port, a socket that never answers, and
`httpx.MockTransport`; the happy paths are in tests/e2e against a real n8n."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from pumpflix_cli.errors import ServiceTimeoutError, ServiceUnavailableError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.n8n.client import N8nClient
from tests.conftest import CliRun

KEY = "pf-test-key-abcdef0123456789"
URL = "http://n8n.test:5678"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: a hung n8n."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_unreachable_n8n_exits_69_naming_n8n_and_its_url(cli: CliRun) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"N8N_URL": url, "N8N_API_KEY": KEY}

    for command in (("n8n", "sync", "--push"), ("n8n", "diff"), ("n8n", "status")):
        result = cli(*command, env=env)
        assert result.exit_code == 69, result.output
        assert f"n8n: cannot reach n8n at {url}" in result.stderr
        assert KEY not in result.output

    status = cli("n8n", "status", "--json", env=env)
    assert status.exit_code == 69
    assert json.loads(status.stdout)["reachable"] is False


def test_n8n_commands_without_n8n_url_exit_69(cli: CliRun) -> None:
    result = cli("n8n", "sync", "--push")

    assert result.exit_code == 69
    assert "n8n: not configured" in result.stderr
    assert "N8N_URL" in result.stderr


def test_a_hung_n8n_exits_75(cli: CliRun, silent_server: str) -> None:
    env = {"N8N_URL": silent_server, "N8N_API_KEY": KEY, "PUMPFLIX_N8N_TIMEOUT": "0.3"}

    result = cli("n8n", "sync", "--push", "--json", env=env)

    assert result.exit_code == 75, result.output
    assert "timed out" in result.stderr
    assert result.stdout == ""


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> N8nClient:
    return N8nClient(URL, KEY, transport=httpx.MockTransport(handler), backoff=0.0)


def test_a_503_is_retried_then_reported_as_unavailable() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, json={"message": "Service Unavailable"})

    client = mock_client(handler)
    with pytest.raises(ServiceUnavailableError) as caught:
        client.workflows()

    assert len(calls) == client.attempts
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert "503" in caught.value.message
    assert URL in caught.value.message


def test_a_passing_503_is_ridden_out() -> None:
    answers = iter([503, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 503:
            return httpx.Response(503)
        return httpx.Response(200, json={"data": [{"id": "1", "name": "a"}], "nextCursor": None})

    assert [w["id"] for w in mock_client(handler).workflows()] == ["1"]


def test_a_timeout_is_retried_for_reads_but_never_for_a_create() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("timed out", request=request)

    client = mock_client(handler)
    with pytest.raises(ServiceTimeoutError) as read:
        client.workflows()
    assert calls == ["GET"] * client.attempts
    assert read.value.exit_code == ExitCode.TEMP_FAIL

    calls.clear()
    with pytest.raises(ServiceTimeoutError):
        client.create_workflow({"name": "x", "nodes": [], "connections": {}, "settings": {}})
    assert calls == ["POST"]  # n8n may have created it: a retry could make two
