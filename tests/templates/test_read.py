"""``templates list`` and ``show``: references, filters, and the JSON the platform expects."""

from __future__ import annotations

import pytest

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.helpers import list_json, seed, show_json

pytestmark = pytest.mark.usefixtures("backend")

SUMMARY_FIELDS = {
    "id",
    "name",
    "description",
    "sourceType",
    "requiredCredentials",
    "inputVariables",
    "thumbnail",
    "createdAt",
    "updatedAt",
    "version",
    "contentHash",
}


def test_list_prints_every_field_but_the_json(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Beta", "alpha")
    templates = list_json(cli)
    assert [t["name"] for t in templates] == ["Beta", "alpha"]  # by name, code point order
    for template in templates:
        assert set(template) == SUMMARY_FIELDS


def test_list_filters_by_type_search_and_limit(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "p", "Daily report", "Weekly report", source_type="prebuilt")
    seed(cli, tmp_path / "u", "Daily digest")
    assert [t["name"] for t in list_json(cli, "--type", "prebuilt")] == [
        "Daily report",
        "Weekly report",
    ]
    assert [t["name"] for t in list_json(cli, "--search", "DAILY")] == [
        "Daily digest",
        "Daily report",
    ]
    assert len(list_json(cli, "--limit", "2")) == 2
    assert list_json(cli, "--type", "user", "--search", "weekly") == []


def test_list_renders_a_table_for_people(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Daily digest")
    result = cli("templates", "list")
    assert result.exit_code == 0
    assert "Daily digest" in result.stdout


def test_show_by_id_prefix_and_name(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Daily digest")
    (template,) = list_json(cli)
    by_id = show_json(cli, template["id"])
    assert by_id["n8nJson"]["nodes"]
    assert by_id["history"][0]["version"] == 1
    assert show_json(cli, template["id"][:8])["id"] == template["id"]
    assert show_json(cli, "Daily digest")["id"] == template["id"]


def test_a_name_held_by_both_types_is_ambiguous(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "p", "Shared name", source_type="prebuilt")
    seed(cli, tmp_path / "u", "Shared name")
    ids = {t["id"] for t in list_json(cli)}
    result = cli("templates", "show", "Shared name")
    assert result.exit_code == ExitCode.USAGE
    assert "ambiguous" in result.stderr
    for template_id in ids:
        assert template_id in result.stderr


def test_an_unknown_reference_exits_3(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Daily digest")
    result = cli("templates", "show", "no such template")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr.startswith("error: no template matches 'no such template'")


def test_a_short_prefix_is_not_a_reference(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Daily digest")
    (template,) = list_json(cli)
    assert cli("templates", "show", template["id"][:5]).exit_code == ExitCode.NOT_FOUND
