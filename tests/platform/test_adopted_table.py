"""The platform deployed first: its ``"WorkflowTemplate"`` (PLATFORM.md's DDL) already
holds rows Prisma made when ``pumpflix db upgrade`` runs. pumpflix adopts the table as it
is (no column, constraint or trigger added) and lists, shows and exports those rows as
version 1 with a computed hash; two rows with one name are ambiguous; a new version of a
platform row gets pumpflix's own row (version 2); what pumpflix imports the platform's
own database read returns, field for field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.workflow.canonical import content_hash
from tests.conftest import CliRun
from tests.helpers import import_json, list_json, show_json

from .conftest import platform_database
from .harness import WORKFLOW_TEMPLATE_DDL, Platform

CATALOG = """
SELECT
  (SELECT json_agg(json_build_array(column_name, data_type, is_nullable, column_default,
          datetime_precision) ORDER BY ordinal_position)
     FROM information_schema.columns WHERE table_name = 'WorkflowTemplate'),
  (SELECT json_agg(conname ORDER BY conname) FROM pg_constraint
     WHERE conrelid = '"WorkflowTemplate"'::regclass),
  (SELECT json_agg(indexname ORDER BY indexname) FROM pg_indexes
     WHERE tablename = 'WorkflowTemplate'),
  (SELECT count(*) FROM pg_trigger WHERE tgrelid = '"WorkflowTemplate"'::regclass)
"""


@pytest.fixture
def platform_database_url() -> Iterator[str]:
    """A database of the platform alone: its table, no pumpflix table yet."""
    with platform_database("adopt") as url:
        yield url


def workflow(name: str, value: str = "hi") -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {
                "name": "Start",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {},
            },
            {
                "name": "Set",
                "type": "n8n-nodes-base.set",
                "typeVersion": 1,
                "position": [200, 0],
                "parameters": {"value": value},
            },
        ],
        "connections": {"Start": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
    }


def catalog(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        found = conn.execute(CATALOG).fetchone()
    assert found is not None
    return tuple(found)


def test_an_adopted_table_serves_the_platforms_rows_and_takes_pumpflixs_writes(
    platform: Platform, cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = platform.database_url
    monkeypatch.setenv("DATABASE_URL", url)
    run = cli
    digest = platform.create_template(
        {"name": "Digest", "sourceType": "user", "n8nJson": workflow("Digest")}
    )
    twins = [
        platform.create_template(
            {"name": "Twin", "sourceType": "user", "n8nJson": workflow("Twin", str(n))}
        )
        for n in range(2)
    ]
    shape = catalog(url)

    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert catalog(url) == shape  # adopted as it is: nothing added to the platform's table
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pumpflix_templates").fetchone() == (0,)

    listed = {t["id"]: t for t in list_json(run)}
    assert set(listed) == {digest["id"], *(t["id"] for t in twins)}
    assert listed[digest["id"]]["version"] == 1
    assert listed[digest["id"]]["contentHash"] == content_hash(workflow("Digest"))
    shown = show_json(run, digest["id"])
    assert shown["n8nJson"] == workflow("Digest") and shown["version"] == 1
    out = tmp_path / "out"
    exported = cli("templates", "export", digest["id"], "--out", str(out))
    assert exported.exit_code == 0, exported.stderr
    (file,) = out.iterdir()
    assert json.loads(file.read_text())["nodes"][1]["parameters"] == {"value": "hi"}

    ambiguous = cli("templates", "show", "Twin")
    assert ambiguous.exit_code == ExitCode.USAGE
    assert all(t["id"] in ambiguous.stderr for t in twins)

    # A new version of the platform's row: pumpflix's row appears, version 2, history 1-2.
    source = tmp_path / "in"
    source.mkdir()
    (source / "digest.json").write_text(json.dumps(workflow("Digest", "bye")))
    (source / "fresh.json").write_text(json.dumps(workflow("Fresh")))
    code, report = import_json(run, str(source))
    assert code == 0, report
    versions = {t["name"]: t["version"] for t in report["templates"]}
    assert versions == {"Digest": 2, "Fresh": 1}
    shown = show_json(run, digest["id"])
    assert shown["version"] == 2
    assert [h["version"] for h in shown["history"]] == [1, 2]

    # The twins' name is held by two rows: that item fails naming both, nothing crashes.
    (source / "digest.json").unlink()
    (source / "fresh.json").unlink()
    (source / "twin.json").write_text(json.dumps(workflow("Twin", "third")))
    code, report = import_json(run, str(source))
    assert code in (ExitCode.PARTIAL, ExitCode.DATA_ERR)
    assert all(t["id"] in report["errors"][0]["error"] for t in twins)

    # The platform's own database read returns what pumpflix wrote, field for field.
    read = {t["id"]: t for t in platform.read_database("user")}
    fresh = next(t for t in list_json(run) if t["name"] == "Fresh")
    assert json.loads(read[fresh["id"]]["n8nJson"]) == workflow("Fresh")
    assert read[fresh["id"]]["description"] == ""
    assert read[fresh["id"]]["sourceType"] == "user"
    assert read[fresh["id"]]["thumbnail"] is None
    assert read[fresh["id"]]["createdAt"].endswith("Z")
    assert json.loads(read[digest["id"]]["n8nJson"]) == workflow("Digest", "bye")
    assert read[digest["id"]]["createdAt"] == digest["createdAt"]
    assert read[digest["id"]]["updatedAt"] > digest["updatedAt"]
    assert catalog(url) == shape


def test_a_table_missing_a_column_is_refused_naming_it(
    cli: CliRun, empty_postgres_url: str
) -> None:
    with psycopg.connect(empty_postgres_url, autocommit=True) as conn:
        conn.execute(WORKFLOW_TEMPLATE_DDL.replace('    "n8nJson" TEXT NOT NULL,\n', ""))
    result = cli("db", "upgrade", env={"DATABASE_URL": empty_postgres_url})
    assert result.exit_code != 0
    assert '"n8nJson" is missing' in result.stderr
    with psycopg.connect(empty_postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'pumpflix_%'"
        ).fetchone()
    assert tables == (0,)  # one transaction: nothing was left behind


# The part of the platform's instance model promotion reads (PLATFORM.md), as Prisma
# would create it.
WORKFLOW_INSTANCE_DDL = """
CREATE TABLE "WorkflowInstance" (
    "id" TEXT NOT NULL,
    "templateId" TEXT NOT NULL,
    "finalJson" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "WorkflowInstance_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "WorkflowInstance" ADD CONSTRAINT "WorkflowInstance_templateId_fkey"
    FOREIGN KEY ("templateId") REFERENCES "WorkflowTemplate"("id")
    ON DELETE RESTRICT ON UPDATE CASCADE;
"""


def test_promote_takes_a_platform_instance_by_id(
    platform: Platform, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", platform.database_url)
    template = platform.create_template(
        {"name": "Base", "sourceType": "prebuilt", "n8nJson": workflow("Base")}
    )
    ran, bare = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute(WORKFLOW_INSTANCE_DDL)
        conn.execute(
            'INSERT INTO "WorkflowInstance" ("id", "templateId", "finalJson") '
            "VALUES (%s, %s, %s), (%s, %s, NULL)",
            (ran, template["id"], json.dumps(workflow("Ran", "final")), bare, template["id"]),
        )
    try:
        promote_both(cli, ran, bare)
    finally:  # the platform fixture empties "WorkflowTemplate", which this references
        with psycopg.connect(platform.database_url, autocommit=True) as conn:
            conn.execute('DROP TABLE "WorkflowInstance"')


def promote_both(cli: CliRun, ran: str, bare: str) -> None:
    assert cli("db", "upgrade").exit_code == 0
    result = cli("instances", "promote", ran, "--name", "From final", "--json")
    assert result.exit_code == 0, result.stderr
    promoted = json.loads(result.stdout)
    assert (promoted["sourceType"], promoted["version"]) == ("user", 1)
    assert show_json(cli, "From final")["n8nJson"]["nodes"][1]["parameters"] == {"value": "final"}
    result = cli("instances", "promote", bare, "--name", "From template", "--json")
    assert result.exit_code == 0, result.stderr
    assert show_json(cli, "From template")["n8nJson"]["nodes"][1]["parameters"] == {"value": "hi"}
    missing = cli("instances", "promote", str(uuid.uuid4()), "--name", "Nothing")
    assert missing.exit_code == ExitCode.NOT_FOUND


def test_a_row_the_platform_deleted_is_ignored_and_its_bundle_imports_again(
    platform: Platform, cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", platform.database_url)
    assert cli("db", "upgrade").exit_code == 0
    source = tmp_path / "in"
    source.mkdir()
    (source / "gone.json").write_text(json.dumps(workflow("Gone")))
    assert import_json(cli, str(source))[0] == 0
    (template,) = list_json(cli)
    out = tmp_path / "out"
    assert cli("templates", "export", "Gone", "--bundle", "--out", str(out)).exit_code == 0
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute('DELETE FROM "WorkflowTemplate" WHERE "id" = %s', (template["id"],))

    # pumpflix's rows about it are left, and ignored (the database read: the platform
    # deleted it without touching the cache).
    assert list_json(cli, "--no-cache") == []
    assert cli("templates", "show", template["id"], "--no-cache").exit_code == ExitCode.NOT_FOUND
    code, report = import_json(cli, str(out))
    assert code == 0, report
    assert [(t["id"], t["outcome"], t["version"]) for t in report["templates"]] == [
        (template["id"], "created", 1)
    ]
    assert [h["version"] for h in show_json(cli, template["id"])["history"]] == [1]
