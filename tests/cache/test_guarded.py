"""The platform's keys guarded from side keys (``cache/guarded.py``) against the real
Redis: a fill lands only on the revision it observed, a bump deletes what the platform
would read, a token is never downgraded to plaintext nor replayed, and no script touches
keys of two slots."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from redis.crc import key_slot

from pumpflix_cli.cache.client import connect
from pumpflix_cli.cache.codec import ValueCodec
from pumpflix_cli.cache.guarded import SCRIPTS, side_key
from pumpflix_cli.cache.store import PLACEHOLDER_TTL, RevisionedStore
from pumpflix_cli.cache.templates import TemplateCache
from pumpflix_cli.cache.values import platform_value
from pumpflix_cli.config import Settings
from pumpflix_cli.records import TemplateRecord
from tests.conftest import REDIS_BASE_URL

TTLS = {"prebuilt": 21600, "user": 3600}


def make_cache(prefix: str, key: str | None = None) -> TemplateCache:
    client = connect(Settings(REDIS_URL=REDIS_BASE_URL))
    store = RevisionedStore(client, REDIS_BASE_URL, ValueCodec(key), lambda _m: None)
    return TemplateCache(store, prefix, TTLS)


@pytest.fixture
def prefix(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"]


@pytest.fixture
def cache(prefix: str) -> Iterator[TemplateCache]:
    made = make_cache(prefix)
    yield made
    made.client.close()


def record(version: int = 1, text: str = "hello") -> TemplateRecord:
    return TemplateRecord(
        id=str(uuid.UUID(int=7)),
        name="Daily report",
        source_type="user",
        version=version,
        content_hash=f"{version:064d}",
        description=None,
        created_at="2026-12-02T02:10:00.123456+00:00",
        updated_at="2026-12-02T02:11:00+00:00",
        workflow={"nodes": [], "text": text},
        history=[],
    )


def test_side_keys_share_the_slot_of_the_key_they_guard(prefix: str) -> None:
    for guarded in (f"{prefix}template:{uuid.uuid4()}", f"{prefix}templates:user"):
        assert key_slot(side_key(guarded).encode()) == key_slot(guarded.encode())
        assert key_slot(side_key(guarded, "meta").encode()) == key_slot(guarded.encode())
    assert side_key("template:x") == "{template:x}:rev"  # with the default (empty) prefix


def test_observing_creates_a_guard_and_a_fill_lands_on_it(cache: TemplateCache) -> None:
    item = record()
    (rev,) = cache.observe_entries([item.id])
    guard = cache.client.get(side_key(cache.entry_key(item.id)))
    assert guard == str(rev).encode()
    assert 0 < cache.client.ttl(side_key(cache.entry_key(item.id))) <= PLACEHOLDER_TTL
    assert cache.fill_entries([(rev, item)]) == 1
    value = cache.client.get(cache.entry_key(item.id))
    assert value == platform_value(item, json.dumps(item.workflow, separators=(",", ":")))
    assert json.loads(value)["createdAt"] == "2026-12-02T02:10:00.123Z"
    assert json.loads(value)["description"] == ""
    assert cache.client.ttl(cache.entry_key(item.id)) > 3500
    shown = cache.read_entry(item.id).record
    assert shown is not None and (shown.version, shown.description) == (1, None)
    assert shown.workflow == item.workflow


def test_a_fill_after_a_bump_is_refused_and_the_bump_deletes(cache: TemplateCache) -> None:
    item = record()
    (rev,) = cache.observe_entries([item.id])
    (list_rev,) = cache.observe_lists(["user"])
    assert cache.fill_entries([(rev, item)]) == 1
    assert cache.fill_lists({"user": (list_rev, [item.id])}) == 1
    assert cache.client.lrange(cache.list_key("user"), 0, -1) == [item.id.encode()]
    cache.invalidate({"user": [item.id]})
    assert cache.client.get(cache.entry_key(item.id)) is None
    assert cache.client.get(cache.meta_key(item.id)) is None
    assert cache.client.exists(cache.list_key("user")) == 0
    assert cache.fill_entries([(rev, record(version=2))]) == 0
    assert cache.fill_lists({"user": (list_rev, [item.id])}) == 0
    assert cache.client.get(cache.entry_key(item.id)) is None


def test_a_fill_after_the_guard_was_flushed_is_refused(cache: TemplateCache) -> None:
    item = record()
    (rev,) = cache.observe_entries([item.id])
    cache.client.delete(side_key(cache.entry_key(item.id)))
    assert cache.fill_entries([(rev, item)]) == 0
    (again,) = cache.observe_entries([item.id])
    assert again > rev
    assert cache.fill_entries([(rev, item)]) == 0
    assert cache.fill_entries([(again, item)]) == 1


def test_a_value_the_platform_wrote_is_read_and_one_for_another_id_is_not(
    cache: TemplateCache,
) -> None:
    item = record()
    value = platform_value(item, '{"nodes":[]}')
    cache.client.set(cache.entry_key(item.id), value, ex=60)  # the platform's write-back
    (state,) = cache.entries([item.id])
    assert state.value is not None and state.summary is not None
    assert state.summary.name == "Daily report"
    other = str(uuid.UUID(int=8))
    cache.client.set(cache.entry_key(other), value, ex=60)  # copied under another key
    (copied,) = cache.entries([other])
    assert copied.value is None and copied.unreadable


def test_a_token_is_never_replaced_by_plaintext(prefix: str) -> None:
    key = Fernet.generate_key().decode()
    with_key, without_key = make_cache(prefix, key), make_cache(prefix)
    item = record()
    (rev,) = with_key.observe_entries([item.id])
    assert with_key.fill_entries([(rev, item)]) == 1
    token = with_key.client.get(with_key.entry_key(item.id))
    assert token.startswith(b"gAAAAA")
    assert json.loads(Fernet(key).decrypt(token))["id"] == item.id  # the README's format
    state = without_key.read_entry(item.id)
    assert state.record is None  # a miss without the key
    assert without_key.fill_entries([(state.rev, record(version=2))]) == 0
    assert without_key.client.get(without_key.entry_key(item.id)) == token
    shown = with_key.read_entry(item.id).record
    assert shown is not None and shown.version == 1


def test_a_replayed_older_token_is_a_miss(prefix: str) -> None:
    cache = make_cache(prefix, Fernet.generate_key().decode())
    item = record()
    (rev,) = cache.observe_entries([item.id])
    cache.fill_entries([(rev, item)])
    old = cache.client.get(cache.entry_key(item.id))
    cache.invalidate({"user": [item.id]})
    (rev,) = cache.observe_entries([item.id])
    cache.fill_entries([(rev, record(version=2, text="new"))])
    assert cache.read_entry(item.id).record.version == 2  # type: ignore[union-attr]
    cache.client.set(cache.entry_key(item.id), old, keepttl=True)  # replayed
    assert cache.read_entry(item.id).record is None
    cache.client.delete(side_key(cache.entry_key(item.id)))  # and with its guard gone
    assert cache.read_entry(item.id).record is None


def test_every_script_names_the_keys_of_one_slot() -> None:
    """Scripts get their keys from the caller; each call passes a key and its side keys."""
    for script in SCRIPTS.values():
        assert re.search(r"KEYS\[1\]", script.text)
        assert "KEYS[4]" not in script.text
