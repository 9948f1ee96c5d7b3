"""The cache's own operations (SPEC §5): warm it from the database (``warm``),
report its health, flush it, and verify it against the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.cache.guarded import side_key
from pumpflix_cli.errors import cache_not_configured
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import SOURCE_TYPES, camel_json

if TYPE_CHECKING:
    from pumpflix_cli.cache.templates import TemplateCache
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.services.cache.verify import VerifyReport
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
            raise cache_not_configured()
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
        """Compare what Redis holds with the database (``services/cache/verify.py``)."""
        from pumpflix_cli.services.cache.verify import Verifier

        return Verifier(self._database, self.cache).verify()
