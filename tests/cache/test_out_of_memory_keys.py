"""The class behind ``test_out_of_memory.py``: whatever set of templates and types a write
invalidates on a Redis at its limit (``noeviction``), none of their keys stays readable
and the others stay hits; refused outright, the library reports the stale cache. On a
private ``redis-server``, through ``TemplateCache`` and ``TemplateLibrary`` directly."""

from __future__ import annotations

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
from tests.redis_servers import (
    RedisServer,
    admin_client,
    exhaust,
    refuse_every_write,
    relieve,
    running,
)

PREFIX = "pumpflix-oom:"
TTLS = {"prebuilt": 21600, "user": 3600}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with running(tmp_path / "redis") as private:
        yield private


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    with admin_client(server) as client:
        yield client


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
