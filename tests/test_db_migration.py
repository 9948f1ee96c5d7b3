"""0002: a database of today's layout (tables without a prefix, ``alembic_version``), full
of corpus templates, versions, an instance with events and n8n links, moves to the
``pumpflix_*`` layout with nothing lost, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, Table, insert, inspect, select, text

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.migrate import SCRIPT_LOCATION, downgrade, head_revision
from pumpflix_cli.db.models import Instance, InstanceEvent, N8nLink
from pumpflix_cli.records import utcnow
from tests.conftest import Backend, CliRun, create_database
from tests.helpers import import_json, list_json, show_json

CORPUS = os.environ.get("PUMPFLIX_CORPUS")
OLD = ("templates", "template_versions", "instances", "instance_events", "n8n_links")
NEW = tuple(f"pumpflix_{table}" for table in OLD)
N8N = "http://n8n.example:5678"


def legacy_database(backend: Backend, tmp_path: Path) -> str:
    """A new database at 0001 with its revision in ``alembic_version``, as pumpflix left
    every database before 0002."""
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    else:
        name = f"pumpflix_legacy_{uuid.uuid4().hex[:10]}"
        url = create_database(name)
        backend.cleanups.append(name)
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("version_table", "alembic_version")
    with engine_of(url) as engine, engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    return url


@contextmanager
def engine_of(url: str | None = None) -> Iterator[Engine]:
    """pumpflix's own engine for ``url`` (None: the configured database), disposed after."""
    database = Database(Settings(DATABASE_URL=url) if url else Settings())
    try:
        yield database.engine
    finally:
        database.dispose()


def rows(url: str, tables: tuple[str, ...]) -> list[list[tuple[Any, ...]]]:
    """Every row of ``tables``, in primary-key order."""
    with engine_of(url) as engine, engine.connect() as conn:
        meta = MetaData()
        found = []
        for name in tables:
            table = Table(name, meta, autoload_with=conn)
            query = select(table).order_by(*table.primary_key.columns)
            found.append([tuple(row) for row in conn.execute(query)])
        return found


def copy_rows(source: str, target: str) -> None:
    """What the source (this pumpflix, head) holds, into the legacy tables of ``target``."""
    with (
        engine_of(source) as from_,
        engine_of(target) as to,
        to.begin() as writer,
        from_.connect() as reader,
    ):
        meta = MetaData()
        for new, old in zip(NEW, OLD, strict=True):
            source_table = Table(new, meta, autoload_with=reader)
            found = [dict(row._mapping) for row in reader.execute(select(source_table))]
            if found:
                writer.execute(insert(Table(old, meta, autoload_with=writer)), found)
        if writer.dialect.name == "postgresql":  # the ids came along: as if made here
            for table in ("instance_events", "n8n_links"):
                writer.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                        f"FROM {table}"
                    )
                )


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
                template_id=uuid.UUID(ids[0]),
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
                template_id=uuid.UUID(ids[1]),
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
def test_todays_layout_with_data_upgrades_with_nothing_lost(
    cli: CliRun, backend: Backend, tmp_path: Path
) -> None:
    ids = fill(cli, tmp_path)
    before = snapshot(cli, ids)
    legacy = legacy_database(backend, tmp_path)
    copy_rows(os.environ.get("DATABASE_URL") or Settings().effective_database_url, legacy)
    env = {"DATABASE_URL": legacy}
    kept = rows(legacy, OLD)
    assert [len(table) for table in kept[2:]] == [1, 3, 2]
    status = cli("db", "status", "--json", env=env)
    assert status.exit_code == 1
    assert json.loads(status.stdout)["current"] == "0001"  # the legacy table is read
    assert cli("templates", "list", env=env).exit_code != 0  # refused: upgrade first

    result = cli("db", "upgrade", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["previous"] == "0001"

    assert rows(legacy, NEW) == kept
    assert snapshot(cli, ids, env) == before
    status = cli("db", "status", "--json", env=env)
    assert status.exit_code == 0
    assert json.loads(status.stdout)["current"] == head_revision()
    with engine_of(legacy) as engine:
        inspector = inspect(engine)
        assert sorted(inspector.get_table_names()) == sorted([*NEW, "pumpflix_alembic_version"])
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
def test_the_renamed_tables_keep_working_and_downgrade_brings_the_old_names_back(
    cli: CliRun, backend: Backend, tmp_path: Path
) -> None:
    ids = fill(cli, tmp_path)
    legacy = legacy_database(backend, tmp_path)
    copy_rows(os.environ.get("DATABASE_URL") or Settings().effective_database_url, legacy)
    env = {"DATABASE_URL": legacy}
    kept = rows(legacy, OLD)
    assert cli("db", "upgrade", env=env).exit_code == 0
    # New rows get fresh ids (PostgreSQL's renamed sequences), cascades still cascade.
    deleted = cli("templates", "delete", ids[1], "--yes", env=env)
    assert deleted.exit_code == 0, deleted.stderr
    with engine_of(legacy) as engine, engine.begin() as conn:
        instance_id = conn.execute(select(Instance.id)).scalar_one()
        conn.execute(
            insert(InstanceEvent).values(instance_id=instance_id, source="n8n", message="again")
        )
    links, events = rows(legacy, ("pumpflix_n8n_links", "pumpflix_instance_events"))
    assert [link[3] for link in links] == ["instance"]  # the deleted template's link went
    assert len(events) == 4

    database = Database(Settings(DATABASE_URL=legacy))
    try:
        assert downgrade(database, "0001").current == "0001"
    finally:
        database.dispose()
    back = rows(legacy, OLD)
    assert back[2] == kept[2] and back[4] == links
    assert cli("db", "upgrade", env=env).exit_code == 0


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
    assert tables == {*NEW, "pumpflix_alembic_version", "alembic_version", "accounts"}


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
        assert set(inspect(engine).get_table_names()) == {*NEW, "pumpflix_alembic_version"}
