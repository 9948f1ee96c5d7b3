"""PUMPFLIX_DATA_DIR is a path, never parsed as a URL: a folder name with "?", "#",
"%20", spaces or any unicode holds its own database file, inside exactly that folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json

FILE = "pumpflix.sqlite3"


def database_file(data_dir: Path) -> str:
    """The file SQLite itself reports having opened for this data dir."""
    saved = os.environ["PUMPFLIX_DATA_DIR"]
    os.environ["PUMPFLIX_DATA_DIR"] = str(data_dir)
    try:
        database = Database(Settings())
    finally:
        os.environ["PUMPFLIX_DATA_DIR"] = saved
    try:
        with database.engine.connect() as connection:
            rows = connection.exec_driver_sql("PRAGMA database_list").fetchall()
    finally:
        database.dispose()
    return str(rows[0][2])


def test_query_and_fragment_characters_do_not_merge_data_dirs(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`…/A?x` and `…/A?y` shared one database at `…/A`; `%20` was decoded to a space."""
    x, y, encoded = tmp_path / "A?x", tmp_path / "A?y", tmp_path / "B%20c"
    monkeypatch.setenv("PUMPFLIX_DATA_DIR", str(x))
    import_json(cli, str(write(tmp_path / "in", "a.json", workflow("A"))))
    assert [t["name"] for t in list_json(cli)] == ["A"]
    monkeypatch.setenv("PUMPFLIX_DATA_DIR", str(y))
    assert list_json(cli) == []
    assert (x / FILE).is_file() and (y / FILE).is_file()
    assert not (tmp_path / "A").exists()
    assert database_file(encoded) == str(encoded / FILE)
    assert not (tmp_path / "B c").exists()


folder_names = st.text(
    alphabet=st.one_of(
        st.sampled_from("?#%20 &=;:@+.~"),
        st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
    ),
    min_size=1,
    max_size=30,
).filter(lambda name: name not in {".", ".."})


@settings(max_examples=60, deadline=None)
@given(names=st.lists(folder_names, min_size=2, max_size=2, unique=True))
def test_every_folder_name_gets_its_own_file_inside_it(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as base:
        files = [database_file(Path(base) / name) for name in names]
        for name, file in zip(names, files, strict=True):
            assert file == str(Path(base) / name / FILE)
            assert Path(file).is_file()
        assert len(set(files)) == len(files)
        assert sorted(p.name for p in Path(base).iterdir()) == sorted(names)
