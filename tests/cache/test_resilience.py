"""Redis down, restarted, slow or refusing us (SPEC §5, §9): reads stay right and fall
back to the database with one warning; ``cache`` commands exit 69 / 75 / 77 naming Redis.
Every test here uses a private ``redis-server`` (or a socket that never answers) on a free
port, never the machine's shared Redis."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pumpflix_cli.errors import PumpflixError
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json
from tests.redis_servers import RedisServer, SilentServer, running

pytestmark = pytest.mark.usefixtures("backend")

PASSWORD = "s3cret-pw-for-tests"
COMMANDS = [["warm"], ["stats"], ["flush", "--yes"], ["verify"]]


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, timeout: str = "0.5") -> None:
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", "pumpflix-private:")
    monkeypatch.setenv("PUMPFLIX_REDIS_TIMEOUT", timeout)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    with running(tmp_path / "redis", "--enable-debug-command", "local") as private:
        point_at(monkeypatch, private.url)
        yield private


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentServer]:
    hanging = SilentServer()
    point_at(monkeypatch, hanging.url, timeout="0.3")
    yield hanging
    hanging.close()


def seed_cold(cli: CliRun, folder: Path, *names: str) -> None:
    """Templates imported with no cache configured (an import while Redis does not answer
    is a write whose invalidation failed: exit 6, tested in test_out_of_memory.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("REDIS_URL")
        seed(cli, folder, *names)


def expect_one_redis_warning(stderr: str) -> None:
    assert stderr.count("warning:") == 1, stderr
    assert "Redis" in stderr


# --- down ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_cache_commands_exit_69_naming_redis_when_it_is_down(
    cli: CliRun, tmp_path: Path, server: RedisServer, command: list[str]
) -> None:
    seed(cli, tmp_path / "u", "A")
    server.stop()
    result = cli("cache", *command)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("error: Redis")
    assert "Traceback" not in result.stderr


def test_reads_fall_back_while_redis_is_down_and_recover_after(
    cli: CliRun, tmp_path: Path, server: RedisServer
) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    assert cli("cache", "warm", "-q").exit_code == 0
    cached = list_json(cli)
    server.stop()
    down = cli("templates", "list", "--json")
    assert down.exit_code == 0
    assert down.stdout == cli("templates", "list", "--json", "--no-cache").stdout
    assert [t["name"] for t in cached] == ["A", "B"]
    expect_one_redis_warning(down.stderr)
    shown = cli("templates", "show", "A", "--json")
    assert shown.exit_code == 0
    expect_one_redis_warning(shown.stderr)
    write(tmp_path / "u", "0.json", workflow("A", text="changed while Redis was down"))
    code, _ = import_json(cli, str(tmp_path / "u"))
    assert code == ExitCode.CACHE_STALE  # written, but nothing old could be dropped
    server.start()  # an empty Redis: nothing old survived
    assert show_json(cli, "A")["version"] == 2
    assert cli("cache", "warm", "-q").exit_code == 0
    assert show_json(cli, "A")["version"] == 2
    assert [t["version"] for t in list_json(cli)] == [2, 1]


def _read_forever(
    stop: threading.Event, answers: list[Any], failures: list[str], expected: Any
) -> None:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output

    while not stop.is_set():
        app = AppContext(Output(quiet=True, stderr=io.StringIO()))
        try:
            library = app.library()
            answer = [(r.name, r.version) for r in library.list_templates(["prebuilt", "user"])]
            shown = library.show("A")
            answers.append((answer, (shown.name, shown.version)))
            if answer != expected or (shown.name, shown.version) != expected[0]:
                failures.append(f"wrong answer {answer} / {shown.name} v{shown.version}")
        except Exception as exc:  # a read must never fail because of Redis
            failures.append(repr(exc))
        finally:
            app.close()


def _warm_forever(stop: threading.Event, outcomes: list[str]) -> None:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheService

    while not stop.is_set():
        app = AppContext(Output(quiet=True, stderr=io.StringIO()))
        try:
            cache = app.template_cache()
            assert cache is not None
            CacheService(app.database, cache).warm(["prebuilt", "user"])
            outcomes.append("ok")
        except PumpflixError as exc:
            outcomes.append(f"{int(exc.exit_code)} {exc.message}")
        finally:
            app.close()


def test_redis_stopped_mid_run_changes_no_read_s_answer(
    cli: CliRun, tmp_path: Path, server: RedisServer
) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    expected = [("A", 1), ("B", 1)]
    stop = threading.Event()
    answers: list[Any] = []
    failures: list[str] = []
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=_read_forever, args=(stop, answers, failures, expected)),
        threading.Thread(target=_warm_forever, args=(stop, outcomes)),
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            time.sleep(0.3)
            server.stop()
            time.sleep(0.3)
            server.start()
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert len(answers) > 3
    assert "ok" in outcomes
    assert all(o == "ok" or o.startswith("69 Redis") for o in outcomes), outcomes


# --- slow ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_cache_commands_exit_75_when_redis_does_not_answer(
    cli: CliRun, tmp_path: Path, silent: SilentServer, command: list[str]
) -> None:
    seed_cold(cli, tmp_path / "u", "A")
    result = cli("cache", *command)
    assert result.exit_code == ExitCode.TEMP_FAIL
    assert result.stderr.startswith("error: Redis: timed out")


def test_reads_fall_back_when_redis_does_not_answer(
    cli: CliRun, tmp_path: Path, silent: SilentServer
) -> None:
    seed_cold(cli, tmp_path / "u", "A", "B")
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0
    assert result.stdout == cli("templates", "list", "--json", "--no-cache").stdout
    expect_one_redis_warning(result.stderr)
    assert "timed out" in result.stderr
    shown = cli("templates", "show", "B", "--json")
    assert shown.exit_code == 0
    expect_one_redis_warning(shown.stderr)


def test_a_redis_stuck_in_a_slow_command_times_out(
    cli: CliRun, tmp_path: Path, server: RedisServer
) -> None:
    seed(cli, tmp_path / "u", "A")
    assert cli("cache", "warm", "-q").exit_code == 0
    blocker = threading.Thread(target=_sleep, args=(server, 3))
    blocker.start()
    probe = redis.Redis(
        host="127.0.0.1", port=server.port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    for _ in range(50):  # until the server is busy sleeping
        try:
            probe.ping()
        except redis.TimeoutError:
            break
        time.sleep(0.02)
    probe.close()
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0
    assert [t["name"] for t in json.loads(result.stdout)] == ["A"]
    expect_one_redis_warning(result.stderr)
    assert cli("cache", "stats").exit_code == ExitCode.TEMP_FAIL
    blocker.join(timeout=10)


def _sleep(server: RedisServer, seconds: int) -> None:
    """Keeps the server busy for ``seconds`` (a slow command, as a huge KEYS would)."""
    client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=seconds + 5)
    try:
        cast(Any, client).execute_command("DEBUG", "SLEEP", str(seconds))
    finally:
        client.close()


# --- restarted, reconfigured, refusing ---------------------------------------------------


def test_a_restarted_redis_gets_the_scripts_again(
    cli: CliRun, tmp_path: Path, server: RedisServer
) -> None:
    seed(cli, tmp_path / "u", "A")
    assert cli("cache", "warm", "-q").exit_code == 0
    client = server.client()
    client.script_flush()
    client.close()
    assert cli("templates", "invalidate", "A").exit_code == 0
    assert cli("cache", "warm", "-q").exit_code == 0
    assert list_json(cli)[0]["name"] == "A"


def test_a_wrong_password_exits_77_and_is_never_printed(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = RedisServer(tmp_path / "guarded", password=PASSWORD)
    guarded.start()
    try:
        seed(cli, tmp_path / "u", "A")
        point_at(monkeypatch, f"redis://:wrong-{PASSWORD}@127.0.0.1:{guarded.port}/0")
        refused = cli("cache", "stats")
        assert refused.exit_code == ExitCode.NO_PERM
        assert "credentials" in refused.stderr
        listed = cli("templates", "list", "--json")
        assert listed.exit_code == 0
        expect_one_redis_warning(listed.stderr)
        for output in (refused.stderr, listed.stderr):
            assert PASSWORD not in output
        point_at(monkeypatch, f"redis://:{PASSWORD}@127.0.0.1:{guarded.port}/0")
        assert cli("cache", "warm", "-q").exit_code == 0
        assert list_json(cli)[0]["name"] == "A"
    finally:
        guarded.stop()
