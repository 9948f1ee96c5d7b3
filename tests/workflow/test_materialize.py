"""Materializing a template for an instance: variables, credentials, the entry point."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.workflow import WorkflowError, extract_input_variables
from pumpflix_cli.workflow.materialize import (
    MissingVariablesError,
    materialize,
    substitute_text,
    with_entry_point,
)
from tests.factories import workflow


def _greeting() -> dict[str, Any]:
    document = workflow(extra_node=True)  # {{GREETING_TARGET}} and $vars.SLACK_CHANNEL
    document["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] = (
        "={{ 'Hi ' + $env.WHO }} from {{ GREETING_TARGET }}"
    )
    return document


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(MissingVariablesError) as raised:
        materialize(_greeting(), {"WHO": "Ada"})
    assert raised.value.names == ["GREETING_TARGET", "SLACK_CHANNEL"]
    assert str(raised.value) == "missing input variables: GREETING_TARGET, SLACK_CHANNEL"


def test_placeholders_become_values_and_references_become_js_literals() -> None:
    result = materialize(
        _greeting(),
        {"WHO": 'Ada "the first"', "GREETING_TARGET": "Lovelace Labs", "SLACK_CHANNEL": "#general"},
    )
    value = result["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"]
    assert value == '={{ \'Hi \' + "Ada \\"the first\\"" }} from Lovelace Labs'
    assert result["nodes"][2]["parameters"]["text"] == '={{ "#general" }} Lovelace Labs'
    assert extract_input_variables(result) == []


def test_the_template_itself_is_not_changed() -> None:
    original = _greeting()
    snapshot = json.dumps(original)
    materialize(original, {"WHO": "x", "GREETING_TARGET": "y", "SLACK_CHANNEL": "z"})
    assert json.dumps(original) == snapshot


def test_credentials_are_mapped_by_type() -> None:
    values = {"WHO": "x", "GREETING_TARGET": "y", "SLACK_CHANNEL": "z"}
    result = materialize(_greeting(), values, {"slackApi": "42", "unusedApi": "7"})
    assert result["nodes"][2]["credentials"] == {"slackApi": {"id": "42", "name": "Slack account"}}


@given(
    names=st.lists(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True), min_size=1, max_size=4, unique=True
    ),
    value=st.text(max_size=30),
)
def test_a_reference_becomes_a_literal_that_reads_back_as_the_value(
    names: list[str], value: str
) -> None:
    expression = "={{ [" + ", ".join(f"$vars.{n}" for n in names) + "] }}"
    filled = substitute_text(expression, dict.fromkeys(names, value))
    inner = re.fullmatch(r"=\{\{ \[(.*)\] \}\}", filled, re.DOTALL)
    assert inner is not None
    assert json.loads("[" + inner.group(1) + "]") == [value] * len(names)


def test_a_manual_trigger_is_swapped_for_a_webhook_of_the_same_name() -> None:
    result, entry = with_entry_point(workflow(), "pumpflix-abc123")
    assert (entry.kind, entry.node, entry.path, entry.method) == (
        "swapped",
        "When clicking 'Test workflow'",
        "pumpflix-abc123",
        "POST",
    )
    trigger = result["nodes"][0]
    assert trigger["type"] == "n8n-nodes-base.webhook"
    assert trigger["name"] == "When clicking 'Test workflow'"
    assert trigger["parameters"]["responseMode"] == "lastNode"
    assert trigger["position"] == [0, 0]
    assert result["connections"] == workflow()["connections"]


def test_an_existing_webhook_gets_the_instance_path() -> None:
    document = workflow()
    document["nodes"][0] = {
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": "orders", "httpMethod": "PUT"},
    }
    result, entry = with_entry_point(document, "pumpflix-x")
    assert (entry.kind, entry.method) == ("webhook", "PUT")
    assert result["nodes"][0]["parameters"]["path"] == "pumpflix-x"


def test_an_app_trigger_is_left_for_the_app() -> None:
    document = workflow()
    document["nodes"][0]["type"] = "n8n-nodes-base.telegramTrigger"
    _, entry = with_entry_point(document, "p")
    assert entry.kind == "app"


def test_a_workflow_without_a_trigger_cannot_run() -> None:
    document = workflow()
    del document["nodes"][0]
    with pytest.raises(WorkflowError):
        with_entry_point(document, "p")
