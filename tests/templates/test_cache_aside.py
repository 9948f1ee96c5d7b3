"""The cache-aside read path of ``templates list`` and ``show`` against the real Redis:
warm reads come from the cache, and no read after a write returns the old version."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def cache(redis_env: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL, decode_responses=False)
    yield client
    client.close()


def _keys(client: redis.Redis, prefix: str) -> set[str]:
    return {bytes(k).decode().removeprefix(prefix) for k in client.scan_iter(match=prefix + "*")}


def _get(client: redis.Redis, key: str) -> bytes:
    value = client.get(key)
    assert isinstance(value, bytes), key
    return value


def _stats(client: redis.Redis, prefix: str, source_type: str) -> dict[str, int]:
    raw = client.hgetall(f"{prefix}pumpflix:stats:{source_type}")
    return {str(k, "utf-8") if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}


def test_a_list_fills_the_index_and_the_next_list_is_a_hit(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    seed(cli, tmp_path / "u", "A", "B")
    first = list_json(cli, "--type", "user")
    assert "pumpflix:index:user" in _keys(cache, prefix)
    second = list_json(cli, "--type", "user")
    assert first == second
    assert _stats(cache, prefix, "user")["hits"] == 1
    assert cache.ttl(f"{prefix}pumpflix:index:user") <= 3600


def test_the_index_never_holds_an_id_twice(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    seed(cli, tmp_path / "u", "A")
    for text in ("one", "two", "three"):
        list_json(cli)
        write(tmp_path / "u", "0.json", workflow("A", text=text))
        import_json(cli, str(tmp_path / "u"))
    list_json(cli)
    raw = _get(cache, f"{prefix}pumpflix:index:user")
    ids = [item["id"] for item in json.loads(raw.partition(b"\n")[2])]  # after the header
    assert len(ids) == len(set(ids)) == 1


def test_after_an_import_returns_no_read_gives_the_old_version(
    cli: CliRun, tmp_path: Path, cache: redis.Redis
) -> None:
    seed(cli, tmp_path / "u", "A")
    assert list_json(cli)[0]["version"] == 1
    assert show_json(cli, "A")["version"] == 1  # both now cached
    write(tmp_path / "u", "0.json", workflow("A", text="changed"))
    import_json(cli, str(tmp_path / "u"))
    assert list_json(cli)[0]["version"] == 2
    assert show_json(cli, "A")["version"] == 2


def test_a_new_template_shows_in_a_cached_list(
    cli: CliRun, tmp_path: Path, cache: redis.Redis
) -> None:
    seed(cli, tmp_path / "u", "A")
    list_json(cli)
    write(tmp_path / "more", "b.json", workflow("B"))
    import_json(cli, str(tmp_path / "more"))
    assert [t["name"] for t in list_json(cli)] == ["A", "B"]


def test_a_deleted_template_leaves_the_cache(
    cli: CliRun, tmp_path: Path, cache: redis.Redis
) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    list_json(cli)
    show_json(cli, "A")
    assert cli("templates", "delete", "A", "--yes").exit_code == 0
    assert [t["name"] for t in list_json(cli)] == ["B"]
    assert cli("templates", "show", "A").exit_code == ExitCode.NOT_FOUND


def test_show_reads_the_entry_from_the_cache(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    seed(cli, tmp_path / "u", "A")
    first = show_json(cli, "A")
    assert f"template:{first['id']}" in _keys(cache, prefix)
    assert show_json(cli, first["id"]) == first
    assert show_json(cli, "A", "--no-cache") == first


def test_no_cache_bypasses_redis(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    seed(cli, tmp_path / "u", "A")
    list_json(cli, "--no-cache")
    assert cache.get(f"{prefix}pumpflix:index:user") is None  # never filled


def test_invalidate_drops_the_cached_copies(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    seed(cli, tmp_path / "u", "A", "B")
    list_json(cli)
    entry = show_json(cli, "A")
    result = cli("templates", "invalidate", "--all", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["invalidated"] == 2
    entry_key = f"{prefix}template:{entry['id']}"
    assert cache.get(entry_key) is None  # the platform's next read goes to the database
    assert cache.get("{" + entry_key + "}:meta") is None
    assert cache.get("{" + entry_key + "}:rev")  # the guard stays, raised
    assert cache.get(f"{prefix}templates:user") is None  # so is the platform's list
    assert cache.get(f"{prefix}pumpflix:index:user") is None
    assert cache.get("{" + f"{prefix}pumpflix:index:user" + "}:rev")  # guarded like the rest
    assert _stats(cache, prefix, "user")["invalidations"] == 2
    assert len(list_json(cli)) == 2


def test_cached_values_are_encrypted_with_a_cache_key(
    cli: CliRun, tmp_path: Path, cache: redis.Redis, redis_env: dict[str, str]
) -> None:
    from cryptography.fernet import Fernet

    prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
    key = {"PUMPFLIX_CACHE_KEY": Fernet.generate_key().decode()}
    seed(cli, tmp_path / "u", "Secret plans")
    result = cli("templates", "list", "--json", env=key)
    assert "Secret plans" in result.stdout
    assert b"Secret plans" not in _get(cache, f"{prefix}pumpflix:index:user")
    again = cli("templates", "list", "--json", env=key)
    assert again.stdout == result.stdout


def test_a_value_that_does_not_decrypt_is_a_miss_and_one_warning(
    cli: CliRun, tmp_path: Path, cache: redis.Redis
) -> None:
    from cryptography.fernet import Fernet

    seed(cli, tmp_path / "u", "A")
    cli("templates", "list", "--json", env={"PUMPFLIX_CACHE_KEY": Fernet.generate_key().decode()})
    rotated = cli(
        "templates", "list", "--json", env={"PUMPFLIX_CACHE_KEY": Fernet.generate_key().decode()}
    )
    assert rotated.exit_code == 0
    assert [t["name"] for t in json.loads(rotated.stdout)] == ["A"]
    assert rotated.stderr.count("warning:") == 1
    assert "does not decrypt" in rotated.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_down_falls_back_to_the_database_with_one_warning(
    cli: CliRun, tmp_path: Path
) -> None:
    seed(cli, tmp_path / "u", "A")
    down = {"REDIS_URL": f"redis://:pw-not-shown@127.0.0.1:{_closed_port()}/0"}
    result = cli("templates", "list", "--json", env=down)
    assert result.exit_code == 0
    assert [t["name"] for t in json.loads(result.stdout)] == ["A"]
    assert result.stderr.count("warning:") == 1
    assert "Redis" in result.stderr
    assert "pw-not-shown" not in result.stderr
    shown = cli("templates", "show", "A", "--json", env=down)
    assert shown.exit_code == 0
