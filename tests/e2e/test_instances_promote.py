"""`pumpflix instances promote` against a real n8n: the new user template is made from
the instance's final JSON, or with --from-n8n from the workflow as n8n now holds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CliRun
from tests.helpers import show_json

from .n8n_api import delete_named
from .test_instances_run import (
    MANUAL,
    add_template,
    assign,
    greeting_template,
    n8n_workflow,
    node,
    run,
)


@pytest.fixture
def credential(api: httpx.Client, prefix: str) -> Iterator[str]:
    """An n8n credential of type httpBasicAuth, deleted afterwards."""
    created = api.post(
        "/credentials",
        json={
            "name": f"{prefix}basic",
            "type": "httpBasicAuth",
            "data": {"user": "pumpflix", "password": "not-a-real-password"},
        },
    )
    assert created.status_code == 200, created.text
    credential_id = str(created.json()["id"])
    yield credential_id
    api.delete(f"/credentials/{credential_id}")


def promote(cli: CliRun, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = cli("instances", "promote", *args, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_promote_makes_a_user_template_with_credentials_and_variables_extracted_afresh(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    credential: str,
    tmp_path: Path,
) -> None:
    name = f"{prefix}Greeter with a call"
    template = greeting_template(name)
    # A node off the run's path that needs a credential: mapped at run time.
    fetch = node(
        "Fetch",
        "httpRequest",
        {
            "url": "={{ $vars.API_URL }}/hello",
            "authentication": "genericCredentialType",
            "genericAuthType": "httpBasicAuth",
            "options": {},
        },
        typeVersion=4.2,
        credentials={"httpBasicAuth": {"id": "1234", "name": "Template's basic auth"}},
    )
    template["nodes"].append(fetch)
    add_template(cli, tmp_path / "t", template)
    assert show_json(cli, name)["inputVariables"] == ["API_URL", "GREETING", "WHO"]
    code_, report, stderr = run(
        cli, env, name,
        "--var", "GREETING=Hello", "--var", "WHO=Ada", "--var", "API_URL=https://api.test",
        "--credential", f"httpBasicAuth={credential}",
    )  # fmt: skip
    assert code_ == 0, stderr

    promoted = promote(cli, env, report["id"], "--name", f"{prefix}Promoted")

    assert (promoted["sourceType"], promoted["version"]) == ("user", 1)
    assert promoted["inputVariables"] == []  # every variable was filled in
    assert promoted["requiredCredentials"] == ["httpBasicAuth"]
    stored = show_json(cli, promoted["id"])["n8nJson"]
    by_name = {n["name"]: n for n in stored["nodes"]}
    assert by_name[MANUAL]["type"] == "n8n-nodes-base.manualTrigger"
    assert by_name["Fetch"]["credentials"] == {
        "httpBasicAuth": {"id": credential, "name": "Template's basic auth"}
    }
    assert by_name["Fetch"]["parameters"]["url"] == '={{ "https://api.test" }}/hello'
    assert "{{GREETING}}" not in json.dumps(stored)


def test_promote_from_n8n_picks_up_an_edit_made_through_the_api(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))
    code_, report, stderr = run(
        cli, env, name, "--var", "GREETING=Hello", "--var", "WHO=Ada", "--keep"
    )
    assert code_ == 0, stderr

    # An operator edits the instance's workflow in n8n: a new node asking for $vars.REGION.
    found = n8n_workflow(api, report["n8nWorkflowId"])
    nodes = [*found["nodes"], assign("Region", {"region": "={{ $vars.REGION }}"})]
    connections = {
        **found["connections"],
        "Greet": {"main": [[{"node": "Region", "type": "main", "index": 0}]]},
    }
    edited = api.put(
        f"/workflows/{found['id']}",
        json={
            "name": found["name"],
            "nodes": nodes,
            "connections": connections,
            "settings": found["settings"],
        },
    )
    assert edited.status_code == 200, edited.text

    from_n8n = promote(cli, env, report["id"][:8], "--name", f"{prefix}Edited", "--from-n8n")
    from_final = promote(cli, env, report["id"], "--name", f"{prefix}As run")

    assert from_n8n["inputVariables"] == ["REGION"]
    assert from_final["inputVariables"] == []
    stored = show_json(cli, from_n8n["id"])["n8nJson"]
    assert {n["name"] for n in stored["nodes"]} == {MANUAL, "Greet", "Region"}
    trigger = next(n for n in stored["nodes"] if n["name"] == MANUAL)
    assert trigger["type"] == "n8n-nodes-base.manualTrigger"  # not the stand-in Webhook
    assert "saveDataSuccessExecution" not in stored["settings"]  # the run's setting undone
    assert stored["connections"]["Greet"]["main"][0][0]["node"] == "Region"
    assert "Region" not in {n["name"] for n in show_json(cli, from_final["id"])["n8nJson"]["nodes"]}


def test_promote_from_n8n_of_a_deleted_workflow_says_so(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))
    code_, report, stderr = run(cli, env, name, "--var", "GREETING=Hi", "--var", "WHO=Bo", "--keep")
    assert code_ == 0, stderr
    delete_named(api, prefix)

    result = cli(
        "instances", "promote", report["id"], "--name", f"{prefix}Gone", "--from-n8n", env=env
    )

    assert result.exit_code == 3
    assert "is gone from n8n" in result.stderr
    assert promote(cli, env, report["id"], "--name", f"{prefix}Kept")["name"] == f"{prefix}Kept"
