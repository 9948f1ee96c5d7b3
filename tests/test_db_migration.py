"""0002 and 0003: a database of an older layout (0001: tables without a prefix and
``alembic_version``; 0002: the ``pumpflix_*`` tables holding the templates themselves),
full of corpus templates, versions, an instance with events and n8n links, moves to the
shared layout (templates in the platform's ``"WorkflowTemplate"``) with nothing lost, on
SQLite and PostgreSQL.

The rows come from a database filled at head by the CLI, turned back into the older
shape (``legacy_rows``): what the older pumpflix would have held for the same imports."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.migrate import downgrade, head_revision
from pumpflix_cli.db.models import Instance, InstanceEvent, N8nLink
from pumpflix_cli.records import utcnow
from tests.conftest import Backend, CliRun, create_database
from tests.helpers import import_json, list_json, show_json
from tests.legacy_layout import (
    NEW,
    OLD,
    PLATFORM,
    copy_rows,
    engine_of,
    legacy_database,
    platform_rows,
    rows,
)

CORPUS = os.environ.get("PUMPFLIX_CORPUS")
N8N = "http://n8n.example:5678"


def fill(cli: CliRun, tmp_path: Path) -> list[str]:
    """30 corpus files imported, two of them changed twice (versions 2 and 3), an instance
    with events and n8n links for a template and the instance. Returns the template ids."""
    assert CORPUS
    folder = tmp_path / "slice"
    folder.mkdir()
    for path in sorted((Path(CORPUS) / "clean").rglob("*.json"))[:30]:
        shutil.copy(path, folder / f"{path.parent.name}-{path.name}")
    _, report = import_json(cli, str(folder), "-q")
    imported = report["templates"]
    assert len(imported) >= 20, report
    changed = [Path(t["path"]) for t in imported[:2]]
    for round_ in (2, 3):
        for path in changed:
            document = json.loads(path.read_text())
            document["nodes"][0].setdefault("parameters", {})["migrationRound"] = round_
            path.write_text(json.dumps(document))
        _, report = import_json(cli, *map(str, changed), "-q")
        assert [t["version"] for t in report["templates"]] == [round_, round_], report
    ids = [t["id"] for t in imported]
    with engine_of() as engine, engine.begin() as conn:
        instance_id = uuid.uuid4()
        conn.execute(
            insert(Instance).values(
                id=instance_id,
                template_id=ids[0],
                template_version=3,
                inputs={"GREETING": "hi"},
                credentials={"slackApi": "17"},
                final_workflow={"nodes": [], "connections": {}},
                n8n_workflow_id="wf-instance",
                n8n_execution_id="41",
                status="success",
                output=[{"json": {"ok": True}}],
                started_at=utcnow(),
                finished_at=utcnow(),
            )
        )
        for source, node, message in [("pumpflix", None, "deploying"), ("n8n", "Set", "ok")]:
            conn.execute(
                insert(InstanceEvent).values(
                    instance_id=instance_id, source=source, node_name=node, message=message
                )
            )
        conn.execute(
            insert(InstanceEvent).values(instance_id=instance_id, source="n8n", message="done")
        )
        conn.execute(
            insert(N8nLink).values(
                n8n_url=N8N,
                n8n_workflow_id="wf-1",
                kind="template",
                template_id=ids[1],
                content_hash="ab" * 32,
            )
        )
        conn.execute(
            insert(N8nLink).values(
                n8n_url=N8N, n8n_workflow_id="wf-instance", kind="instance", instance_id=instance_id
            )
        )
    return ids


def snapshot(cli: CliRun, ids: list[str], env: dict[str, str] | None = None) -> list[Any]:
    """What ``templates list`` and ``show`` (of the changed templates and a few more) say."""
    run = cli if env is None else (lambda *a: cli(*a, env=env))
    return [list_json(run)] + [show_json(run, ref) for ref in ids[:5]]


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="PUMPFLIX_CORPUS is not set")
@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_an_older_layout_with_data_upgrades_with_nothing_lost(
    cli: CliRun, backend: Backend, tmp_path: Path, revision: str
) -> None:
    ids = fill(cli, tmp_path)
    before = snapshot(cli, ids)
    head_url = os.environ.get("DATABASE_URL") or Settings().effective_database_url
    expected = platform_rows(head_url)
    legacy = legacy_database(backend, tmp_path, revision)
    copy_rows(head_url, legacy, revision)
    env = {"DATABASE_URL": legacy}
    kept = rows(legacy, OLD if revision == "0001" else NEW)
    assert [len(table) for table in kept[2:]] == [1, 3, 2]
    status = cli("db", "status", "--json", env=env)
    assert status.exit_code == 1
    assert json.loads(status.stdout)["current"] == revision  # the older table is read
    assert cli("templates", "list", env=env).exit_code != 0  # refused: upgrade first

    result = cli("db", "upgrade", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["previous"] == revision

    assert platform_rows(legacy) == expected
    assert snapshot(cli, ids, env) == before
    status = cli("db", "status", "--json", env=env)
    assert status.exit_code == 0
    assert json.loads(status.stdout)["current"] == head_revision()
    with engine_of(legacy) as engine:
        inspector = inspect(engine)
        assert sorted(inspector.get_table_names()) == sorted(
            [*NEW, PLATFORM, "pumpflix_alembic_version"]
        )
        referred = {
            fk["referred_table"] for table in NEW for fk in inspector.get_foreign_keys(table)
        }
        assert referred == {"pumpflix_templates", "pumpflix_instances"}
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT version_num FROM pumpflix_alembic_version")).scalar()
                == head_revision()
            )


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="PUMPFLIX_CORPUS is not set")
def test_the_moved_tables_keep_working_and_downgrade_is_refused_clearly(
    cli: CliRun, backend: Backend, tmp_path: Path
) -> None:
    ids = fill(cli, tmp_path)
    legacy = legacy_database(backend, tmp_path)
    copy_rows(os.environ.get("DATABASE_URL") or Settings().effective_database_url, legacy)
    env = {"DATABASE_URL": legacy}
    assert cli("db", "upgrade", env=env).exit_code == 0
    # New rows get fresh ids (PostgreSQL's renamed sequences); a delete takes pumpflix's
    # rows about the template with it, but for its n8n link (a tombstone for n8n sync).
    deleted = cli("templates", "delete", ids[1], "--yes", env=env)
    assert deleted.exit_code == 0, deleted.stderr
    with engine_of(legacy) as engine, engine.begin() as conn:
        instance_id = conn.execute(select(Instance.id)).scalar_one()
        conn.execute(
            insert(InstanceEvent).values(instance_id=instance_id, source="n8n", message="again")
        )
    links, events, versions = rows(
        legacy, ("pumpflix_n8n_links", "pumpflix_instance_events", "pumpflix_template_versions")
    )
    assert sorted((link[3], link[4]) for link in links) == [
        ("instance", None),
        ("template", ids[1]),  # the deleted template's link stays, its tombstone
    ]
    assert len(events) == 4
    assert ids[1] not in {version[0] for version in versions}

    database = Database(Settings(DATABASE_URL=legacy))
    try:
        with pytest.raises(NotImplementedError, match="cannot be downgraded"):
            downgrade(database, "0002")
    finally:
        database.dispose()
    assert cli("db", "status", env=env).exit_code == 0  # rolled back: still at head


@pytest.mark.parametrize("revision", ["a1b2c3d4e5f6", "0001"])
def test_another_tools_alembic_version_is_left_alone(
    cli: CliRun, backend: Backend, tmp_path: Path, revision: str
) -> None:
    """Its revision is not ours, or is "0001" without our tables beside it: not ours."""
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    else:
        name = f"pumpflix_shared_{uuid.uuid4().hex[:10]}"
        url = create_database(name)
        backend.cleanups.append(name)
    with engine_of(url) as engine, engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
        conn.execute(text("CREATE TABLE accounts (id INTEGER PRIMARY KEY)"))
    env = {"DATABASE_URL": url}
    assert json.loads(cli("db", "status", "--json", env=env).stdout)["current"] is None
    result = cli("db", "upgrade", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["previous"] is None
    assert cli("db", "status", env=env).exit_code == 0
    with engine_of(url) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(revision,)]
        tables = set(inspect(conn).get_table_names())
    assert tables == {*NEW, PLATFORM, "pumpflix_alembic_version", "alembic_version", "accounts"}


def test_the_embedded_database_of_todays_layout_migrates_itself_on_first_use(
    cli: CliRun, tmp_path: Path
) -> None:
    """No ``db upgrade`` for the SQLite default: the first command renames its tables."""
    path = Settings().sqlite_path
    legacy_database(Backend("sqlite", {}), path.parent)
    (path.parent / "legacy.sqlite3").rename(path)
    assert rows(f"sqlite:///{path}", ("alembic_version",)) == [[("0001",)]]
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    with engine_of(f"sqlite:///{path}") as engine:
        tables = set(inspect(engine).get_table_names())
    assert tables == {*NEW, PLATFORM, "pumpflix_alembic_version"}
