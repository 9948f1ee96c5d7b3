"""The pure parts of instances: reading what `instances run` is given, masking secrets,
preparing a run, entry points swapped in and undone. Executions read into events are in
tests/workflow/test_executions.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.cli.instances.inputs import collect_variables, parse_input, parse_pairs
from pumpflix_cli.cli.instances.run import unused_warnings
from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.instances.prepare import (
    KEEP_EXECUTION_DATA,
    InputNotItemsError,
    RunRequest,
    VariablesNeededError,
    prepare_run,
    workflow_name,
)
from pumpflix_cli.services.instances.queries import mask_secrets
from pumpflix_cli.workflow import (
    entry_point_of,
    n8n_request_body,
    same_workflow,
    with_entry_point,
    without_entry_point,
)
from pumpflix_cli.workflow.entry_points import EXECUTION_ID_REPLY
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
    with pytest.raises(VariablesNeededError) as raised:
        prepare_run(request, greeting_template())
    assert "needs values for: SLACK_CHANNEL" in raised.value.message
    assert raised.value.names == ["SLACK_CHANNEL"]
    assert raised.value.exit_code == ExitCode.USAGE
    with pytest.raises(UsageError, match="GREETING_TARGET, SLACK_CHANNEL"):
        prepare_run(RunRequest("Greeter"), greeting_template())


def test_a_prepared_run_is_named_tagged_by_short_id_and_keeps_its_data() -> None:
    request = RunRequest(
        "Greeter",
        variables={"GREETING_TARGET": "Labs", "SLACK_CHANNEL": "#ops", "EXTRA": "x"},
        credentials={"slackApi": "42", "githubApi": "7"},
    )
    prepared = prepare_run(request, greeting_template())

    assert prepared.body["name"] == f"Greeter [{prepared.short_id}]"
    assert prepared.body["settings"] == {"executionOrder": "v1", **KEEP_EXECUTION_DATA}
    trigger = prepared.body["nodes"][0]
    assert trigger["type"] == "n8n-nodes-base.webhook"
    assert trigger["parameters"]["path"] == prepared.webhook_path
    assert prepared.final["nodes"][2]["credentials"] == {
        "slackApi": {"id": "42", "name": "Slack account"}
    }
    assert (prepared.unused_variables, prepared.unused_credentials) == (["EXTRA"], ["githubApi"])
    assert prepared.unmapped_credentials == []
    assert not prepared.payload_unused


def test_what_was_given_for_nothing_is_said_in_the_flags_words() -> None:
    request = RunRequest(
        "Greeter",
        variables={"GREETING_TARGET": "Labs", "SLACK_CHANNEL": "#ops", "EXTRA": "x"},
        credentials={"githubApi": "7"},
    )
    assert unused_warnings(prepare_run(request, greeting_template())) == [
        "--var EXTRA: the template does not use this variable",
        "--credential githubApi: the template uses no credential of this type",
        "no --credential given for slackApi: n8n uses the credentials the template names, "
        "if it has them",
    ]


def hook_template(method: str) -> TemplateRecord:
    """A template started by its own Webhook, called with ``method``."""
    document = workflow("Hook")
    document["nodes"][0] = {
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": "orders", "httpMethod": method},
    }
    document["connections"] = {
        "Hook": document["connections"].pop(next(iter(document["connections"])))
    }
    return TemplateRecord(
        "9c6f7a52-0000-4000-8000-000000000002", "Hook", "user", 1, "0" * 64, workflow=document
    )


def test_an_input_a_query_webhook_cannot_take_is_pointed_out() -> None:
    get = hook_template("GET")
    unused = prepare_run(RunRequest("Hook", payload=[1, 2]), get)
    assert unused.payload_unused
    assert unused_warnings(unused) == [
        "--input is not used: a GET webhook takes an object, as its query"
    ]
    assert not prepare_run(RunRequest("Hook", payload={"q": 1}), get).payload_unused
    assert not prepare_run(RunRequest("Hook"), get).payload_unused
    assert not prepare_run(RunRequest("Hook", payload=[1]), hook_template("POST")).payload_unused


def test_a_run_that_does_not_wait_is_answered_with_the_execution_id() -> None:
    request = RunRequest(
        "Greeter", variables={"GREETING_TARGET": "x", "SLACK_CHANNEL": "y"}, wait=False
    )
    prepared = prepare_run(request, greeting_template())
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
    greet = next(n for n in edited["nodes"] if n["name"] == "Set greeting")
    greet["parameters"]["assignments"]["assignments"][0]["value"] = "edited"

    restored = without_entry_point(edited, original, entry)

    assert restored["nodes"][0] == original["nodes"][0]
    assert restored["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] == (
        "edited"
    )
    again = entry_point_of(original)
    assert (again.kind, again.node) == (entry.kind, entry.node)


def test_a_trigger_swapped_by_an_earlier_pumpflix_is_undone_too() -> None:
    """Earlier deployments turned the trigger itself into a Webhook of its name."""
    original = workflow()
    deployed = json.loads(json.dumps(original))
    deployed["nodes"][0] |= {
        "type": "n8n-nodes-base.webhook",
        "parameters": {"path": "pumpflix-old", "httpMethod": "POST"},
        "webhookId": "old",
    }
    restored = without_entry_point(deployed, original, entry_point_of(original))
    assert restored["nodes"] == original["nodes"]


def test_an_input_that_is_not_items_is_refused_before_anything_is_written() -> None:
    request = RunRequest(
        "Greeter", variables={"GREETING_TARGET": "x", "SLACK_CHANNEL": "y"}, payload=[1, 2]
    )
    with pytest.raises(InputNotItemsError, match="an array of objects") as raised:
        prepare_run(request, greeting_template())
    assert raised.value.exit_code == ExitCode.USAGE
    assert prepare_run(RunRequest("Hook", payload=[1, 2]), hook_template("POST")).body


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
