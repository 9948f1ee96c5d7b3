"""The pure parts of instances: reading what `instances run` is given, masking secrets,
entry points swapped in and undone, n8n executions read into events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.instances.executions import summarize
from pumpflix_cli.services.instances.inputs import (
    collect_variables,
    mask_secrets,
    parse_input,
    parse_pairs,
)
from pumpflix_cli.services.instances.run import (
    KEEP_EXECUTION_DATA,
    RunRequest,
    prepare_run,
    workflow_name,
)
from pumpflix_cli.workflow import (
    entry_point_of,
    n8n_request_body,
    same_workflow,
    with_entry_point,
    without_entry_point,
)
from pumpflix_cli.workflow.materialize import EXECUTION_ID_REPLY
from tests.factories import workflow


def greeting_template() -> TemplateRecord:
    document = workflow("Greeter", extra_node=True)  # {{GREETING_TARGET}}, $vars.SLACK_CHANNEL
    return TemplateRecord(
        id="9c6f7a52-0000-4000-8000-000000000001",
        name="Greeter",
        source_type="prebuilt",
        version=3,
        content_hash="0" * 64,
        required_credentials=["slackApi"],
        input_variables=["GREETING_TARGET", "SLACK_CHANNEL"],
        workflow=document,
    )


# --- command-line inputs ----------------------------------------------------------------


def test_pairs_split_at_the_first_equals_sign_and_the_last_one_wins() -> None:
    pairs = parse_pairs(["A=1", "URL=http://x/?q=a=b", "A=2"], option="--var", what="NAME")
    assert pairs == {"A": "2", "URL": "http://x/?q=a=b"}


def test_a_pair_without_equals_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--var 'GREETING' is not NAME=VALUE"):
        parse_pairs(["GREETING"], option="--var", what="NAME")


def test_a_vars_file_is_json_or_env_lines_and_var_wins(tmp_path: Path) -> None:
    as_json = tmp_path / "vars.json"
    as_json.write_text(json.dumps({"WHO": "Ada", "COUNT": 3, "ON": True}))
    assert collect_variables(["WHO=Grace"], as_json) == {"WHO": "Grace", "COUNT": "3", "ON": "true"}

    as_env = tmp_path / "vars.env"
    as_env.write_text("# people\nexport WHO='Ada Lovelace'\n\nCITY=London\n")
    assert collect_variables([], as_env) == {"WHO": "Ada Lovelace", "CITY": "London"}

    broken = tmp_path / "broken.env"
    broken.write_text("WHO Ada\n")
    with pytest.raises(InvalidInputError, match=r"broken.env:1: expected NAME=VALUE"):
        collect_variables([], broken)
    with pytest.raises(UsageError, match="no such file"):
        collect_variables([], tmp_path / "missing.env")


def test_input_is_inline_json_or_a_file(tmp_path: Path) -> None:
    assert parse_input(None) is None
    assert parse_input('{"order": 1}') == {"order": 1}
    payload = tmp_path / "order.json"
    payload.write_text('[{"id": 7}]')
    assert parse_input(f"@{payload}") == [{"id": 7}]
    with pytest.raises(UsageError, match="--input is not valid JSON"):
        parse_input("{order")
    payload.write_text("{order")
    with pytest.raises(InvalidInputError, match="invalid JSON"):
        parse_input(f"@{payload}")


def test_secret_looking_inputs_are_masked() -> None:
    inputs = {
        "variables": {
            "WHO": "Ada",
            "API_KEY": "anything at all",
            "DB_PASSWORD": "hunter2",
            "NOTE": "Bearer 9fA3kLq8ZxW2mN7vB4tR1yU6",
        },
        "input": {"user": {"name": "Ada", "token": "t0k"}, "tags": ["a", "b"]},
    }
    assert mask_secrets(inputs) == {
        "variables": {"WHO": "Ada", "API_KEY": "***", "DB_PASSWORD": "***", "NOTE": "***"},
        "input": {"user": {"name": "Ada", "token": "***"}, "tags": ["a", "b"]},
    }


# --- preparing a run --------------------------------------------------------------------


def test_every_missing_variable_is_named_before_anything_happens() -> None:
    request = RunRequest("Greeter", variables={"GREETING_TARGET": "Labs"})
    with pytest.raises(UsageError) as raised:
        prepare_run(request, greeting_template(), lambda _m: None)
    assert "needs values for: SLACK_CHANNEL" in raised.value.message
    with pytest.raises(UsageError, match="GREETING_TARGET, SLACK_CHANNEL"):
        prepare_run(RunRequest("Greeter"), greeting_template(), lambda _m: None)


def test_a_prepared_run_is_named_tagged_by_short_id_and_keeps_its_data() -> None:
    warnings: list[str] = []
    request = RunRequest(
        "Greeter",
        variables={"GREETING_TARGET": "Labs", "SLACK_CHANNEL": "#ops", "EXTRA": "x"},
        credentials={"slackApi": "42", "githubApi": "7"},
    )
    prepared = prepare_run(request, greeting_template(), warnings.append)

    assert prepared.body["name"] == f"Greeter [{prepared.short_id}]"
    assert prepared.body["settings"] == {"executionOrder": "v1", **KEEP_EXECUTION_DATA}
    trigger = prepared.body["nodes"][0]
    assert trigger["type"] == "n8n-nodes-base.webhook"
    assert trigger["parameters"]["path"] == prepared.webhook_path
    assert prepared.final["nodes"][2]["credentials"] == {
        "slackApi": {"id": "42", "name": "Slack account"}
    }
    assert any("--var EXTRA" in w for w in warnings)
    assert any("--credential githubApi" in w for w in warnings)


def test_a_run_that_does_not_wait_is_answered_with_the_execution_id() -> None:
    request = RunRequest(
        "Greeter", variables={"GREETING_TARGET": "x", "SLACK_CHANNEL": "y"}, wait=False
    )
    prepared = prepare_run(request, greeting_template(), lambda _m: None)
    parameters = prepared.body["nodes"][0]["parameters"]
    assert parameters["responseMode"] == "onReceived"
    assert parameters["options"] == {"responseData": EXECUTION_ID_REPLY}


def test_workflow_names_fit_n8n() -> None:
    assert workflow_name("Greeter", "abcd1234") == "Greeter [abcd1234]"
    long = workflow_name("x" * 300, "abcd1234")
    assert len(long) == 128
    assert long.endswith("… [abcd1234]")


# --- entry points -----------------------------------------------------------------------


def test_undoing_a_swapped_trigger_gives_the_template_back_with_edits_kept() -> None:
    original = workflow()
    deployed, entry = with_entry_point(original, "pumpflix-1")
    edited = n8n_request_body(deployed)  # as read back from n8n
    edited["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] = "edited"

    restored = without_entry_point(edited, original, entry)

    assert restored["nodes"][0] == original["nodes"][0]
    assert restored["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] == (
        "edited"
    )
    again = entry_point_of(original)
    assert (again.kind, again.node) == (entry.kind, entry.node)


def test_undoing_a_webhook_entry_restores_its_path() -> None:
    original = workflow()
    original["nodes"][0] = {
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "webhookId": "template-hook",
        "parameters": {"path": "orders", "httpMethod": "POST", "responseMode": "lastNode"},
    }
    original["connections"] = {
        "Hook": original["connections"].pop(next(iter(original["connections"])))
    }
    deployed, entry = with_entry_point(original, "pumpflix-2")
    assert entry.kind == "webhook"
    restored = without_entry_point(deployed, original, entry)
    assert restored["nodes"][0] == original["nodes"][0]


@given(text=st.text(max_size=40), respond=st.sampled_from(["lastNode", "onReceived"]))
def test_with_then_without_an_entry_point_is_the_same_workflow(text: str, respond: Any) -> None:
    original = workflow(text=text)
    deployed, entry = with_entry_point(original, "pumpflix-p", respond=respond)
    assert same_workflow(without_entry_point(deployed, original, entry), original)


# --- executions -------------------------------------------------------------------------


def _run(
    start: int, ms: int, items: int, *, index: int, error: str | None = None
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "startTime": start,
        "executionIndex": index,
        "executionTime": ms,
        "executionStatus": "error" if error else "success",
        "data": {"main": [[{"json": {"n": i}} for i in range(items)]]},
    }
    if error:
        run["error"] = {"message": error, "description": "from a test"}
        del run["data"]
    return run


def execution(status: str, run_data: dict[str, Any], last: str) -> dict[str, Any]:
    """The shape n8n 2.40 returns for GET /executions/{id}?includeData=true."""
    result: dict[str, Any] = {"runData": run_data, "lastNodeExecuted": last}
    if status == "error":
        result["error"] = {"message": "boom [line 1]", "name": "WrappedExecutionError"}
    return {
        "id": "31",
        "finished": status == "success",
        "mode": "webhook",
        "status": status,
        "startedAt": "2026-11-26T13:46:54.727Z",
        "stoppedAt": "2026-11-26T13:46:54.765Z",
        "workflowId": "wf1",
        "data": {"resultData": result},
    }


def test_a_successful_execution_gives_one_event_per_node_run_and_the_output() -> None:
    summary = summarize(
        execution(
            "success",
            {
                "Set": [_run(1795700814748, 17, 2, index=1)],
                "Start": [_run(1795700814747, 1, 1, index=0)],
            },
            "Set",
        )
    )
    assert (summary.id, summary.status, summary.duration_ms) == ("31", "success", 38)
    assert summary.output == [{"n": 0}, {"n": 1}]
    assert [(e.node, e.message) for e in summary.events] == [
        ("Start", "success: 1 item out in 1 ms"),
        ("Set", "success: 2 items out in 17 ms"),
    ]
    assert summary.events[1].data == {
        "executionId": "31",
        "run": 0,
        "status": "success",
        "startedAt": "2026-11-26T13:46:54.748000+00:00",
        "durationMs": 17,
        "itemsOut": 2,
    }
    assert summary.error is None


def test_a_failed_execution_names_the_node_and_its_message() -> None:
    summary = summarize(
        execution(
            "error",
            {
                "Start": [_run(1795700814747, 1, 1, index=0)],
                "Code": [_run(1795700814748, 9, 0, index=1, error="boom [line 1]")],
            },
            "Code",
        )
    )
    assert (summary.status, summary.failed_node, summary.error) == (
        "error",
        "Code",
        "boom [line 1]",
    )
    assert summary.output is None
    failed = summary.events[-1]
    assert (failed.level, failed.node, failed.message) == ("error", "Code", "boom [line 1]")
    assert failed.data is not None and failed.data["description"] == "from a test"
    assert "failed at node 'Code': boom [line 1]" in summary.finished_event().message


@pytest.mark.parametrize(
    ("n8n_status", "status"),
    [
        ("running", "running"),
        ("waiting", "running"),
        ("new", "running"),
        ("crashed", "error"),
        ("canceled", "canceled"),
    ],
)
def test_n8n_statuses_map_onto_instance_statuses(n8n_status: str, status: str) -> None:
    assert summarize(execution(n8n_status, {}, "Start")).status == status
