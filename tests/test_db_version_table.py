"""``carry_over_legacy_version``: pumpflix's revision leaves a bare ``alembic_version``
only when it is pumpflix's, and the table goes only when nothing else is in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, create_engine, text

from pumpflix_cli.db.schema_version import (
    LEGACY_REVISIONS,
    carry_over_legacy_version,
    read_revision,
)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def legacy(conn: Connection, *revisions: str, our_tables: bool = True) -> None:
    conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    for revision in revisions:
        conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    if our_tables:
        for table in LEGACY_REVISIONS["0001"]:
            conn.execute(text(f"CREATE TABLE {table} (id INTEGER)"))


def versions(conn: Connection, table: str) -> list[str] | None:
    if not conn.dialect.has_table(conn, table):
        return None
    return sorted(conn.execute(text(f"SELECT version_num FROM {table}")).scalars())


def test_ours_alone_is_carried_over_and_the_old_table_dropped(conn: Connection) -> None:
    legacy(conn, "0001")
    assert read_revision(conn) == "0001"  # read before any write
    assert carry_over_legacy_version(conn) == "0001"
    assert versions(conn, "pumpflix_alembic_version") == ["0001"]
    assert versions(conn, "alembic_version") is None
    assert carry_over_legacy_version(conn) is None  # once only
    assert read_revision(conn) == "0001"


def test_ours_beside_another_revision_is_copied_and_the_table_kept(conn: Connection) -> None:
    legacy(conn, "0001", "feedbeef1234")
    assert carry_over_legacy_version(conn) == "0001"
    assert versions(conn, "pumpflix_alembic_version") == ["0001"]
    assert versions(conn, "alembic_version") == ["0001", "feedbeef1234"]


@pytest.mark.parametrize(
    ("revisions", "our_tables"),
    [
        (("feedbeef1234",), True),  # another tool's revision
        (("0001",), False),  # another tool that numbers its revisions like us
        ((), True),  # empty
    ],
)
def test_another_tools_table_is_left_alone(
    conn: Connection, revisions: tuple[str, ...], our_tables: bool
) -> None:
    legacy(conn, *revisions, our_tables=our_tables)
    assert read_revision(conn) is None
    assert carry_over_legacy_version(conn) is None
    assert versions(conn, "pumpflix_alembic_version") is None
    assert versions(conn, "alembic_version") == sorted(revisions)


def test_nothing_happens_once_pumpflix_has_its_own_table(conn: Connection) -> None:
    legacy(conn, "0001")
    conn.execute(text("CREATE TABLE pumpflix_alembic_version (version_num VARCHAR(32))"))
    conn.execute(text("INSERT INTO pumpflix_alembic_version VALUES ('0002')"))
    assert carry_over_legacy_version(conn) is None
    assert read_revision(conn) == "0002"
    assert versions(conn, "alembic_version") == ["0001"]


def test_a_database_with_neither_table_has_no_revision(conn: Connection) -> None:
    assert read_revision(conn) is None
    assert carry_over_legacy_version(conn) is None
