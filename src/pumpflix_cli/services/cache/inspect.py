"""The cache's own operations (SPEC §5): warm it from the database (``warm``),
report its health, flush it, and verify it against the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pumpflix_cli.cache.guarded import side_key
from pumpflix_cli.cache.templates import EntryState, KeyState
from pumpflix_cli.errors import ServiceUnavailableError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord, camel_json

if TYPE_CHECKING:
    from pumpflix_cli.cache.templates import TemplateCache
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.services.cache.warm import WarmReport


# The JSON's keys in order: the ratio (computed) sits after the counts it comes from.
TYPE_STATS_FIELDS = (
    "hits",
    "misses",
    "hit_ratio",
    "invalidations",
    "entries",
    "keys",
    "bytes",
    "index_cached",
    "index_ttl",
)


@dataclass
class TypeStats:
    hits: int = 0
    misses: int = 0
    invalidations: int = 0
    entries: int = 0  # cached templates of this type
    keys: int = 0  # entries, the index and the counters
    bytes: int = 0
    index_cached: bool = False
    index_ttl: int | None = None  # seconds left, None when there is no index

    @property
    def hit_ratio(self) -> float | None:
        reads = self.hits + self.misses
        return round(self.hits / reads, 4) if reads else None

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=TYPE_STATS_FIELDS)


@dataclass
class CacheStats:
    by_type: dict[str, TypeStats]
    keys: int
    bytes: int
    tombstones: int
    unreadable: int
    last_warm: dict[str, Any] | None

    exit_code = ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        by_type = {t: s.to_json() for t, s in self.by_type.items()}
        return {"byType": by_type} | camel_json(self, skip=("by_type",))


@dataclass(frozen=True)
class Finding:
    key: str
    id: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return camel_json(self)


@dataclass
class VerifyReport:
    checked: int = 0  # templates in the database
    cached: int = 0  # entries holding a value
    stale: list[Finding] = field(default_factory=list)
    orphaned: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # not cached: a cold key, not an error
    unreadable: int = 0
    indexes: dict[str, str] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return not self.stale and not self.orphaned

    @property
    def exit_code(self) -> ExitCode:
        """1 when a cached entry or list is stale or orphaned; a cold key is not wrong."""
        return ExitCode.OK if self.consistent else ExitCode.FAILURE

    def to_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent} | camel_json(self)


# What a platform value without pumpflix's meta cannot tell (the platform wrote it).
META_FIELDS = ("version", "contentHash", "createdAt", "updatedAt")


def _differences(
    cached: TemplateRecord, current: TemplateRecord, *, with_meta: bool = True
) -> list[str]:
    a, b = cached.summary_json(), current.summary_json()
    if not with_meta:
        a["description"] = a.get("description") or None
        b["description"] = b.get("description") or None
    skip = () if with_meta else META_FIELDS
    return [name for name in b if name not in skip and a.get(name) != b[name]]


def _describe(cached: TemplateRecord, current: TemplateRecord, fields: list[str]) -> str:
    if "version" in fields:
        return f"version {cached.version} cached, {current.version} in the database"
    return "differs in " + ", ".join(fields)


class CacheService:
    """``database`` is a factory, as for the template library: stats and flush never load
    the database layer."""

    def __init__(self, database: Callable[[], Database], cache: TemplateCache) -> None:
        self._database = database
        self.cache = cache

    @classmethod
    def of(cls, database: Callable[[], Database], cache: TemplateCache | None) -> CacheService:
        """The cache's operations, or the error saying that there is no cache to operate on."""
        if cache is None:
            raise ServiceUnavailableError(
                "Redis",
                "the cache is not configured (REDIS_URL is not set)",
                hint="set REDIS_URL, e.g. redis://127.0.0.1:6379/0",
            )
        return cls(database, cache)

    # --- warm ------------------------------------------------------------------------

    def warm(
        self, types: Sequence[str], *, progress: Callable[[int], None] = lambda _n: None
    ) -> WarmReport:
        """Load every template of ``types`` and their indexes into Redis."""
        from pumpflix_cli.services.cache.warm import warm

        return warm(self._database(), self.cache, types, progress)

    # --- stats -----------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Entries (the platform's keys: theirs or ours alike), pumpflix's indexes and
        counters, by type; side keys count as keys and bytes of the whole cache."""
        cache = self.cache
        types = list(SOURCE_TYPES)
        keys = cache.our_keys()
        memory = dict(zip(keys, cache.memory(keys), strict=True))
        by_type = {t: TypeStats() for t in types}
        tombstones = unreadable = 0
        for state in cache.entries(cache.entry_ids()):
            summary = state.summary
            if summary is not None and summary.source_type in by_type:
                stats = by_type[summary.source_type]
                stats.entries += 1
                stats.keys += 1
                stats.bytes += memory.get(state.key, 0)
            elif state.unreadable:
                unreadable += 1
        index_states = dict(zip(types, cache.index_states(types), strict=True))
        index_keys = [cache.index_key(t) for t in types]
        index_ttls = dict(zip(index_keys, cache.ttls_of(index_keys), strict=True))
        counters = cache.counters(types)
        for source_type, stats in by_type.items():
            found = counters.get(source_type, {})
            stats.hits = max(0, found.get("hits", 0))
            stats.misses = found.get("misses", 0)
            stats.invalidations = found.get("invalidations", 0)
            index = index_states[source_type]
            tombstones += index.kind == "tombstone"
            stats.index_cached = index.kind == "value"
            stats.index_ttl = index_ttls[index.key] if stats.index_cached else None
            for key in (cache.list_key(source_type), cache.stats_key(source_type), index.key):
                if key in memory and (key != index.key or stats.index_cached):
                    stats.keys += 1
                    stats.bytes += memory[key]
        return CacheStats(
            by_type=by_type,
            keys=len(keys),
            bytes=sum(memory.values()),
            tombstones=tombstones,
            unreadable=unreadable,
            last_warm=cache.last_warm(),
        )

    # --- flush -----------------------------------------------------------------------

    def flush(self, types: Sequence[str]) -> int:
        """Delete pumpflix's keys and the platform's template keys it finds: all of them,
        or those of ``types`` (entries of that type with their side keys, the type's list,
        index and counters). Safe against concurrent readers and warms: a fill needs the
        side key to still hold the revision it observed, and a new one is always higher."""
        cache = self.cache
        if set(types) >= set(SOURCE_TYPES):
            return cache.delete(cache.our_keys())
        doomed: list[str] = []
        for state in cache.entries(cache.entry_ids()):
            summary = state.summary
            if summary is not None and summary.source_type in types:
                doomed += [state.key, side_key(state.key), side_key(state.key, "meta")]
        for source_type in types:
            list_key = cache.list_key(source_type)
            doomed += [list_key, side_key(list_key)]
            doomed += [cache.index_key(source_type), cache.stats_key(source_type)]
        return cache.delete(doomed)

    # --- verify ----------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Compare what Redis holds with the database. Redis is read first, then the
        database; whatever disagrees is looked at once more, and dropped when its guard
        changed meanwhile (a write in flight bumps it; that is not an inconsistency)."""
        from pumpflix_cli.db.template_reader import BulkTemplateReader

        cache = self.cache
        types = list(SOURCE_TYPES)
        entries = cache.entries(cache.entry_ids())
        indexes = cache.index_states(types)
        lists = cache.lists(types)
        list_revs = dict(zip(types, cache.guards([cache.list_key(t) for t in types]), strict=True))
        with self._database().session() as session:
            current = BulkTemplateReader(session).summaries(types)

        report = VerifyReport(checked=len(current))
        seen: set[str] = set()
        for state in entries:
            template_id = cache.entry_id(state.key) or ""
            report.unreadable += state.unreadable
            cached = state.summary
            if cached is None:
                continue
            report.cached += 1
            seen.add(template_id)
            now = current.get(template_id)
            if now is None:
                report.orphaned.append(
                    Finding(state.key, template_id, "not in the database (deleted)")
                )
            elif fields := _differences(cached, now, with_meta=state.meta is not None):
                report.stale.append(Finding(state.key, template_id, _describe(cached, now, fields)))
        report.missing = sorted(i for i in current if i not in seen)
        for source_type, index in zip(types, indexes, strict=True):
            report.indexes[source_type] = self._check_index(source_type, index, current, report)
        for source_type, ids in lists.items():
            _check_list(cache.list_key(source_type), source_type, ids, current, report)
        self._recheck(entries, indexes, list_revs, report)
        return report

    def _check_index(
        self,
        source_type: str,
        state: KeyState,
        current: dict[str, TemplateRecord],
        report: VerifyReport,
    ) -> str:
        if state.kind != "value" or state.records is None:
            return "not cached" if state.kind != "unreadable" else "unreadable"
        key = state.key
        listed = {r.id: r for r in state.records}
        problems = len(report.stale) + len(report.orphaned)
        for template_id, cached in listed.items():
            now = current.get(template_id)
            if now is None:
                report.orphaned.append(Finding(key, template_id, "listed but not in the database"))
            elif fields := _differences(cached, now):
                report.stale.append(Finding(key, template_id, _describe(cached, now, fields)))
        for template_id, now in current.items():
            if now.source_type == source_type and template_id not in listed:
                report.stale.append(Finding(key, template_id, f"'{now.name}' is not listed"))
        return "ok" if problems == len(report.stale) + len(report.orphaned) else "inconsistent"

    def _recheck(
        self,
        entries: Sequence[EntryState],
        indexes: Sequence[KeyState],
        list_revs: dict[str, int],
        report: VerifyReport,
    ) -> None:
        """Drop the findings whose key's guard moved since it was read."""
        suspects = sorted({f.key for f in report.stale + report.orphaned})
        if not suspects:
            return
        cache = self.cache
        moved: set[str] = set()
        guarded = {s.key: s.rev for s in entries} | {
            cache.list_key(t): rev for t, rev in list_revs.items()
        }
        platform_keys = [k for k in suspects if k in guarded]
        for key, rev in zip(platform_keys, cache.guards(platform_keys), strict=True):
            if rev != guarded[key]:
                moved.add(key)
        own = {s.key: (s.kind, s.rev) for s in indexes}
        own_keys = [k for k in suspects if k in own]
        types = [t for t in SOURCE_TYPES if cache.index_key(t) in own_keys]
        for state in cache.index_states(types):
            if (state.kind, state.rev) != own[state.key]:
                moved.add(state.key)
        report.stale = [f for f in report.stale if f.key not in moved]
        report.orphaned = [f for f in report.orphaned if f.key not in moved]
        for source_type in report.indexes:
            if cache.index_key(source_type) in moved:
                report.indexes[source_type] = "changed while verifying"


def _check_list(
    key: str,
    source_type: str,
    ids: list[str] | None,
    current: dict[str, TemplateRecord],
    report: VerifyReport,
) -> None:
    """The platform's list of a type: every template of the type, and nothing else."""
    if ids is None:
        return
    listed = set(ids)
    for template_id in ids:
        if template_id not in current:
            report.orphaned.append(Finding(key, template_id, "listed but not in the database"))
    for template_id, now in current.items():
        if now.source_type == source_type and template_id not in listed:
            report.stale.append(Finding(key, template_id, f"'{now.name}' is not listed"))
