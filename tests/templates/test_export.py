"""``templates export``: n8n-importable files with safe names, stripped of what must not
travel, and a bundle form that re-imports losslessly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.templates.exporting import file_name, slug
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json

pytestmark = pytest.mark.usefixtures("backend")


def _export(cli: CliRun, *args: str) -> list[dict[str, Any]]:
    result = cli("templates", "export", *args, "--out", "-")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def test_export_strips_credential_ids_meta_and_pinned_data(cli: CliRun, tmp_path: Path) -> None:
    document = workflow(extra_node=True)
    document["pinData"] = {"Set greeting": [{"json": {"x": 1}}]}
    document["staticData"] = {"lastId": 3}
    import_json(cli, str(write(tmp_path, "a.json", document)))
    (exported,) = _export(cli)
    assert exported["nodes"][2]["credentials"] == {"slackApi": {"name": "Slack account"}}
    for key in ("meta", "pinData", "staticData", "id", "active"):
        assert key not in exported
    assert exported["nodes"][0]["position"] == [0, 0]
    assert "pumpflix" not in exported


def test_export_keeps_ids_and_data_when_asked(cli: CliRun, tmp_path: Path) -> None:
    document = workflow(extra_node=True)
    document["pinData"] = {"Set greeting": [{"json": {"x": 1}}]}
    import_json(cli, str(write(tmp_path, "a.json", document)))
    (exported,) = _export(cli, "--keep-credential-ids", "--keep-data")
    assert exported["nodes"][2]["credentials"]["slackApi"]["id"] == "17"
    assert exported["pinData"] == document["pinData"]


def test_an_export_imports_back_as_unchanged(cli: CliRun, tmp_path: Path) -> None:
    import_json(cli, str(write(tmp_path / "in", "a.json", workflow(extra_node=True))))
    import_json(cli, str(write(tmp_path / "in", "b.json", workflow("Other", text="x"))))
    out = tmp_path / "out"
    assert cli("templates", "export", "--out", str(out)).exit_code == 0
    code, report = import_json(cli, str(out))
    assert (code, report["unchanged"], report["created"]) == (0, 2, 0)


def test_a_bundle_keeps_the_identity_across_a_rename(cli: CliRun, tmp_path: Path) -> None:
    import_json(cli, str(write(tmp_path, "a.json", workflow("Before"))), "--type", "prebuilt")
    (original,) = list_json(cli)
    (bundle,) = _export(cli, "--bundle")
    assert bundle["pumpflix"]["id"] == original["id"]
    assert bundle["pumpflix"]["sourceType"] == "prebuilt"
    bundle["name"] = "After"
    code, report = import_json(cli, str(write(tmp_path, "bundle.json", bundle)))
    assert (code, report["updated"], report["created"]) == (0, 1, 0)
    (renamed,) = list_json(cli)
    assert (renamed["id"], renamed["name"], renamed["sourceType"]) == (
        original["id"],
        "After",
        "prebuilt",
    )


def test_an_n8n_export_id_is_never_taken_for_ours(cli: CliRun, tmp_path: Path) -> None:
    document = workflow()
    document["id"] = "3f2a1b4c-0000-4000-8000-00000000abcd"
    import_json(cli, str(write(tmp_path, "a.json", document)))
    assert list_json(cli)[0]["id"] != document["id"]


def test_export_file_names_are_safe_and_unique(cli: CliRun, tmp_path: Path) -> None:
    for index, name in enumerate(["a/b", "a b", "..hidden", "Ünïcode — name", "🐋"]):
        import_json(cli, str(write(tmp_path / "in", f"{index}.json", workflow(name))))
    out = tmp_path / "out"
    result = cli("templates", "export", "--out", str(out), "--json")
    assert json.loads(result.stdout)["exported"] == 5
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 5
    for name in names:
        assert name.endswith(".json") and "/" not in name and not name.startswith(".")
    assert all((out / n).resolve().parent == out.resolve() for n in names)


def test_export_by_reference_and_type(cli: CliRun, tmp_path: Path, backend: Backend) -> None:
    import_json(cli, str(write(tmp_path / "p", "p.json", workflow("P"))), "--type", "prebuilt")
    import_json(cli, str(write(tmp_path / "u", "u.json", workflow("U"))))
    assert [d["name"] for d in _export(cli, "--type", "prebuilt")] == ["P"]
    assert [d["name"] for d in _export(cli, "U")] == ["U"]
    assert _export(cli, "U", "--type", "prebuilt") == []


def test_slugs_never_escape_the_folder() -> None:
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("/absolute") == "absolute"
    assert slug("...") == "template"
    record = TemplateRecord(
        id="0123abcd-0000-4000-8000-000000000000",
        name="x/../y",
        source_type="user",
        version=1,
        content_hash="0" * 64,
    )
    assert file_name(record) == "x-y-0123abcd0000.json"
