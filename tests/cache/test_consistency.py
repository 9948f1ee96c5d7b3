"""The property that matters (SPEC §5): once a write has returned, no read gets the old
version from the cache, even while ``cache warm`` runs in other processes.

First the one interleaving that a naive warm gets wrong, forced step by step; then many
rounds of writes against real processes (warm loops calling the service, a loop of the
installed ``pumpflix cache warm`` script, reader processes) on PostgreSQL and the real
Redis."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.db.template_reader import BulkTemplateReader
from pumpflix_cli.records import SOURCE_TYPES
from tests.cache.test_commands import change_behind_the_back
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json

# The warm's database transaction stays open while it fills Redis; on SQLite that
# transaction holds the write lock, so a write cannot land inside it. PostgreSQL it is.
pytestmark = [
    pytest.mark.usefixtures("backend", "redis_env"),
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

PUMPFLIX = str(Path(sys.executable).with_name("pumpflix"))
NAMES = ("Alpha", "Bravo", "Charlie")
ROUNDS = 45


def service() -> Any:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheService

    app = AppContext(Output(quiet=True))
    cache = app.template_cache()
    assert cache is not None
    return CacheService(app.database, cache)


def new_version(cli: CliRun, folder: Path, name: str, text: str) -> None:
    write(folder, "next.json", workflow(name, text=text))
    code, report = import_json(cli, str(folder / "next.json"))
    assert code == 0 and report["updated"] == 1, report


# --- one interleaving, forced ---------------------------------------------------------


@pytest.fixture
def write_after_the_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Runs the callables put in the list once the warm has read every row from the
    database and before it fills the last batch into Redis."""
    steps: list[Any] = []
    original = BulkTemplateReader.templates

    def templates_then_write(self: BulkTemplateReader, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from original(self, *args, **kwargs)
        for step in steps:
            step()

    monkeypatch.setattr(BulkTemplateReader, "templates", templates_then_write)
    yield steps


def test_a_warm_never_writes_back_what_it_read_before_an_import(
    cli: CliRun, tmp_path: Path, write_after_the_read: list[Any]
) -> None:
    seed(cli, tmp_path / "u", "Alpha")
    write_after_the_read.append(lambda: new_version(cli, tmp_path / "w", "Alpha", "v2"))
    report = service().warm(list(SOURCE_TYPES))
    assert report.skipped == 1  # its copy of Alpha (v1) was refused
    assert report.warmed == 0
    assert show_json(cli, "Alpha")["version"] == 2
    assert list_json(cli)[0]["version"] == 2


def test_a_warm_never_writes_back_what_it_read_before_an_invalidation(
    cli: CliRun, tmp_path: Path, write_after_the_read: list[Any]
) -> None:
    seed(cli, tmp_path / "u", "Alpha")
    template_id = list_json(cli, "--no-cache")[0]["id"]

    def change_then_invalidate() -> None:
        change_behind_the_back(template_id, description="changed in SQL", version=9)
        assert cli("templates", "invalidate", template_id).exit_code == 0

    write_after_the_read.append(change_then_invalidate)
    service().warm(list(SOURCE_TYPES))
    shown = show_json(cli, "Alpha")
    assert (shown["version"], shown["description"]) == (9, "changed in SQL")
    assert list_json(cli)[0]["description"] == "changed in SQL"


def test_a_warm_that_overlaps_nothing_fills_everything(cli: CliRun, tmp_path: Path) -> None:
    seed(cli, tmp_path / "u", *NAMES)
    report = service().warm(list(SOURCE_TYPES))
    assert (report.warmed, report.skipped, report.indexes) == (3, 0, 2)


def test_a_warm_split_over_readers_loads_everything(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pumpflix_cli.services.cache.warm as cache_warm

    monkeypatch.setattr(cache_warm, "CHUNK", 2)  # two readers, batches of two
    names = [f"Template {i}" for i in range(9)]
    seed(cli, tmp_path / "u", *names)
    report = service().warm(list(SOURCE_TYPES))
    assert (report.warmed, report.skipped) == (9, 0)
    assert [t["name"] for t in list_json(cli)] == names
    verified = json.loads(cli("cache", "verify", "--json").stdout)
    assert (verified["consistent"], verified["cached"]) == (True, 9)


def test_id_ranges_cover_every_id_once() -> None:
    import uuid

    from pumpflix_cli.db.template_reader import ALL_IDS, split_ids

    ids = [str(uuid.uuid4()) for _ in range(101)]
    ranges = split_ids(ids, 3)
    assert ranges[0][0] == ALL_IDS[0] and ranges[-1][1] == ALL_IDS[1]
    for (_, high), (low, _) in itertools.pairwise(ranges):
        assert low == high  # half-open and contiguous: nothing created meanwhile falls between
    counts = [sum(1 for i in ids if low <= i < high) for low, high in ranges]
    assert sum(counts) == 101 and max(counts) - min(counts) <= 1
    assert split_ids(ids, 1) == [ALL_IDS]


# --- many rounds, real processes ---------------------------------------------------------


def warm_loop(env: Mapping[str, str], stop: Any, warms: Any, errors: Any) -> None:
    os.environ.update(env)
    try:
        warm = service()
        while not stop.is_set():
            warm.warm(list(SOURCE_TYPES))
            with warms.get_lock():
                warms.value += 1
    except Exception as exc:
        errors.put(f"warm: {exc!r}")


def read_loop(
    env: Mapping[str, str],
    stop: Any,
    names: Sequence[str],
    floors: Any,
    reads: Any,
    errors: Any,
) -> None:
    """Reads as fast as it can; each answer must be at least the version whose write had
    returned when the read began."""
    os.environ.update(env)
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output

    app = AppContext(Output(quiet=True))
    library = app.library()
    library._warn = lambda message: errors.put(f"reader warned: {message}")
    rng = random.Random()
    try:
        while not stop.is_set():
            floor = list(floors)
            for record in library.list_templates(["user"]):
                index = names.index(record.name)
                if record.version < floor[index]:
                    errors.put(f"list gave {record.name} v{record.version} < v{floor[index]}")
            index = rng.randrange(len(names))
            floor = list(floors)
            shown = library.show(names[index])
            if shown.version < floor[index]:
                errors.put(f"show gave {shown.name} v{shown.version} < v{floor[index]}")
            with reads.get_lock():
                reads.value += 1
    except Exception as exc:
        errors.put(f"reader: {exc!r}")


def round_of(n8n_json: str) -> int:
    """Which round's import wrote this workflow (-1: the seed's)."""
    found = re.search(r"round (\d+)", n8n_json)
    return int(found.group(1)) if found else -1


def platform_read_loop(
    env: Mapping[str, str],
    stop: Any,
    ids: Mapping[str, str],
    floors: Any,
    writes: Any,
    reads: Any,
    errors: Any,
) -> None:
    """A reader following the platform's logic (PLATFORM.md) on redis-py: ``getTemplates``
    reads ``templates:user`` and its entries and uses them when it finds one; the single
    read uses ``template:<id>`` when present. (Its database fallback, and the platform's
    unguarded write-back that comes with it, are left out: they read the database.) Every
    value it takes from the cache must be at least the round whose import had returned
    when the read began, and a list it takes from the cache must hold every template
    unless a write was under way meanwhile (``writes`` is odd while one runs)."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    prefix = env["PUMPFLIX_CACHE_PREFIX"]
    names = list(ids)
    try:
        while not stop.is_set():
            floor = list(floors)
            before = writes.value
            raw_ids = client.lrange(f"{prefix}templates:user", 0, -1)
            listed = [i.decode() if isinstance(i, bytes) else i for i in raw_ids]
            values = [client.get(f"{prefix}template:{i}") for i in listed]
            found = [json.loads(v) for v in values if v is not None]
            quiet = before % 2 == 0 and writes.value == before
            if found and quiet and sorted(t["name"] for t in found) != sorted(names):
                errors.put(f"platform list lacks templates: {[t['name'] for t in found]}")
            for template in found:
                index = names.index(template["name"])
                if round_of(template["n8nJson"]) < floor[index]:
                    errors.put(f"platform list gave an old {template['name']}")
            for index, name in enumerate(names):
                floor = list(floors)
                raw = client.get(f"{prefix}template:{ids[name]}")
                if raw is not None and round_of(json.loads(raw)["n8nJson"]) < floor[index]:
                    errors.put(f"platform read gave an old {name}")
            with reads.get_lock():
                reads.value += 1
    except Exception as exc:
        errors.put(f"platform reader: {exc!r}")


def cli_warm_loop(env: Mapping[str, str], stop: threading.Event, codes: list[int]) -> None:
    while not stop.is_set():
        result = subprocess.run(
            [PUMPFLIX, "cache", "warm", "--quiet"], env=dict(env), capture_output=True, check=False
        )
        codes.append(result.returncode)


def test_no_read_after_a_write_returns_the_old_version_while_warms_run(
    cli: CliRun, tmp_path: Path, redis_env: dict[str, str]
) -> None:
    seed(cli, tmp_path / "u", *NAMES)
    env = {k: v for k, v in os.environ.items()}
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    warms = context.Value("i", 0)
    reads = context.Value("i", 0)
    floors = context.Array("i", [1] * len(NAMES))
    rounds = context.Array("i", [-1] * len(NAMES))  # the platform's floor: the last import
    platform_reads = context.Value("i", 0)
    writes = context.Value("i", 0)  # odd while a write runs
    errors = context.Queue()
    ids = {t["name"]: t["id"] for t in list_json(cli, "--no-cache")}
    workers = [context.Process(target=warm_loop, args=(env, stop, warms, errors)) for _ in (1, 2)]
    workers += [
        context.Process(target=read_loop, args=(env, stop, NAMES, floors, reads, errors))
        for _ in (1, 2)
    ]
    workers.append(
        context.Process(
            target=platform_read_loop, args=(env, stop, ids, rounds, writes, platform_reads, errors)
        )
    )
    cli_stop = threading.Event()
    cli_codes: list[int] = []
    cli_thread = threading.Thread(target=cli_warm_loop, args=(env, cli_stop, cli_codes))
    for worker in workers:
        worker.start()
    cli_thread.start()
    versions = dict.fromkeys(NAMES, 1)
    try:
        for round_ in range(ROUNDS):
            name = NAMES[round_ % len(NAMES)]
            writes.value += 1
            if round_ % 5 == 4:  # a change behind our back, then `templates invalidate`
                versions[name] += 1
                change_behind_the_back(ids[name], version=versions[name])
                assert cli("templates", "invalidate", name).exit_code == 0
            else:
                new_version(cli, tmp_path / "w", name, f"round {round_}")
                versions[name] += 1
                rounds[NAMES.index(name)] = round_
            floors[NAMES.index(name)] = versions[name]
            writes.value += 1
            # the write has returned: from now on, nobody may read an older version
            assert show_json(cli, name)["version"] == versions[name], round_
            listed = {t["name"]: t["version"] for t in list_json(cli)}
            assert listed == versions, round_
    finally:
        stop.set()
        cli_stop.set()
        for worker in workers:
            worker.join(timeout=60)
        cli_thread.join(timeout=60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert all(worker.exitcode == 0 for worker in workers)
    assert set(cli_codes) <= {0} and cli_codes
    assert warms.value > ROUNDS  # the warms really overlapped the writes
    assert reads.value > ROUNDS
    assert platform_reads.value > ROUNDS
    stats = json.loads(cli("cache", "stats", "--json").stdout)
    assert stats["byType"]["user"]["hits"] > 0
    assert json.loads(cli("cache", "verify", "--json").stdout)["consistent"] is True
