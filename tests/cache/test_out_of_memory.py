"""A Redis out of memory (``maxmemory`` with ``noeviction``) refuses every write that may
grow its memory — ``SET``, the bump scripts' ``SET``, ``HINCRBY`` — and still serves
reads and ``DEL``/``UNLINK``. A write whose invalidation is refused there must not leave
the old version readable: the keys are deleted instead; when Redis refuses even that, the
command says so and exits 6 (README, Exit codes). Every test runs on a private
``redis-server`` of its own, brought to its limit for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json
from tests.redis_servers import (
    RedisServer,
    admin_client,
    exhaust,
    refuse_every_write,
    relieve,
    running,
)

PREFIX = "pumpflix-oom:"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with running(tmp_path / "redis") as private:
        yield private


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    with admin_client(server) as client:
        yield client


@pytest.fixture
def on_server(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", PREFIX)
    return server


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
