"""Encrypted values bound to their key and revision (README, Security: Cache encryption),
attacked on the real Redis as issue 12's attacker did: a value copied from another key
(with or without its side key) and a value replayed from an older revision are misses
with one warning, refilled from the database — for the platform's entries, pumpflix's
indexes and the platform's lists alike."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json

pytestmark = pytest.mark.usefixtures("backend", "redis_env")


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_BASE_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_env: dict[str, str]) -> str:
    return redis_env["PUMPFLIX_CACHE_PREFIX"]


@pytest.fixture
def encrypted(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("PUMPFLIX_CACHE_KEY", key)
    return key


@pytest.fixture
def warm(cli: CliRun, tmp_path: Path, encrypted: str) -> dict[str, str]:
    """Two templates of each type, warm and encrypted; name -> id."""
    seed(cli, tmp_path / "u", "Alpha", "Beta")
    seed(cli, tmp_path / "p", "Daily report", "Weekly report", source_type="prebuilt")
    assert cli("cache", "warm", "-q").exit_code == 0
    return {t["name"]: t["id"] for t in list_json(cli, "--no-cache")}


def side(key: str) -> str:
    return "{" + key + "}:rev"


def copy(client: redis.Redis, source: str, target: str, *, with_guard: bool = False) -> None:
    value = client.get(source)
    assert isinstance(value, bytes) and value.startswith(b"gAAAAA"), source
    client.set(target, value, keepttl=True)
    if with_guard:
        guard = client.get(side(source))
        assert isinstance(guard, bytes)
        client.set(side(target), guard, keepttl=True)


def one_binding_warning(stderr: str) -> None:
    assert stderr.count("warning:") == 1, stderr
    assert "bound to another key or an older revision" in stderr, stderr


# --- the platform's entries -----------------------------------------------------------


@pytest.mark.parametrize("with_guard", [False, True], ids=["value", "value and guard"])
def test_an_entry_copied_from_another_template_is_not_served_as_it(
    cli: CliRun, raw: redis.Redis, prefix: str, warm: dict[str, str], with_guard: bool
) -> None:
    alpha, beta = warm["Alpha"], warm["Beta"]
    copy(raw, f"{prefix}template:{beta}", f"{prefix}template:{alpha}", with_guard=with_guard)
    result = cli("templates", "show", alpha, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == show_json(cli, alpha, "--no-cache")
    one_binding_warning(result.stderr)
    again = cli("templates", "show", alpha, "--json")  # refilled: a quiet hit
    assert (json.loads(again.stdout)["name"], again.stderr) == ("Alpha", "")


def test_an_entry_replayed_from_an_older_version_is_not_served(
    cli: CliRun, tmp_path: Path, raw: redis.Redis, prefix: str, warm: dict[str, str]
) -> None:
    key = f"{prefix}template:{warm['Alpha']}"
    version_one = raw.get(key)
    assert isinstance(version_one, bytes)
    write(tmp_path / "u", "0.json", workflow("Alpha", text="two"))
    assert import_json(cli, str(tmp_path / "u"))[0] == 0
    assert show_json(cli, "Alpha")["version"] == 2  # cached again, at version 2
    raw.set(key, version_one, keepttl=True)
    result = cli("templates", "show", "Alpha", "--json")
    assert json.loads(result.stdout)["version"] == 2
    one_binding_warning(result.stderr)
    assert cli("templates", "show", "Alpha", "--json").stderr == ""


# --- pumpflix's indexes ---------------------------------------------------------------


@pytest.mark.parametrize("with_guard", [False, True], ids=["value", "value and guard"])
def test_an_index_copied_from_another_type_is_not_served_as_it(
    cli: CliRun, raw: redis.Redis, prefix: str, warm: dict[str, str], with_guard: bool
) -> None:
    """Two templates of each type: the lists' lengths agree, only the binding tells."""
    index = f"{prefix}pumpflix:index:"
    copy(raw, index + "user", index + "prebuilt", with_guard=with_guard)
    result = cli("templates", "list", "--type", "prebuilt", "--json")
    assert [t["name"] for t in json.loads(result.stdout)] == ["Daily report", "Weekly report"]
    one_binding_warning(result.stderr)
    assert cli("templates", "list", "--type", "prebuilt", "--json").stderr == ""


def test_an_index_replayed_from_an_older_version_is_not_served(
    cli: CliRun, tmp_path: Path, raw: redis.Redis, prefix: str, warm: dict[str, str]
) -> None:
    key = f"{prefix}pumpflix:index:user"
    version_one = raw.get(key)
    assert isinstance(version_one, bytes)
    write(tmp_path / "u", "0.json", workflow("Alpha", text="two"))
    assert import_json(cli, str(tmp_path / "u"))[0] == 0
    assert list_json(cli, "--type", "user")[0]["version"] == 2  # cached again
    raw.set(key, version_one, keepttl=True)
    result = cli("templates", "list", "--type", "user", "--json")
    assert [t["version"] for t in json.loads(result.stdout)] == [2, 1]
    one_binding_warning(result.stderr)
    assert cli("templates", "list", "--type", "user", "--json").stderr == ""


# --- the platform's lists (ids, plain: the platform reads them with LRANGE) ------------


def test_a_list_copied_from_another_type_is_not_served_and_verify_finds_it(
    cli: CliRun, raw: redis.Redis, prefix: str, warm: dict[str, str]
) -> None:
    lists = f"{prefix}templates:"
    raw.delete(lists + "prebuilt")
    raw.rpush(lists + "prebuilt", *raw.lrange(lists + "user", 0, -1))
    names = [t["name"] for t in list_json(cli, "--type", "prebuilt")]
    assert names == ["Daily report", "Weekly report"]
    report = json.loads(cli("cache", "verify", "--json").stdout)
    assert report["consistent"] is False
    wrong = {(f["key"], f["id"]) for f in report["stale"]}
    assert {(lists + "prebuilt", warm["Alpha"]), (lists + "prebuilt", warm["Beta"])} <= wrong


def test_a_list_replayed_from_before_a_new_template_is_not_served(
    cli: CliRun, tmp_path: Path, raw: redis.Redis, prefix: str, warm: dict[str, str]
) -> None:
    key = f"{prefix}templates:user"
    before = raw.lrange(key, 0, -1)
    write(tmp_path / "u", "2.json", workflow("Gamma", text="new"))
    assert import_json(cli, str(tmp_path / "u"))[0] == 0
    assert cli("cache", "warm", "-q").exit_code == 0
    raw.delete(key)
    raw.rpush(key, *before)
    assert [t["name"] for t in list_json(cli, "--type", "user")] == ["Alpha", "Beta", "Gamma"]
    result = cli("cache", "verify", "--json")
    assert result.exit_code == ExitCode.FAILURE
    assert any(f["key"] == key for f in json.loads(result.stdout)["stale"])


# --- the class: any cached value copied over any other ---------------------------------


def _truth() -> tuple[dict[str, Any], dict[str, list[str]]]:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output

    app = AppContext(Output(quiet=True, stderr=io.StringIO()))
    try:
        library = app.library()
        shown = {r.id: library.show(r.id, use_cache=False).to_json() for r in _all(library, False)}
        listed = {
            t: [r.name for r in library.list_templates([t], use_cache=False)]
            for t in ("prebuilt", "user")
        }
        return shown, listed
    finally:
        app.close()


def _all(library: Any, use_cache: bool) -> list[Any]:
    return list(library.list_templates(["prebuilt", "user"], use_cache=use_cache))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_value_copied_over_another_is_ever_served_for_it(
    data: st.DataObject, raw: redis.Redis, prefix: str, warm: dict[str, str]
) -> None:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheService

    keys = [f"{prefix}template:{i}" for i in sorted(warm.values())]
    keys += [f"{prefix}pumpflix:index:{t}" for t in ("prebuilt", "user")]
    source = data.draw(st.sampled_from(keys))
    target = data.draw(st.sampled_from([k for k in keys if k != source]))
    with_guard = data.draw(st.booleans())
    shown, listed = _truth()
    app = AppContext(Output(quiet=True, stderr=io.StringIO()))
    try:
        CacheService(app.database, app.template_cache()).warm(["prebuilt", "user"])  # type: ignore[arg-type]
        copy(raw, source, target, with_guard=with_guard)
        library = app.library()
        for source_type in ("prebuilt", "user"):
            names = [r.name for r in library.list_templates([source_type])]
            assert names == listed[source_type], (source, target, with_guard)
        for template_id, expected in shown.items():
            assert library.show(template_id).to_json() == expected, (source, target)
    finally:
        app.close()


def test_an_index_left_by_an_older_pumpflix_is_refilled_quietly(
    cli: CliRun, raw: redis.Redis, prefix: str, warm: dict[str, str], encrypted: str
) -> None:
    """Before the index had a guard it held ``r<rev>:<token>``: after an upgrade that is a
    miss without a warning (neither tampered nor misplaced), and is replaced."""
    key = f"{prefix}pumpflix:index:user"
    token = Fernet(encrypted.encode()).encrypt(b'[{"id": "x"}]')
    raw.set(key, b"r1700000000000000:" + token, ex=60)
    raw.delete(side(key))
    result = cli("templates", "list", "--type", "user", "--json")
    assert [t["name"] for t in json.loads(result.stdout)] == ["Alpha", "Beta"]
    assert result.stderr == ""
    value = raw.get(key)
    assert isinstance(value, bytes) and value.startswith(b"gAAAAA")
