"""`pumpflix instances run | logs | show` against a real n8n 2.40.7.

Every test names its templates with a prefix of its own; the n8n workflows of its
instances carry the template's name, and every one of them is deleted afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import CliRun
from tests.factories import write
from tests.helpers import import_json

from .n8n_api import all_workflows

MANUAL = "When clicking 'Execute workflow'"


def node(name: str, node_type: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": f"n8n-nodes-base.{node_type}",
        "typeVersion": extra.pop("typeVersion", 1),
        "position": [len(name) * 10, 0],
        "parameters": parameters,
        **extra,
    }


def chain(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    """A workflow running ``nodes`` one after the other."""
    connections = {
        a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(nodes)
    }
    return {
        "name": name,
        "nodes": list(nodes),
        "connections": connections,
        "settings": {"executionOrder": "v1"},
    }


def manual() -> dict[str, Any]:
    return node(MANUAL, "manualTrigger", {})


def assign(name: str, fields: dict[str, str]) -> dict[str, Any]:
    return node(
        name,
        "set",
        {
            "assignments": {
                "assignments": [
                    {"id": str(uuid.uuid4()), "name": key, "value": value, "type": "string"}
                    for key, value in fields.items()
                ]
            }
        },
        typeVersion=3.4,
    )


def code(name: str, js: str) -> dict[str, Any]:
    return node(name, "code", {"jsCode": js}, typeVersion=2)


def greeting_template(name: str) -> dict[str, Any]:
    """Manual Trigger → Set: a ``{{GREETING}}`` placeholder and a ``$vars.WHO`` expression."""
    return chain(
        name, manual(), assign("Greet", {"greeting": "{{GREETING}}", "who": "={{ $vars.WHO }}"})
    )


def add_template(cli: CliRun, folder: Path, document: dict[str, Any]) -> None:
    write(folder, f"{uuid.uuid4().hex}.json", document)
    code_, report = import_json(cli, str(folder))
    assert code_ == 0, report


def run(cli: CliRun, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    result = cli("instances", "run", *args, "--json", env=env)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def events(cli: CliRun, env: dict[str, str], instance_id: str, *args: str) -> list[Any]:
    result = cli("instances", "logs", instance_id, "--json", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def n8n_workflow(api: httpx.Client, workflow_id: str) -> dict[str, Any]:
    found = api.get(f"/workflows/{workflow_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def test_a_manual_trigger_template_runs_with_its_variables_and_returns_both(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))

    code_, report, _ = run(cli, env, name, "--var", "GREETING=Hello", "--var", "WHO=Ada", "--keep")

    assert code_ == 0, report
    assert report["status"] == "success"
    assert report["output"] == [{"greeting": "Hello", "who": "Ada"}]
    assert report["error"] is None and report["n8nExecutionId"]
    deployed = n8n_workflow(api, report["n8nWorkflowId"])
    assert deployed["name"] == f"{name} [{report['id'].replace('-', '')[:8]}]"
    assert [tag["name"] for tag in deployed["tags"]] == ["pumpflix-instance"]
    assert deployed["active"] is False  # kept, as asked, and deactivated after the run
    assert "$vars" not in json.dumps(deployed["nodes"])
    trigger = next(n for n in deployed["nodes"] if n["name"] == MANUAL)
    assert trigger["type"] == "n8n-nodes-base.code"  # giving what the Manual Trigger gives
    stand_in = next(n for n in deployed["nodes"] if n["name"] == f"{MANUAL} (pumpflix)")
    assert stand_in["type"] == "n8n-nodes-base.webhook"

    runs = [e for e in events(cli, env, report["id"]) if e["source"] == "n8n"]
    assert [(e["node"], e["data"]["status"], e["data"]["itemsOut"]) for e in runs] == [
        (MANUAL, "success", 1),
        ("Greet", "success", 1),
    ]
    assert {e["data"]["executionId"] for e in runs} == {report["n8nExecutionId"]}
    shown = cli("instances", "show", report["id"], "--json", env=env)
    assert json.loads(shown.stdout)["inputs"]["variables"] == {"GREETING": "Hello", "WHO": "Ada"}


def test_a_missing_variable_is_refused_before_n8n_sees_anything(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))
    before = len(all_workflows(api))

    result = cli("instances", "run", name, "--var", "GREETING=Hello", "--json", env=env)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "needs values for: WHO" in result.stderr
    assert sent == []  # not one request reached n8n
    assert [w for w in all_workflows(api) if w["name"].startswith(prefix)] == []
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # other workers add theirs meanwhile
        assert len(all_workflows(api)) == before
    assert json.loads(cli("instances", "list", "--json", env=env).stdout) == []


def test_a_code_node_that_throws_fails_the_instance_with_its_message_in_the_logs(
    cli: CliRun, env: dict[str, str], prefix: str, tmp_path: Path
) -> None:
    name = f"{prefix}Exploder"
    boom = code("Explode", "throw new Error('the answer is not 42');")
    add_template(cli, tmp_path / "t", chain(name, manual(), boom))

    code_, report, stderr = run(cli, env, name)

    assert code_ == 1, stderr
    assert report["status"] == "error"
    assert "the answer is not 42" in report["error"]
    assert "failed at node 'Explode': the answer is not 42" in stderr
    failed = [
        e for e in events(cli, env, report["id"], "--node", "Explode") if e["source"] == "n8n"
    ]
    assert [(e["level"], e["data"]["status"]) for e in failed] == [("error", "error")]
    assert "the answer is not 42" in failed[0]["message"]
    text = cli("instances", "logs", report["id"], env=env).stdout
    assert "[Explode] the answer is not 42" in text
    assert json.loads(cli("instances", "show", report["id"], "--json", env=env).stdout)[
        "status"
    ] == ("error")


def test_a_webhook_template_runs_with_input(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Orders"
    hook = node(
        "Order received",
        "webhook",
        {"httpMethod": "POST", "path": "orders", "responseMode": "lastNode", "options": {}},
        typeVersion=2,
        webhookId=str(uuid.uuid4()),
    )
    double = code(
        "Double",
        "return $input.all().map(i => ({json: {order: i.json.body.order, "
        "qty: i.json.body.qty * 2}}));",
    )
    add_template(cli, tmp_path / "t", chain(name, hook, double))
    payload = tmp_path / "order.json"
    payload.write_text(json.dumps({"order": "A-1", "qty": 21}))

    code_, report, stderr = run(cli, env, name, "--input", f"@{payload}", "--keep")

    assert code_ == 0, stderr
    assert report["output"] == [{"order": "A-1", "qty": 42}]
    path = next(
        n
        for n in n8n_workflow(api, report["n8nWorkflowId"])["nodes"]
        if n["name"] == ("Order received")
    )["parameters"]["path"]
    assert path == f"pumpflix-{report['id'].replace('-', '')}"  # its own path, not "orders"

    code_, again, stderr = run(cli, env, name, "--input", '{"order": "B-2", "qty": 5}')
    assert code_ == 0, stderr
    assert again["output"] == [{"order": "B-2", "qty": 10}]


def test_no_wait_returns_at_once_and_logs_follow_shows_the_result(
    cli: CliRun, env: dict[str, str], prefix: str, tmp_path: Path
) -> None:
    name = f"{prefix}Sleeper"
    nap = code(
        "Nap", "await new Promise(r => setTimeout(r, 1500));\nreturn [{json: {slept: true}}];"
    )
    add_template(cli, tmp_path / "t", chain(name, manual(), nap))

    code_, report, stderr = run(cli, env, name, "--no-wait")

    assert code_ == 0, stderr
    assert (report["status"], report["output"]) == ("running", None)
    assert report["n8nExecutionId"]  # the swapped-in webhook answers with it
    assert "--follow" in stderr

    followed = events(cli, env, report["id"], "--follow", "--max-wait", "120")

    nap_runs = [e for e in followed if e["node"] == "Nap" and e["source"] == "n8n"]
    assert [(e["data"]["status"], e["data"]["itemsOut"]) for e in nap_runs] == [("success", 1)]
    assert any(e["data"] and e["data"].get("step") == "execution-finished" for e in followed), (
        followed
    )
    shown = json.loads(cli("instances", "show", report["id"], "--json", env=env).stdout)
    assert (shown["status"], shown["output"]) == ("success", [{"slept": True}])
    # nothing more to follow: it ends at once and prints nothing new
    assert events(cli, env, report["id"], "--follow", "--max-wait", "60") == events(
        cli, env, report["id"]
    )


def test_plain_show_and_logs_pick_up_a_run_that_finished_since(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Sleeper"
    nap = code("Nap", "await new Promise(r => setTimeout(r, 500));\nreturn [{json: {slept: 1}}];")
    add_template(cli, tmp_path / "t", chain(name, manual(), nap))
    code_, report, stderr = run(cli, env, name, "--no-wait")
    assert (code_, report["status"]) == (0, "running"), stderr
    assert "kept n8n workflow" in stderr and "pumpflix instances prune" in stderr
    finished = time.monotonic() + 60
    while api.get(f"/executions/{report['n8nExecutionId']}").json()["status"] != "success":
        assert time.monotonic() < finished, "the execution never finished"
        time.sleep(0.2)

    shown = cli("instances", "show", report["id"], "--json", env=env)  # no --follow: one look

    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "success"
    assert json.loads(shown.stdout)["output"] == [{"slept": 1}]
    nap_runs = [e for e in events(cli, env, report["id"]) if e["node"] == "Nap"]
    assert [e["data"]["itemsOut"] for e in nap_runs] == [1]  # recorded once, not again


def test_keep_active_leaves_the_workflow_active(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))

    code_, report, _ = run(
        cli, env, name, "--var", "GREETING=Hi", "--var", "WHO=Bo", "--keep-active"
    )

    assert code_ == 0, report
    assert n8n_workflow(api, report["n8nWorkflowId"])["active"] is True


def test_an_app_triggered_workflow_is_deployed_active_for_its_app(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}On n8n start"
    # The n8n Trigger needs no credential: it fires when n8n itself starts.
    trigger = node("n8n Trigger", "n8nTrigger", {"events": ["init"]})
    add_template(cli, tmp_path / "t", chain(name, trigger, assign("Note", {"seen": "yes"})))

    code_, report, stderr = run(cli, env, name, "--input", "{}")

    assert code_ == 0, stderr
    assert report["status"] == "running"
    assert report["n8nExecutionId"] is None
    assert "n8n runs it when the app calls" in stderr
    assert "--input is not used" in stderr
    assert n8n_workflow(api, report["n8nWorkflowId"])["active"] is True


def test_a_run_past_its_timeout_stays_running_until_follow_sees_it_end(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Patient"
    pause = node(
        "Pause",
        "wait",
        {"amount": 1, "unit": "hours"},
        typeVersion=1.1,
        webhookId=str(uuid.uuid4()),
    )
    add_template(cli, tmp_path / "t", chain(name, manual(), pause, assign("After", {"x": "y"})))

    code_, report, stderr = run(cli, env, name, "--timeout", "3")

    assert code_ == 75, stderr
    assert report["status"] == "running"
    assert "did not finish within 3 s" in report["error"]
    assert report["n8nExecutionId"]  # n8n lists the run, paused in its Wait node
    still = cli("instances", "logs", report["id"], "--follow", "--max-wait", "0", env=env)
    assert still.exit_code == 75
    assert "1 execution still running" in still.stderr

    stopped = api.post(f"/executions/{report['n8nExecutionId']}/stop")
    assert stopped.status_code == 200, stopped.text
    followed = events(cli, env, report["id"], "--follow", "--max-wait", "120")

    assert any("finished: canceled" in e["message"] for e in followed), followed
    shown = json.loads(cli("instances", "show", report["id"], "--json", env=env).stdout)
    assert (shown["status"], shown["error"]) == ("canceled", "the execution was canceled in n8n")
