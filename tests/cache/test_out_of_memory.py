"""A Redis out of memory (``maxmemory`` with ``noeviction``) refuses every write that may
grow its memory — ``SET``, the bump scripts' ``SET``, ``HINCRBY`` — and still serves
reads and ``DEL``/``UNLINK``. A write whose invalidation is refused there must not leave
the old version readable: the keys are deleted instead; when Redis refuses even that, the
command says so and exits 6 (README, Exit codes). Every test runs on a private
``redis-server`` of its own, brought to its limit for real."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.cache.client import connect
from pumpflix_cli.cache.codec import ValueCodec
from pumpflix_cli.cache.guarded import side_key
from pumpflix_cli.cache.store import RevisionedStore
from pumpflix_cli.cache.templates import TemplateCache
from pumpflix_cli.cache.values import meta_value, platform_value, workflow_text
from pumpflix_cli.config import Settings
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json
from tests.redis_servers import RedisServer

PREFIX = "pumpflix-oom:"
TTLS = {"prebuilt": 21600, "user": 3600}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    private = RedisServer(tmp_path / "redis")
    private.start()
    yield private
    private.stop()


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    client = server.client()
    yield client
    client.close()


@pytest.fixture
def on_server(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", PREFIX)
    return server


def exhaust(client: redis.Redis) -> None:
    """Fill Redis and put its limit under what it holds, with ``noeviction``: every write
    that may grow memory is refused from now on (checked), deleting still works."""
    client.config_set("maxmemory", 0)
    for part in range(40):  # in small values: a big one's query buffer is freed later
        client.set(f"ballast:{part}", b"x" * 100_000)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", used - 1_000_000)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("probe", b"1")


def refuse_every_write(client: redis.Redis) -> None:
    """A primary that refuses every write, ``DEL`` included (no replica acknowledges)."""
    exhaust(client)
    client.config_set("min-replicas-to-write", 1)
    with pytest.raises(redis.exceptions.ResponseError, match="NOREPLICAS"):
        client.delete("ballast:0")


def relieve(client: redis.Redis) -> None:
    client.config_set("min-replicas-to-write", 0)
    client.config_set("maxmemory", 0)


def one_warning_naming_the_refusal(stderr: str) -> None:
    assert "deleted instead" in stderr, stderr
    assert "maxmemory" in stderr, stderr
    assert "Traceback" not in stderr


@pytest.fixture
def seeded(cli: CliRun, tmp_path: Path, on_server: RedisServer, backend: object) -> Path:
    """A, B (user) and C (prebuilt), warm: every key of theirs cached at version 1."""
    seed(cli, tmp_path / "u", "A", "B")
    seed(cli, tmp_path / "p", "C", source_type="prebuilt")
    assert cli("cache", "warm", "-q").exit_code == 0
    assert [t["version"] for t in list_json(cli)] == [1, 1, 1]
    assert show_json(cli, "A")["version"] == 1
    return tmp_path / "u"


# --- every write that invalidates, at the limit ------------------------------------------


def test_an_import_at_the_limit_never_leaves_the_old_version_readable(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    exhaust(admin)
    write(seeded, "0.json", workflow("A", text="version two"))
    result = cli("templates", "import", str(seeded), "--json")
    assert result.exit_code == 0, result.stderr
    one_warning_naming_the_refusal(result.stderr)
    for _ in range(2):  # the first read misses; the second still cannot be served v1
        assert show_json(cli, "A")["version"] == 2
        assert {t["name"]: t["version"] for t in list_json(cli)} == {"A": 2, "B": 1, "C": 1}
    assert admin.get(f"{PREFIX}template:{show_json(cli, 'A', '--no-cache')['id']}") is None
    assert admin.llen(f"{PREFIX}templates:user") == 0


def test_the_old_content_imported_back_at_the_limit_is_served_as_the_new_version(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    write(seeded, "0.json", workflow("A", text="version two"))
    assert import_json(cli, str(seeded))[0] == 0
    assert show_json(cli, "A")["version"] == 2
    assert cli("cache", "warm", "-q").exit_code == 0
    exhaust(admin)
    write(seeded, "0.json", workflow("A", text="A"))  # version one's content, back
    assert import_json(cli, str(seeded))[0] == 0
    shown = show_json(cli, "A")
    assert (shown["version"], shown["n8nJson"]["nodes"][1]["parameters"]) == (
        3,
        workflow("A", text="A")["nodes"][1]["parameters"],
    )


def test_a_delete_at_the_limit_is_not_served_afterwards(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    exhaust(admin)
    result = cli("templates", "delete", "A", "--yes")
    assert result.exit_code == 0, result.stderr
    one_warning_naming_the_refusal(result.stderr)
    assert cli("templates", "show", "A").exit_code == ExitCode.NOT_FOUND
    assert [t["name"] for t in list_json(cli)] == ["B", "C"]


def test_invalidate_at_the_limit_drops_what_changed_behind_pumpflix_s_back(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    from tests.cache.test_commands import change_behind_the_back

    template_id = show_json(cli, "A")["id"]
    change_behind_the_back(template_id, name="A renamed")
    assert show_json(cli, template_id)["name"] == "A"  # the cache does not know yet
    exhaust(admin)
    result = cli("templates", "invalidate", template_id)
    assert result.exit_code == 0, result.stderr
    one_warning_naming_the_refusal(result.stderr)
    assert show_json(cli, template_id)["name"] == "A renamed"
    assert "A renamed" in [t["name"] for t in list_json(cli)]


def test_a_warm_at_the_limit_fails_naming_redis_and_leaves_reads_right(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    write(seeded, "0.json", workflow("A", text="version two"))
    assert import_json(cli, str(seeded))[0] == 0
    exhaust(admin)
    result = cli("cache", "warm")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("error: Redis")
    assert "maxmemory" in result.stderr
    assert show_json(cli, "A")["version"] == 2
    assert [t["version"] for t in list_json(cli)] == [2, 1, 1]


# --- when Redis refuses even DEL ------------------------------------------------------


def test_an_import_whose_invalidation_is_refused_outright_exits_6_saying_so(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    refuse_every_write(admin)
    write(seeded, "0.json", workflow("A", text="version two"))
    result = cli("templates", "import", str(seeded), "--json")
    assert result.exit_code == ExitCode.CACHE_STALE, result.stderr
    assert json.loads(result.stdout)["updated"] == 1  # the report first: the write stands
    assert "may still serve the old version" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the change is in the database, but the cache could not be invalidated "
        "and may serve the old version"
    ]
    assert "pumpflix cache flush" in result.stderr
    relieve(admin)
    assert cli("cache", "flush", "--yes").exit_code == 0
    assert show_json(cli, "A")["version"] == 2


def test_a_delete_whose_invalidation_is_refused_outright_exits_6(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    refuse_every_write(admin)
    result = cli("templates", "delete", "A", "--yes", "--json")
    assert result.exit_code == ExitCode.CACHE_STALE, result.stderr
    assert json.loads(result.stdout)["deleted"] == 1


def test_invalidate_refused_outright_is_a_redis_error(
    cli: CliRun, seeded: Path, admin: redis.Redis
) -> None:
    """Nothing was written: the cache command's own error (69), to be retried."""
    refuse_every_write(admin)
    result = cli("templates", "invalidate", "A")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("error: Redis")


def test_a_write_while_redis_is_down_exits_6(
    cli: CliRun, seeded: Path, server: RedisServer
) -> None:
    server.stop()
    write(seeded, "0.json", workflow("A", text="version two"))
    result = cli("templates", "import", str(seeded), "--json")
    assert result.exit_code == ExitCode.CACHE_STALE
    assert json.loads(result.stdout)["updated"] == 1
    assert "Redis" in result.stderr


# --- the class: any set of templates and types invalidated at the limit ----------------


def _record(source_type: str, index: int) -> TemplateRecord:
    return TemplateRecord(
        id=str(uuid.UUID(int=index + 1)),
        name=f"T{index}",
        source_type=source_type,
        version=1,
        content_hash=f"{index:064d}",
        description=None,
        created_at="2026-12-02T02:10:00+00:00",
        updated_at="2026-12-02T02:11:00+00:00",
        workflow={"nodes": [], "n": index},
        history=[],
    )


RECORDS = [_record(SOURCE_TYPES[i % 2], i) for i in range(6)]


def _warm(cache: TemplateCache) -> None:
    """Every entry, list and index cached, as a warm leaves them."""
    revs = cache.observe_entries([r.id for r in RECORDS])
    values = [
        (rev, r, platform_value(r, workflow_text(r)), meta_value(r))
        for rev, r in zip(revs, RECORDS, strict=True)
    ]
    assert all(cache.fill(values))
    by_type = {t: [r for r in RECORDS if r.source_type == t] for t in SOURCE_TYPES}
    list_revs = cache.observe_lists(list(SOURCE_TYPES))
    cache.fill_lists(
        {
            t: (rev, [r.id for r in by_type[t]])
            for t, rev in zip(SOURCE_TYPES, list_revs, strict=True)
        }
    )
    index_revs = cache.observe_indexes(list(SOURCE_TYPES))
    cache.fill_indexes(
        {t: (rev, by_type[t]) for t, rev in zip(SOURCE_TYPES, index_revs, strict=True)}
    )


def index_cached(cache: TemplateCache, source_type: str) -> bool:
    """Whether the type's index holds a value (read without counting or observing)."""
    (state,) = cache.index_states([source_type])
    return state.kind == "value"


@pytest.fixture
def direct(server: RedisServer) -> Iterator[tuple[TemplateCache, list[str]]]:
    client = connect(Settings(REDIS_URL=server.url))
    warnings: list[str] = []
    store = RevisionedStore(client, server.url, ValueCodec(None), warnings.append)
    yield TemplateCache(store, PREFIX, TTLS), warnings
    client.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changed=st.lists(st.sampled_from(RECORDS), unique_by=lambda r: r.id),
    index_only=st.lists(st.sampled_from(SOURCE_TYPES), unique=True),
)
def test_no_key_a_write_invalidates_at_the_limit_stays_readable(
    direct: tuple[TemplateCache, list[str]],
    admin: redis.Redis,
    changed: list[TemplateRecord],
    index_only: list[str],
) -> None:
    """Writes touch some templates (import, delete, sync) or only a type's index (a
    promote's new template): whatever they touch is unreadable afterwards, whatever they
    do not is still a hit."""
    cache, warnings = direct
    relieve(admin)
    admin.flushdb()
    _warm(cache)
    exhaust(admin)
    ids_by_type: dict[str, list[str]] = {t: [] for t in index_only}
    for record in changed:
        ids_by_type.setdefault(record.source_type, []).append(record.id)
    warnings.clear()
    cache.invalidate(ids_by_type)
    assert bool(warnings) == bool(ids_by_type)
    states = {s.key: s for s in cache.entries([r.id for r in RECORDS])}
    for record in RECORDS:
        state = states[cache.entry_key(record.id)]
        assert (state.record is None) == (record in changed), record.id
        if record in changed:  # and nothing a warm observed before can land on it
            assert admin.get(side_key(state.key)) is None
    lists = cache.lists(list(SOURCE_TYPES))
    for source_type in SOURCE_TYPES:
        touched = source_type in ids_by_type
        assert (lists[source_type] is None) == touched
        assert index_cached(cache, source_type) != touched


def test_the_promote_shape_at_the_limit_drops_the_index(
    direct: tuple[TemplateCache, list[str]], admin: redis.Redis
) -> None:
    """Promote adds a template: only the user index and list change
    (``invalidate_cache({"user": []})``), and a list must not be served without it."""
    from pumpflix_cli.services.templates.library import TemplateLibrary

    cache, warnings = direct
    _warm(cache)
    exhaust(admin)
    stale: list[Any] = []
    library = TemplateLibrary(lambda: None, cache, warnings.append, stale=stale.append)  # type: ignore[arg-type,return-value]
    library.invalidate_cache({"user": []})
    assert stale == []
    assert not index_cached(cache, "user")
    assert cache.lists(["user"])["user"] is None
    assert index_cached(cache, "prebuilt")


def test_a_library_whose_invalidation_is_refused_outright_reports_the_stale_cache(
    direct: tuple[TemplateCache, list[str]], admin: redis.Redis
) -> None:
    from pumpflix_cli.services.templates.library import TemplateLibrary

    cache, warnings = direct
    _warm(cache)
    refuse_every_write(admin)
    stale: list[Any] = []
    library = TemplateLibrary(lambda: None, cache, warnings.append, stale=stale.append)  # type: ignore[arg-type,return-value]
    library.invalidate_cache({"user": [RECORDS[1].id]})
    assert [e.exit_code for e in stale] == [ExitCode.CACHE_STALE]
    assert any("may still serve the old version" in w for w in warnings)
