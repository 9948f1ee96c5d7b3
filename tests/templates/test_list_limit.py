"""``templates list --limit N`` goes to the database as ``LIMIT N`` (and a warm cache's
index is decoded only as far as N): the answer is the unlimited list's first N, in one
order (Python's code-point order of name, type, id) on SQLite and PostgreSQL, with no,
a cold or a warm cache, with ``--type`` and ``--search``."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pumpflix_cli.records import TemplateRecord
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json

# Names whose order differs between code points and a locale's collation, whose case
# differs only outside ASCII, and which hold LIKE's wildcards.
NAMES = [
    "alpha", "Alpha", "ALPHA 2", "beta", "Beta_1", "b%ta", "Éclair", "éclair", "eclair",
    "Zebra", "zebra", "Ärger", "arger", "straße", "STRASSE", "Ωmega", "ωmega", "_under",
    "10 items", "9 items", "x-ray", "X ray", "日本", "naïve", "NAÏVE",
]  # fmt: skip
SEARCHES = ["a", "A", "é", "É", "ß", "_", "%", "ÄR", "ωM", "items", "zz", "e"]


@pytest.fixture
def seeded(cli: CliRun, tmp_path: Path, backend: Any) -> list[str]:
    for index, name in enumerate(NAMES):
        source_type = "prebuilt" if index % 3 == 0 else "user"
        folder = tmp_path / source_type
        write(folder, f"{index}.json", workflow(name, text=f"{name} does {index}"))
    for source_type in ("prebuilt", "user"):
        code, report = import_json(cli, str(tmp_path / source_type), "--type", source_type)
        assert code == 0, report
    return NAMES


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends, observed as it is sent."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def names(cli: CliRun, *args: str) -> list[str]:
    result = cli("templates", "list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return [t["name"] for t in json.loads(result.stdout)]


def expected(source_type: str | None, search: str | None) -> list[str]:
    """The rule, written out: Python's lower() and code-point order."""
    chosen = [(name, "prebuilt" if i % 3 == 0 else "user") for i, name in enumerate(NAMES)]
    if source_type:
        chosen = [(n, t) for n, t in chosen if t == source_type]
    if search:
        needle = search.lower()
        chosen = [(n, t) for n, t in chosen if needle in n.lower()]
    return [n for n, _ in sorted(chosen)]


def test_the_list_is_in_code_point_order_on_every_backend(cli: CliRun, seeded: list[str]) -> None:
    assert names(cli, "--no-cache") == expected(None, None)


@pytest.fixture
def icu_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL database whose default collation is a language's (ICU en-US), as
    production databases often are: it sorts "alpha" before "Alpha" before "beta"."""
    import psycopg

    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.migrate import upgrade
    from tests.conftest import PG_ADMIN_URL, RUN_ID, drop_database, pg_url
    from tests.platform.harness import WORKFLOW_TEMPLATE_DDL

    name = f"pumpflix_test_{RUN_ID}_icu_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    url = pg_url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(WORKFLOW_TEMPLATE_DDL)
    database = Database(Settings(DATABASE_URL=url))
    upgrade(database)
    database.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    drop_database(name)


def test_the_order_holds_where_the_database_s_locale_sorts_otherwise(
    cli: CliRun, tmp_path: Path, icu_database: str
) -> None:
    import psycopg

    for index, name in enumerate(NAMES):
        write(tmp_path / "all", f"{index}.json", workflow(name, text=name))
    assert import_json(cli, str(tmp_path / "all"), "--type", "user")[0] == 0
    with psycopg.connect(icu_database) as conn:
        locale_order = [
            r[0] for r in conn.execute('SELECT name FROM "WorkflowTemplate" ORDER BY name')
        ]
    assert locale_order != sorted(NAMES)  # the database alone would sort otherwise
    assert names(cli, "--no-cache") == sorted(NAMES)
    for limit in (1, 2, 5):
        assert names(cli, "--no-cache", "--limit", str(limit)) == sorted(NAMES)[:limit]


def test_a_limit_is_sent_to_the_database(
    cli: CliRun, seeded: list[str], statements: list[str]
) -> None:
    statements.clear()
    assert names(cli, "--limit", "2", "--no-cache") == expected(None, None)[:2]
    listing = [s for s in statements if "WorkflowTemplate" in s and "ORDER BY" in s]
    assert listing and all("LIMIT" in s for s in listing), listing


@pytest.mark.usefixtures("redis_env")
def test_a_limit_on_a_cold_cache_is_sent_to_the_database(
    cli: CliRun, seeded: list[str], statements: list[str]
) -> None:
    assert cli("cache", "flush", "--yes").exit_code == 0
    statements.clear()
    assert names(cli, "--limit", "3") == expected(None, None)[:3]
    listing = [s for s in statements if "WorkflowTemplate" in s and "ORDER BY" in s]
    assert listing and all("LIMIT" in s for s in listing), listing


@pytest.mark.usefixtures("redis_env")
def test_a_limit_on_a_warm_cache_decodes_only_as_many_summaries(
    cli: CliRun, seeded: list[str], statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("cache", "warm", "-q").exit_code == 0
    built: list[str] = []
    original = TemplateRecord.from_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[TemplateRecord], data: dict[str, Any]) -> TemplateRecord:
        built.append(data["name"])
        return original(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(TemplateRecord, "from_json", classmethod(counting))
    statements.clear()
    assert names(cli, "--limit", "2") == expected(None, None)[:2]
    assert statements == []  # from Redis alone
    assert len(built) <= 2 * 2  # at most two from each type's index, of 25


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source_type=st.sampled_from([None, "prebuilt", "user"]),
    search=st.sampled_from([None, *SEARCHES]),
    limit=st.integers(1, len(NAMES) + 2),
    cache=st.sampled_from(["none", "cold", "warm"]),
)
def test_a_limited_list_is_the_unlimited_list_s_first_n(
    seeded: list[str],
    redis_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    source_type: str | None,
    search: str | None,
    limit: int,
    cache: str,
) -> None:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheService

    types = [source_type] if source_type else ["prebuilt", "user"]
    with monkeypatch.context() as patch:
        if cache == "none":
            patch.delenv("REDIS_URL")
        app = AppContext(Output(quiet=True, stderr=io.StringIO()))
        try:
            service = None if cache == "none" else CacheService(app.database, app.template_cache())  # type: ignore[arg-type]
            if service is not None:
                service.flush(["prebuilt", "user"])
                if cache == "warm":
                    service.warm(["prebuilt", "user"])
            library = app.library()
            everything = library.list_templates(types, search=search)
            first = library.list_templates(types, search=search, limit=limit)
        finally:
            app.close()
    assert [r.name for r in everything] == expected(source_type, search)
    assert [r.to_json() for r in first] == [r.to_json() for r in everything[:limit]]
