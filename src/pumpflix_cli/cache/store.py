"""pumpflix's own cached values (its summary index), which a concurrent writer can always
invalidate (SPEC §5). The platform's keys are guarded from side keys instead
(``cache/guarded.py``), with the same revisions and the same argument.

Every key of ours holds ``r<rev>:<payload>`` (a value) or ``t<rev>:`` (a tombstone).
A writer, after its database commit, *bumps* each key it affects: the value is replaced by
a tombstone with a higher revision. A reader or a warm observes a key's revision before it
reads the database and writes back only if the key still holds that revision (a
compare-and-set script on that one key). So nothing read before a write can land after
it, and no script touches more than one key: safe on a Redis Cluster without hash tags.

Revisions come from the server's clock (``TIME`` in microseconds, or the old revision + 1
when that is higher), and observing a key that does not exist creates a tombstone, a
*placeholder*, with a fresh revision. A fill never succeeds on a missing key. Together
these make deleting a key (``cache flush``, a TTL running out) as safe as bumping it: a
key that disappears and comes back never carries a revision a slow reader still holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from pumpflix_cli.cache.client import RedisClient, translate_errors
from pumpflix_cli.cache.codec import UndecryptableError, ValueCodec

# How long a placeholder lives: it only has to outlast one reader's database round trip
# or one warm's stream; a fill after it expired is refused, which is safe.
PLACEHOLDER_TTL = 900

# A revision after ``rev``: the server's clock in microseconds, or ``rev + 1`` when that
# is higher (every script that bumps a revision shares it).
NEXT_REV = """
local function next_rev()
  local now = redis.call('TIME')
  local clock = tonumber(now[1]) * 1000000 + tonumber(now[2])
  if rev + 1 > clock then return rev + 1 end
  return clock
end
"""

_PRELUDE = (
    """
local head = redis.call('GETRANGE', KEYS[1], 0, 39)
local kind, digits = string.match(head, '^([rt])(%d+):')
local rev = tonumber(digits) or 0
"""
    + NEXT_REV
)

# KEYS[1]; ARGV: placeholder ttl -> the key's revision (a new placeholder's when absent)
OBSERVE = (
    _PRELUDE
    + """
if kind then return rev end
local new = next_rev()
redis.call('SET', KEYS[1], string.format('t%d:', new), 'EX', ARGV[1])
return new
"""
)
# KEYS[1]; ARGV: expected revision, the value ('r<rev>:<payload>', built by the caller so
# that Redis copies it once), ttl -> 1 when written; refused over an encrypted value
# (a Fernet token, 'gAAAAA…') when the new one is not
FILL = (
    _PRELUDE
    + """
if not kind or digits ~= ARGV[1] then return 0 end
local offset = #digits + 3
if kind == 'r' and string.sub(head, offset, offset + 5) == 'gAAAAA'
    and string.sub(ARGV[2], offset, offset + 5) ~= 'gAAAAA' then
  return 0  -- never plaintext over an encrypted value (a process without the key)
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
)
# KEYS[1]; ARGV: ttl -> the new revision
BUMP = (
    _PRELUDE
    + """
local new = next_rev()
redis.call('SET', KEYS[1], string.format('t%d:', new), 'EX', ARGV[1])
return new
"""
)


class Script:
    """A Lua script called by its SHA1, loaded on the servers on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def queue(self, pipe: Any, key: str, *args: Any) -> None:
        # EVALSHA by name: redis-py blocks its pipelined helper on a Cluster, but routes
        # the command by its one key like any other.
        pipe.execute_command("EVALSHA", self.sha, 1, key, *args)


SCRIPTS = {
    name: Script(text) for name, text in (("observe", OBSERVE), ("fill", FILL), ("bump", BUMP))
}


@dataclass(frozen=True)
class Cached:
    """What one key held: its revision, and the decoded payload when it was a value."""

    rev: int
    payload: bytes | None

    @property
    def hit(self) -> bool:
        return self.payload is not None


def split(raw: bytes | None) -> tuple[str, int, bytes]:
    """``(kind, revision, body)`` of a stored value: kind ``r`` (a value), ``t`` (a
    tombstone) or ``""`` (absent, or not in our layout)."""
    if raw is None:
        return "", 0, b""
    head, sep, body = raw.partition(b":")
    if not sep or head[:1] not in (b"r", b"t") or not head[1:].isdigit():
        return "", 0, b""
    return head[:1].decode(), int(head[1:]), body


def parse(raw: bytes | None, codec: ValueCodec) -> Cached:
    """Split a stored value; raises :class:`UndecryptableError` for a value that does not
    decrypt (the caller counts it a miss and warns)."""
    kind, rev, body = split(raw)
    return Cached(rev, codec.decode(body) if kind == "r" else None)


Build = Callable[[Any], None]


class RevisionedStore:
    """GET / observe / fill / bump over revisioned keys, pipelined, errors translated.

    Every batch is one pipeline: one round trip on a single server, one per node on a
    Cluster (redis-py's cluster pipeline groups the commands by the node of their slot).
    """

    def __init__(
        self, client: RedisClient, url: str, codec: ValueCodec, warn: Callable[[str], None]
    ) -> None:
        self.client = client
        self.url = url
        self.codec = codec
        self._warn = warn
        self._warned_decrypt = False
        # Every script a batch may call: loaded again when a server lost them.
        self.scripts: dict[str, Script] = dict(SCRIPTS)

    # --- plumbing --------------------------------------------------------------------

    def run(self, build: Build, *, raise_on_error: bool = True) -> list[Any]:
        """Queue commands with ``build`` on a fresh pipeline and execute it. A server that
        lost our scripts (restarted, SCRIPT FLUSH, a new cluster node) gets them loaded and
        the batch once more: every script is safe to repeat."""
        with translate_errors(self.url):
            try:
                return self._execute(build, raise_on_error)
            except redis.exceptions.NoScriptError:
                for script in self.scripts.values():
                    self.client.script_load(script.text)  # to every primary on a Cluster
                return self._execute(build, raise_on_error)

    def _execute(self, build: Build, raise_on_error: bool) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        build(pipe)
        replies: list[Any] = pipe.execute(raise_on_error=raise_on_error)
        if not raise_on_error:
            for reply in replies:
                if isinstance(reply, redis.exceptions.NoScriptError):
                    raise reply
        return replies

    def _parse(self, raw: bytes | None) -> Cached:
        try:
            return parse(raw, self.codec)
        except UndecryptableError as exc:
            self.warn_undecryptable(exc)
            return Cached(split(raw)[1], None)

    def warn_undecryptable(self, exc: UndecryptableError) -> None:
        if not self._warned_decrypt:
            self._warned_decrypt = True
            self._warn(f"cache: {exc}; reading from the database instead")

    # --- the protocol ------------------------------------------------------------------

    def get_many(self, keys: Sequence[str], extra: Build | None = None) -> list[Cached]:
        """Every key in one round trip; ``extra`` may queue more commands (counters) on the
        same pipeline, whose failures are ignored. A key that is absent gets a placeholder
        (a second round trip, on a miss only) so that its revision can be filled later."""
        return self.get_many_with(keys, extra)[0]

    def get_many_with(
        self, keys: Sequence[str], extra: Build | None = None
    ) -> tuple[list[Cached], list[Any]]:
        """:meth:`get_many`, and the replies of ``extra``'s commands (errors as values)."""

        def build(pipe: Any) -> None:
            for key in keys:
                pipe.get(key)
            if extra is not None:
                extra(pipe)

        every = self.run(build, raise_on_error=False)
        replies, extras = every[: len(keys)], every[len(keys) :]
        for reply in replies:
            if isinstance(reply, Exception):
                with translate_errors(self.url):
                    raise reply
        found = [self._parse(raw) for raw in replies]
        absent = [i for i, raw in enumerate(replies) if not split(raw)[0]]
        if absent:
            revs = self.observe_many([(keys[i], PLACEHOLDER_TTL) for i in absent])
            for i, rev in zip(absent, revs, strict=True):
                found[i] = Cached(rev, None)
        return found, extras

    def observe_many(self, items: Sequence[tuple[str, int]]) -> list[int]:
        """The revision of each ``(key, placeholder ttl)``, creating placeholders."""
        if not items:
            return []

        def build(pipe: Any) -> None:
            for key, ttl in items:
                SCRIPTS["observe"].queue(pipe, key, ttl)

        return [int(rev) for rev in self.run(build)]

    def fill_each(self, items: Iterable[tuple[str, int, bytes, int]]) -> list[bool]:
        """Write ``(key, observed revision, plain payload, ttl)`` where the key still holds
        that revision; says which were written."""
        queued = [
            (key, rev, b"r%d:%s" % (rev, self.codec.encode(payload)), ttl)
            for key, rev, payload, ttl in items
        ]
        if not queued:
            return []

        def build(pipe: Any) -> None:
            for key, rev, value, ttl in queued:
                SCRIPTS["fill"].queue(pipe, key, rev, value, ttl)

        return [bool(done) for done in self.run(build)]

    def fill_many(self, items: Iterable[tuple[str, int, bytes, int]]) -> int:
        return sum(self.fill_each(items))

    def bump_many(self, items: Iterable[tuple[str, int]]) -> list[tuple[str, Exception]]:
        """Tombstone each ``(key, ttl)`` with a higher revision; returns the keys the
        server refused to bump (out of memory) with the refusal: the caller deletes them
        instead (a fill never lands on a missing key)."""
        queued = list(items)
        if not queued:
            return []

        def build(pipe: Any) -> None:
            for key, ttl in queued:
                SCRIPTS["bump"].queue(pipe, key, ttl)

        replies = self.run(build, raise_on_error=False)
        return [
            (key, reply)
            for (key, _), reply in zip(queued, replies, strict=True)
            if isinstance(reply, Exception)
        ]

    def warn(self, message: str) -> None:
        self._warn(message)
