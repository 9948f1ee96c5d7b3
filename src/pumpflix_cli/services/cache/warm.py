"""``cache warm``: every template of some types, and their lists, from the database into
Redis, safe while others read and write (SPEC §5) and fast (SPEC §8).

Safety: the revision of every key the warm will write is observed *before* the database
snapshots it reads are taken, and each value is written with a compare-and-set on that
revision. A write that commits after a snapshot bumps its keys after that observation,
so the warm's older copy is refused (or, if the warm got there first, deleted by the
bump before the write returns). Several warms at once, from several hosts, only repeat
each other's work.

Speed: the ids are split into ranges read by a few threads, each in its own snapshot
(any snapshot taken after the observation will do), while the calling thread writes the
batches they produce to Redis: the database's work and Redis's overlap.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pumpflix_cli.cache.values import js_iso, meta_value, platform_value
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import TemplateRecord, camel_json
from pumpflix_cli.services.templates.library import sort_key

if TYPE_CHECKING:
    from pumpflix_cli.cache.templates import TemplateCache
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.template_reader import IdRange

# Templates per database fetch and per Redis pipeline.
CHUNK = 500
# Threads reading PostgreSQL (its JSON-to-text work is per connection; past two, they
# mostly wait for each other's Python); SQLite's transactions are serial, so one.
READERS = 2
# Batches read ahead of Redis: bounds memory whatever the template count.
AHEAD = 4

# (observed revision, record, platform value, meta): one compare-and-set.
Entry = tuple[int, TemplateRecord, bytes, bytes]
Item = list[Entry] | BaseException | None


@dataclass
class WarmReport:
    warmed: int
    by_type: dict[str, int]
    seconds: float
    skipped: int = 0  # changed by a concurrent write while warming: the next read loads them
    indexes: int = 0

    exit_code = ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=("warmed", "by_type", "seconds", "skipped"))


def warm(
    database: Database,
    cache: TemplateCache,
    types: Sequence[str],
    progress: Callable[[int], None] = lambda _n: None,
) -> WarmReport:
    """Observe every key, then read the database and fill the keys still unchanged."""
    from pumpflix_cli.db.template_reader import BulkTemplateReader, split_ids

    started = time.perf_counter()
    with database.session() as session:
        ids = BulkTemplateReader(session).ids(types)
    list_revs = dict(zip(types, cache.observe_lists(types), strict=True))
    index_revs = dict(zip(types, cache.observe_indexes(types), strict=True))
    id_list = [i for i, _ in ids]
    entry_revs = dict(zip(id_list, cache.observe_entries(id_list), strict=True))

    report = WarmReport(0, {t: 0 for t in types}, 0.0)
    incomplete: set[str] = set()  # types with a template not filled: their list is not
    readers = 1 if database.dialect == "sqlite" or len(ids) < 2 * CHUNK else READERS
    reading = _Readers(database, cache, types, entry_revs, split_ids(list(entry_revs), readers))
    with contextlib.closing(reading.batches()) as batches:
        for batch in batches:
            for (_, record, _, _), landed in zip(batch, cache.fill(batch), strict=True):
                if landed:
                    report.warmed += 1
                    report.by_type[record.source_type] += 1
                else:  # a write bumped the key since it was observed
                    report.skipped += 1
                    incomplete.add(record.source_type)
            progress(len(batch))
    report.skipped += reading.unobserved
    incomplete |= reading.unobserved_types
    summaries: dict[str, list[TemplateRecord]] = {t: [] for t in types}
    for found in reading.summaries:
        for record in found:
            summaries[record.source_type].append(record)
    newest_first = {
        t: [r.id for r in sorted(records, key=_created, reverse=True)]
        for t, records in summaries.items()
    }
    for records in summaries.values():
        records.sort(key=sort_key)
    # A list naming a template whose entry is not there would make the platform serve a
    # list without it: a type with one skipped template keeps its list for the next warm.
    cache.fill_lists({t: (list_revs[t], newest_first[t]) for t in types if t not in incomplete})
    report.indexes = cache.fill_indexes({t: (index_revs[t], summaries[t]) for t in types})
    report.seconds = round(time.perf_counter() - started, 3)
    cache.record_warm(
        {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "types": list(types),
        }
        | report.to_json()
    )
    return report


def _created(record: TemplateRecord) -> tuple[str, str]:
    """The platform's order: ``createdAt`` descending (ties by id)."""
    return (js_iso(record.created_at) or "", record.id)


class _CancelledError(Exception):
    """The consumer of the batches gave up (Redis failed): stop reading."""


class _Readers:
    """Threads that read id ranges in snapshots of their own, taken after the revisions
    were observed, and hand over batches ready to fill."""

    def __init__(
        self,
        database: Database,
        cache: TemplateCache,
        types: Sequence[str],
        revisions: Mapping[str, int],
        ranges: Sequence[IdRange],
    ) -> None:
        self.database = database
        self.cache = cache
        self.types = list(types)
        self.revisions = revisions
        self.ranges = list(ranges)
        self.summaries: list[list[TemplateRecord]] = [[] for _ in ranges]
        self.unobserved = 0  # created after the ids were read: not observed, not filled
        self.unobserved_types: set[str] = set()
        self._queue: queue.Queue[Item] = queue.Queue(AHEAD)
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def batches(self) -> Generator[list[Entry], None, None]:
        threads = [
            threading.Thread(target=self._run, args=(n,), name=f"pumpflix-warm-{n}", daemon=True)
            for n in range(len(self.ranges))
        ]
        for thread in threads:
            thread.start()
        try:
            running = len(threads)
            while running:
                item = self._queue.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            self._cancelled.set()
            for thread in threads:
                thread.join()

    def _put(self, item: Item) -> None:
        while not self._cancelled.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _CancelledError

    def _run(self, part: int) -> None:
        try:
            self._read(part)
            self._put(None)
        except _CancelledError:
            return
        except BaseException as exc:  # handed to the consumer, raised there
            with contextlib.suppress(_CancelledError):
                self._put(exc)

    def _read(self, part: int) -> None:
        from pumpflix_cli.db.template_reader import BulkTemplateReader

        ids = self.ranges[part]
        summaries = self.summaries[part]
        batch: list[Entry] = []
        with self.database.session() as session:
            source = BulkTemplateReader(session)
            source.snapshot()  # taken by the first query, after the observation
            history = source.history(self.types, ids)
            for record, workflow_json in source.templates(self.types, ids, chunk=CHUNK):
                summaries.append(record)
                rev = self.revisions.get(record.id)
                if rev is None:
                    with self._lock:
                        self.unobserved += 1
                        self.unobserved_types.add(record.source_type)
                    continue
                versions = [v.to_json() for v in history.get(record.id, [])]
                value = platform_value(record, workflow_json)
                batch.append((rev, record, value, meta_value(record, versions)))
                if len(batch) >= CHUNK:
                    self._put(batch)
                    batch = []
        if batch:
            self._put(batch)
