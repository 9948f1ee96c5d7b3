"""pumpflix's cache as the platform's own client reads it (tests/platform: node-redis 4 on
the same Redis and prefix): what ``cache warm`` writes is what the platform would have
written, byte for byte; after ``templates invalidate`` the platform does not serve the
old value; a value the platform cached is one pumpflix reads.

pumpflix's templates still live in its own database here and the platform's client reads
its own (``platform_database_url``): the platform's database fallback after an
invalidation finds nothing, which is enough to tell that it did not read the cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from pumpflix_cli.records import SOURCE_TYPES
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.helpers import list_json, seed, show_json
from tests.platform import conftest as platform_fixtures
from tests.platform.conftest import platform_database
from tests.platform.harness import Platform, stringify

# The platform's client and its runtime, as tests/platform defines them.
platform_runtime = platform_fixtures.platform_runtime
platform_client = platform_fixtures.platform


@pytest.fixture(scope="module")
def platform_database_url() -> Iterator[str]:
    """The platform's database for this module (its own name: tests/platform's session
    fixture may run on the same worker)."""
    with platform_database("platform_cache") as url:
        yield url


pytestmark = [pytest.mark.platform, pytest.mark.usefixtures("backend", "redis_env")]


@pytest.fixture
def cache() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL)
    yield client
    client.close()


def stored_row(template_id: str) -> dict[str, Any]:
    """The template as a row of the platform's table would hold it: its workflow JSON as
    the database stores it, timestamps at the column's millisecond precision."""
    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.template_reader import BulkTemplateReader

    database = Database(Settings())
    try:
        with database.session() as session:
            found = list(BulkTemplateReader(session).templates(list(SOURCE_TYPES)))
    finally:
        database.dispose()
    ((record, n8n_json),) = [(r, text) for r, text in found if r.id == template_id]

    def moment(value: str | None) -> datetime:
        assert value is not None
        return datetime.fromisoformat(value).replace(tzinfo=None)

    return {
        "id": record.id,
        "name": record.name,
        "description": record.description or "",
        "sourceType": record.source_type,
        "n8nJson": n8n_json,
        "requiredCredentials": record.required_credentials,
        "inputVariables": record.input_variables,
        "thumbnail": record.thumbnail,
        "createdAt": moment(record.created_at),
        "updatedAt": moment(record.updated_at),
    }


def test_after_a_warm_the_platform_reads_pumpflix_s_values_byte_for_byte(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, platform_client: Platform
) -> None:
    seed(cli, tmp_path / "u", "Alpha", "Bravo")
    assert cli("cache", "warm").exit_code == 0
    templates = list_json(cli, "--no-cache")
    for template in templates:
        expected = stringify(stored_row(template["id"]))
        assert cache.get(platform_client.entry_key(template["id"])) == expected.encode()
        assert 0 < int(cache.ttl(platform_client.entry_key(template["id"]))) <= 3600
        read = platform_client.get_template(template["id"])
        assert read.source == "cache"
        assert read.template == json.loads(expected)
    listed = platform_client.get_templates("user")
    assert listed.source == "cache"
    newest_first = sorted(templates, key=lambda t: (t["createdAt"], t["id"]), reverse=True)
    assert [t["id"] for t in listed.templates] == [t["id"] for t in newest_first]


def test_after_invalidate_the_platform_does_not_serve_the_old_value(
    cli: CliRun, tmp_path: Path, platform_client: Platform
) -> None:
    seed(cli, tmp_path / "u", "Alpha", "Bravo")
    assert cli("cache", "warm").exit_code == 0
    alpha = show_json(cli, "Alpha")
    assert platform_client.get_template(alpha["id"]).source == "cache"
    assert cli("templates", "invalidate", "Alpha").exit_code == 0
    assert platform_client.get_template(alpha["id"]).source == "database"
    assert platform_client.get_templates("user").source == "database"  # not a list without Alpha


def test_a_value_the_platform_cached_is_read_by_pumpflix(
    cli: CliRun, platform_client: Platform, cache: redis.Redis
) -> None:
    created = platform_client.create_template(
        {"name": "Made in the UI", "sourceType": "user", "n8nJson": {"nodes": []}}
    )
    platform_client.cache_templates("user")
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output

    ours = AppContext(Output(quiet=True)).template_cache()
    assert ours is not None
    (state,) = ours.entries([created["id"]])
    assert state.value == created
    assert state.summary is not None and state.summary.name == "Made in the UI"
    stats = json.loads(cli("cache", "stats", "--json").stdout)
    assert stats["byType"]["user"]["entries"] == 1
    assert cache.lrange(platform_client.list_key("user"), 0, -1) == [created["id"].encode()]


def test_the_platform_s_own_invalidation_is_seen_by_pumpflix(
    cli: CliRun, tmp_path: Path, platform_client: Platform
) -> None:
    """A change made behind pumpflix's back, then the platform's ``invalidateTemplate``
    (``DEL`` of the entry, ``LREM`` from the lists): pumpflix's show and list see it."""
    from tests.cache.test_commands import change_behind_the_back

    seed(cli, tmp_path / "u", "Alpha", "Bravo")
    assert cli("cache", "warm").exit_code == 0
    alpha = show_json(cli, "Alpha")
    assert list_json(cli)[0]["description"] == alpha["description"]  # both cached
    change_behind_the_back(alpha["id"], description="edited by the platform")
    outcome = platform_client.invalidate(alpha["id"])
    assert outcome == {"deleted": 1, "removed": {"prebuilt": 0, "user": 1}}
    assert show_json(cli, "Alpha")["description"] == "edited by the platform"
    listed = {t["name"]: t for t in list_json(cli)}
    assert listed["Alpha"]["description"] == "edited by the platform"
