"""The template cache (SPEC §5): ``template:<id>`` holds one template with its JSON and
history, ``templates:<type>`` the ordered summaries of a type's templates, so a warm
``templates list`` is one round trip. Hit, miss and invalidation counters live in
``stats:<type>`` for ``cache stats``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pumpflix_cli.cache.store import Cached, RevisionedStore
from pumpflix_cli.records import TemplateRecord


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class TemplateCache:
    def __init__(self, store: RevisionedStore, prefix: str, ttls: Mapping[str, int]) -> None:
        self.store = store
        self.prefix = prefix
        self.ttls = dict(ttls)

    def index_key(self, source_type: str) -> str:
        return f"{self.prefix}templates:{source_type}"

    def entry_key(self, template_id: str) -> str:
        return f"{self.prefix}template:{template_id}"

    def stats_key(self, source_type: str) -> str:
        return f"{self.prefix}stats:{source_type}"

    # --- reading ---------------------------------------------------------------------

    def read_indexes(self, types: Sequence[str]) -> dict[str, tuple[Cached, list[TemplateRecord]]]:
        """The cached summaries of each type, counting a hit or a miss per type in the same
        round trip (a decrypt failure is corrected to a miss afterwards)."""
        found: dict[str, tuple[Cached, list[TemplateRecord]]] = {}
        cached = self.store.get_many([self.index_key(t) for t in types])
        for source_type, value in zip(types, cached, strict=True):
            records = (
                [TemplateRecord.from_json(item) for item in json.loads(value.payload)]
                if value.payload is not None
                else []
            )
            found[source_type] = (value, records)
        self.count({t: ("hits" if found[t][0].hit else "misses") for t in types})
        return found

    def read_entry(self, template_id: str) -> tuple[Cached, TemplateRecord | None]:
        (value,) = self.store.get_many([self.entry_key(template_id)])
        if value.payload is None:
            return value, None
        record = TemplateRecord.from_json(json.loads(value.payload))
        self.count({record.source_type: "hits"})
        return value, record

    def count(self, fields: Mapping[str, str], amount: int = 1) -> None:
        """Bump ``stats:<type>`` counters; lost counts matter less than the read itself."""
        if not fields:
            return
        pipe = self.store.client.pipeline(transaction=False)
        for source_type, name in fields.items():
            pipe.hincrby(self.stats_key(source_type), name, amount)
        try:
            pipe.execute()
        except Exception:
            return

    # --- writing back (read-through and warm) ------------------------------------------

    def fill_indexes(self, items: Mapping[str, tuple[int, Sequence[TemplateRecord]]]) -> int:
        return self.store.fill_many(
            (self.index_key(t), rev, dumps([r.summary_json() for r in records]), self.ttls[t])
            for t, (rev, records) in items.items()
        )

    def fill_entries(self, items: Iterable[tuple[int, TemplateRecord]]) -> int:
        return self.store.fill_many(
            (self.entry_key(record.id), rev, dumps(record.to_json()), self.ttls[record.source_type])
            for rev, record in items
        )

    # --- invalidation (every write) ---------------------------------------------------

    def invalidate(self, ids_by_type: Mapping[str, Sequence[str]]) -> None:
        """Tombstone the entries a write affected and the index of each type it touched
        (a type may map to no ids: its index changed all the same)."""
        bumps: list[tuple[str, int]] = []
        for source_type, ids in ids_by_type.items():
            ttl = self.ttls[source_type]
            bumps.extend((self.entry_key(i), ttl) for i in ids)
            bumps.append((self.index_key(source_type), ttl))
        self.store.bump_many(bumps)
        for source_type, ids in ids_by_type.items():
            if ids:
                self.count({source_type: "invalidations"}, len(ids))
