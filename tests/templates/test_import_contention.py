"""An import while another session holds or changes what it writes (a second, real
database connection): it waits up to PUMPFLIX_LOCK_TIMEOUT, tries again, and reports a
template still held as locked (a conflict) while the rest lands; a row deleted, changed
or inserted by the other session meanwhile is written over correctly. Never exit 1,
never the batch lost."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pumpflix_cli.config import Settings
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.workflow import prepare
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, import_json, list_json, show_json, subprocess_env
from tests.processes import wait_until

postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
SHORT = {"PUMPFLIX_LOCK_TIMEOUT": "0.2"}


@pytest.fixture
def other(backend: Backend) -> Iterator[psycopg.Connection[Any]]:
    """Another session on the same database, in a transaction the test ends."""
    with psycopg.connect(backend.env["DATABASE_URL"]) as conn:
        yield conn
        conn.rollback()


def _seed_alpha(cli: CliRun, tmp_path: Path) -> dict[str, Any]:
    code, _ = import_json(cli, str(write(tmp_path / "seed", "alpha.json", workflow("Alpha"))))
    assert code == ExitCode.OK
    (alpha,) = list_json(cli)
    return alpha


def _batch(tmp_path: Path, *documents: Any) -> Path:
    folder = tmp_path / "batch"
    for index, document in enumerate(documents):
        write(folder, f"{index}.json", document)
    return folder


def _import(cli: CliRun, folder: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = cli("templates", "import", str(folder), "--json", env=env)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


LOCKS = {
    "the row": "SELECT 1 FROM \"WorkflowTemplate\" WHERE name = 'Alpha' FOR UPDATE",
    # What a concurrent pumpflix import of "Alpha" holds for its whole transaction.
    "the name's advisory lock": "SELECT pg_advisory_xact_lock("
    "hashtextextended('pumpflix:' || 'user' || chr(31) || 'Alpha', 0))",
}


@postgres_only
@pytest.mark.parametrize("lock", list(LOCKS))
def test_a_template_held_past_the_lock_timeout_is_reported_locked_and_the_rest_lands(
    cli: CliRun, tmp_path: Path, backend: Backend, other: psycopg.Connection[Any], lock: str
) -> None:
    _seed_alpha(cli, tmp_path)
    other.execute(LOCKS[lock])
    folder = _batch(tmp_path, workflow("Alpha", text="v2"), workflow("Beta"))
    code, report = _import(cli, folder, SHORT)
    assert (code, report["created"], report["failed"]) == (ExitCode.PARTIAL, 1, 1)
    (error,) = report["errors"]
    assert error["path"].endswith("0.json")
    assert "being written by another session" in error["error"]
    assert show_json(cli, "Alpha")["version"] == 1
    only_alpha = write(tmp_path / "alone", "alpha.json", workflow("Alpha", text="v2"))
    code, report = _import(cli, only_alpha, SHORT)  # nothing landed, only held: a conflict
    assert (code, report["failed"]) == (ExitCode.CONFLICT, 1)
    other.rollback()
    code, report = _import(cli, folder, SHORT)
    assert (code, report["updated"]) == (ExitCode.OK, 1)
    assert show_json(cli, "Alpha")["version"] == 2


@postgres_only
def test_atomic_reports_every_file_locked_and_writes_nothing(
    cli: CliRun, tmp_path: Path, backend: Backend, other: psycopg.Connection[Any]
) -> None:
    _seed_alpha(cli, tmp_path)
    other.execute(LOCKS["the row"])
    folder = _batch(tmp_path, workflow("Alpha", text="v2"), workflow("Beta"))
    result = cli("templates", "import", str(folder), "--json", "--atomic", env=SHORT)
    assert result.exit_code == ExitCode.CONFLICT, result.stderr
    report = json.loads(result.stdout)
    assert (report["created"], report["failed"]) == (0, 2)
    assert [t["name"] for t in list_json(cli)] == ["Alpha"]


# --- a row changed by the other session while the import waits for it --------------------


def waiting_for_a_lock(
    watcher: psycopg.Connection[Any], process: subprocess.Popen[Any]
) -> Callable[[], bool]:
    """Whether pumpflix waits for a lock in this database (or ``process`` ended)."""

    def waiting() -> bool:
        (count,) = watcher.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE NOT l.granted AND a.application_name = 'pumpflix' "
            "AND a.datname = current_database()"
        ).fetchone() or (0,)
        return bool(count) or process.poll() is not None

    return waiting


def _waiting_import(
    folder: Path, backend: Backend, watcher: psycopg.Connection[Any]
) -> subprocess.Popen[str]:
    """A real import process, once it waits for a lock the test's session holds."""
    process = subprocess.Popen(
        [PUMPFLIX, "templates", "import", str(folder), "--json"],
        env=subprocess_env({**backend.env, "PUMPFLIX_LOCK_TIMEOUT": "120"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    assert wait_until(waiting_for_a_lock(watcher, process))
    assert process.poll() is None, process.communicate()
    return process


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.OK, stderr
    return dict(json.loads(stdout))


@pytest.fixture
def watcher(backend: Backend) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(backend.env["DATABASE_URL"], autocommit=True) as conn:
        yield conn


def _hold(other: psycopg.Connection[Any], template_id: str) -> None:
    other.execute('SELECT 1 FROM "WorkflowTemplate" WHERE id = %s FOR UPDATE', (template_id,))


@postgres_only
def test_a_row_deleted_while_the_import_waits_is_created_again(
    cli: CliRun,
    tmp_path: Path,
    backend: Backend,
    other: psycopg.Connection[Any],
    watcher: psycopg.Connection[Any],
) -> None:
    alpha = _seed_alpha(cli, tmp_path)
    _hold(other, alpha["id"])
    folder = _batch(tmp_path, workflow("Alpha", text="v2"), workflow("Beta"))
    process = _waiting_import(folder, backend, watcher)
    other.execute('DELETE FROM "WorkflowTemplate" WHERE id = %s', (alpha["id"],))  # the platform
    other.commit()
    report = _finish(process)
    assert (report["created"], report["failed"]) == (2, 0)
    assert [(t["name"], t["version"]) for t in list_json(cli)] == [("Alpha", 1), ("Beta", 1)]


@postgres_only
def test_a_row_renamed_while_the_import_waits_leaves_the_name_to_a_new_template(
    cli: CliRun,
    tmp_path: Path,
    backend: Backend,
    other: psycopg.Connection[Any],
    watcher: psycopg.Connection[Any],
) -> None:
    alpha = _seed_alpha(cli, tmp_path)
    _hold(other, alpha["id"])
    process = _waiting_import(_batch(tmp_path, workflow("Alpha", text="v2")), backend, watcher)
    other.execute('UPDATE "WorkflowTemplate" SET name = %s WHERE id = %s', ("Gamma", alpha["id"]))
    other.commit()
    assert _finish(process)["created"] == 1
    assert sorted(t["name"] for t in list_json(cli)) == ["Alpha", "Gamma"]


@postgres_only
def test_a_version_written_while_the_import_waits_is_built_upon(
    cli: CliRun,
    tmp_path: Path,
    backend: Backend,
    other: psycopg.Connection[Any],
    watcher: psycopg.Connection[Any],
) -> None:
    """The other session writes version 2 as pumpflix does; the import makes version 3
    (reading version 1 from before its wait, it would write a second version 2)."""
    alpha = _seed_alpha(cli, tmp_path)
    _hold(other, alpha["id"])
    process = _waiting_import(_batch(tmp_path, workflow("Alpha", text="v3")), backend, watcher)
    v2 = prepare(workflow("Alpha", text="v2"), fallback_name="x")
    other.execute(
        'UPDATE "WorkflowTemplate" SET "n8nJson" = %s WHERE id = %s', (v2.json_text, alpha["id"])
    )
    other.execute(
        "UPDATE pumpflix_templates SET version = 2, content_hash = %s WHERE id = %s",
        (v2.content_hash, alpha["id"]),
    )
    other.execute(
        "INSERT INTO pumpflix_template_versions "
        "(template_id, version, name, workflow, content_hash, created_at) "
        "VALUES (%s, 2, 'Alpha', %s, %s, now())",
        (alpha["id"], v2.json_text, v2.content_hash),
    )
    other.commit()
    assert _finish(process)["updated"] == 1
    shown = show_json(cli, "Alpha")
    assert (shown["version"], [h["version"] for h in shown["history"]]) == (3, [1, 2, 3])


@postgres_only
def test_a_bundle_row_inserted_meanwhile_by_another_session_is_updated_not_lost(
    cli: CliRun,
    tmp_path: Path,
    backend: Backend,
    other: psycopg.Connection[Any],
    watcher: psycopg.Connection[Any],
) -> None:
    """The bundle's id is free when the import looks, taken when it inserts: tried again."""
    template_id = "00000000-0000-4000-8000-0000000000aa"
    other.execute(
        'INSERT INTO "WorkflowTemplate" (id, name, description, "sourceType", "n8nJson", '
        '"updatedAt") VALUES (%s, %s, %s, %s, %s, now())',
        (template_id, "Alpha", "", "user", json.dumps(workflow("Alpha", text="theirs"))),
    )
    bundle = {**workflow("Alpha", text="ours"), "pumpflix": {"id": template_id}}
    process = _waiting_import(_batch(tmp_path, bundle, workflow("Beta")), backend, watcher)
    other.commit()
    report = _finish(process)
    assert (report["created"], report["updated"], report["failed"]) == (1, 1, 0)
    shown = show_json(cli, template_id)
    assert (shown["version"], "ours" in json.dumps(shown["n8nJson"])) == (2, True)


@postgres_only
def test_a_deadlock_with_another_session_is_tried_again(
    cli: CliRun,
    tmp_path: Path,
    backend: Backend,
    other: psycopg.Connection[Any],
    watcher: psycopg.Connection[Any],
) -> None:
    """The import holds the name's lock and waits for the row; the other session, holding
    the row, then asks for the name's lock: a deadlock, whichever side the server ends."""
    alpha = _seed_alpha(cli, tmp_path)
    _hold(other, alpha["id"])
    folder = _batch(tmp_path, workflow("Alpha", text="v2"), workflow("Beta"))
    process = _waiting_import(folder, backend, watcher)
    # If the server ends the other session instead, the import simply goes on.
    with contextlib.suppress(psycopg.errors.DeadlockDetected):
        other.execute(LOCKS["the name's advisory lock"])
    other.rollback()
    report = _finish(process)
    assert (report["created"], report["updated"], report["failed"]) == (1, 1, 0)
    assert show_json(cli, "Alpha")["version"] == 2


# --- SQLite: one write lock for the whole database -----------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_held_past_the_lock_timeout_is_one_line_and_nothing_is_lost(
    cli: CliRun, tmp_path: Path, backend: Backend
) -> None:
    _seed_alpha(cli, tmp_path)
    folder = _batch(tmp_path, workflow("Alpha", text="v2"), workflow("Beta"))
    holder = sqlite3.connect(Settings().sqlite_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = cli("templates", "import", str(folder), "--json", env=SHORT)
        assert result.exit_code in (ExitCode.TEMP_FAIL, ExitCode.CONFLICT), result.stderr
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    finally:
        holder.rollback()
        holder.close()
    code, report = import_json(cli, str(folder))
    assert (code, report["created"], report["updated"]) == (ExitCode.OK, 1, 1)
