"""What ``cache flush``, ``stats`` and ``verify`` treat as the template cache's keys:
exactly the key forms under the prefix (README, Cache), never another deployment's keys
that share the prefix as a string (``pumpflix:`` and ``pumpflix:staging:``), never a key
that only starts like one of ours, and the prefix taken literally by ``SCAN MATCH``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pumpflix_cli.cache.template_admin import glob_escape, key_forms
from pumpflix_cli.cache.templates import TemplateCache
from pumpflix_cli.records import SOURCE_TYPES
from pumpflix_cli.services.cache.inspect import CacheService
from tests.cache.test_guarded import make_cache
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.helpers import list_json, seed


def _no_database() -> object:
    raise AssertionError("flush and stats never read the database")


def our_keys(prefix: str, ids: list[str]) -> set[str]:
    """Every form the template cache writes, written out by hand (the oracle)."""
    keys = {f"{prefix}pumpflix:warm:last"}
    for template_id in ids:
        entry = f"{prefix}template:{template_id}"
        keys |= {entry, "{" + entry + "}:rev", "{" + entry + "}:meta"}
    for source_type in SOURCE_TYPES:
        listed = f"{prefix}templates:{source_type}"
        keys |= {listed, "{" + listed + "}:rev"}
        keys |= {f"{prefix}pumpflix:index:{source_type}", f"{prefix}pumpflix:stats:{source_type}"}
    return keys


TAILS = ["template:{id}", "templates:user", "pumpflix:index:prebuilt", "pumpflix:warm:last"]
text = st.text(alphabet="abcz09:-_.*?[]{}\\é/", min_size=1, max_size=12)


@st.composite
def foreign_keys(draw: st.DrawFn, prefix: str) -> str:
    """A key that is not ours: another deployment under a longer prefix, one of our forms
    with something after it, or our word with something else where the id goes."""
    template_id = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    tail = draw(st.sampled_from(TAILS)).format(id=template_id)
    kind = draw(st.sampled_from(["longer prefix", "side of longer", "suffix", "not an id"]))
    extra = draw(text)
    if kind == "longer prefix":
        return f"{prefix}{extra}{tail}"
    if kind == "side of longer":
        return "{" + f"{prefix}{extra}{tail}" + "}:" + draw(st.sampled_from(["rev", "meta"]))
    if kind == "suffix":
        return f"{prefix}{tail}{extra}"
    return f"{prefix}template:{extra}"


@given(data=st.data())
def test_the_key_forms_are_exactly_ours(data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from(["", "pumpflix:", "a.b-c:"]))
    ids = [str(uuid.uuid4()) for _ in range(2)]
    forms = key_forms(prefix)
    assert all(forms.fullmatch(key) for key in our_keys(prefix, ids))
    foreign = data.draw(foreign_keys(prefix))
    assume(foreign not in our_keys(prefix, ids))
    assert forms.fullmatch(foreign) is None, foreign


@pytest.mark.parametrize(
    ("pattern_prefix", "matches", "misses"),
    [("a*b:", "a*b:x", "aXXb:x"), ("a?[c]\\:", "a?[c]\\:x", "aZc\\:x")],
)
def test_a_prefix_is_taken_literally_by_scan_match(
    pattern_prefix: str, matches: str, misses: str
) -> None:
    """``SCAN MATCH`` with Redis's own glob: the escaped prefix matches itself only."""
    client = redis.Redis.from_url(REDIS_BASE_URL)
    tag = uuid.uuid4().hex
    keys = {f"{tag}{matches}", f"{tag}{misses}"}
    try:
        for key in keys:
            client.set(key, b"x", ex=60)
        pattern = glob_escape(tag + pattern_prefix) + "*"
        found = {k.decode() for k in client.scan_iter(match=pattern)}
        assert found == {f"{tag}{matches}"}
    finally:
        client.delete(*keys)
        client.close()


@pytest.fixture
def base_prefix(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"]


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL)
    yield client
    client.close()


def _plant(client: redis.Redis, keys: set[str]) -> None:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.set(key, b"planted", ex=120)
    pipe.execute()


def _left(client: redis.Redis, keys: set[str]) -> set[str]:
    return {key for key, there in zip(keys, [client.exists(k) for k in keys], strict=True) if there}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_full_flush_deletes_every_key_of_ours_and_no_other(
    data: st.DataObject, base_prefix: str, raw: redis.Redis
) -> None:
    prefix = f"{base_prefix}{uuid.uuid4().hex[:6]}:"
    ids = [str(uuid.uuid4()) for _ in range(data.draw(st.integers(0, 3)))]
    ours = our_keys(prefix, ids)
    foreign = set(data.draw(st.lists(foreign_keys(prefix), min_size=1, max_size=12)))
    foreign -= ours
    cache = make_cache(prefix)
    try:
        _plant(raw, ours | foreign)
        deleted = CacheService(_no_database, cache).flush(list(SOURCE_TYPES))  # type: ignore[arg-type]
        assert _left(raw, ours) == set()
        assert _left(raw, foreign) == foreign
        assert deleted == len(ours)
    finally:
        if foreign:
            raw.delete(*foreign)
        cache.client.close()


def test_a_keyspace_whose_prefix_holds_glob_characters_flushes_only_its_own(
    base_prefix: str, raw: redis.Redis
) -> None:
    """The settings refuse such a prefix; the adapter does not rely on it."""
    prefix = f"{base_prefix}{uuid.uuid4().hex[:6]}[a]*?:"
    lookalike = prefix.replace("[a]*?", "aXYZ")
    template_id = str(uuid.uuid4())
    ours = our_keys(prefix, [template_id])
    theirs = our_keys(lookalike, [template_id])
    cache: TemplateCache = make_cache(prefix)
    try:
        _plant(raw, ours | theirs)
        CacheService(_no_database, cache).flush(list(SOURCE_TYPES))  # type: ignore[arg-type]
        assert _left(raw, ours) == set()
        assert _left(raw, theirs) == theirs
    finally:
        raw.delete(*theirs)
        cache.client.close()


# --- through the commands -------------------------------------------------------------


@pytest.fixture
def staging(base_prefix: str, raw: redis.Redis) -> Iterator[set[str]]:
    """Another deployment's keys under ``<our prefix>staging:``, and lookalikes of ours."""
    other = str(uuid.uuid4())
    keys = our_keys(f"{base_prefix}staging:", [other]) | {
        f"{base_prefix}template:not-a-uuid",
        f"{base_prefix}template:{other}:old",
        f"{base_prefix}templates:user:archive",
        f"{base_prefix}pumpflix:index:user.bak",
        "{" + f"{base_prefix}template:{other}" + "}:notes",
    }
    _plant(raw, keys)
    yield keys
    raw.delete(*keys)


@pytest.mark.usefixtures("backend")
def test_flush_stats_and_verify_leave_another_deployment_alone(
    cli: CliRun, tmp_path: Path, raw: redis.Redis, staging: set[str]
) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    assert cli("cache", "warm", "-q").exit_code == 0
    list_json(cli)  # counts a hit
    stats = json.loads(cli("cache", "stats", "--json").stdout)
    assert stats["byType"]["user"]["entries"] == 2
    assert stats["unreadable"] == 0  # the lookalike entries are not ours to read
    verify = json.loads(cli("cache", "verify", "--json").stdout)
    assert verify["consistent"] is True, verify
    assert verify["orphaned"] == []
    assert cli("cache", "flush", "--type", "user", "--yes").exit_code == 0
    assert _left(raw, staging) == staging
    assert cli("cache", "flush", "--yes").exit_code == 0
    assert _left(raw, staging) == staging


@pytest.mark.usefixtures("backend", "redis_env")
def test_a_full_flush_resets_the_counters_and_the_last_warm(cli: CliRun, tmp_path: Path) -> None:
    seed(cli, tmp_path / "u", "A")
    assert cli("cache", "warm", "-q").exit_code == 0
    list_json(cli)
    before = json.loads(cli("cache", "stats", "--json").stdout)
    assert before["byType"]["user"]["hits"] == 1 and before["lastWarm"] is not None
    assert cli("cache", "flush", "--yes").exit_code == 0
    after = json.loads(cli("cache", "stats", "--json").stdout)
    assert after["lastWarm"] is None
    assert after["keys"] == 0
    counts = after["byType"]["user"]
    assert (counts["hits"], counts["misses"], counts["invalidations"]) == (0, 0, 0)
