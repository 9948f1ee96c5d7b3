"""The template cache (SPEC §5): ``template:<id>`` holds one template with its JSON and
history, ``templates:<type>`` the ordered summaries of a type's templates, so a warm
``templates list`` is one round trip. Hit, miss and invalidation counters live in
``stats:<type>`` for ``cache stats``; ``warm:last`` says when the cache was last warmed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.cache.client import translate_errors
from pumpflix_cli.cache.codec import UndecryptableError
from pumpflix_cli.cache.store import Cached, RevisionedStore, split
from pumpflix_cli.records import TemplateRecord

# Keys per pipeline when scanning, inspecting or deleting many keys.
BATCH = 500


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def entry_payload(summary: Mapping[str, Any], workflow_json: str, history: Sequence[Any]) -> bytes:
    """An entry's JSON (what ``TemplateRecord.to_json`` gives) built around the workflow's
    JSON text as the database returned it, so a warm never parses and re-encodes it."""
    head = dumps(summary)
    return b"".join(
        (head[:-1], b',"n8nJson":', workflow_json.encode(), b',"history":', dumps(history), b"}")
    )


def _records(payload: bytes) -> list[TemplateRecord]:
    # Summaries hold no nested objects: each object is a record, built as it is parsed.
    records = json.loads(payload, object_hook=TemplateRecord.from_json)
    if not isinstance(records, list):
        raise TypeError("an index is a JSON array")
    return records


@dataclass(frozen=True)
class KeyState:
    """What an administrative read found under one key, without side effects: ``kind`` is
    ``value``, ``tombstone`` (a write invalidated it, or a reader holds its place),
    ``unreadable`` (does not decrypt, or not our layout) or ``absent``."""

    key: str
    kind: str
    rev: int
    records: list[TemplateRecord] | None = None  # one for an entry, a type's for an index


class TemplateCache:
    def __init__(self, store: RevisionedStore, prefix: str, ttls: Mapping[str, int]) -> None:
        self.store = store
        self.prefix = prefix
        self.ttls = dict(ttls)

    @property
    def client(self) -> Any:
        return self.store.client

    def index_key(self, source_type: str) -> str:
        return f"{self.prefix}templates:{source_type}"

    def entry_key(self, template_id: str) -> str:
        return f"{self.prefix}template:{template_id}"

    def stats_key(self, source_type: str) -> str:
        return f"{self.prefix}stats:{source_type}"

    @property
    def warm_key(self) -> str:
        return f"{self.prefix}warm:last"

    def entry_id(self, key: str) -> str | None:
        """The template id of an entry key, None for any other key."""
        head = f"{self.prefix}template:"
        return key[len(head) :] if key.startswith(head) else None

    # --- reading ---------------------------------------------------------------------

    def read_indexes(self, types: Sequence[str]) -> dict[str, tuple[Cached, list[TemplateRecord]]]:
        """The cached summaries of each type, in one round trip that also counts a hit per
        type; each miss (absent, invalidated, undecryptable) is corrected afterwards."""

        def count_hits(pipe: Any) -> None:
            for source_type in types:
                pipe.hincrby(self.stats_key(source_type), "hits", 1)

        values = self.store.get_many([self.index_key(t) for t in types], extra=count_hits)
        found: dict[str, tuple[Cached, list[TemplateRecord]]] = {}
        for source_type, value in zip(types, values, strict=True):
            records: list[TemplateRecord] = []
            if value.payload is not None:
                try:
                    records = _records(value.payload)
                except (ValueError, KeyError, TypeError):  # not our layout: refill it
                    value = Cached(value.rev, None)
            found[source_type] = (value, records)
        missed = [t for t in types if not found[t][0].hit]
        if missed:
            self.recount(missed)
        return found

    def read_entry(self, template_id: str) -> tuple[Cached, TemplateRecord | None]:
        (value,) = self.store.get_many([self.entry_key(template_id)])
        if value.payload is None:
            return value, None
        try:
            record = TemplateRecord.from_json(json.loads(value.payload))
        except (ValueError, KeyError, TypeError):
            return Cached(value.rev, None), None
        self.count({record.source_type: "hits"})
        return value, record

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

    def index_payload(self, records: Iterable[TemplateRecord]) -> bytes:
        return b"[" + b",".join(dumps(r.summary_json()) for r in records) + b"]"

    def fill_indexes(self, items: Mapping[str, tuple[int, Sequence[TemplateRecord]]]) -> int:
        return self.store.fill_many(
            (self.index_key(t), rev, self.index_payload(records), self.ttls[t])
            for t, (rev, records) in items.items()
        )

    def fill_entries(self, items: Iterable[tuple[int, TemplateRecord]]) -> int:
        return self.store.fill_many(
            (self.entry_key(record.id), rev, dumps(record.to_json()), self.ttls[record.source_type])
            for rev, record in items
        )

    def observe(self, keys: Sequence[tuple[str, str]]) -> list[int]:
        """The revision of each ``(key, source type)`` (placeholders for absent keys), to
        be observed before the database is read."""
        return self.store.observe_many([(key, self.ttls[t]) for key, t in keys])

    def fill(self, items: Iterable[tuple[str, int, bytes, str]]) -> list[bool]:
        """Compare-and-set ``(key, observed revision, payload, source type)``; which landed."""
        return self.store.fill_each(
            (key, rev, payload, self.ttls[t]) for key, rev, payload, t in items
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

    # --- administration (cache stats, flush, verify) ----------------------------------

    def scan(self, pattern: str = "*") -> Iterator[str]:
        """Our keys matching ``pattern`` after the prefix; every node of a Cluster."""
        with translate_errors(self.store.url):
            for key in self.client.scan_iter(match=self.prefix + pattern, count=1000):
                yield key.decode() if isinstance(key, bytes) else str(key)

    def _batched(
        self, keys: Sequence[str], queue: Callable[[Any, str], Any], *, strict: bool = True
    ) -> list[Any]:
        """One command per key, ``BATCH`` keys per round trip; unless ``strict``, a command
        that fails (a key of another type) gives None."""
        replies: list[Any] = []
        for start in range(0, len(keys), BATCH):
            part = keys[start : start + BATCH]

            def build(pipe: Any, part: Sequence[str] = part) -> None:
                for key in part:
                    queue(pipe, key)

            found = self.store.run(build, raise_on_error=strict)
            replies.extend(None if isinstance(r, Exception) else r for r in found)
        return replies

    def get_raw(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._batched(keys, lambda pipe, key: pipe.get(key), strict=False)

    def states(self, keys: Sequence[str], *, index: bool = False) -> list[KeyState]:
        """Decode entries (or, with ``index``, indexes) without counting or warning."""
        found = []
        for key, raw in zip(keys, self.get_raw(keys), strict=True):
            kind, rev, body = split(raw)
            if raw is None:
                found.append(KeyState(key, "absent", 0))
            elif kind == "t":
                found.append(KeyState(key, "tombstone", rev))
            elif kind != "r":
                found.append(KeyState(key, "unreadable", rev))
            else:
                try:
                    plain = self.store.codec.decode(body)
                    records = (
                        _records(plain) if index else [TemplateRecord.from_json(json.loads(plain))]
                    )
                except (UndecryptableError, ValueError, KeyError, TypeError):
                    found.append(KeyState(key, "unreadable", rev))
                else:
                    found.append(KeyState(key, "value", rev, records))
        return found

    def heads(self, keys: Sequence[str]) -> list[tuple[str, int]]:
        """``(kind, revision)`` of each key without moving its payload."""
        raw = self._batched(keys, lambda pipe, key: pipe.getrange(key, 0, 24), strict=False)
        return [split(bytes(value) if value else None)[:2] for value in raw]

    def memory(self, keys: Sequence[str]) -> list[int]:
        """Bytes each key uses (``MEMORY USAGE``); 0 for a key gone meanwhile."""
        raw = self._batched(keys, lambda pipe, key: pipe.memory_usage(key, samples=0))
        return [int(value or 0) for value in raw]

    def ttls_of(self, keys: Sequence[str]) -> list[int]:
        return [int(v) for v in self._batched(keys, lambda pipe, key: pipe.ttl(key))]

    def delete(self, keys: Sequence[str]) -> int:
        """UNLINK one key per command: keys spread over slots on a Cluster."""
        return sum(int(n) for n in self._batched(keys, lambda pipe, key: pipe.unlink(key)))

    def counters(self, types: Sequence[str]) -> dict[str, dict[str, int]]:
        replies = self._batched([self.stats_key(t) for t in types], lambda p, k: p.hgetall(k))
        return {
            t: {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}
            for t, raw in zip(types, replies, strict=True)
        }

    def record_warm(self, info: Mapping[str, Any]) -> None:
        with translate_errors(self.store.url):
            self.client.set(self.warm_key, dumps(dict(info)))

    def last_warm(self) -> dict[str, Any] | None:
        with translate_errors(self.store.url):
            raw = self.client.get(self.warm_key)
        if not raw:
            return None
        try:
            info = json.loads(raw)
        except ValueError:
            return None
        return info if isinstance(info, dict) else None
