"""The revisions every guarded key shares (``cache/store.py``, ``cache/guarded.py``) against
the real Redis, on pumpflix's own index key (guarded like the platform's keys): the cases
that make deleting a key as safe as bumping it, and the plumbing's error translation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pumpflix_cli.cache.client import connect
from pumpflix_cli.cache.codec import ValueCodec
from pumpflix_cli.cache.guarded import GuardedKeys, side_key
from pumpflix_cli.cache.store import PLACEHOLDER_TTL, RevisionedStore
from pumpflix_cli.config import Settings
from tests.conftest import REDIS_BASE_URL


@pytest.fixture
def keys(redis_env: dict[str, str]) -> Iterator[GuardedKeys]:
    client = connect(Settings(REDIS_URL=REDIS_BASE_URL))
    yield GuardedKeys(RevisionedStore(client, REDIS_BASE_URL, ValueCodec(None), lambda _m: None))
    client.close()


@pytest.fixture
def key(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"] + "pumpflix:index:user"


def guard(keys: GuardedKeys, key: str) -> bytes | None:
    value = keys.store.client.get(side_key(key))
    assert value is None or isinstance(value, bytes)
    return value


def fill(keys: GuardedKeys, key: str, rev: int, value: bytes) -> bool:
    (landed,) = keys.fill_entries([(key, rev, value, b"", 60)])
    return landed


def test_observing_a_missing_key_leaves_a_placeholder(keys: GuardedKeys, key: str) -> None:
    (rev,) = keys.observe([key])
    assert rev > 0
    assert guard(keys, key) == str(rev).encode()
    assert 0 < int(keys.store.client.ttl(side_key(key))) <= PLACEHOLDER_TTL
    assert keys.observe([key]) == [rev]  # observing again changes nothing


def test_a_fill_after_the_guard_was_deleted_is_refused(keys: GuardedKeys, key: str) -> None:
    """Bumped, then flushed: the guard is gone, and the slow reader's copy must not land."""
    (rev,) = keys.observe([key])
    keys.bump([(key, [], 60)])
    keys.store.client.delete(side_key(key))
    assert not fill(keys, key, rev, b"old")
    assert not fill(keys, key, 0, b"old")
    assert keys.store.client.get(key) is None


def test_a_guard_that_comes_back_never_reuses_a_revision(keys: GuardedKeys, key: str) -> None:
    (first,) = keys.observe([key])
    keys.store.client.delete(side_key(key))
    (second,) = keys.observe([key])
    assert second > first
    assert not fill(keys, key, first, b"old")
    assert fill(keys, key, second, b"new")


def test_a_bump_always_raises_the_revision(keys: GuardedKeys, key: str) -> None:
    ahead = 9_000_000_000_000_000  # beyond the clock: + 1, printed without an exponent
    keys.store.client.set(side_key(key), f"{ahead}".encode())
    keys.bump([(key, [], 60)])
    assert guard(keys, key) == f"{ahead + 1}".encode()
    keys.bump([(key, [], 60)])
    assert guard(keys, key) == f"{ahead + 2}".encode()


def test_a_fill_records_its_revision_and_a_bump_deletes_the_value(
    keys: GuardedKeys, key: str
) -> None:
    (rev,) = keys.observe([key])
    assert fill(keys, key, rev, b"payload")
    assert keys.store.client.get(key) == b"payload"
    assert re.fullmatch(rb"\d+", guard(keys, key) or b"")
    keys.bump([(key, [], 60)])
    assert keys.store.client.get(key) is None
    assert not fill(keys, key, rev, b"old")


def test_a_redis_error_is_translated(keys: GuardedKeys, key: str) -> None:
    from pumpflix_cli.errors import ServiceUnavailableError

    keys.store.client.hset(side_key(key), "field", "value")  # not a string: GET fails
    try:
        with pytest.raises(ServiceUnavailableError, match="Redis"):
            keys.observe([key])
    finally:
        keys.store.client.delete(side_key(key))
