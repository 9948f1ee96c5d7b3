"""``templates import``: idempotent, versioned, batch-safe, with the documented exit codes.
Every test runs on the embedded SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.templates import TemplateDraft, TemplateStore
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json

pytestmark = pytest.mark.usefixtures("backend")


def test_import_creates_a_template_with_extracted_fields(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path / "in", "greet.json", workflow(extra_node=True))
    code, report = import_json(cli, str(path))
    assert code == ExitCode.OK
    assert (report["created"], report["updated"], report["failed"]) == (1, 0, 0)
    (template,) = list_json(cli)
    assert template["name"] == "Send greeting"
    assert template["sourceType"] == "user"
    assert template["version"] == 1
    assert template["requiredCredentials"] == ["slackApi"]
    assert template["inputVariables"] == ["GREETING_TARGET", "SLACK_CHANNEL"]
    assert len(template["contentHash"]) == 64
    assert "n8nJson" not in template


def test_a_second_import_changes_nothing(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "a.json", workflow("A"))
    write(folder, "b.json", workflow("B"))
    import_json(cli, str(folder))
    code, report = import_json(cli, str(folder))
    assert code == ExitCode.OK
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)


def test_changed_content_makes_a_new_version_and_keeps_the_old(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path, "greet.json", workflow(text="hello"))
    import_json(cli, str(path))
    write(tmp_path, "greet.json", workflow(text="good morning"))
    code, report = import_json(cli, str(path))
    assert (code, report["updated"]) == (ExitCode.OK, 1)
    shown = json.loads(cli("templates", "show", "Send greeting", "--json").stdout)
    assert shown["version"] == 2
    assert [h["version"] for h in shown["history"]] == [1, 2]
    assert shown["history"][0]["contentHash"] != shown["history"][1]["contentHash"]
    assert "good morning" in json.dumps(shown["n8nJson"])


def test_volatile_fields_do_not_count_as_a_change(cli: CliRun, tmp_path: Path) -> None:
    document = workflow()
    path = write(tmp_path, "greet.json", document)
    import_json(cli, str(path))
    document["nodes"][0]["position"] = [500, 500]
    document["id"] = "another-n8n-id"
    document["meta"] = {"instanceId": "elsewhere"}
    document["nodes"][1]["id"] = "ffffffff-0000-4000-8000-000000000002"
    write(tmp_path, "greet.json", document)
    _, report = import_json(cli, str(path))
    assert report["unchanged"] == 1


def test_the_type_option_and_the_name_make_the_identity(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path, "greet.json", workflow())
    import_json(cli, str(path), "--type", "prebuilt")
    _, report = import_json(cli, str(path), "--type", "user")
    assert report["created"] == 1
    assert sorted(t["sourceType"] for t in list_json(cli)) == ["prebuilt", "user"]


def test_two_different_workflows_with_one_name_both_fail_naming_each_other(
    cli: CliRun, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    first = write(folder, "one.json", workflow("Same", text="one"))
    second = write(folder, "two.json", workflow("Same", text="two"))
    write(folder, "other.json", workflow("Other"))
    code, report = import_json(cli, str(folder))
    assert code == ExitCode.PARTIAL
    assert (report["created"], report["failed"]) == (1, 2)
    errors = {e["path"]: e["error"] for e in report["errors"]}
    assert str(second) in errors[str(first)]
    assert str(first) in errors[str(second)]
    assert [t["name"] for t in list_json(cli)] == ["Other"]


def test_identical_duplicates_import_once(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "one.json", workflow("Same"))
    write(folder, "copy.json", workflow("Same"))
    code, report = import_json(cli, str(folder))
    assert code == ExitCode.OK
    assert (report["created"], report["failed"]) == (1, 0)
    assert len(list_json(cli)) == 1


def test_nothing_valid_exits_65_and_names_each_file(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    (folder).mkdir()
    (folder / "truncated.json").write_text('{"nodes": [')
    (folder / "numbers.json").write_text("[1, 2, 3]")
    code, report = import_json(cli, str(folder))
    assert code == ExitCode.DATA_ERR
    assert report["failed"] == 2
    reasons = {Path(e["path"]).name: e["error"] for e in report["errors"]}
    assert "invalid JSON" in reasons["truncated.json"]
    assert "number" in reasons["numbers.json"]


def test_some_invalid_files_exit_5_and_the_rest_land(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "good.json", workflow("Good"))
    (folder / "bad.json").write_bytes(b"\xff\xfe not utf-8")
    result = cli("templates", "import", str(folder))
    assert result.exit_code == ExitCode.PARTIAL
    assert "bad.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert [t["name"] for t in list_json(cli)] == ["Good"]


def test_atomic_imports_nothing_when_one_file_is_invalid(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "good.json", workflow("Good"))
    (folder / "bad.json").write_text("{")
    code, report = import_json(cli, str(folder), "--atomic")
    assert code == ExitCode.DATA_ERR
    assert report["created"] == 0
    assert list_json(cli) == []


def test_dry_run_reports_the_same_counts_and_writes_nothing(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "a.json", workflow("A"))
    import_json(cli, str(folder))
    write(folder, "a.json", workflow("A", text="changed"))
    write(folder, "b.json", workflow("B"))
    _, planned = import_json(cli, str(folder), "--dry-run")
    assert (planned["created"], planned["updated"], planned["dryRun"]) == (1, 1, True)
    assert [(t["name"], t["version"]) for t in list_json(cli)] == [("A", 1)]
    _, real = import_json(cli, str(folder))
    assert (real["created"], real["updated"]) == (planned["created"], planned["updated"])


def test_on_conflict_skip_and_fail(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", workflow("A"))
    import_json(cli, str(path))
    write(tmp_path, "a.json", workflow("A", text="changed"))
    _, skipped = import_json(cli, str(path), "--on-conflict", "skip")
    assert (skipped["skipped"], skipped["updated"]) == (1, 0)
    code, failed = import_json(cli, str(path), "--on-conflict", "fail")
    assert (code, failed["failed"]) == (ExitCode.CONFLICT, 1)
    assert "different content" in failed["errors"][0]["error"]
    assert list_json(cli)[0]["version"] == 1


def test_on_conflict_fail_exit_codes_mixed_with_other_outcomes(cli: CliRun, tmp_path: Path) -> None:
    """Only conflicts: 4 (the README's table); conflicts and landed items: 5 (partial);
    a conflict and an invalid file with nothing landed: 65."""
    folder = tmp_path / "in"
    write(folder, "a.json", workflow("A"))
    import_json(cli, str(folder))
    write(folder, "a.json", workflow("A", text="changed"))
    write(folder, "b.json", workflow("B"))
    code, report = import_json(cli, str(folder), "--on-conflict", "fail")
    assert (code, report["created"], report["failed"]) == (ExitCode.PARTIAL, 1, 1)
    (folder / "b.json").unlink()
    (folder / "bad.json").write_text("{not json")
    code, report = import_json(cli, str(folder), "--on-conflict", "fail")
    assert (code, report["failed"]) == (ExitCode.DATA_ERR, 2)


def test_the_store_leaves_a_conflict_for_the_importer_to_decide(
    cli: CliRun, tmp_path: Path
) -> None:
    import_json(cli, str(write(tmp_path, "a.json", workflow("A"))))
    (template,) = list_json(cli)
    draft = TemplateDraft(
        name="A",
        source_type="user",
        workflow={"nodes": []},
        content_hash="0" * 64,
        required_credentials=[],
        input_variables=[],
    )
    database = Database(Settings())
    try:
        with database.session() as session:
            (result,) = TemplateStore(session).upsert([draft], update_changed=False)
    finally:
        database.dispose()
    assert (result.outcome, result.id, result.version) == ("conflict", template["id"], 1)
    assert result.existing is not None
    assert result.existing.content_hash == template["contentHash"]
    assert list_json(cli)[0]["version"] == 1


def test_stdin_and_an_array_of_workflows(cli: CliRun) -> None:
    documents = [workflow("From stdin 1"), workflow("From stdin 2", text="x")]
    code, report = import_json(cli, "-", input=json.dumps(documents))
    assert (code, report["created"]) == (ExitCode.OK, 2)


def test_a_missing_name_comes_from_the_file_name(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path, "nightly-report.json", workflow(None))
    import_json(cli, str(path))
    assert list_json(cli)[0]["name"] == "nightly-report"


def test_id_keyed_connections_need_repair(cli: CliRun, tmp_path: Path) -> None:
    document = workflow()
    document["connections"] = {
        "a1b2c3d4-0000-4000-8000-000000000001": {
            "main": [[{"node": "a1b2c3d4-0000-4000-8000-000000000002", "type": "main", "index": 0}]]
        }
    }
    path = write(tmp_path, "keyed.json", document)
    code, report = import_json(cli, str(path))
    assert code == ExitCode.DATA_ERR
    assert "--repair" in report["errors"][0]["error"]
    code, report = import_json(cli, str(path), "--repair")
    assert (code, report["created"]) == (ExitCode.OK, 1)
    assert report["repaired"] == [str(path)]
    assert report["warnings"] == []


def test_a_hard_coded_token_is_warned_about_without_its_value(cli: CliRun, tmp_path: Path) -> None:
    token = "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZZqq"
    document = workflow()
    document["nodes"][1]["parameters"]["headers"] = {"Authorization": f"Bearer {token}"}
    path = write(tmp_path, "leaky.json", document)
    result = cli("templates", "import", str(path))
    assert result.exit_code == ExitCode.OK
    assert (
        f"warning: {path}: node 'Set greeting' parameter 'headers.Authorization' looks like "
        "a hard-coded secret" in result.stderr
    )
    assert token not in result.stderr + result.stdout
    _, report = import_json(cli, str(path))
    assert report["warnings"][0]["path"] == str(path)
    assert token not in json.dumps(report)


@pytest.mark.parametrize(
    "value",
    [
        "bearer Zx81qP4mN7vR2tY9wK3jL6aa",
        "BEARER Zx81qP4mN7vR2tY9wK3jL6aa",
        "={{ 'Bearer Zx81qP4mN7vR2tY9wK3jL6aa' }}",
        '={{ "sk-Zx81qP4mN7vR2tY9wK3jL6aa" }}',
    ],
)
def test_a_token_in_any_case_or_inside_an_expression_is_warned_about_without_its_value(
    cli: CliRun, tmp_path: Path, value: str
) -> None:
    document = workflow()
    document["nodes"][1]["parameters"]["headers"] = {"Authorization": value}
    path = write(tmp_path, "leaky.json", document)
    result = cli("templates", "import", str(path))
    assert result.exit_code == ExitCode.OK
    assert "parameter 'headers.Authorization' looks like a hard-coded secret" in result.stderr
    assert "Zx81qP4mN7vR2tY9wK3jL6aa" not in result.stderr + result.stdout


def test_an_expression_that_only_references_data_is_not_warned_about(
    cli: CliRun, tmp_path: Path
) -> None:
    document = workflow()
    document["nodes"][1]["parameters"]["headers"] = {
        "Authorization": "={{ 'Bearer ' + $credentials.apiKey }}",
        "X-Token": "={{ $json.token }}",
    }
    path = write(tmp_path, "clean.json", document)
    code, report = import_json(cli, str(path))
    assert (code, report["warnings"]) == (ExitCode.OK, [])


def test_a_file_over_the_size_limit_is_refused_unread(cli: CliRun, tmp_path: Path) -> None:
    path = write(tmp_path, "big.json", workflow(text="x" * 5000))
    result = cli(
        "templates", "import", str(path), "--json", env={"PUMPFLIX_MAX_FILE_BYTES": "1000"}
    )
    assert result.exit_code == ExitCode.DATA_ERR
    assert "limit" in json.loads(result.stdout)["errors"][0]["error"]


def test_a_missing_path_is_reported(cli: CliRun, tmp_path: Path) -> None:
    code, report = import_json(cli, str(tmp_path / "nope.json"))
    assert code == ExitCode.DATA_ERR
    assert report["errors"][0]["error"] == "no such file or directory"


def test_the_embedded_default_imports_and_lists(
    cli: CliRun, tmp_path: Path, backend: Backend
) -> None:
    path = write(tmp_path, "a.json", workflow("Embedded"))
    assert cli("templates", "import", str(path)).exit_code == 0
    result = cli("templates", "list")
    assert "Embedded" in result.stdout
