"""pumpflix and the platform on one database and one key space (PLATFORM.md): a reader
that follows the platform's own code, on its own client libraries (tests/platform's
node-redis + pg client), reads what pumpflix seeds, reads from the cache what pumpflix
warms (equal, field for field, to its own database read), and never reads a stale
template after a pumpflix write returns, while ``cache warm`` loops run in other
processes."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests import factories
from tests.conftest import CliRun
from tests.helpers import PUMPFLIX, import_json, list_json, subprocess_env

from .conftest import platform_database
from .harness import Platform, stringify

pytestmark = pytest.mark.usefixtures("redis_env")


@pytest.fixture
def platform_database_url() -> Iterator[str]:
    """The platform's database (its table made by its own DDL), which pumpflix adopts."""
    with platform_database("shared") as url:
        yield url


@pytest.fixture
def shared(platform: Platform, cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("DATABASE_URL", platform.database_url)
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    return platform


def workflow(name: str, value: str) -> dict[str, Any]:
    return factories.workflow(name, text=value)


def seed(cli: CliRun, folder: Path, source_type: str, **values: str) -> dict[str, str]:
    """Import one workflow per name (``name=value``); name -> template id."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (folder / f"{name}.json").write_text(json.dumps(workflow(name, value)))
    code, report = import_json(cli, str(folder), "--type", source_type)
    assert code == 0, report
    return {t["name"]: t["id"] for t in list_json(cli) if t["name"] in values}


def by_id(templates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in templates}


def value_of(template: dict[str, Any]) -> str:
    """What the Set node holds: the version a reader got."""
    return greeting(json.loads(template["n8nJson"]))


def greeting(workflow: dict[str, Any]) -> str:
    return str(workflow["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"])


def test_what_pumpflix_seeds_and_warms_the_platform_serves_field_for_field(
    shared: Platform, cli: CliRun, tmp_path: Path
) -> None:
    ids = seed(cli, tmp_path / "p", "prebuilt", Alpha="a1", Beta="b1")
    seed(cli, tmp_path / "u", "user", Gamma="g1")

    from_database = shared.get_templates("prebuilt")
    assert from_database.source == "database"
    assert {t["id"] for t in from_database.templates} == set(ids.values())

    assert cli("cache", "flush", "--yes").exit_code == 0  # drop the platform's write-back
    warmed = cli("cache", "warm")
    assert warmed.exit_code == 0, warmed.stderr
    for source_type in ("prebuilt", "user"):
        cached = shared.get_templates(source_type)
        assert cached.source == "cache"
        from_db = shared.read_database(source_type)
        assert by_id(cached.templates) == by_id(from_db)
        # The platform's order, createdAt descending (rows of one import may tie).
        stamps = [t["createdAt"] for t in cached.templates]
        assert stamps == sorted(stamps, reverse=True)
    single = shared.get_template(ids["Alpha"])
    assert single.source == "cache" and value_of(single.template or {}) == "a1"


def test_after_each_pumpflix_write_the_platform_reads_the_new_version(
    shared: Platform, cli: CliRun, tmp_path: Path
) -> None:
    ids = seed(cli, tmp_path / "v1", "prebuilt", Alpha="old", Beta="b")
    assert cli("cache", "warm").exit_code == 0
    assert value_of(shared.get_template(ids["Alpha"]).template or {}) == "old"

    seed(cli, tmp_path / "v2", "prebuilt", Alpha="new")  # a new version
    assert value_of(shared.get_template(ids["Alpha"]).template or {}) == "new"
    listed = {t["id"]: t for t in shared.get_templates("prebuilt").templates}
    assert set(listed) == set(ids.values())  # never a list that lacks a template
    assert value_of(listed[ids["Alpha"]]) == "new"

    deleted = cli("templates", "delete", "Beta", "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    assert shared.get_template(ids["Beta"]).template is None
    assert {t["id"] for t in shared.get_templates("prebuilt").templates} == {ids["Alpha"]}

    # Behind pumpflix's back (as an SQL fix would): invalidate makes the platform re-read.
    assert cli("cache", "warm").exit_code == 0
    with psycopg.connect(shared.database_url, autocommit=True) as conn:
        patched = json.dumps(workflow("Alpha", "patched"))
        conn.execute(
            'UPDATE "WorkflowTemplate" SET "n8nJson" = %s WHERE id = %s', (patched, ids["Alpha"])
        )
    assert value_of(shared.get_template(ids["Alpha"]).template or {}) == "new"  # cached
    assert cli("templates", "invalidate", ids["Alpha"]).exit_code == 0
    fresh = shared.get_template(ids["Alpha"])
    assert (fresh.source, value_of(fresh.template or {})) == ("database", "patched")


def test_a_template_the_platform_creates_and_invalidates_is_seen_by_pumpflix(
    shared: Platform, cli: CliRun
) -> None:
    made = shared.create_template(
        {"name": "FromTheUI", "sourceType": "user", "n8nJson": workflow("FromTheUI", "ui")}
    )
    assert cli("cache", "warm").exit_code == 0
    assert made["id"] in {t["id"] for t in list_json(cli)}
    shared.update_template(made["id"], {"n8nJson": workflow("FromTheUI", "edited")})
    shared.invalidate(made["id"])  # the platform's own invalidation
    shown = cli("templates", "show", made["id"], "--json")
    assert shown.exit_code == 0, shown.stderr
    assert greeting(json.loads(shown.stdout)["n8nJson"]) == "edited"


def test_no_stale_read_for_the_platform_while_warms_run_elsewhere(
    shared: Platform, cli: CliRun, tmp_path: Path, redis_env: dict[str, str]
) -> None:
    ids = seed(cli, tmp_path / "v0", "prebuilt", Alpha="v0")
    env = subprocess_env({**redis_env, "DATABASE_URL": shared.database_url})
    stop = threading.Event()
    failures: list[str] = []

    def warm_loop() -> None:
        while not stop.is_set():
            done = subprocess.run(
                [PUMPFLIX, "cache", "warm", "--quiet"], env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                failures.append(done.stderr)

    warmers = [threading.Thread(target=warm_loop) for _ in range(2)]
    for warmer in warmers:
        warmer.start()
    try:
        for version in range(1, 6):
            seed(cli, tmp_path / f"v{version}", "prebuilt", Alpha=f"v{version}")
            # The write has returned: whatever the warms do, the platform reads this one.
            assert value_of(shared.get_template(ids["Alpha"]).template or {}) == f"v{version}"
            listed = shared.get_templates("prebuilt").templates
            assert [value_of(t) for t in listed] == [f"v{version}"]
    finally:
        stop.set()
        for warmer in warmers:
            warmer.join()
    assert not failures, failures


def test_pumpflix_caches_a_platform_row_byte_for_byte_as_the_platform_would(
    shared: Platform, cli: CliRun, redis_env: dict[str, str]
) -> None:
    """A row whose n8nJson the platform stored as pretty JSON: the value pumpflix writes
    back after a cache miss carries those bytes, not a re-encoding."""
    import redis

    pretty = json.dumps(workflow("Pretty", "p"), indent=2)
    made = shared.create_template({"name": "Pretty", "sourceType": "user", "n8nJson": pretty})
    shown = cli("templates", "show", made["id"], "--json")  # a miss, then a fill
    assert shown.exit_code == 0, shown.stderr
    with psycopg.connect(shared.database_url, row_factory=dict_row) as conn:
        row = conn.execute(
            'SELECT * FROM "WorkflowTemplate" WHERE id = %s', (made["id"],)
        ).fetchone()
    client = redis.Redis.from_url(redis_env["REDIS_URL"])
    try:
        cached = client.get(shared.entry_key(made["id"]))
    finally:
        client.close()
    assert isinstance(cached, bytes) and row is not None
    assert cached.decode() == stringify(row)
    assert shared.get_template(made["id"]).source == "cache"
