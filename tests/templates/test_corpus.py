"""The real corpus (``$PUMPFLIX_CORPUS``, skipped when unset) through ``templates import``
and ``export`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.workflow import WorkflowError, parse_json, prepare, split_documents
from tests.conftest import Backend, CliRun
from tests.helpers import list_json

CORPUS = os.environ.get("PUMPFLIX_CORPUS")
pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS, reason="PUMPFLIX_CORPUS is not set"),
]
BATCH_CLASH = "in this import ("  # "another file in this import (…)", or "other files …"


def corpus(folder: str) -> Path:
    assert CORPUS
    return Path(CORPUS) / folder


def _import(
    cli: CliRun, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    result = cli("templates", "import", *args, "--json", "-q", env=env)
    assert "Traceback" not in result.stderr
    return result.exit_code, json.loads(result.stdout)


def _valid_alone(path: Path, repair: bool = False) -> bool:
    try:
        for document in split_documents(parse_json(path.read_bytes())):
            prepare(document, fallback_name=path.stem, repair=repair)
    except WorkflowError:
        return False
    return True


def test_the_clean_corpus_imports_and_a_second_import_changes_nothing(
    cli: CliRun, backend: Backend, tmp_path: Path
) -> None:
    folder = corpus("clean")
    code, report = _import(cli, str(folder))
    assert code == ExitCode.PARTIAL  # a few files are not workflows, a few names clash
    files = sorted(folder.rglob("*.json"))
    failed = {e["path"]: e["error"] for e in report["errors"]}
    for path in files:
        if str(path) in failed and BATCH_CLASH not in failed[str(path)]:
            assert not _valid_alone(path), path  # refused only when invalid on its own
    clashes = [p for p, e in failed.items() if BATCH_CLASH in e]
    assert all(_valid_alone(Path(p)) for p in clashes)
    assert report["created"] + report["unchanged"] + len(failed) == len(files)
    assert report["created"] > 1400

    code, again = _import(cli, str(folder))
    assert (again["created"], again["updated"]) == (0, 0)
    assert again["failed"] == report["failed"]

    out = tmp_path / "export"
    assert cli("templates", "export", "--out", str(out), "-q").exit_code == 0
    before = {t["name"]: t["contentHash"] for t in list_json(cli)}
    fresh = _fresh_database(backend, tmp_path, cli)
    code, reimported = _import(cli, str(out), env=fresh)
    assert (code, reimported["failed"]) == (ExitCode.OK, 0)
    after = {
        t["name"]: t["contentHash"]
        for t in json.loads(cli("templates", "list", "--json", env=fresh).stdout)
    }
    assert after == before


def _fresh_database(backend: Backend, tmp_path: Path, cli: CliRun) -> dict[str, str]:
    if backend.name == "sqlite":
        return {"PUMPFLIX_DATA_DIR": str(tmp_path / "fresh")}
    from tests.conftest import create_database

    name = backend.env["DATABASE_URL"].rpartition("/")[2] + "_fresh"
    env = {"DATABASE_URL": create_database(name)}
    assert cli("db", "upgrade", "-q", env=env).exit_code == 0
    backend.cleanups.append(name)
    return env


def test_keyed_by_id_files_import_with_repair_when_every_key_maps(
    cli: CliRun, backend: Backend
) -> None:
    folder = corpus("messy/keyed-by-id")
    files = sorted(folder.glob("*.json"))
    code, without = _import(cli, str(folder))
    assert (code, without["created"]) == (ExitCode.DATA_ERR, 0)
    # Many of these files share a name, which one batch refuses; so import them in
    # batches of distinct names, as an operator would: every repairable file must land.
    names = {path: _name_if_repairable(path) for path in files}
    batches: list[dict[str, Path]] = []
    for path, name in names.items():
        if name is None:
            continue
        batch = next((b for b in batches if name not in b), None)
        if batch is None:
            batches.append(batch := {})
        batch[name] = path
    landed = 0
    for batch in batches:
        code, report = _import(cli, *map(str, batch.values()), "--repair")
        assert (code, report["failed"]) == (ExitCode.OK, 0), report["errors"]
        landed += report["created"] + report["updated"] + report["unchanged"]
    assert landed == sum(len(b) for b in batches) >= 120
    code, report = _import(cli, *(str(p) for p, n in names.items() if n is None), "--repair")
    assert (code, report["created"]) == (ExitCode.DATA_ERR, 0)
    for error in report["errors"]:
        assert "unknown node" in error["error"] or "duplicate" in error["error"], error


def _name_if_repairable(path: Path) -> str | None:
    try:
        return prepare(parse_json(path.read_bytes()), fallback_name=path.stem, repair=True).name
    except WorkflowError:
        return None


def test_dangling_files_are_refused_with_path_and_reason(cli: CliRun, backend: Backend) -> None:
    folder = corpus("messy/dangling")
    code, report = _import(cli, str(folder), "--repair")
    assert code == ExitCode.DATA_ERR
    assert report["failed"] == len(list(folder.glob("*.json")))
    for error in report["errors"]:
        assert error["path"].startswith(str(folder))
        assert "unknown node" in error["error"]
    assert list_json(cli) == []
