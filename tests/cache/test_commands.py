"""``pumpflix cache warm | stats | flush | verify`` against the real Redis, on SQLite and
PostgreSQL: what each does, and that none of them breaks the read path's promise."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json

pytestmark = pytest.mark.usefixtures("backend", "redis_env")


@pytest.fixture
def cache(redis_env: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL, decode_responses=False)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"]


def run_json(cli: CliRun, *args: str, code: int = 0) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


def keys(client: redis.Redis, prefix: str) -> set[str]:
    return {bytes(k).decode().removeprefix(prefix) for k in client.scan_iter(match=prefix + "*")}


def stored(client: redis.Redis, key: str) -> bytes:
    value = client.get(key)
    assert isinstance(value, bytes), key
    return value


def seed_both(cli: CliRun, tmp_path: Path) -> None:
    seed(cli, tmp_path / "p", "Daily report", "Weekly report", source_type="prebuilt")
    seed(cli, tmp_path / "u", "My digest")


def change_behind_the_back(template_id: str, **values: Any) -> None:
    """An UPDATE that pumpflix does not know about (no invalidation)."""
    from sqlalchemy import update

    from pumpflix_cli.config import Settings
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.models import Template, TemplateMeta

    database = Database(Settings())
    meta = {k: values.pop(k) for k in ("version", "content_hash") if k in values}
    with database.session() as session:
        if values:
            session.execute(update(Template).where(Template.id == template_id).values(**values))
        if meta:
            session.execute(
                update(TemplateMeta).where(TemplateMeta.id == template_id).values(**meta)
            )
    database.dispose()


# --- warm ----------------------------------------------------------------------------


def test_warm_loads_every_template_and_both_lists(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    report = run_json(cli, "cache", "warm")
    assert report["warmed"] == 3
    assert report["byType"] == {"prebuilt": 2, "user": 1}
    assert report["seconds"] >= 0
    ids = {t["id"] for t in list_json(cli, "--no-cache")}
    assert {f"template:{i}" for i in ids} | {"templates:prebuilt", "templates:user"} <= keys(
        cache, prefix
    )
    assert cache.ttl(f"{prefix}templates:prebuilt") > 3600
    assert 0 < cache.ttl(f"{prefix}templates:user") <= 3600


def test_a_warm_cache_answers_exactly_as_the_database(cli: CliRun, tmp_path: Path) -> None:
    seed_both(cli, tmp_path)
    write(tmp_path / "u", "0.json", workflow("My digest", text="second version"))
    import_json(cli, str(tmp_path / "u"))  # a history of two versions
    run_json(cli, "cache", "warm")
    assert cli("templates", "list", "--json").stdout == (
        cli("templates", "list", "--json", "--no-cache").stdout
    )
    for template in list_json(cli, "--no-cache"):
        cached = show_json(cli, template["id"])
        assert cached == show_json(cli, template["id"], "--no-cache")
    assert len(show_json(cli, "My digest")["history"]) == 2


def test_warm_of_one_type_leaves_the_other_cold(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    report = run_json(cli, "cache", "warm", "--type", "user")
    assert report["byType"] == {"user": 1}
    user = show_json(cli, "My digest", "--no-cache")
    assert cache.lrange(f"{prefix}templates:user", 0, -1) == [user["id"].encode()]
    assert cache.exists(f"{prefix}templates:prebuilt") == 0  # the import deleted it
    assert stored(cache, f"{prefix}pumpflix:index:user").startswith(b'{"key":')
    assert cache.get(f"{prefix}pumpflix:index:prebuilt") is None
    assert stored(cache, "{" + f"{prefix}pumpflix:index:prebuilt" + "}:rev")  # the import's bump


def test_warm_quiet_prints_nothing(cli: CliRun, tmp_path: Path) -> None:
    seed_both(cli, tmp_path)
    result = cli("cache", "warm", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_warm_then_stats_shows_every_template_and_a_list_counts_hits(
    cli: CliRun, tmp_path: Path
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    stats = run_json(cli, "cache", "stats")
    assert stats["byType"]["prebuilt"]["entries"] == 2
    assert stats["byType"]["user"]["entries"] == 1
    assert stats["lastWarm"]["warmed"] == 3
    assert stats["lastWarm"]["byType"] == {"prebuilt": 2, "user": 1}
    assert stats["bytes"] > 0
    assert stats["byType"]["user"]["indexCached"] is True
    assert 0 < stats["byType"]["user"]["indexTtl"] <= 3600
    before = stats["byType"]["user"]["hits"]
    list_json(cli, "--type", "user")
    after = run_json(cli, "cache", "stats")["byType"]["user"]
    assert after["hits"] == before + 1
    assert after["hitRatio"] == 1.0


def test_stats_counts_misses_and_invalidations(cli: CliRun, tmp_path: Path) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    list_json(cli)  # cold: a miss per type
    list_json(cli)  # warm: a hit per type
    assert cli("templates", "invalidate", "A").exit_code == 0
    user = run_json(cli, "cache", "stats")["byType"]["user"]
    assert (user["hits"], user["misses"], user["invalidations"]) == (1, 1, 1)
    assert user["hitRatio"] == 0.5


def test_stats_renders_a_table(cli: CliRun, tmp_path: Path) -> None:
    seed_both(cli, tmp_path)
    cli("cache", "warm", "-q")
    result = cli("cache", "stats")
    assert result.exit_code == 0
    assert "prebuilt" in result.stdout
    assert "last warm" in result.stdout
    assert re.search(r"\b(1h00m|59m\d\ds)\b", result.stdout)  # the lists' TTL


# --- flush ---------------------------------------------------------------------------


def test_flush_by_type_leaves_the_other_type(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    user_id = list_json(cli, "--type", "user", "--no-cache")[0]["id"]
    report = run_json(cli, "cache", "flush", "--type", "prebuilt", "--yes")
    assert report["deleted"] >= 3  # two entries, the list, its counters
    left = keys(cache, prefix)
    assert "templates:prebuilt" not in left
    assert not any(k.startswith("pumpflix:stats:prebuilt") for k in left)
    assert {"templates:user", f"template:{user_id}"} <= left
    sides = {bytes(k).decode() for k in cache.scan_iter(match="{" + prefix + "*")}
    assert "{" + f"{prefix}templates:prebuilt" + "}:rev" not in sides
    assert "{" + f"{prefix}template:{user_id}" + "}:meta" in sides
    stats = run_json(cli, "cache", "stats")["byType"]
    assert (stats["prebuilt"]["entries"], stats["user"]["entries"]) == (0, 1)


def test_flush_removes_only_our_keys(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    neighbour = f"{prefix.rstrip(':')}-neighbour:keep"
    cache.set(neighbour, b"not ours", ex=60)
    try:
        run_json(cli, "cache", "flush", "--yes")
        assert keys(cache, prefix) == set()
        assert [*cache.scan_iter(match="{" + prefix + "*")] == []  # the side keys too
        assert cache.get(neighbour) == b"not ours"
    finally:
        cache.delete(neighbour)
    assert len(list_json(cli)) == 3  # and reads go on, from the database


def test_flush_asks_and_refuses_without_a_terminal(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    result = cli("cache", "flush")
    assert result.exit_code == ExitCode.USAGE
    assert "--yes" in result.stderr
    assert "templates:user" in keys(cache, prefix)


# --- verify --------------------------------------------------------------------------


def test_verify_after_a_warm_is_consistent(cli: CliRun, tmp_path: Path) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    report = run_json(cli, "cache", "verify")
    assert report["consistent"] is True
    assert (report["checked"], report["cached"]) == (3, 3)
    assert report["missing"] == []
    assert report["indexes"] == {"prebuilt": "ok", "user": "ok"}


def test_verify_reports_a_cold_cache_as_missing_but_consistent(cli: CliRun, tmp_path: Path) -> None:
    seed_both(cli, tmp_path)
    report = run_json(cli, "cache", "verify")
    assert report["consistent"] is True
    assert len(report["missing"]) == 3


def test_verify_finds_a_planted_stale_entry(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    template = show_json(cli, "My digest")
    key = f"{prefix}template:{template['id']}"
    meta = "{" + key + "}:meta"  # pumpflix's version and hash, beside the platform's value
    planted = json.loads(stored(cache, meta)) | {"version": 7, "contentHash": "0" * 64}
    cache.set(meta, json.dumps(planted).encode(), keepttl=True)
    report = run_json(cli, "cache", "verify", code=ExitCode.FAILURE)
    assert report["consistent"] is False
    assert [(f["key"], f["id"]) for f in report["stale"]] == [(key, template["id"])]
    assert "version 7 cached, 1 in the database" in report["stale"][0]["reason"]
    human = cli("cache", "verify")
    assert human.exit_code == ExitCode.FAILURE
    assert "stale" in human.stdout
    assert "the cache is inconsistent" in human.stderr


def test_verify_finds_orphans_and_stale_lists(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    template = show_json(cli, "My digest")
    orphan_id = str(uuid.uuid4())
    value = json.loads(stored(cache, f"{prefix}template:{template['id']}"))
    orphan = json.dumps(value | {"id": orphan_id}).encode()
    cache.set(f"{prefix}template:{orphan_id}", orphan, ex=60)  # as the platform writes it
    index_key = f"{prefix}pumpflix:index:user"
    header, _, _ = stored(cache, index_key).partition(b"\n")
    empty = header.replace(b'"count":1', b'"count":0') + b"\n[]"
    cache.set(index_key, empty, keepttl=True)  # lists no template at all
    report = run_json(cli, "cache", "verify", code=ExitCode.FAILURE)
    assert [f["id"] for f in report["orphaned"]] == [orphan_id]
    assert [(f["key"], f["id"]) for f in report["stale"]] == [(index_key, template["id"])]
    assert report["indexes"] == {"prebuilt": "ok", "user": "inconsistent"}


# --- consistency of single steps -----------------------------------------------------


def test_invalidate_after_a_change_behind_our_back_shows_the_database_version(
    cli: CliRun, tmp_path: Path
) -> None:
    seed_both(cli, tmp_path)
    run_json(cli, "cache", "warm")
    template = show_json(cli, "My digest")
    change_behind_the_back(template["id"], description="edited in SQL", version=5)
    assert show_json(cli, template["id"])["version"] == 1  # the cache cannot know yet
    stale = run_json(cli, "cache", "verify", code=ExitCode.FAILURE)["stale"]
    assert {f["id"] for f in stale} == {template["id"]}
    assert cli("templates", "invalidate", template["id"]).exit_code == 0
    shown = show_json(cli, template["id"])
    assert (shown["version"], shown["description"]) == (5, "edited in SQL")
    listed = {t["id"]: t for t in list_json(cli)}
    assert listed[template["id"]]["version"] == 5
    assert run_json(cli, "cache", "verify")["consistent"] is True


def test_a_warm_after_an_import_caches_the_new_version(cli: CliRun, tmp_path: Path) -> None:
    seed(cli, tmp_path / "u", "A")
    run_json(cli, "cache", "warm")
    write(tmp_path / "u", "0.json", workflow("A", text="changed"))
    import_json(cli, str(tmp_path / "u"))
    run_json(cli, "cache", "warm")
    assert show_json(cli, "A")["version"] == 2
    assert list_json(cli)[0]["version"] == 2
    assert run_json(cli, "cache", "verify")["consistent"] is True


# --- encryption at rest ----------------------------------------------------------------


def test_warmed_values_are_encrypted_and_hold_no_template_text(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    seed_both(cli, tmp_path)
    monkeypatch.setenv("PUMPFLIX_CACHE_KEY", Fernet.generate_key().decode())
    run_json(cli, "cache", "warm")
    plain = [b"Daily report", b"My digest", b"Set greeting", b"n8n-nodes-base", b"sourceType"]
    found = [*cache.scan_iter(match=prefix + "template:*")]
    found += [*cache.scan_iter(match=prefix + "pumpflix:index:*")]
    found += [*cache.scan_iter(match="{" + prefix + "template:*")]
    assert len(found) == 3 + 2 + 2 * 3  # entries, indexes, the entries' guards and meta
    for key in found:
        value = stored(cache, bytes(key).decode())
        assert not any(text in value for text in plain), key
    assert show_json(cli, "My digest")["name"] == "My digest"
    assert run_json(cli, "cache", "verify")["consistent"] is True
    assert run_json(cli, "cache", "stats")["byType"]["prebuilt"]["entries"] == 2


def test_a_tampered_value_is_a_miss_and_one_warning(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    seed_both(cli, tmp_path)
    monkeypatch.setenv("PUMPFLIX_CACHE_KEY", Fernet.generate_key().decode())
    run_json(cli, "cache", "warm")
    template = list_json(cli, "--type", "user")[0]
    key = f"{prefix}template:{template['id']}"
    value = bytearray(stored(cache, key))
    value[-10] = ord("A") if value[-10] != ord("A") else ord("B")  # inside the token
    cache.set(key, bytes(value), keepttl=True)
    result = cli("templates", "show", template["id"], "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == show_json(cli, template["id"], "--no-cache")
    assert result.stderr.count("warning:") == 1
    assert "does not decrypt" in result.stderr
    assert show_json(cli, template["id"])["version"] == 1  # rewritten, readable again


def test_a_run_without_the_key_never_writes_plaintext_over_encrypted_values(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    seed_both(cli, tmp_path)
    key = {"PUMPFLIX_CACHE_KEY": Fernet.generate_key().decode()}
    assert cli("cache", "warm", env=key).exit_code == 0
    template = list_json(cli, "--type", "user", "--no-cache")[0]
    keys = [f"{prefix}template:{template['id']}", f"{prefix}pumpflix:index:user"]
    before = [stored(cache, k) for k in keys]
    assert before[0].startswith(b"gAAAAA") and before[1].startswith(b"gAAAAA")
    for _ in range(2):  # misses (from the database), whose write-backs are refused
        shown = cli("templates", "show", template["id"], "--json")
        assert shown.exit_code == 0
        assert json.loads(shown.stdout)["name"] == template["name"]
        assert "encrypted" in shown.stderr
        assert [t["name"] for t in list_json(cli, "--type", "user")] == [template["name"]]
    assert cli("cache", "warm").exit_code == 0
    assert [stored(cache, k) for k in keys] == before
    with_key = cli("templates", "show", template["id"], "--json", env=key)
    assert json.loads(with_key.stdout)["name"] == template["name"]
    assert with_key.stderr == ""  # a hit: the tokens are intact


# --- not configured --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["cache", "warm"],
        ["cache", "stats"],
        ["cache", "flush", "--yes"],
        ["cache", "verify"],
        ["templates", "invalidate", "--all"],
        ["templates", "invalidate", "--type", "user"],
    ],
    ids=" ".join,
)
def test_every_cache_command_exits_69_without_redis_url(
    cli: CliRun, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`templates invalidate` needs the cache as the cache commands do: the same exit
    (69), the same message naming Redis, the same hint."""
    monkeypatch.delenv("REDIS_URL")
    result = cli(*command)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Redis" in result.stderr
    assert "not configured" in result.stderr
    assert "set REDIS_URL, e.g. redis://127.0.0.1:6379/0" in result.stderr
    assert "Traceback" not in result.stderr
