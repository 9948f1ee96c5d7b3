"""The revision protocol of ``cache/store.py`` against the real Redis: observe, fill and
bump on single keys, including the cases that make deleting a key safe."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis

from pumpflix_cli.cache.client import connect
from pumpflix_cli.cache.codec import ValueCodec
from pumpflix_cli.cache.store import PLACEHOLDER_TTL, RevisionedStore
from pumpflix_cli.config import Settings
from tests.conftest import REDIS_BASE_URL


@pytest.fixture
def store(redis_env: dict[str, str]) -> Iterator[RevisionedStore]:
    client = connect(Settings(REDIS_URL=REDIS_BASE_URL))
    yield RevisionedStore(client, REDIS_BASE_URL, ValueCodec(None), lambda _m: None)
    client.close()


@pytest.fixture
def key(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"] + "template:k"


def raw(store: RevisionedStore, key: str) -> bytes | None:
    value = store.client.get(key)
    assert value is None or isinstance(value, bytes)
    return value


def test_observing_a_missing_key_leaves_a_placeholder(store: RevisionedStore, key: str) -> None:
    (rev,) = store.observe_many([(key, 60)])
    assert rev > 0
    assert raw(store, key) == f"t{rev}:".encode()
    assert 0 < int(store.client.ttl(key)) <= 60
    assert store.observe_many([(key, 60)]) == [rev]  # observing again changes nothing


def test_a_fill_lands_on_the_observed_revision(store: RevisionedStore, key: str) -> None:
    (rev,) = store.observe_many([(key, 60)])
    assert store.fill_many([(key, rev, b"payload", 60)]) == 1
    (cached,) = store.get_many([key])
    assert (cached.rev, cached.payload) == (rev, b"payload")


def test_a_fill_after_a_bump_is_refused(store: RevisionedStore, key: str) -> None:
    (rev,) = store.observe_many([(key, 60)])
    store.bump_many([(key, 60)])
    assert store.fill_many([(key, rev, b"old", 60)]) == 0
    assert raw(store, key) is not None
    assert raw(store, key).startswith(b"t")  # type: ignore[union-attr]


def test_a_fill_after_the_key_was_deleted_is_refused(store: RevisionedStore, key: str) -> None:
    """Bumped, then flushed: the key is gone, and the slow reader's copy must not land."""
    (rev,) = store.observe_many([(key, 60)])
    store.bump_many([(key, 60)])
    store.client.delete(key)
    assert store.fill_many([(key, rev, b"old", 60)]) == 0
    assert store.fill_many([(key, 0, b"old", 60)]) == 0
    assert raw(store, key) is None


def test_a_key_that_comes_back_never_reuses_a_revision(store: RevisionedStore, key: str) -> None:
    (first,) = store.observe_many([(key, 60)])
    store.client.delete(key)
    (second,) = store.observe_many([(key, 60)])
    assert second > first
    assert store.fill_many([(key, first, b"old", 60)]) == 0
    assert store.fill_many([(key, second, b"new", 60)]) == 1


def test_a_bump_always_raises_the_revision(store: RevisionedStore, key: str) -> None:
    ahead = 9_000_000_000_000_000  # beyond the clock: + 1, printed without an exponent
    store.client.set(key, f"r{ahead}:value".encode())
    store.bump_many([(key, 60)])
    assert raw(store, key) == f"t{ahead + 1}:".encode()
    store.bump_many([(key, 60)])
    assert raw(store, key) == f"t{ahead + 2}:".encode()


def test_get_many_turns_a_missing_key_into_a_placeholder_miss(
    store: RevisionedStore, key: str
) -> None:
    (cached,) = store.get_many([key])
    assert not cached.hit
    assert cached.rev > 0
    assert re.fullmatch(rb"t\d+:", raw(store, key) or b"")
    assert 0 < int(store.client.ttl(key)) <= PLACEHOLDER_TTL
    assert store.fill_many([(key, cached.rev, b"filled", 60)]) == 1


def test_a_value_not_in_our_layout_is_a_miss_and_gets_replaced(
    store: RevisionedStore, key: str
) -> None:
    store.client.set(key, b"left by someone else")
    (cached,) = store.get_many([key])
    assert not cached.hit
    assert store.fill_many([(key, cached.rev, b"ours", 60)]) == 1
    assert store.get_many([key])[0].payload == b"ours"


def test_scripts_touch_one_key_each(store: RevisionedStore) -> None:
    """No multi-key script: every call names exactly one key (cluster-safe)."""
    from pumpflix_cli.cache.store import SCRIPTS

    for script in SCRIPTS.values():
        assert "KEYS[2]" not in script.text
        assert re.search(r"KEYS\[1\]", script.text)


def test_a_redis_error_is_translated(store: RevisionedStore, key: str) -> None:
    from pumpflix_cli.errors import ServiceUnavailableError

    store.client.hset(key, "field", "value")  # not a string: GETRANGE fails
    with pytest.raises(ServiceUnavailableError, match="Redis"):
        store.observe_many([(key, 60)])
    assert isinstance(store.client, redis.Redis)
