"""`instances promote` keeps the template's contract and never stores a secret (issue
13.7), on SQLite and PostgreSQL: instances are recorded as `instances run` records them
(`record_run` over `prepare_run`), without n8n; promoting from n8n is in
tests/e2e/test_instances_promote.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.db.templates import TemplateStore
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.services.instances.prepare import RunRequest, prepare_run
from pumpflix_cli.services.instances.recorded import record_run
from pumpflix_cli.workflow import extract_input_variables
from tests.conftest import CliRun
from tests.factories import write
from tests.helpers import import_json, show_json
from tests.workflow.test_unfill import TOKEN, github_template

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def database(cli: CliRun) -> Iterator[Database]:
    assert cli("db", "upgrade").exit_code == 0
    db = Database(Settings())
    yield db
    db.dispose()


def add_template(cli: CliRun, folder: Path, document: dict[str, Any]) -> dict[str, Any]:
    write(folder, "template.json", document)
    code, report = import_json(cli, str(folder), "--type", "prebuilt")
    assert code == 0, report
    return show_json(cli, str(document["name"]))


def record(
    database: Database,
    template_id: str,
    variables: dict[str, str],
    *,
    secret: frozenset[str] = frozenset(),
    credentials: dict[str, str] | None = None,
) -> str:
    """An instance recorded as `instances run` records one before it deploys it."""
    with database.session() as session:
        template = TemplateStore(session).get(template_id, history=False)
    assert template is not None
    request = RunRequest(
        template_ref=template_id,
        variables=variables,
        secret_variables=secret,
        credentials=credentials or {},
    )
    prepared = prepare_run(request, template)
    recorded = record_run(prepared)
    with database.session() as session:
        InstanceStore(session).create(
            prepared.instance_id,
            template_id=template.id,
            template_version=template.version,
            inputs=recorded.inputs,
            credentials=dict(request.credentials),
            final_workflow=recorded.final,
        )
    return prepared.instance_id


def everything_stored(database: Database) -> str:
    """Every row of every table, pumpflix's and the platform's, as one text."""
    rows = []
    with database.session() as session:
        tables = MetaData()
        tables.reflect(bind=session.get_bind())
        for table in tables.sorted_tables:
            for row in session.execute(select(table)):
                rows.append(json.dumps([str(value) for value in row], ensure_ascii=False))
    return "\n".join(rows)


def promote(cli: CliRun, instance_id: str, name: str) -> tuple[dict[str, Any], str]:
    result = cli("instances", "promote", instance_id, "--name", name, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_a_promoted_template_asks_for_what_the_original_asked_and_holds_no_token(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    original = add_template(cli, tmp_path / "t", github_template())
    values = {"GITHUB_TOKEN": TOKEN, "REPO": "octo/hello", "CHANNEL": "#dev"}
    instance_id = record(database, original["id"], values, credentials={"slackApi": "42"})

    promoted, warnings = promote(cli, instance_id, "Issues digest, promoted")

    assert promoted["inputVariables"] == original["inputVariables"]
    assert promoted["inputVariables"] == ["CHANNEL", "GITHUB_TOKEN", "REPO"]
    assert promoted["requiredCredentials"] == original["requiredCredentials"] == ["slackApi"]
    assert warnings == ""
    stored = show_json(cli, promoted["id"])["n8nJson"]
    assert stored["nodes"] == original["n8nJson"]["nodes"]  # the mapped id "42" undone too
    exported = cli("templates", "export", promoted["id"], "--out", "-", "--bundle")
    assert exported.exit_code == 0, exported.stderr
    assert "octo/hello" not in exported.stdout
    shown = cli("instances", "show", instance_id, "--json", "--final-json")
    assert json.loads(shown.stdout)["inputs"]["variables"]["GITHUB_TOKEN"] == "***"
    assert TOKEN not in everything_stored(database)  # no row: templates, versions, instances
    assert TOKEN not in exported.stdout + shown.stdout


@pytest.mark.parametrize(
    ("variables", "marked"),
    [
        ({"GITHUB_TOKEN": TOKEN}, frozenset()),  # its name says secret
        ({"GITHUB_TOKEN": "hunter2-but-longer"}, frozenset()),
        ({"GITHUB_TOKEN": TOKEN}, frozenset({"GITHUB_TOKEN"})),
    ],
)
def test_a_secret_value_is_stored_masked_whatever_made_it_secret(
    cli: CliRun,
    database: Database,
    tmp_path: Path,
    variables: dict[str, str],
    marked: frozenset[str],
) -> None:
    original = add_template(cli, tmp_path / "t", github_template())
    values = {"REPO": "octo/hello", "CHANNEL": "#dev", **variables}
    instance_id = record(database, original["id"], values, secret=marked)

    promoted, _ = promote(cli, instance_id, "Promoted")

    assert promoted["inputVariables"] == original["inputVariables"]
    assert values["GITHUB_TOKEN"] not in everything_stored(database)


def test_a_token_under_an_innocent_name_or_marked_secret_is_masked_too(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    document = github_template()
    document["nodes"][2]["parameters"]["text"] = "={{ $vars.OWNER }} {{ CHANNEL }} {{ REPO }}"
    original = add_template(cli, tmp_path / "t", document)
    values = {"GITHUB_TOKEN": "x" * 8, "REPO": TOKEN, "CHANNEL": "hush-hush-1", "OWNER": "Ada"}
    instance_id = record(database, original["id"], values, secret=frozenset({"CHANNEL"}))

    promote(cli, instance_id, "Promoted")

    stored = everything_stored(database)
    assert TOKEN not in stored  # looks like a token
    assert "hush-hush-1" not in stored  # marked secret
    shown = json.loads(cli("instances", "show", instance_id, "--json").stdout)["inputs"]
    assert shown["variables"] == {
        "GITHUB_TOKEN": "***",
        "REPO": "***",
        "CHANNEL": "***",
        "OWNER": "Ada",
    }
    assert shown["maskedVariables"] == ["CHANNEL", "GITHUB_TOKEN", "REPO"]
    assert "filledIn" not in shown


def corpus_with_variables(count: int) -> list[dict[str, Any]]:
    location = os.environ.get("PUMPFLIX_CORPUS")
    if not location:
        pytest.skip("PUMPFLIX_CORPUS is not set")
    from tests.workflow.test_unfill_corpus import with_variables

    picked: dict[str, dict[str, Any]] = {}
    for _where, workflow in with_variables(Path(location)):
        text = json.dumps(workflow)
        kind = "$env" if "$env" in text else "$vars" if "$vars" in text else "placeholder"
        picked.setdefault(kind, workflow)
    assert set(picked) == {"$env", "$vars", "placeholder"}
    return list(picked.values())[:count]


@pytest.mark.corpus
def test_corpus_workflows_with_placeholders_vars_and_env_promote_back_to_their_contract(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    for index, document in enumerate(corpus_with_variables(3)):
        document = {**document, "name": f"Corpus {index}"}
        original = add_template(cli, tmp_path / str(index), document)
        names = extract_input_variables(original["n8nJson"])
        values = {name: f"{name} value" for name in names}
        values[names[0]] = TOKEN
        instance_id = record(database, original["id"], values, secret=frozenset({names[0]}))

        promoted, warnings = promote(cli, instance_id, f"Promoted {index}")

        assert promoted["inputVariables"] == original["inputVariables"], document["name"]
        assert promoted["requiredCredentials"] == original["requiredCredentials"]
        assert show_json(cli, promoted["id"])["n8nJson"]["nodes"] == original["n8nJson"]["nodes"]
        assert "hard-coded" in warnings or warnings == ""
    assert TOKEN not in everything_stored(database)


def test_an_instance_recorded_before_places_were_kept_is_masked_and_says_so(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    original = add_template(cli, tmp_path / "t", github_template())
    values = {"GITHUB_TOKEN": TOKEN, "REPO": "octo/hello", "CHANNEL": "#dev"}
    with database.session() as session:
        template = TemplateStore(session).get(original["id"], history=False)
    assert template is not None
    prepared = prepare_run(
        RunRequest(original["id"], values, credentials={"slackApi": "42"}), template
    )
    with database.session() as session:  # as runs stored them before: values as given
        InstanceStore(session).create(
            prepared.instance_id,
            template_id=template.id,
            template_version=template.version,
            inputs={"variables": values, "input": None},
            credentials={"slackApi": "42"},
            final_workflow=prepared.final,
        )

    promoted, warnings = promote(cli, prepared.instance_id, "Old run")

    assert "run before pumpflix recorded where its variables went" in warnings
    assert "held the value of secret variable GITHUB_TOKEN, now masked as ***" in warnings
    stored = show_json(cli, promoted["id"])["n8nJson"]
    assert TOKEN not in json.dumps(stored)
    post = next(n for n in stored["nodes"] if n["name"] == "Post")
    assert post["credentials"] == {"slackApi": {"name": "Slack account"}}  # "42" dropped


def test_run_refuses_a_secret_var_without_a_value_before_anything(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    add_template(cli, tmp_path / "t", github_template())

    result = cli("instances", "run", "Issues digest", "--secret-var", "GITHUB_TOKEN")

    assert result.exit_code == ExitCode.USAGE
    assert "--secret-var 'GITHUB_TOKEN' is not NAME=VALUE" in result.stderr
