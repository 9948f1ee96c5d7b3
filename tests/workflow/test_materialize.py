"""Materializing a template for an instance: variables and credentials."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.workflow import extract_input_variables
from pumpflix_cli.workflow.materialize import (
    MissingVariablesError,
    materialize,
    substitute_text,
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
