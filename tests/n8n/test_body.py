"""Request bodies for n8n's API built from its allowlists (workflow/n8n_body.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.workflow import MAX_N8N_NAME_LENGTH, WorkflowError, n8n_request_body
from pumpflix_cli.workflow.n8n_body import BODY_KEYS, NODE_KEYS, SETTINGS_KEYS
from tests.factories import workflow


def body_of(document: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return n8n_request_body(document, **kwargs)


def error_of(document: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(WorkflowError) as caught:
        n8n_request_body(document, **kwargs)
    return str(caught.value)


def test_the_body_holds_only_what_n8n_accepts() -> None:
    document = workflow("Greeting", extra_node=True)
    document.update({"pinData": {"x": []}, "staticData": {"a": 1}, "tags": [], "versionId": "v"})

    body = body_of(document)

    assert list(body) == list(BODY_KEYS)
    assert body["name"] == "Greeting"
    assert body["connections"] == document["connections"]
    assert body["nodes"][2]["credentials"] == {"slackApi": {"id": "17", "name": "Slack account"}}


def test_null_and_unknown_settings_are_left_out_and_strings_converted() -> None:
    document = workflow()
    document["settings"] = {
        "errorWorkflow": None,
        "executionTimeout": "3600",
        "saveManualExecutions": "true",
        "saveExecutionProgress": "DEFAULT",
        "callerIds": [14, 18],
        "timezone": "Europe/Paris",
        "saveDataSuccessExecution": "none",
        "somethingNew": 1,
    }

    assert body_of(document)["settings"] == {
        "executionTimeout": 3600,
        "saveManualExecutions": True,
        "callerIds": "14,18",
        "timezone": "Europe/Paris",
        "saveDataSuccessExecution": "none",
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"executionTimeout": "soon"}, "settings.executionTimeout must be a number, got 'soon'"),
        ({"saveDataErrorExecution": "some"}, "settings.saveDataErrorExecution must be one of"),
        ({"saveManualExecutions": "maybe"}, "settings.saveManualExecutions must be a boolean"),
    ],
)
def test_settings_that_do_not_convert_are_refused(settings: dict[str, Any], message: str) -> None:
    document = workflow()
    document["settings"] = settings
    assert message in error_of(document)


def test_node_keys_n8n_refuses_are_dropped_and_numbers_converted() -> None:
    document = workflow()
    node = document["nodes"][1]
    node.update(
        {
            "color": "#ff6d5a",
            "extendsCredential": "slackApi",
            "maxTries": "3",
            "waitBetweenTries": "1000",
            "retryOnFail": "true",
            "notes": None,
            "webhookId": None,
        }
    )

    sent = body_of(document)["nodes"][1]

    assert set(sent) <= NODE_KEYS
    assert (sent["maxTries"], sent["waitBetweenTries"], sent["retryOnFail"]) == (3, 1000, True)
    assert "notes" not in sent and "webhookId" not in sent


def test_a_node_without_a_position_is_placed_at_the_origin() -> None:
    document = workflow()
    del document["nodes"][0]["position"]
    assert body_of(document)["nodes"][0]["position"] == [0, 0]


def test_a_repeated_node_id_is_left_for_n8n_to_renew() -> None:
    document = workflow()
    document["nodes"][1]["id"] = document["nodes"][0]["id"]

    nodes = body_of(document)["nodes"]

    assert nodes[0]["id"] == document["nodes"][0]["id"]
    assert "id" not in nodes[1]


def test_connection_targets_get_the_index_and_type_n8n_requires() -> None:
    document = workflow()
    source = "When clicking 'Test workflow'"
    document["connections"][source]["main"] = [[{"node": "Set greeting"}], None]

    connections = body_of(document)["connections"]

    assert connections[source]["main"] == [
        [{"node": "Set greeting", "type": "main", "index": 0}],
        None,
    ]


def test_the_name_given_wins_and_must_fit_n8n() -> None:
    assert body_of(workflow(None), name="  From the template ")["name"] == "From the template"
    assert error_of(workflow(None)) == "the workflow has no name"
    long = "x" * (MAX_N8N_NAME_LENGTH + 1)
    assert error_of(workflow(), name=long) == (
        f"name is {MAX_N8N_NAME_LENGTH + 1} characters long; n8n allows at most 128"
    )


def test_what_cannot_be_sent_without_guessing_is_refused() -> None:
    duplicate = workflow()
    duplicate["nodes"][1]["name"] = duplicate["nodes"][0]["name"]
    assert "duplicate node name" in error_of(duplicate)

    dangling = workflow()
    dangling["connections"]["Nowhere"] = {"main": [[{"node": "Set greeting", "index": 0}]]}
    assert error_of(dangling) == "connection from unknown node 'Nowhere'"

    bad_number = workflow()
    bad_number["nodes"][1]["maxTries"] = "often"
    assert error_of(bad_number) == (
        "nodes[1].maxTries (node 'Set greeting') must be a number, got 'often'"
    )


# --- properties -----------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.sampled_from(["3", "1000", "true", "false", "DEFAULT", "all", "none", "v1", "x"]),
)
node_extras = st.dictionaries(
    st.sampled_from(
        [
            "color",
            "extendsCredential",
            "notes",
            "disabled",
            "maxTries",
            "waitBetweenTries",
            "retryOnFail",
            "alwaysOutputData",
            "webhookId",
            "typeVersion",
            "onError",
        ]
    ),
    scalars,
)
settings = st.dictionaries(
    st.sampled_from([*sorted(SETTINGS_KEYS), "unknownSetting", "saveDataManualExecutions"]),
    scalars,
)


@given(extras=st.lists(node_extras, min_size=2, max_size=2), settings=settings)
def test_a_body_either_fits_the_allowlists_or_is_refused_clearly(
    extras: list[dict[str, Any]], settings: dict[str, Any]
) -> None:
    document = workflow()
    for node, extra in zip(document["nodes"], extras, strict=True):
        node.update(extra)
    document["settings"] = settings
    try:
        body = n8n_request_body(document)
    except WorkflowError as exc:
        assert "\n" not in str(exc)
        return
    assert set(body) == set(BODY_KEYS)
    assert set(body["settings"]) <= SETTINGS_KEYS
    for node in body["nodes"]:
        assert set(node) <= NODE_KEYS
        assert None not in node.values()
        for key in ("maxTries", "waitBetweenTries", "typeVersion"):
            assert key not in node or isinstance(node[key], int | float)
    assert None not in body["settings"].values()
    assert n8n_request_body(json.loads(json.dumps(body))) == body  # a body is its own body
