"""Where the template cache's keys are, and what ``cache stats``, ``flush`` and ``verify``
read and delete through them (batched, one command per key: keys spread over slots)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.cache.client import translate_errors
from pumpflix_cli.cache.codec import UndecryptableError
from pumpflix_cli.cache.guarded import guard_parts, side_key, token_digest
from pumpflix_cli.cache.index import Index, bound_elsewhere, parse_index
from pumpflix_cli.cache.store import RevisionedStore
from pumpflix_cli.cache.values import dumps
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord

# Keys per pipeline when scanning, inspecting or deleting many keys.
BATCH = 500

# A template id as the platform makes them (``uuid()``), in either case.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TYPE = "(?:" + "|".join(SOURCE_TYPES) + ")"
_OWN = rf"(?:index:{_TYPE}|stats:{_TYPE}|warm:last)"
_INDEX = rf"pumpflix:index:{_TYPE}"
# An index as pumpflix kept it before it was guarded: ``r<rev>:<value>`` or ``t<rev>:``.
_OLD_INDEX = re.compile(rb"[rt]\d+:")


def glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob (``SCAN MATCH``)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def key_forms(prefix: str) -> re.Pattern[str]:
    """Exactly the keys of the template cache under ``prefix``: the platform's entries and
    lists, their side keys, pumpflix's own. Another deployment's keys (a longer prefix
    that starts with ours, ``pumpflix:staging:``) and any other key are not of them."""
    p = re.escape(prefix)
    forms = (
        rf"{p}template:{_UUID}",
        rf"{p}templates:{_TYPE}",
        rf"\{{{p}template:{_UUID}\}}:(?:rev|meta)",
        rf"\{{{p}templates:{_TYPE}\}}:rev",
        rf"{p}pumpflix:{_OWN}",
        rf"\{{{p}{_INDEX}\}}:rev",
    )
    return re.compile("|".join(f"(?:{form})" for form in forms))


@dataclass(frozen=True)
class KeyState:
    """An index as an administrative read found it: ``value``, ``tombstone`` (a guard
    and no value: invalidated, or observed and not filled yet), ``unreadable`` or
    ``absent``."""

    key: str
    kind: str
    rev: int
    records: list[TemplateRecord] | None = None


class CacheKeyspace:
    """The keys under one prefix: the platform's, their side keys, pumpflix's own."""

    def __init__(self, store: RevisionedStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self._forms = key_forms(prefix)
        self._entry_form = re.compile(re.escape(f"{prefix}template:") + f"({_UUID})")

    @property
    def client(self) -> Any:
        return self.store.client

    # --- keys -------------------------------------------------------------------------

    def entry_key(self, template_id: str) -> str:
        return f"{self.prefix}template:{template_id}"

    def list_key(self, source_type: str) -> str:
        return f"{self.prefix}templates:{source_type}"

    def meta_key(self, template_id: str) -> str:
        return side_key(self.entry_key(template_id), "meta")

    def own_key(self, name: str) -> str:
        return f"{self.prefix}pumpflix:{name}"

    def index_key(self, source_type: str) -> str:
        return self.own_key(f"index:{source_type}")

    def stats_key(self, source_type: str) -> str:
        return self.own_key(f"stats:{source_type}")

    @property
    def warm_key(self) -> str:
        return self.own_key("warm:last")

    def entry_id(self, key: str) -> str | None:
        """The template id of an entry key, None for any other key."""
        found = self._entry_form.fullmatch(key)
        return found.group(1) if found else None

    def is_ours(self, key: str) -> bool:
        """One of the template cache's key forms under this prefix, exactly."""
        return self._forms.fullmatch(key) is not None

    # --- administration (cache stats, flush, verify) ----------------------------------

    def scan(self, pattern: str = "*") -> Iterator[str]:
        """Keys matching ``pattern`` (which names the prefix); every node of a Cluster."""
        with translate_errors(self.store.url):
            for key in self.client.scan_iter(match=pattern, count=1000):
                yield key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else str(key)

    def our_keys(self) -> list[str]:
        """Every key pumpflix or the platform's template cache holds under the prefix:
        found by ``SCAN`` with the prefix taken literally, kept only when it is exactly one
        of the key forms (``key_forms``)."""
        p = glob_escape(self.prefix)
        patterns = (f"{p}template:*", f"{p}templates:*", f"{p}pumpflix:*")
        sides = ("{" + f"{p}template:*", "{" + f"{p}templates:*", "{" + f"{p}pumpflix:*")
        found = {k for pattern in patterns + sides for k in self.scan(pattern)}
        return sorted(k for k in found if self.is_ours(k))

    def entry_ids(self) -> list[str]:
        keys = self.scan(f"{glob_escape(self.prefix)}template:*")
        return sorted(i for i in (self.entry_id(k) for k in keys) if i)

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

    def lists(self, types: Sequence[str]) -> dict[str, list[str] | None]:
        """The ids in each type's platform list, None when it is absent."""
        keys = [self.list_key(t) for t in types]
        exists = self._batched(keys, lambda pipe, key: pipe.exists(key))
        ids = self._batched(keys, lambda pipe, key: pipe.lrange(key, 0, -1), strict=False)
        return {
            t: ([bytes(i).decode() for i in found or []] if present else None)
            for t, present, found in zip(types, exists, ids, strict=True)
        }

    def guards(self, keys: Sequence[str]) -> list[int]:
        """The revision guarding each platform key (0 when none)."""
        raw = self._batched(keys, lambda pipe, key: pipe.get(side_key(key)))
        return [guard_parts(value)[0] for value in raw]

    def decode_index(self, key: str, raw: Any, guard: Any, *, warn: bool) -> Index:
        """An index as its key and side key held it: a hit only when it decrypts, its
        token is the one the side key vouches for and its header names this key."""
        rev, digest = guard_parts(guard)
        if raw is None:
            return Index(key, rev)
        raw = bytes(raw)
        if _OLD_INDEX.match(raw):  # written by a pumpflix before the guard: refilled quietly
            return Index(key, rev, unreadable=True)
        try:
            plain = self.store.codec.decode(raw)
        except UndecryptableError as exc:
            if warn:
                self.store.warn_undecryptable(exc)
            return Index(key, rev, unreadable=True)
        stamped = token_digest(raw)
        parsed = parse_index(key, plain) if stamped == digest or not stamped else None
        if parsed is None:
            if warn and ((stamped and stamped != digest) or bound_elsewhere(key, plain)):
                self.store.warn_misplaced(key)
            return Index(key, rev, unreadable=True)
        body, count = parsed
        return Index(key, rev, body, count)

    def index_states(self, types: Sequence[str]) -> list[KeyState]:
        """Decode the summary indexes without counting or warning."""
        keys = [self.index_key(t) for t in types]
        replies = self._batched(
            keys, lambda pipe, key: pipe.execute_command("MGET", key, side_key(key))
        )
        found = []
        for key, (raw, guard) in zip(keys, replies, strict=True):
            index = self.decode_index(key, raw, guard, warn=False)
            if raw is None:
                found.append(KeyState(key, "tombstone" if guard else "absent", index.rev))
                continue
            try:
                records = index.records() if index.hit else None
            except (ValueError, KeyError, TypeError):
                records = None
            kind = "unreadable" if records is None else "value"
            found.append(KeyState(key, kind, index.rev, records))
        return found

    def get_raw(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._batched(keys, lambda pipe, key: pipe.get(key), strict=False)

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
