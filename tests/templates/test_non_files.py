"""Entries of a folder that are not files (issue 12): a FIFO, a socket, a device, a broken
link named ``*.json`` is reported by name and counted as skipped, never opened (opening a
FIFO blocks until a writer comes), while the workflows beside it import.

The imports run as real processes with a timeout, so that one that opens a FIFO fails
the test instead of hanging the suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, list_json, subprocess_env

KINDS = {
    "pipe.json": "a FIFO (named pipe), not a regular file",
    "socket.json": "a socket, not a regular file",
    "null.json": "a character device, not a regular file",
    "broken.json": "a broken symbolic link",
}


def pumpflix(backend: Backend, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PUMPFLIX, *args],
        env=subprocess_env(backend.env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def import_json(backend: Backend, path: Path) -> tuple[int, dict[str, Any]]:
    done = pumpflix(backend, "templates", "import", str(path), "--json")
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """Two workflows, and beside them one of each kind of entry that is not a file."""
    here = tmp_path / "in"
    write(here, "a.json", workflow("Alpha"))
    write(here / "nested", "b.json", workflow("Beta"))
    os.mkfifo(here / "pipe.json")
    (here / "null.json").symlink_to("/dev/null")
    (here / "broken.json").symlink_to(here / "nowhere.json")
    (here / "folder.json").mkdir()  # a folder named like a file is searched, not reported
    listener = socket.socket(socket.AF_UNIX)
    # A socket's path is limited to ~100 bytes: bind from inside the folder.
    cwd = Path.cwd()
    os.chdir(here)
    try:
        listener.bind("socket.json")
    finally:
        os.chdir(cwd)
    yield here
    listener.close()


def test_each_entry_that_is_not_a_file_is_named_and_skipped(
    cli: CliRun, backend: Backend, folder: Path
) -> None:
    code, report = import_json(backend, folder)
    assert code == ExitCode.OK, report
    assert (report["created"], report["skipped"], report["failed"]) == (2, len(KINDS), 0)
    assert {Path(w["path"]).name: w["warning"] for w in report["warnings"]} == {
        name: f"{kind}: skipped" for name, kind in KINDS.items()
    }
    assert sorted(t["name"] for t in list_json(cli)) == ["Alpha", "Beta"]


def test_the_text_output_gives_each_its_own_line(backend: Backend, folder: Path) -> None:
    result = pumpflix(backend, "templates", "import", str(folder))
    assert result.returncode == ExitCode.OK, result.stderr
    for name, kind in KINDS.items():
        assert f"warning: {folder / name}: {kind}: skipped\n" in result.stderr
    assert f"skipped {len(KINDS)}" in result.stdout


def test_a_folder_of_nothing_but_non_files_fails_naming_them(
    backend: Backend, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "only.json")
    code, report = import_json(backend, tmp_path)
    assert code == ExitCode.DATA_ERR
    (error,) = report["errors"]
    assert error["error"] == (
        f"no .json files in this folder; {tmp_path / 'only.json'} is a FIFO (named pipe), "
        "not a regular file"
    )


def test_a_fifo_named_on_the_command_line_is_refused_unopened(
    backend: Backend, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    code, report = import_json(backend, tmp_path / "pipe.json")
    assert code == ExitCode.DATA_ERR
    assert report["errors"] == [{"path": str(tmp_path / "pipe.json"), "error": KINDS["pipe.json"]}]
