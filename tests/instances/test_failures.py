"""`instances run` and `logs --follow` when n8n behaves in ways a real n8n cannot be made
to on demand: a 503 while creating the workflow, a webhook call that never answers, an
execution not yet listed anywhere. `httpx.MockTransport` plays n8n here; every other
behaviour is tested against the real one in tests/e2e."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.db.models import N8nLink
from pumpflix_cli.errors import ServiceTimeoutError, ServiceUnavailableError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.n8n.client import N8nClient
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.instances.prepare import RunRequest, prepare_run
from pumpflix_cli.services.instances.run import RunOutcome, run_instance
from pumpflix_cli.services.templates.library import TemplateLibrary
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json

pytestmark = pytest.mark.usefixtures("backend")

URL = "http://n8n.test:5678"
KEY = "pf-test-key-abcdef0123456789"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def database(cli: CliRun) -> Iterator[Database]:
    assert cli("db", "upgrade").exit_code == 0
    db = Database(Settings())
    yield db
    db.dispose()


@pytest.fixture
def template(cli: CliRun, database: Database, tmp_path: Path) -> TemplateRecord:
    write(tmp_path / "t", "hello.json", workflow("Hello"))
    assert import_json(cli, str(tmp_path / "t"))[0] == 0
    return TemplateLibrary(lambda: database, None, lambda _m: None).show("Hello")


def run(database: Database, template: TemplateRecord, handler: Handler) -> RunOutcome:
    client = N8nClient(URL, KEY, transport=httpx.MockTransport(handler), backoff=0.0)
    try:
        prepared = prepare_run(RunRequest("Hello", timeout=5.0), template)
        return run_instance(
            prepared, client=client, database=lambda: database, sleep=lambda _s: None
        )
    finally:
        client.close()


def test_a_503_while_deploying_leaves_a_failed_instance_saying_why(
    database: Database, template: TemplateRecord
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/tags":
            return httpx.Response(200, json={"data": [{"id": "t1", "name": "pumpflix-instance"}]})
        return httpx.Response(503, json={"message": "Service Unavailable"})

    outcome = run(database, template, handler)

    assert isinstance(outcome.problem, ServiceUnavailableError)
    assert outcome.exit_code == ExitCode.UNAVAILABLE
    assert outcome.instance.status == "error"
    assert outcome.instance.error is not None and "answered 503" in outcome.instance.error
    assert outcome.instance.finished_at is not None
    assert outcome.to_json()["n8nWorkflowId"] is None
    assert [e.level for e in outcome.events][-1] == "error"


def test_a_webhook_that_never_answers_is_a_timeout_and_the_run_stays_running(
    database: Database, template: TemplateRecord
) -> None:
    sent: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        sent.append((request.method, path))
        if path.startswith("/webhook/"):
            assert "X-N8N-API-KEY" not in request.headers  # never sent to a webhook
            raise httpx.ReadTimeout("no answer", request=request)
        if path == "/api/v1/tags":
            return httpx.Response(200, json={"data": [{"id": "t1", "name": "pumpflix-instance"}]})
        if path == "/api/v1/workflows":
            body = json.loads(request.content)
            return httpx.Response(200, json={**body, "id": "wf1", "active": False})
        if path == "/api/v1/executions":
            running = request.url.params.get("status") == "running"
            data = [{"id": "77", "status": "running", "workflowId": "wf1"}] if running else []
            return httpx.Response(200, json={"data": data, "nextCursor": None})
        return httpx.Response(200, json={"id": "wf1"})

    outcome = run(database, template, handler)

    assert isinstance(outcome.problem, ServiceTimeoutError)
    assert outcome.exit_code == ExitCode.TEMP_FAIL
    instance = outcome.instance
    # A library caller is pointed at the command; the command line adds its flag.
    assert (
        outcome.problem.hint
        == f"it may still be running: pumpflix instances logs {instance.short_id}"
    )
    assert (instance.status, instance.n8n_workflow_id, instance.n8n_execution_id) == (
        "running",
        "wf1",
        "77",
    )
    assert instance.error is not None and "did not finish within 5 s" in instance.error
    assert ("POST", "/api/v1/workflows/wf1/deactivate") in sent
    with database.session() as session:
        links = session.execute(select(N8nLink.kind, N8nLink.n8n_workflow_id, N8nLink.n8n_url))
        assert [tuple(link) for link in links] == [("instance", "wf1", URL)]
    with database.session() as session:
        messages = [e.message for e in InstanceStore(session).events(instance.id)]
    assert any("no answer yet" in m for m in messages)


def test_follow_finds_a_just_started_execution_that_n8n_lists_nowhere_yet(
    database: Database, template: TemplateRecord
) -> None:
    """Right after a ``--no-wait`` call n8n may list the execution neither as running nor as
    finished (it is still ``new``) while the workflow is already inactive: following must
    ask for the instance's own execution by id instead of calling it a day."""
    from pumpflix_cli.records import EventRecord
    from pumpflix_cli.services.instances.executions import follow
    from tests.workflow.test_executions import execution

    instance_id = "0b6a8a4e-2d7e-4d4c-9a54-6f1f0c1d2e3f"
    with database.session() as session:
        store = InstanceStore(session)
        store.create(
            instance_id,
            template_id=template.id,
            template_version=1,
            inputs={},
            credentials={},
            final_workflow={},
            status="running",
        )
        store.update(instance_id, n8n_workflow_id="wf1", n8n_execution_id="31")
        instance = store.get(instance_id)
    assert instance is not None
    asked_by_id = 0
    finished = execution("success", {}, "Start")

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal asked_by_id
        path = request.url.path
        if path == "/api/v1/workflows/wf1":
            return httpx.Response(200, json={"id": "wf1", "active": False})
        if path == "/api/v1/executions":
            return httpx.Response(200, json={"data": [], "nextCursor": None})
        if path == "/api/v1/executions/31":
            asked_by_id += 1
            if asked_by_id == 1:
                return httpx.Response(200, json={"id": "31", "status": "new"})
            return httpx.Response(200, json=finished)
        return httpx.Response(404, json={"message": "not found"})

    emitted: list[EventRecord] = []
    client = N8nClient(URL, KEY, transport=httpx.MockTransport(handler), backoff=0.0)
    try:
        result = follow(
            instance,
            client=client,
            database=lambda: database,
            emit=emitted.append,
            max_wait=30.0,
            sleep=lambda _s: None,
        )
    finally:
        client.close()

    assert result.reason == "done"
    assert any(e.data and e.data.get("step") == "execution-finished" for e in emitted), emitted
    with database.session() as session:
        assert InstanceStore(session).get(instance_id).status == "success"  # type: ignore[union-attr]
