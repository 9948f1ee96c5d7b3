"""`pumpflix instances promote` against a real n8n: the new user template is made from
the instance's final JSON, or with --from-n8n from the workflow as n8n now holds it, with
the values and credential ids the run filled in put back as the template held them, and
no secret value stored anywhere (issue 13.7)."""

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
    chain,
    greeting_template,
    manual,
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


def test_promote_gives_back_the_template_s_variables_and_credentials(
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
        "--credential", f"httpBasicAuth={credential}", "--keep",  # --from-n8n reads it
    )  # fmt: skip
    assert code_ == 0, stderr

    for source in ((), ("--from-n8n",)):
        promoted = promote(cli, env, report["id"], "--name", f"{prefix}Promoted{source}", *source)

        assert (promoted["sourceType"], promoted["version"]) == ("user", 1)
        assert promoted["inputVariables"] == ["API_URL", "GREETING", "WHO"]  # as the original's
        assert promoted["requiredCredentials"] == ["httpBasicAuth"]
        stored = show_json(cli, promoted["id"])["n8nJson"]
        by_name = {n["name"]: n for n in stored["nodes"]}
        assert by_name[MANUAL]["type"] == "n8n-nodes-base.manualTrigger"
        assert by_name["Fetch"]["credentials"] == {  # the run's mapping undone
            "httpBasicAuth": {"id": "1234", "name": "Template's basic auth"}
        }
        assert by_name["Fetch"]["parameters"]["url"] == "={{ $vars.API_URL }}/hello"
        assert [n["parameters"] for n in stored["nodes"]] == [
            n["parameters"] for n in template["nodes"]
        ]


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

    assert from_n8n["inputVariables"] == ["GREETING", "REGION", "WHO"]
    assert from_final["inputVariables"] == ["GREETING", "WHO"]
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


def token_template(name: str) -> dict[str, Any]:
    """A token in a header-like placeholder and in a ``$vars`` reference, a repository in
    ``$env`` and a channel in a placeholder; Set nodes only, so it runs without credentials.
    The last node replies with the token's length only: what a workflow sends back is its
    own business (the GitHub API does not echo a token)."""
    return chain(
        name,
        manual(),
        assign(
            "Request",
            {
                "authorization": "Bearer {{GITHUB_TOKEN}}",
                "tokenLength": "={{ $vars.GITHUB_TOKEN.length }}",
                "url": "=https://api.github.com/repos/{{ $env.REPO }}/issues",
                "channel": "{{ CHANNEL }}",
            },
        ),
        assign("Reply", {"length": "={{ $json.tokenLength }}", "to": "={{ $json.url }}"}),
    )


def test_a_token_given_to_a_run_is_stored_nowhere_and_promote_puts_its_variable_back(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    token = "ghp_7Fq2LmZ9xR4tW8yB3nK6vP1sD5hJ0cA2eG"
    name = f"{prefix}Issues"
    add_template(cli, tmp_path / "t", token_template(name))
    original = show_json(cli, name)
    code_, report, stderr = run(
        cli, env, name,
        "--var", f"GITHUB_TOKEN={token}", "--var", "REPO=octo/hello",
        "--secret-var", "CHANNEL=#private-ops", "--keep",
    )  # fmt: skip
    assert code_ == 0, stderr
    assert report["output"] == [  # n8n ran with the values given
        {"length": str(len(token)), "to": "https://api.github.com/repos/octo/hello/issues"}
    ]
    # An operator pastes the token into another field of the instance's workflow in n8n.
    found = n8n_workflow(api, report["n8nWorkflowId"])
    nodes = json.loads(json.dumps(found["nodes"]))
    request = next(n for n in nodes if n["name"] == "Request")
    pasted = dict(request["parameters"]["assignments"]["assignments"][0])
    pasted.update(id="pasted", name="copy", value=f"token {token}")
    request["parameters"]["assignments"]["assignments"].append(pasted)
    edited = api.put(
        f"/workflows/{found['id']}",
        json={k: found[k] for k in ("name", "connections", "settings")} | {"nodes": nodes},
    )
    assert edited.status_code == 200, edited.text

    from_final = promote(cli, env, report["id"], "--name", f"{prefix}From final")
    result = cli(
        "instances", "promote", report["id"], "--name", f"{prefix}From n8n", "--from-n8n",
        "--json", env=env,
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "held the value of secret variable GITHUB_TOKEN, now masked as ***" in result.stderr
    from_n8n = json.loads(result.stdout)
    for promoted in (from_final, from_n8n):
        assert promoted["inputVariables"] == original["inputVariables"]
        assert promoted["inputVariables"] == ["CHANNEL", "GITHUB_TOKEN", "REPO"]
    shown = show_json(cli, from_n8n["id"])["n8nJson"]
    fields = {
        a["name"]: a["value"]
        for n in shown["nodes"]
        if n["name"] == "Request"
        for a in n["parameters"]["assignments"]["assignments"]
    }
    assert fields["authorization"] == "Bearer {{GITHUB_TOKEN}}"
    assert fields["copy"] == "token ***"
    exported = cli("templates", "export", "--type", "user", "--out", "-", "--bundle", env=env)
    assert exported.exit_code == 0, exported.stderr
    instance = cli("instances", "show", report["id"], "--json", "--final-json", env=env)
    for text in (exported.stdout, instance.stdout, stored_rows(env)):
        assert token not in text
        assert "#private-ops" not in text


def stored_rows(env: dict[str, str]) -> str:
    """Every row of every table of the test's database, as one text."""
    from sqlalchemy import MetaData, select

    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database

    database = Database(Settings())
    try:
        with database.session() as session:
            tables = MetaData()
            tables.reflect(bind=session.get_bind())
            return "\n".join(
                json.dumps([str(value) for value in row], ensure_ascii=False)
                for table in tables.sorted_tables
                for row in session.execute(select(table))
            )
    finally:
        database.dispose()
