"""The platform's client does what PLATFORM.md says the platform does, checked against the
real PostgreSQL and Redis (so the conformance tests built on it test pumpflix, not it)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from tests.conftest import REDIS_BASE_URL

from .harness import (
    FIELDS,
    REPO_ROOT,
    TTL_SECONDS,
    WORKFLOW_TEMPLATE_DDL,
    Platform,
    PlatformError,
    Read,
    stringify,
)

PLATFORM_MD = REPO_ROOT.parent / "shared" / "PLATFORM.md"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def cache() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL)
    yield client
    client.close()


def rows(platform: Platform, where: str = "true", *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(platform.database_url, row_factory=dict_row) as conn:
        query = f'SELECT * FROM "WorkflowTemplate" WHERE {where} ORDER BY "createdAt" DESC'
        return conn.execute(query, params).fetchall()


def row(platform: Platform, template_id: str) -> dict[str, Any]:
    (found,) = rows(platform, '"id" = %s', template_id)
    return found


def workflow(name: str) -> dict[str, Any]:
    return {"name": name, "nodes": [{"name": "Start", "parameters": {"q": 'say "hi"\n'}}]}


def at(minutes: int) -> str:
    moment = datetime(2026, 12, 2, 2, 10, tzinfo=UTC) + timedelta(minutes=minutes, milliseconds=7)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_ddl_is_platform_md_s() -> None:
    if not PLATFORM_MD.is_file():
        pytest.skip(f"{PLATFORM_MD} is not there to compare with")
    assert WORKFLOW_TEMPLATE_DDL in PLATFORM_MD.read_text()


def test_create_writes_the_row_prisma_would(platform: Platform) -> None:
    created = platform.create_template(
        {"name": "Daily digest ✉", "sourceType": "user", "n8nJson": workflow("d")}
    )

    assert list(created) == list(FIELDS)
    assert uuid.UUID(created["id"]).version == 4
    stored = row(platform, created["id"])
    assert stored["description"] == ""
    assert stored["n8nJson"] == json.dumps(workflow("d"), separators=(",", ":"))
    # A list Prisma's create was not given is NULL in the table and [] when read back.
    assert stored["requiredCredentials"] is None and created["requiredCredentials"] == []
    assert stored["thumbnail"] is None and created["thumbnail"] is None
    # One millisecond-precision "now" for both timestamps, made by the client.
    assert stored["createdAt"] == stored["updatedAt"]
    assert ISO.match(created["createdAt"]) and created["createdAt"] == created["updatedAt"]
    assert abs(datetime.now(UTC).replace(tzinfo=None) - stored["updatedAt"]) < timedelta(minutes=1)


def test_two_rows_may_share_one_name(platform: Platform) -> None:
    first = platform.create_template({"name": "Same", "sourceType": "user", "n8nJson": "{}"})
    second = platform.create_template({"name": "Same", "sourceType": "user", "n8nJson": "{}"})

    assert first["id"] != second["id"]
    assert {found["id"] for found in platform.read_database("user")} == {first["id"], second["id"]}


def test_get_templates_reads_the_database_then_caches_it(
    platform: Platform, cache: redis.Redis
) -> None:
    older = platform.create_template(
        {
            "name": "Older",
            "sourceType": "user",
            "n8nJson": workflow("o"),
            "requiredCredentials": ["slackApi", "gmailOAuth2"],
            "inputVariables": ["channel"],
            "thumbnail": "https://example.test/o.png",
            "createdAt": at(0),
        }
    )
    newest = platform.create_template(
        {"name": "Newest «n»", "sourceType": "user", "n8nJson": "{}", "createdAt": at(5)}
    )
    middle = platform.create_template(
        {
            "name": "Middle",
            "description": "d",
            "sourceType": "user",
            "n8nJson": "[]",
            "createdAt": at(2),
        }
    )
    prebuilt = platform.create_template({"name": "P", "sourceType": "prebuilt", "n8nJson": "{}"})
    order = [newest["id"], middle["id"], older["id"]]

    read = platform.get_templates("user")

    assert read.source == "database"
    assert [found["id"] for found in read.templates] == order
    assert read.templates == platform.read_database("user")
    assert cache.lrange(platform.list_key("user"), 0, -1) == [i.encode() for i in order]
    for template_id in order:
        key = platform.entry_key(template_id)
        assert cache.get(key) == stringify(row(platform, template_id)).encode()
        assert TTL_SECONDS["user"] - 60 < cache.ttl(key) <= TTL_SECONDS["user"]
    assert cache.ttl(platform.list_key("user")) == -1  # the list itself has no TTL
    # Only the type read was cached.
    assert not cache.exists(platform.entry_key(prebuilt["id"]), platform.list_key("prebuilt"))

    cached = platform.get_templates("user")
    assert cached.source == "cache"
    assert cached.templates == read.templates


def test_values_are_json_stringify_of_the_row(platform: Platform, cache: redis.Redis) -> None:
    created = platform.create_template(
        {
            "name": 'Quotes " \\ and \u2028 line',
            "description": "tab\there, ctl\x01, emoji 🧪",
            "sourceType": "prebuilt",
            "n8nJson": {"nodes": [], "unicode": "é", "n": 1.5},
            "requiredCredentials": ["a,b", 'q"uote', ""],
            "inputVariables": [],
            "thumbnail": "t.png",
        }
    )

    platform.cache_templates("prebuilt")

    value = cache.get(platform.entry_key(created["id"]))
    assert value == stringify(row(platform, created["id"])).encode()
    assert TTL_SECONDS["prebuilt"] - 60 < cache.ttl(platform.entry_key(created["id"])) <= 21600
    assert b'"inputVariables":[]' in value and b'"description":"tab\\there, ctl\\u0001' in value


def test_second_read_comes_from_the_cache_not_the_database(platform: Platform) -> None:
    created = platform.create_template({"name": "Before", "sourceType": "user", "n8nJson": "{}"})
    assert platform.get_templates("user").source == "database"

    # The platform's update writes the row only; its cached entry keeps the old version.
    updated = platform.update_template(created["id"], {"name": "After"})

    assert updated["name"] == "After" and updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] >= created["updatedAt"]
    read = platform.get_templates("user")
    assert (read.source, [found["name"] for found in read.templates]) == ("cache", ["Before"])
    assert platform.get_template(created["id"]).template == created


def test_invalidate_deletes_the_entry_and_lrems_the_id(
    platform: Platform, cache: redis.Redis
) -> None:
    kept = platform.create_template({"name": "Kept", "sourceType": "user", "n8nJson": "{}"})
    gone = platform.create_template({"name": "Gone", "sourceType": "user", "n8nJson": "{}"})
    platform.get_templates("user")
    cache.rpush(platform.list_key("prebuilt"), gone["id"], "other", gone["id"])

    outcome = platform.invalidate(gone["id"])

    assert outcome == {"deleted": 1, "removed": {"prebuilt": 2, "user": 1}}
    assert not cache.exists(platform.entry_key(gone["id"]))
    assert cache.lrange(platform.list_key("user"), 0, -1) == [kept["id"].encode()]
    assert cache.lrange(platform.list_key("prebuilt"), 0, -1) == [b"other"]
    # The platform's own invalidation leaves a list that lacks the template: its next
    # read is served from that list, without the template (PLATFORM.md).
    read = platform.get_templates("user")
    assert (read.source, [found["id"] for found in read.templates]) == ("cache", [kept["id"]])
    assert platform.invalidate(gone["id"]) == {"deleted": 0, "removed": {"prebuilt": 0, "user": 0}}


def test_a_list_without_entries_is_rebuilt_from_the_database(
    platform: Platform, cache: redis.Redis
) -> None:
    first = platform.create_template(
        {"name": "1", "sourceType": "user", "n8nJson": "{}", "createdAt": at(0)}
    )
    second = platform.create_template(
        {"name": "2", "sourceType": "user", "n8nJson": "{}", "createdAt": at(1)}
    )
    platform.get_templates("user")
    cache.delete(platform.entry_key(first["id"]), platform.entry_key(second["id"]))

    read = platform.get_templates("user")

    assert read.source == "database"
    assert cache.lrange(platform.list_key("user"), 0, -1) == [
        second["id"].encode(),
        first["id"].encode(),
    ]


def test_an_empty_type_reads_the_database_every_time(
    platform: Platform, cache: redis.Redis
) -> None:
    assert platform.get_templates("prebuilt") == Read("database", [])
    assert platform.get_templates("prebuilt") == Read("database", [])
    assert not cache.exists(platform.list_key("prebuilt"))


def test_get_template_reads_through_the_cache(platform: Platform, cache: redis.Redis) -> None:
    created = platform.create_template({"name": "One", "sourceType": "prebuilt", "n8nJson": "{}"})
    key = platform.entry_key(created["id"])

    first = platform.get_template(created["id"])
    second = platform.get_template(created["id"])

    assert (first.source, first.template) == ("database", created)
    assert (second.source, second.template) == ("cache", created)
    assert cache.get(key) == stringify(row(platform, created["id"])).encode()
    assert TTL_SECONDS["prebuilt"] - 60 < cache.ttl(key) <= TTL_SECONDS["prebuilt"]
    assert not cache.exists(platform.list_key("prebuilt"))  # a single read leaves lists alone
    missing = platform.get_template(str(uuid.uuid4()))
    assert (missing.source, missing.template) == ("database", None)


def test_keys_carry_no_prefix_by_default(platform: Platform, cache: redis.Redis) -> None:
    created = platform.create_template({"name": "Bare", "sourceType": "user", "n8nJson": "{}"})
    bare = Platform(platform.runtime, platform.database_url, platform.redis_url)
    try:
        bare.get_template(created["id"])
        assert cache.exists(f"template:{created['id']}")
    finally:
        cache.delete(f"template:{created['id']}")


def test_errors_exit_non_zero_with_a_message(platform: Platform) -> None:
    with pytest.raises(PlatformError, match="unknown source type"):
        platform.get_templates("shared")
    with pytest.raises(PlatformError, match="no WorkflowTemplate with id"):
        platform.update_template(str(uuid.uuid4()), {"name": "x"})
    with pytest.raises(PlatformError, match="unknown WorkflowTemplate fields: version"):
        platform.create_template({"name": "x", "sourceType": "user", "n8nJson": "{}", "version": 2})
    with pytest.raises(PlatformError, match="null value"):
        platform.create_template({"sourceType": "user", "n8nJson": "{}"})
    broken = Platform(platform.runtime, platform.database_url, "redis://127.0.0.1:1/0")
    with pytest.raises(PlatformError, match="ECONNREFUSED"):
        broken.invalidate("x")


def test_timestamps_are_utc_whatever_the_local_zone(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    created = platform.create_template(
        {"name": "Zone", "sourceType": "user", "n8nJson": "{}", "createdAt": at(0)}
    )

    assert created["createdAt"] == at(0)
    assert row(platform, created["id"])["createdAt"] == datetime(2026, 12, 2, 2, 10, 0, 7000)
    assert platform.get_template(created["id"]).template == created


def test_the_client_is_installed_outside_the_repository(platform: Platform) -> None:
    node_modules = platform.runtime.node_path
    assert node_modules.name == "node_modules" and REPO_ROOT not in node_modules.parents
    assert not (Path(platform.runtime.script).parent / "node_modules").exists()
