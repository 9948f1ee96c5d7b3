"""The template cache (SPEC §5, PLATFORM.md): the platform's own keys, ``template:<id>``
(its ``JSON.stringify`` of the row) and ``templates:<type>`` (a list of ids, newest
first), guarded by side keys in their slots (``cache/guarded.py``); beside them
pumpflix's own: ``{template:<id>}:meta`` (version, hash, history), and under
``pumpflix:`` the summary index of each type (so a warm ``templates list`` is one round
trip), the hit, miss and invalidation counters, and ``warm:last``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.cache.codec import UndecryptableError
from pumpflix_cli.cache.guarded import GuardedKeys, guard_parts, side_key, token_digest
from pumpflix_cli.cache.index import Index, index_payload
from pumpflix_cli.cache.store import RevisionedStore
from pumpflix_cli.cache.template_admin import CacheKeyspace, KeyState
from pumpflix_cli.cache.values import (
    full_record,
    meta_value,
    parse_meta,
    parse_value,
    platform_value,
    summary_record,
    workflow_text,
)
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.redact import scrub

__all__ = ["EntryState", "KeyState", "TemplateCache"]


@dataclass(frozen=True)
class EntryState:
    """What ``template:<id>`` and its side keys held: the guarding revision, the
    platform's value when it was a readable one for this id, pumpflix's meta if any."""

    key: str
    rev: int
    value: dict[str, Any] | None
    meta: dict[str, Any] | None
    unreadable: bool = False

    @property
    def record(self) -> TemplateRecord | None:
        """The full template (a hit for ``templates show``): value and meta."""
        if self.value is None or self.meta is None:
            return None
        return full_record(self.value, self.meta)

    @property
    def summary(self) -> TemplateRecord | None:
        return None if self.value is None else summary_record(self.value, self.meta)


class TemplateCache(CacheKeyspace):
    def __init__(self, store: RevisionedStore, prefix: str, ttls: Mapping[str, int]) -> None:
        super().__init__(store, prefix)
        self.guarded = GuardedKeys(store)
        self.ttls = dict(ttls)

    # --- reading ---------------------------------------------------------------------

    def read_indexes(self, types: Sequence[str]) -> dict[str, Index]:
        """The cached index of each type, in one round trip (each index with its guard,
        one ``MGET`` in its slot) that also counts a hit per type and reads the length of
        the platform's list of each type; each miss (absent, invalidated, undecryptable,
        bound elsewhere) is corrected afterwards and comes with a revision to fill.

        An index is a miss too when the platform's list of its type exists and names
        another number of templates: the platform's own writes (its invalidation's
        ``LREM``, a template it created and cached) are outside pumpflix's guard, and this
        is how pumpflix sees them."""
        keys = [self.index_key(t) for t in types]

        def build(pipe: Any) -> None:
            for key in keys:
                pipe.execute_command("MGET", key, side_key(key))
            for source_type in types:
                pipe.hincrby(self.stats_key(source_type), "hits", 1)
            for source_type in types:
                pipe.llen(self.list_key(source_type))

        replies = self.store.run(build, raise_on_error=False)
        read, lengths = replies[: len(types)], replies[2 * len(types) :]
        self.store.raise_first_error(read)  # the counters' failures do not matter
        found: dict[str, Index] = {}
        for source_type, key, (raw, guard), length in zip(types, keys, read, lengths, strict=True):
            index = self.decode_index(key, raw, guard, warn=True)
            listed = length if isinstance(length, int) else 0
            if index.hit and listed and listed != index.count:
                index = Index(key, index.rev)  # the platform changed its list
            found[source_type] = index
        missed = [t for t in types if not found[t].hit]
        if missed:
            self.recount(missed)
            unguarded = [t for t in missed if found[t].rev == 0]
            revs = self.guarded.observe([self.index_key(t) for t in unguarded])
            for source_type, rev in zip(unguarded, revs, strict=True):
                found[source_type] = Index(found[source_type].key, rev)
        return found

    def entries(self, ids: Sequence[str], *, warn: bool = False) -> list[EntryState]:
        """Each entry with its side keys (one ``MGET`` in the entry's slot), no side
        effects."""
        keys = [self.entry_key(i) for i in ids]

        def queue(pipe: Any, key: str) -> None:
            pipe.execute_command("MGET", key, side_key(key), side_key(key, "meta"))

        replies = self._batched(keys, queue)
        return [
            self._entry_state(template_id, key, reply, warn=warn)
            for template_id, key, reply in zip(ids, keys, replies, strict=True)
        ]

    def _entry_state(
        self, template_id: str, key: str, reply: Sequence[Any], *, warn: bool
    ) -> EntryState:
        raw, guard, meta_raw = reply
        rev, digest = guard_parts(guard)
        meta = parse_meta(meta_raw)
        if raw is None:
            return EntryState(key, rev, None, meta)
        raw = bytes(raw)
        try:
            plain = self.store.codec.decode(raw)
        except UndecryptableError as exc:
            if warn:
                self.store.warn_undecryptable(exc)
            return EntryState(key, rev, None, meta, unreadable=True)
        stamped = token_digest(raw)
        # A token its guard does not vouch for (replayed, or copied from another entry),
        # or one whose JSON is another template's (copied with its guard): a miss.
        value = parse_value(plain, template_id) if not stamped or stamped == digest else None
        if value is None and stamped and warn:
            self.store.warn_misplaced(key)
        return EntryState(key, rev, value, meta, unreadable=value is None)

    def read_entry(self, template_id: str) -> EntryState:
        """The entry for ``templates show``; a miss comes with a revision to fill."""
        (state,) = self.entries([template_id], warn=True)
        record = state.record
        if record is not None:
            self.count({record.source_type: "hits"})
            return state
        if state.rev == 0:
            (rev,) = self.guarded.observe([state.key])
            state = EntryState(state.key, rev, state.value, state.meta, state.unreadable)
        return state

    def recount(self, types: Sequence[str]) -> None:
        """Turn the hits counted ahead for ``types`` into misses."""
        self._counters([(t, "hits", -1) for t in types] + [(t, "misses", 1) for t in types])

    def count(self, fields: Mapping[str, str], amount: int = 1) -> None:
        """Bump ``stats:<type>`` counters; lost counts matter less than the read itself."""
        self._counters([(source_type, name, amount) for source_type, name in fields.items()])

    def _counters(self, changes: Sequence[tuple[str, str, int]]) -> None:
        if not changes:
            return
        pipe = self.client.pipeline(transaction=False)
        for source_type, name, amount in changes:
            pipe.hincrby(self.stats_key(source_type), name, amount)
        try:
            pipe.execute()
        except Exception:
            return

    # --- writing back (read-through and warm) ------------------------------------------

    def fill_indexes(self, items: Mapping[str, tuple[int, Sequence[TemplateRecord]]]) -> int:
        """Compare-and-set each type's index (summaries in listing order)."""
        encode = self.store.codec.encode
        return sum(
            self.guarded.fill_entries(
                [
                    (key, rev, encode(index_payload(key, records)), b"", self.ttls[t])
                    for t, (rev, records) in items.items()
                    for key in [self.index_key(t)]
                ]
            )
        )

    def fill_entries(self, items: Iterable[tuple[int, TemplateRecord]]) -> int:
        """Compare-and-set full records (with workflow and history), read-through."""
        return sum(
            self.fill(
                [
                    (
                        rev,
                        record,
                        platform_value(record, record.workflow_json or workflow_text(record)),
                        meta_value(record),
                    )
                    for rev, record in items
                ]
            )
        )

    def fill(self, items: Sequence[tuple[int, TemplateRecord, bytes, bytes]]) -> list[bool]:
        """Compare-and-set ``(revision, record, platform value, meta)``; which landed."""
        encode = self.store.codec.encode
        return self.guarded.fill_entries(
            [
                (self.entry_key(r.id), rev, encode(value), meta, self.ttls[r.source_type])
                for rev, r, value, meta in items
            ]
        )

    def fill_lists(self, items: Mapping[str, tuple[int, Sequence[str]]]) -> int:
        """Compare-and-set each type's list of ids (newest first)."""
        return sum(
            self.guarded.fill_lists(
                [(self.list_key(t), rev, ids, self.ttls[t]) for t, (rev, ids) in items.items()]
            )
        )

    def observe_entries(self, ids: Sequence[str]) -> list[int]:
        return self.guarded.observe([self.entry_key(i) for i in ids])

    def observe_lists(self, types: Sequence[str]) -> list[int]:
        return self.guarded.observe([self.list_key(t) for t in types])

    def observe_indexes(self, types: Sequence[str]) -> list[int]:
        return self.guarded.observe([self.index_key(t) for t in types])

    # --- invalidation (every write) ---------------------------------------------------

    def invalidate(self, ids_by_type: Mapping[str, Sequence[str]]) -> None:
        """After a committed write: bump and delete the entries it affected with their
        meta, the platform's list of each type it touched (so the platform's next read
        rebuilds it from the database) and pumpflix's summary index of that type.

        A Redis out of memory (``maxmemory`` with ``noeviction``) refuses the bumps'
        ``SET``: those keys are deleted instead, side keys included, which no reader can
        fill again until it observes a new revision. When even that fails this raises,
        and the caller must say that the cache may serve the old version."""
        groups: list[tuple[str, Sequence[str], int]] = []
        for source_type, ids in ids_by_type.items():
            ttl = self.ttls[source_type]
            groups.extend((self.entry_key(i), [self.meta_key(i)], ttl) for i in ids)
        for source_type in ids_by_type:
            ttl = self.ttls[source_type]
            groups += [
                (self.list_key(source_type), [], ttl),
                (self.index_key(source_type), [], ttl),
            ]
        refused = self.guarded.bump(groups)
        if refused:
            self.delete([key for keys, _ in refused for key in keys])
            reason = scrub(str(refused[0][1])).partition(". script:")[0].rstrip(".")
            self.store.warn(
                f"Redis refused to replace the changed templates' cache keys ({reason}): "
                "they were deleted instead"
            )
        for source_type, ids in ids_by_type.items():
            if ids:
                self.count({source_type: "invalidations"}, len(ids))
