"""`instances list | show | logs | promote` over recorded instances, and what `instances
run` refuses before it writes anything, on SQLite and PostgreSQL. Running against a real
n8n is in tests/e2e/test_instances_*.py."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import EventRecord
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, show_json

pytestmark = pytest.mark.usefixtures("backend")

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def greeter(cli: CliRun, folder: Path, name: str = "Greeter") -> dict[str, Any]:
    """A template needing GREETING_TARGET and SLACK_CHANNEL, with a Slack credential."""
    write(folder, f"{name}.json", workflow(name, extra_node=True))
    code, report = import_json(cli, str(folder), "--type", "prebuilt")
    assert code == 0, report
    return show_json(cli, name)


def add_instance(
    database: Database,
    template: dict[str, Any],
    *,
    status: str = "success",
    created: datetime = T0,
    inputs: dict[str, Any] | None = None,
    events: Sequence[EventRecord] = (),
    instance_id: str | None = None,
    **values: Any,
) -> str:
    instance_id = instance_id or str(uuid.uuid4())
    final = json.loads(json.dumps(template["n8nJson"]))
    with database.session() as session:
        store = InstanceStore(session)
        store.create(
            instance_id,
            template_id=template["id"],
            template_version=template["version"],
            inputs=inputs or {"variables": {}, "input": None},
            credentials={"slackApi": "42"},
            final_workflow=final,
            status=status,
        )
        store.update(instance_id, created_at=created, **values)
        store.add_events(instance_id, events)
    return instance_id


def cli_json(cli: CliRun, *args: str) -> Any:
    result = cli("instances", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_list_is_newest_first_and_filters_by_status_and_template(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    greeter_ = greeter(cli, tmp_path / "a")
    other = greeter(cli, tmp_path / "b", "Other")
    first = add_instance(database, greeter_, status="success", created=T0)
    second = add_instance(database, greeter_, status="error", created=T0 + timedelta(minutes=1))
    third = add_instance(database, other, status="success", created=T0 + timedelta(minutes=2))

    assert [i["id"] for i in cli_json(cli, "list")] == [third, second, first]
    assert [i["id"] for i in cli_json(cli, "list", "--status", "success")] == [third, first]
    assert [i["id"] for i in cli_json(cli, "list", "--template", "Greeter")] == [second, first]
    assert [i["id"] for i in cli_json(cli, "list", "--limit", "1")] == [third]
    listed = cli_json(cli, "list", "--limit", "1")[0]
    assert listed["templateName"] == "Other"
    assert set(listed) == {
        "id", "status", "templateId", "templateName", "templateVersion", "n8nWorkflowId",
        "n8nExecutionId", "error", "createdAt", "updatedAt", "startedAt", "finishedAt",
    }  # fmt: skip
    human = cli("instances", "list")
    assert human.exit_code == 0
    assert third.replace("-", "")[:8] in human.stdout


def test_list_refuses_an_unknown_status(cli: CliRun, database: Database) -> None:
    result = cli("instances", "list", "--status", "finished")
    assert result.exit_code == ExitCode.USAGE


def test_show_takes_a_prefix_and_masks_secret_looking_inputs(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    inputs = {
        "variables": {"GREETING_TARGET": "Labs", "SLACK_TOKEN": "xoxb-not-shown-1"},
        "input": {"password": "hunter2", "order": 7},
    }
    instance_id = add_instance(database, template, inputs=inputs, output=[{"ok": True}])

    shown = cli_json(cli, "show", instance_id[:8])

    assert shown["id"] == instance_id
    assert shown["inputs"] == {
        "variables": {"GREETING_TARGET": "Labs", "SLACK_TOKEN": "***"},
        "input": {"password": "***", "order": 7},
    }
    assert shown["credentials"] == {"slackApi": "42"}
    assert shown["output"] == [{"ok": True}]
    assert "finalJson" not in shown
    human = cli("instances", "show", instance_id)
    assert "hunter2" not in human.stdout and "xoxb-not-shown-1" not in human.stdout
    final = cli_json(cli, "show", instance_id, "--final-json")["finalJson"]
    assert final["nodes"][1]["name"] == "Set greeting"


def test_show_says_not_found_and_ambiguous(cli: CliRun, database: Database, tmp_path: Path) -> None:
    template = greeter(cli, tmp_path / "a")
    first = add_instance(database, template, instance_id="abcdef01-0000-4000-8000-000000000001")
    second = add_instance(database, template, instance_id="abcdef01-0000-4000-8000-000000000002")

    ambiguous = cli("instances", "show", "abcdef01")
    assert ambiguous.exit_code == ExitCode.USAGE
    assert first in ambiguous.stderr and second in ambiguous.stderr
    assert cli_json(cli, "show", second)["id"] == second
    assert cli("instances", "show", "abc").exit_code == ExitCode.NOT_FOUND  # under 6 characters
    assert cli("instances", "show", "0123456789ab").exit_code == ExitCode.NOT_FOUND
    assert cli("instances", "logs", "not-an-id").exit_code == ExitCode.NOT_FOUND


def test_logs_are_in_time_order_with_a_node_filter_and_json_lines(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    events = [
        EventRecord("pumpflix", "deploying", time=T0),
        EventRecord(
            "n8n",
            "boom [line 1]",
            time=T0 + timedelta(seconds=2),
            level="error",
            node="Code",
            data={"executionId": "9", "status": "error", "error": "boom [line 1]"},
        ),
        EventRecord("n8n", "success: 1 item out", time=T0 + timedelta(seconds=1), node="Start"),
    ]
    instance_id = add_instance(database, template, status="error", events=events)

    result = cli("instances", "logs", instance_id, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["source"], e["node"], e["message"]) for e in lines] == [
        ("pumpflix", None, "deploying"),
        ("n8n", "Start", "success: 1 item out"),
        ("n8n", "Code", "boom [line 1]"),
    ]
    assert lines[2]["level"] == "error"
    assert lines[2]["data"]["executionId"] == "9"

    only = cli("instances", "logs", instance_id, "--node", "Code")
    assert only.exit_code == 0
    assert only.stdout.count("\n") == 1
    assert "[Code] boom [line 1]" in only.stdout


def test_promote_makes_a_user_template_with_variables_and_credentials_extracted_afresh(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    instance_id = add_instance(database, template)
    with database.session() as session:  # the final JSON as a run leaves it: values filled in
        store = InstanceStore(session)
        record = store.get(instance_id, final_workflow=True)
        assert record is not None and record.final_workflow is not None
        final = record.final_workflow
        final["nodes"][2]["parameters"]["text"] = '={{ "#ops" }} Labs {{REGION}}'
        final["nodes"][2]["credentials"] = {"slackApi": {"id": "42", "name": "Slack account"}}
        from pumpflix_cli.db.models import Instance

        session.get(Instance, uuid.UUID(instance_id)).final_workflow = final  # type: ignore[union-attr]

    result = cli(
        "instances", "promote", instance_id[:8], "--name", "Greeter for ops",
        "--description", "Says hello", "--thumbnail", "https://x.test/t.png", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    promoted = json.loads(result.stdout)
    assert (promoted["name"], promoted["sourceType"], promoted["version"]) == (
        "Greeter for ops",
        "user",
        1,
    )
    assert promoted["inputVariables"] == ["REGION"]
    assert promoted["requiredCredentials"] == ["slackApi"]
    assert promoted["description"] == "Says hello"
    assert promoted["thumbnail"] == "https://x.test/t.png"
    shown = show_json(cli, "Greeter for ops")
    assert shown["n8nJson"]["nodes"][2]["parameters"]["text"] == '={{ "#ops" }} Labs {{REGION}}'
    logs = cli("instances", "logs", instance_id).stdout
    assert f"promoted to user template 'Greeter for ops' ({promoted['id']})" in logs

    again = cli("instances", "promote", instance_id, "--name", "Greeter for ops")
    assert again.exit_code == ExitCode.CONFLICT
    assert "exists already" in again.stderr
    assert [t["name"] for t in list_json(cli, "--type", "user")] == ["Greeter for ops"]


def test_a_promoted_template_is_listed_at_once_through_a_warm_cache(
    cli: CliRun, database: Database, tmp_path: Path, redis_env: dict[str, str]
) -> None:
    template = greeter(cli, tmp_path / "a")
    instance_id = add_instance(database, template)
    assert [t["name"] for t in list_json(cli)] == ["Greeter"]  # the index is now cached

    assert cli("instances", "promote", instance_id, "--name", "Promoted").exit_code == 0

    assert [t["name"] for t in list_json(cli)] == ["Greeter", "Promoted"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_refuses_missing_variables_before_writing_anything(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    greeter(cli, tmp_path / "a")
    env = {"N8N_URL": f"http://127.0.0.1:{closed_port()}", "N8N_API_KEY": "pf-test-key-0123456789"}

    result = cli("instances", "run", "Greeter", "--var", "GREETING_TARGET=Labs", env=env)

    assert result.exit_code == ExitCode.USAGE
    assert "needs values for: SLACK_CHANNEL" in result.stderr
    assert "cannot reach" not in result.stderr  # n8n was never asked
    assert cli_json(cli, "list") == []


def test_run_without_n8n_configured_exits_69_and_writes_nothing(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    greeter(cli, tmp_path / "a")
    values = ["--var", "GREETING_TARGET=Labs", "--var", "SLACK_CHANNEL=#ops"]
    result = cli("instances", "run", "Greeter", *values)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "n8n: not configured" in result.stderr
    assert cli_json(cli, "list") == []


def test_run_against_an_unreachable_n8n_records_the_instance_as_failed(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    greeter(cli, tmp_path / "a")
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"N8N_URL": url, "N8N_API_KEY": "pf-test-key-0123456789"}
    values = ["--var", "GREETING_TARGET=Labs", "--var", "SLACK_CHANNEL=#ops"]

    result = cli("instances", "run", "Greeter", *values, "--json", env=env)

    assert result.exit_code == ExitCode.UNAVAILABLE, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "error"
    assert report["error"].startswith(f"n8n: cannot reach n8n at {url}")
    assert set(report) == {
        "id", "status", "templateId", "n8nWorkflowId", "n8nExecutionId", "output", "error",
    }  # fmt: skip
    (listed,) = cli_json(cli, "list", "--status", "error")
    assert listed["id"] == report["id"]
    logs = cli("instances", "logs", report["id"]).stdout
    assert "failed: n8n: cannot reach n8n" in logs


def test_run_rejects_malformed_flags(cli: CliRun, database: Database, tmp_path: Path) -> None:
    greeter(cli, tmp_path / "a")
    assert cli("instances", "run", "Greeter", "--var", "NOVALUE").exit_code == ExitCode.USAGE
    assert cli("instances", "run", "Greeter", "--input", "{").exit_code == ExitCode.USAGE
    assert cli("instances", "run", "Nope").exit_code == ExitCode.NOT_FOUND
    assert cli_json(cli, "list") == []


def test_show_and_logs_refresh_only_a_running_instance_and_say_when_they_cannot(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    running = add_instance(database, template, status="running", n8n_workflow_id="wf-1")
    settled = add_instance(database, template, status="success", n8n_workflow_id="wf-2")
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"N8N_URL": url, "N8N_API_KEY": "pf-test-key-0123456789"}

    for command in (("show", running, "--json"), ("logs", running)):
        result = cli("instances", *command, env=env)
        assert result.exit_code == 0, result.stderr
        assert f"warning: not refreshed from n8n: n8n: cannot reach n8n at {url}" in result.stderr
    assert cli_json(cli, "show", running)["status"] == "running"  # as last recorded
    for command in (("show", settled), ("logs", settled)):
        result = cli("instances", *command, env=env)  # n8n is never asked
        assert (result.exit_code, result.stderr) == (0, "")
