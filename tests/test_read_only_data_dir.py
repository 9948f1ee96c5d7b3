"""The embedded database where it cannot be written (a read-only folder, or a read-only
database file): every read works, opened read-only and never migrated; every write is one
line naming the folder, exit 74 (README, Exit codes), never "is the server running?"."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pumpflix_cli.db.schema_version import HEAD
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json
from tests.read_only import run_read_only

FILE = "pumpflix.sqlite3"
READS = [
    ["templates", "list", "--json"],
    ["templates", "list", "--json", "--limit", "1", "--search", "alp"],
    ["templates", "show", "Alpha", "--json"],
    ["templates", "export", "--out", "-"],
    ["db", "status", "--json"],
    ["instances", "list", "--json"],
]
WRITES = [
    ["templates", "import", "{incoming}", "--json"],
    ["templates", "delete", "Alpha", "--yes"],
    ["db", "upgrade"],
]


@pytest.fixture
def data(cli: CliRun, tmp_path: Path) -> Path:
    """A data dir holding a database with Alpha and Beta, closed cleanly."""
    folder = tmp_path / "data"
    write(tmp_path / "in", "a.json", workflow("Alpha", text="a"))
    write(tmp_path / "in", "b.json", workflow("Beta", text="b"))
    assert import_json(cli, str(tmp_path / "in"))[0] == 0
    assert (folder / FILE).exists()
    return folder


def settings(folder: Path) -> dict[str, str]:
    return {"PUMPFLIX_DATA_DIR": str(folder)}


@pytest.fixture(params=["folder", "file"])
def read_only(request: pytest.FixtureRequest, data: Path) -> Path:
    """What cannot be written: the whole folder, or the database file alone."""
    return data if request.param == "folder" else data / FILE


def one_error_naming(stderr: str, folder: Path) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(f"error: could not write {folder}:")
    assert "server" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_reads_work_where_nothing_can_be_written(
    data: Path, read_only: Path, command: list[str]
) -> None:
    result = run_read_only([read_only], command, settings(data))
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr and "warning:" not in result.stderr
    if command[:2] == ["templates", "list"]:
        assert [t["name"] for t in json.loads(result.stdout)][:1] == ["Alpha"]
    if command[:2] == ["db", "status"]:
        assert json.loads(result.stdout)["current"] == HEAD


@pytest.mark.parametrize("command", WRITES, ids=" ".join)
def test_a_write_where_nothing_can_be_written_is_one_line_naming_the_folder(
    data: Path, read_only: Path, command: list[str], tmp_path: Path
) -> None:
    write(tmp_path / "new", "c.json", workflow("Gamma", text="c"))
    args = [arg.format(incoming=tmp_path / "new") for arg in command]
    before = (data / FILE).read_bytes()
    result = run_read_only([read_only], args, settings(data))
    if command == ["db", "upgrade"]:  # at head already: nothing to write, nothing done
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == ExitCode.IO_ERR, result.stderr
    one_error_naming(result.stderr, data)
    assert (data / FILE).read_bytes() == before


def test_a_database_that_needs_an_upgrade_is_not_migrated_in_a_read_only_folder(
    tmp_path: Path,
) -> None:
    from tests.conftest import Backend
    from tests.legacy_layout import legacy_database

    legacy_database(Backend("sqlite", {}), tmp_path, "0002")
    folder = tmp_path / "old"
    folder.mkdir()
    (tmp_path / "legacy.sqlite3").rename(folder / FILE)
    before = (folder / FILE).read_bytes()
    result = run_read_only([folder], ["templates", "list"], settings(folder))
    assert result.returncode == ExitCode.IO_ERR
    one_error_naming(result.stderr, folder)
    assert "0002" in result.stderr and HEAD in result.stderr
    assert (folder / FILE).read_bytes() == before


def test_a_data_dir_with_no_database_in_a_read_only_folder_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = run_read_only([folder], ["templates", "list"], settings(folder))
    assert result.returncode == ExitCode.IO_ERR
    one_error_naming(result.stderr, folder)


@pytest.fixture
def unfinished(data: Path) -> Iterator[Path]:
    """The database with a write still in its WAL (``-wal`` and ``-shm`` beside it), as a
    process that was killed leaves it: a connection holds them open meanwhile."""
    conn = sqlite3.connect(data / FILE, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE \"WorkflowTemplate\" SET name = 'Alpha (in the WAL)' WHERE name = 'Alpha'")
    assert (data / f"{FILE}-wal").exists() and (data / f"{FILE}-shm").exists()
    yield data
    conn.close()


def test_a_read_only_folder_with_a_wal_still_beside_the_file_reads_it(unfinished: Path) -> None:
    result = run_read_only([unfinished], ["templates", "list", "--json"], settings(unfinished))
    assert result.returncode == 0, result.stderr
    assert [t["name"] for t in json.loads(result.stdout)] == ["Alpha (in the WAL)", "Beta"]
