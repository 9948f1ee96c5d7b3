"""The template library: cache-aside reads (SPEC §5), resolving references, invalidation
and deletion. Import and export live in their own modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from pumpflix_cli.errors import (
    CacheStaleError,
    ConflictError,
    NotFoundError,
    PumpflixError,
    cache_not_configured,
)
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord
from pumpflix_cli.references import match_reference, parse_reference
from pumpflix_cli.references import single as single_reference
from pumpflix_cli.text import plural

if TYPE_CHECKING:
    from pumpflix_cli.cache.index import Index
    from pumpflix_cli.cache.templates import TemplateCache
    from pumpflix_cli.db.engine import Database


def sort_key(record: TemplateRecord) -> tuple[str, str, str]:
    """One order for every path (Python's, not the database collation's)."""
    return (record.name, record.source_type, record.id)


def match_ref(ref: str, records: Iterable[TemplateRecord]) -> list[TemplateRecord]:
    """What ``ref`` names among ``records`` (a warm cache's lists): the same rule, and so
    the same templates, as the database lookup ``TemplateStore.resolve``."""
    return match_reference(parse_reference(ref), records, name_of=lambda r: r.name)


def single(ref: str, candidates: Sequence[TemplateRecord]) -> TemplateRecord:
    """The one template, or the error naming the candidates in one order whichever path
    (cache or database) found them."""
    ordered = sorted(candidates, key=sort_key)
    return single_reference("template", ref, ordered, describe_template)


def describe_template(record: TemplateRecord) -> str:
    return f"{record.source_type} '{record.name}'"


_DELETE_BATCH = 5000  # ids per DELETE statement


Matcher = Callable[[str, "str | None"], bool]


def _matcher(search: str | None) -> Matcher | None:
    """``--search``: the text in the name or the description, in any case (Python's
    ``lower()``, the same on every path)."""
    if not search:
        return None
    needle = search.lower()
    return lambda name, description: needle in name.lower() or needle in (description or "").lower()


def _pick(
    records: Iterable[TemplateRecord], matches: Matcher | None, limit: int | None
) -> list[TemplateRecord]:
    """The first ``limit`` of ``records`` (in order) that match; only as many are taken
    from the iterable as that needs."""
    chosen = records if matches is None else (r for r in records if matches(r.name, r.description))
    return list(islice(chosen, limit))


def _index_records(
    index: Index, matches: Matcher | None = None, limit: int | None = None
) -> list[TemplateRecord] | None:
    """An index's summaries that match, at most ``limit`` (decoding only that far); None
    on a miss, or for a value not in its layout (refilled)."""
    if not index.hit:
        return None
    try:
        if limit is None:
            return _pick(index.records(), matches, None)
        return _pick(index.iter_records(), matches, limit)
    except (ValueError, KeyError, TypeError):
        return None


class TemplatesInUseError(ConflictError):
    """A delete refused because instances use some of the templates (count by id)."""

    def __init__(self, message: str, in_use: Mapping[str, int]) -> None:
        super().__init__(message)
        self.in_use = dict(in_use)


class TemplateLibrary:
    """Reads through the cache when there is one; every write invalidates what it touched.

    ``database`` is a factory so that a warm-cache read never loads the database layer.
    ``stale`` hears of a committed write whose invalidation could not be applied (the
    command then ends with that error, once it has reported what it did).
    """

    def __init__(
        self,
        database: Callable[[], Database],
        cache: TemplateCache | None,
        warn: Callable[[str], None],
        stale: Callable[[CacheStaleError], None] = lambda _error: None,
    ) -> None:
        self._database = database
        self.cache = cache
        self._warn = warn
        self._stale = stale

    # --- cache plumbing ----------------------------------------------------------------

    def _cache_failed(self, exc: PumpflixError) -> None:
        """Redis down or slow: warn once and go on with the database."""
        self._warn(f"{exc.message}; reading from the database")
        self.cache = None

    def invalidate_cache(self, ids_by_type: Mapping[str, Sequence[str]]) -> None:
        """After a committed write: bump and delete the entries it affected and the lists
        of their types, so neither the platform nor pumpflix reads an old copy. When Redis
        cannot be made to (down, or refusing even ``DEL``), the write stands and the
        command is told, to end with exit 6 after its report."""
        if self.cache is None or not ids_by_type:
            return
        try:
            self.cache.invalidate(ids_by_type)
        except PumpflixError as exc:
            self._warn(f"{exc.message}; the cache may still serve the old version")
            self._stale(
                CacheStaleError(
                    "the change is in the database, but the cache could not be "
                    "invalidated and may serve the old version",
                    hint="once Redis accepts writes again, run: pumpflix cache flush",
                )
            )
            self.cache = None

    # --- reading -----------------------------------------------------------------------

    def list_templates(
        self,
        types: Sequence[str],
        *,
        search: str | None = None,
        limit: int | None = None,
        use_cache: bool = True,
    ) -> list[TemplateRecord]:
        """The templates of ``types`` in listing order (``sort_key``), those whose name or
        description contains ``search`` (any case), at most ``limit`` of them.

        A type whose index is cached is read from it (only as far as ``limit`` needs).
        The others come from the database: all of them when the cache wants its index
        filled, else only what is asked for, the limit and the order in the SQL query."""
        matches = _matcher(search)
        cached: dict[str, list[TemplateRecord]] = {}
        revisions: dict[str, int] = {}
        if self.cache is not None and use_cache:
            try:
                for source_type, index in self.cache.read_indexes(types).items():
                    records = _index_records(index, matches, limit)
                    if records is not None:
                        cached[source_type] = records
                    elif limit is None:  # a limited read does not pay for the whole fill
                        revisions[source_type] = index.rev
            except PumpflixError as exc:
                self._cache_failed(exc)
        picked: list[TemplateRecord] = []
        missing = [t for t in types if t not in cached]
        if missing:
            from pumpflix_cli.db.templates import TemplateStore

            whole = [t for t in missing if t in revisions]
            asked = [t for t in missing if t not in revisions]
            with self._database().session() as session:
                store = TemplateStore(session)
                fresh = store.summaries(whole) if whole else []
                picked = store.summaries(asked, matches=matches, limit=limit) if asked else []
            by_type: dict[str, list[TemplateRecord]] = {t: [] for t in whole}
            for record in fresh:
                by_type[record.source_type].append(record)
            for records in by_type.values():
                records.sort(key=sort_key)
            self._fill_indexes({t: (revisions[t], by_type[t]) for t in whole})
            for source_type, records in by_type.items():
                cached[source_type] = _pick(records, matches, limit)
        merged = [record for records in cached.values() for record in records] + picked
        merged.sort(key=sort_key)
        return merged[:limit] if limit is not None else merged

    def _fill_indexes(self, items: Mapping[str, tuple[int, Sequence[TemplateRecord]]]) -> None:
        if self.cache is None or not items:
            return
        try:
            self.cache.fill_indexes(items)
        except PumpflixError as exc:
            self._cache_failed(exc)

    def resolve(self, ref: str, *, use_cache: bool = True) -> TemplateRecord:
        """The one template ``ref`` names (id, unique id prefix, exact name)."""
        if self.cache is not None and use_cache:
            try:
                indexes = self.cache.read_indexes(list(SOURCE_TYPES))
            except PumpflixError as exc:
                self._cache_failed(exc)
            else:
                found = [_index_records(index) for index in indexes.values()]
                if all(records is not None for records in found):
                    everything = [r for records in found for r in records or []]
                    return single(ref, match_ref(ref, everything))
        from pumpflix_cli.db.templates import TemplateStore

        with self._database().session() as session:
            return single(ref, TemplateStore(session).resolve(ref))

    def show(self, ref: str, *, use_cache: bool = True) -> TemplateRecord:
        """One template with its n8n JSON and version history."""
        summary = self.resolve(ref, use_cache=use_cache)
        rev = 0
        if self.cache is not None and use_cache:
            try:
                state = self.cache.read_entry(summary.id)
            except PumpflixError as exc:
                self._cache_failed(exc)
            else:
                record = state.record
                if record is not None:
                    return record
                rev = state.rev
                self.cache.count({summary.source_type: "misses"})
        from pumpflix_cli.db.templates import TemplateStore

        with self._database().session() as session:
            found = TemplateStore(session).get(summary.id)
        if found is None:  # deleted between resolve and read
            raise NotFoundError(f"template {summary.id} no longer exists")
        if self.cache is not None and use_cache:
            try:
                self.cache.fill_entries([(rev, found)])
            except PumpflixError as exc:
                self._cache_failed(exc)
        return found

    def resolve_many(self, refs: Sequence[str]) -> list[TemplateRecord]:
        seen: dict[str, TemplateRecord] = {}
        for ref in refs:
            record = self.resolve(ref, use_cache=False)
            seen.setdefault(record.id, record)
        return list(seen.values())

    # --- writing -----------------------------------------------------------------------

    def invalidate(self, records: Sequence[TemplateRecord], types: Sequence[str]) -> int:
        """Drop cached copies: of ``records``, and of every template of ``types``; exit 69
        (like the cache commands) when there is no cache."""
        if self.cache is None:
            raise cache_not_configured()
        ids_by_type: dict[str, list[str]] = {t: [] for t in types}
        for record in records:
            ids_by_type.setdefault(record.source_type, []).append(record.id)
        if types:
            from pumpflix_cli.db.templates import TemplateStore

            with self._database().session() as session:
                for record in TemplateStore(session).summaries(types):
                    ids_by_type[record.source_type].append(record.id)
        self.cache.invalidate(ids_by_type)
        return sum(len(set(ids)) for ids in ids_by_type.values())

    def delete(self, records: Sequence[TemplateRecord], *, force: bool) -> list[TemplateRecord]:
        """Delete templates; refused (exit 4) while instances use them, unless ``force``."""
        from pumpflix_cli.db.templates import TemplateStore

        ids = [r.id for r in records]
        # Bounded statements: a whole type can be 100,000s of ids, past SQLite's variables.
        parts = [ids[i : i + _DELETE_BATCH] for i in range(0, len(ids), _DELETE_BATCH)]
        with self._database().session() as session:
            store = TemplateStore(session)
            in_use = {k: v for part in parts for k, v in store.instance_counts(part).items()}
            if in_use and not force:
                names = ", ".join(
                    f"'{r.name}' ({plural(in_use[r.id], 'instance')})"
                    for r in records
                    if r.id in in_use
                )
                raise TemplatesInUseError(f"instances use {names}", in_use)
            for part in parts:
                store.delete(part)
        ids_by_type: dict[str, list[str]] = {}
        for record in records:
            ids_by_type.setdefault(record.source_type, []).append(record.id)
        self.invalidate_cache(ids_by_type)
        return list(records)
