"""Schema and migrations on PostgreSQL and the embedded SQLite default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from sqlalchemy import inspect

from pumpflix_cli.config import Settings
from pumpflix_cli.context import AppContext
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.migrate import head_revision, migration_context, upgrade
from pumpflix_cli.db.models import Base
from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.output import Output
from tests.conftest import CliRun

TABLES = {
    "WorkflowTemplate",
    "pumpflix_templates",
    "pumpflix_template_versions",
    "pumpflix_instances",
    "pumpflix_instance_events",
    "pumpflix_n8n_links",
    "pumpflix_alembic_version",
}


def _tables(url: str) -> set[str]:
    database = Database(Settings(DATABASE_URL=url))
    try:
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_db_upgrade_creates_the_embedded_database_with_no_environment(
    cli: CliRun, tmp_path: Path
) -> None:
    result = cli("db", "upgrade", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == "sqlite"
    assert report["current"] == head_revision()
    sqlite_file = tmp_path / "data" / "pumpflix.sqlite3"
    assert sqlite_file.exists()
    assert _tables(f"sqlite:///{sqlite_file}") >= TABLES


def test_db_upgrade_on_postgres_creates_tables_and_pumpflix_alembic_version(
    cli: CliRun, empty_postgres_url: str
) -> None:
    env = {"DATABASE_URL": empty_postgres_url}
    before = json.loads(cli("db", "status", "--json", env=env).stdout)
    assert before["current"] is None
    result = cli("db", "upgrade", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["previous"] is None
    assert _tables(empty_postgres_url) >= TABLES


def test_db_upgrade_twice_is_a_no_op(cli: CliRun, empty_postgres_url: str) -> None:
    env = {"DATABASE_URL": empty_postgres_url}
    cli("db", "upgrade", env=env)
    result = cli("db", "upgrade", env=env)
    assert result.exit_code == 0
    assert "already up to date" in result.stderr


def test_db_status_exits_1_while_an_upgrade_is_pending(
    cli: CliRun, empty_postgres_url: str
) -> None:
    env = {"DATABASE_URL": empty_postgres_url}
    assert cli("db", "status", env=env).exit_code == 1
    cli("db", "upgrade", env=env)
    result = cli("db", "status", "--json", env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout) | {"url": None} == {
        "backend": "postgresql",
        "url": None,
        "current": head_revision(),
        "head": head_revision(),
        "upToDate": True,
    }


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    from pumpflix_cli.db.schema_version import HEAD

    assert head_revision() == HEAD


def test_the_migrations_match_the_models(backend: object) -> None:
    database = AppContext(Output()).database()
    try:
        with database.engine.connect() as conn:
            diff = compare_metadata(migration_context(conn), Base.metadata)
    finally:
        database.dispose()
    assert diff == []


def test_postgres_json_columns_are_jsonb_and_the_platform_table_is_its_own(
    postgres_url: str,
) -> None:
    database = Database(Settings(DATABASE_URL=postgres_url))
    try:
        inspector = inspect(database.engine)
        versions = {
            c["name"]: c["type"] for c in inspector.get_columns("pumpflix_template_versions")
        }
        platform = {c["name"]: c for c in inspector.get_columns("WorkflowTemplate")}
        referred = {
            fk["referred_table"]
            for table in inspector.get_table_names()
            for fk in inspector.get_foreign_keys(table)
        }
        uniques = inspector.get_unique_constraints("WorkflowTemplate")
    finally:
        database.dispose()
    assert type(versions["workflow"]).__name__ == "JSONB"
    assert type(platform["n8nJson"]["type"]).__name__ == "TEXT"
    assert type(platform["requiredCredentials"]["type"]).__name__ == "ARRAY"
    assert getattr(platform["updatedAt"]["type"], "precision", None) == 3
    assert platform["description"]["nullable"] is False
    # No pumpflix table references the platform's (that would put triggers on it), and
    # names are not unique there (the platform allows duplicates).
    assert "WorkflowTemplate" not in referred and uniques == []


def test_the_embedded_database_migrates_itself_on_first_use() -> None:
    app = AppContext(Output())
    database = app.database()
    assert _tables(database.url) >= TABLES
    database.dispose()


def test_an_unmigrated_postgres_database_is_refused_with_a_hint(
    empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_postgres_url)
    with pytest.raises(PumpflixError) as raised:
        AppContext(Output()).database()
    assert raised.value.hint == "run: pumpflix db upgrade"


def test_a_missing_postgres_database_exits_69_with_a_masked_message(cli: CliRun) -> None:
    url = "postgresql://root:pw-never-shown@127.0.0.1:5432/pumpflix_no_such_database"
    result = cli("db", "upgrade", env={"DATABASE_URL": url})
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "pumpflix_no_such_database" in result.stderr
    assert "pw-never-shown" not in result.stderr
    assert "Traceback" not in result.stderr


def test_upgrade_is_idempotent_on_a_library_call(empty_postgres_url: str) -> None:
    database = Database(Settings(DATABASE_URL=empty_postgres_url))
    try:
        assert upgrade(database).up_to_date
        assert upgrade(database).up_to_date
    finally:
        database.dispose()


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "status"], ["templates", "list"]], ids=" ".join
)
def test_a_missing_postgres_role_exits_77_with_a_masked_message(
    cli: CliRun, command: list[str]
) -> None:
    """The server refusing who we are is refused credentials (77), not an unavailable
    server (69); the password in the URL is never printed (the fixture checks it too)."""
    url = "postgresql://pumpflix_no_such_role:pw-never-shown@127.0.0.1:5432/postgres"
    result = cli(*command, env={"DATABASE_URL": url})
    assert result.exit_code == ExitCode.NO_PERM, result.stderr
    assert 'role "pumpflix_no_such_role" does not exist' in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "is the server running" not in result.stderr
    assert "pw-never-shown" not in result.stderr
    assert "Traceback" not in result.stderr
