"""Cached values that a concurrent writer can always invalidate (SPEC §5).

Every key we write holds ``r<rev>:<payload>`` (a value) or ``t<rev>:`` (a tombstone).
A writer, after its database commit, *bumps* each key it affects: the value is replaced by
a tombstone one revision higher. A reader or a warm observes a key's revision before it
reads the database and writes back only if the revision is still the one it observed
(a compare-and-set script on that one key). So nothing read before a write can land after
it, and no script touches more than one key: safe on a Redis Cluster without hash tags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.cache.client import RedisClient, translate_errors
from pumpflix_cli.cache.codec import UndecryptableError, ValueCodec

_REV = (
    "local head = redis.call('GETRANGE', KEYS[1], 0, 24)\n"
    "local rev = tonumber(string.match(head, '^[rt](%d+):')) or 0\n"
)

# KEYS[1]; -> the key's revision (0 when absent), without moving its payload.
OBSERVE = _REV + "return rev"
# KEYS[1]; ARGV: expected revision, payload, ttl -> 1 when written
FILL = (
    _REV
    + """
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], 'r' .. ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""
)
# KEYS[1]; ARGV: ttl -> the new revision
BUMP = (
    _REV
    + """
redis.call('SET', KEYS[1], 't' .. (rev + 1) .. ':', 'EX', ARGV[1])
return rev + 1
"""
)


@dataclass(frozen=True)
class Cached:
    """What one key held: its revision, and the decoded payload when it was a value."""

    rev: int
    payload: bytes | None

    @property
    def hit(self) -> bool:
        return self.payload is not None


def parse(raw: bytes | None, codec: ValueCodec) -> Cached:
    """Split a stored value; an undecryptable payload counts as a miss (the caller warns)."""
    if raw is None:
        return Cached(0, None)
    head, sep, body = raw.partition(b":")
    if not sep or head[:1] not in (b"r", b"t") or not head[1:].isdigit():
        return Cached(0, None)  # not ours or from an older layout: a miss, overwritten later
    rev = int(head[1:])
    if head[:1] == b"t":
        return Cached(rev, None)
    return Cached(rev, codec.decode(body))


class RevisionedStore:
    """GET / fill / bump over revisioned keys, pipelined, with errors translated."""

    def __init__(
        self, client: RedisClient, url: str, codec: ValueCodec, warn: Callable[[str], None]
    ) -> None:
        self.client = client
        self.url = url
        self.codec = codec
        self._warn = warn
        self._warned_decrypt = False
        self._observe = client.register_script(OBSERVE)
        self._fill = client.register_script(FILL)
        self._bump = client.register_script(BUMP)

    def _parse(self, raw: bytes | None) -> Cached:
        try:
            return parse(raw, self.codec)
        except UndecryptableError as exc:
            if not self._warned_decrypt:
                self._warned_decrypt = True
                self._warn(f"cache: {exc}; reading from the database instead")
            head = (raw or b"").partition(b":")[0]
            return Cached(int(head[1:]) if head[1:].isdigit() else 0, None)

    def get_many(
        self, keys: Sequence[str], extra: Callable[[Any], None] | None = None
    ) -> list[Cached]:
        """One round trip (per slot group on a cluster) for every key; ``extra`` may queue
        more commands (counters) on the same pipeline."""
        with translate_errors(self.url):
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.get(key)
            if extra is not None:
                extra(pipe)
            replies = pipe.execute()
        return [self._parse(raw) for raw in replies[: len(keys)]]

    def observe_many(self, keys: Sequence[str]) -> list[int]:
        with translate_errors(self.url):
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                self._observe(keys=[key], client=pipe)
            return [int(rev) for rev in pipe.execute()]

    def fill_many(self, items: Iterable[tuple[str, int, bytes, int]]) -> int:
        """Write ``(key, observed revision, plain payload, ttl)`` where still current;
        returns how many were written."""
        with translate_errors(self.url):
            pipe = self.client.pipeline(transaction=False)
            count = 0
            for key, rev, payload, ttl in items:
                self._fill(keys=[key], args=[rev, self.codec.encode(payload), ttl], client=pipe)
                count += 1
            if not count:
                return 0
            return sum(int(done) for done in pipe.execute())

    def bump_many(self, items: Iterable[tuple[str, int]]) -> int:
        """Tombstone each ``(key, ttl)`` one revision higher."""
        with translate_errors(self.url):
            pipe = self.client.pipeline(transaction=False)
            count = 0
            for key, ttl in items:
                self._bump(keys=[key], args=[ttl], client=pipe)
                count += 1
            if count:
                pipe.execute()
            return count
