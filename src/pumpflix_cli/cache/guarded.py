"""Every cached key guarded from beside it (PLATFORM.md, SPEC §5).

``template:<id>`` and ``templates:<type>`` hold exactly what the platform writes, so the
revision that makes them safe to fill lives in a *side key* of the same cluster slot: the
guarded key wrapped in a hash tag, ``{template:<id>}:rev`` (and, for an entry, pumpflix's
own ``{template:<id>}:meta``). pumpflix's own summary index of a type
(``pumpflix:index:<type>``) is guarded the same way. The side key holds ``<rev>`` or
``<rev>:<digest>`` (the SHA-1 of the encrypted token it guards: a token copied from
another key or replayed from an older revision is not the one it vouches for).

A writer, after its database commit, *bumps*: a higher revision in the side key, and the
guarded key (with its meta) deleted, so the platform's next read goes to the database.
A reader or a warm *observes* the side key before it reads the database (creating it,
with a fresh revision, when absent) and fills only by compare-and-set on that revision.
Revisions come from the server's clock (``TIME`` in microseconds, or the old one + 1), so
a side key that expired or was flushed never comes back with a revision a slow reader
still holds. Every script touches the keys of one slot only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pumpflix_cli.cache.store import NEXT_REV, PLACEHOLDER_TTL, RevisionedStore, Script

FERNET_HEAD = b"gAAAAA"

_PRELUDE = (
    """
local side = redis.call('GET', KEYS[1])
local digits = side and string.match(side, '^(%d+)')
local rev = tonumber(digits) or 0
"""
    + NEXT_REV
)

# KEYS: side; ARGV: placeholder ttl -> the revision (a new one when the side key is absent)
OBSERVE = (
    _PRELUDE
    + """
if digits then return digits end
local new = string.format('%d', next_rev())
redis.call('SET', KEYS[1], new, 'EX', ARGV[1])
return new
"""
)
# KEYS: side, then the keys it guards (deleted); ARGV: ttl of the side key -> new revision
BUMP = (
    _PRELUDE
    + """
local new = string.format('%d', next_rev())
redis.call('SET', KEYS[1], new, 'EX', ARGV[1])
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return new
"""
)
# KEYS: side, entry, meta; ARGV: revision, value, ttl, meta ('' for none), digest ('' for a
# plain value) -> 1 when written. Never replaces a Fernet token with a plain value.
FILL_ENTRY = (
    _PRELUDE
    + """
if not digits or digits ~= ARGV[1] then return 0 end
local head = redis.call('GETRANGE', KEYS[2], 0, 5)
if head == 'gAAAAA' and string.sub(ARGV[2], 1, 6) ~= 'gAAAAA' then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[3]) end
local guard = ARGV[1]
if ARGV[5] ~= '' then guard = guard .. ':' .. ARGV[5] end
redis.call('SET', KEYS[1], guard, 'EX', ARGV[3])
return 1
"""
)
# KEYS: side, list; ARGV: revision, ttl, ids... -> 1 when written (the list replaced)
FILL_LIST = (
    _PRELUDE
    + """
if not digits or digits ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
local n = #ARGV
local i = 3
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, j))
  i = j + 1
end
if n >= 3 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
)

SCRIPTS = {
    name: Script(text)
    for name, text in (
        ("side_observe", OBSERVE),
        ("side_bump", BUMP),
        ("fill_entry", FILL_ENTRY),
        ("fill_list", FILL_LIST),
    )
}


def side_key(guarded: str, suffix: str = "rev") -> str:
    """A key in ``guarded``'s cluster slot: the whole guarded key is the hash tag."""
    return "{" + guarded + "}:" + suffix


def guard_parts(raw: bytes | None) -> tuple[int, str]:
    """``(revision, digest)`` of a side key's value; ``(0, "")`` when absent."""
    if not raw:
        return 0, ""
    head, _, digest = bytes(raw).decode("ascii", "replace").partition(":")
    return (int(head) if head.isdigit() else 0), digest


class GuardedKeys:
    """Observe, bump and fill the platform's keys through their side keys, pipelined."""

    def __init__(self, store: RevisionedStore) -> None:
        self.store = store
        for name, script in SCRIPTS.items():
            store.scripts.setdefault(name, script)

    def observe(self, guarded: Sequence[str]) -> list[int]:
        """The revision guarding each key (created when absent), before a database read."""
        if not guarded:
            return []

        def build(pipe: Any) -> None:
            for key in guarded:
                SCRIPTS["side_observe"].queue(pipe, [side_key(key)], PLACEHOLDER_TTL)

        return [int(rev) for rev in self.store.run(build)]

    def bump(
        self, groups: Sequence[tuple[str, Sequence[str], int]]
    ) -> list[tuple[list[str], Exception]]:
        """For each ``(guarded key, its companions, side ttl)``: raise the revision and
        delete the key and its companions (all in the guarded key's slot). Returns, for
        each group the server refused to bump (out of memory under ``noeviction``, which
        refuses the script's ``SET``), its keys with the side key, and the refusal:
        deleting them all is as safe as the bump (a fill needs the side key) and ``DEL``
        works when ``SET`` does not."""
        if not groups:
            return []

        def build(pipe: Any) -> None:
            for key, companions, ttl in groups:
                SCRIPTS["side_bump"].queue(pipe, [side_key(key), key, *companions], ttl)

        replies = self.store.run(build, raise_on_error=False)
        return [
            ([key, *companions, side_key(key)], reply)
            for (key, companions, _), reply in zip(groups, replies, strict=True)
            if isinstance(reply, Exception)
        ]

    def fill_entries(self, items: Sequence[tuple[str, int, bytes, bytes, int]]) -> list[bool]:
        """Compare-and-set ``(entry key, revision, stored value, meta, ttl)``."""
        if not items:
            return []

        def build(pipe: Any) -> None:
            for key, rev, value, meta, ttl in items:
                digest = token_digest(value)
                keys = [side_key(key), key, side_key(key, "meta")]
                SCRIPTS["fill_entry"].queue(pipe, keys, rev, value, ttl, meta, digest)

        return [bool(done) for done in self.store.run(build)]

    def fill_lists(self, items: Sequence[tuple[str, int, Sequence[str], int]]) -> list[bool]:
        """Compare-and-set ``(list key, revision, ids in order, ttl)``."""
        if not items:
            return []

        def build(pipe: Any) -> None:
            for key, rev, ids, ttl in items:
                SCRIPTS["fill_list"].queue(pipe, [side_key(key), key], rev, ttl, *ids)

        return [bool(done) for done in self.store.run(build)]


def token_digest(value: bytes) -> str:
    """The digest a side key holds for an encrypted value; '' for a plain one."""
    if not value.startswith(FERNET_HEAD):
        return ""
    import hashlib

    return hashlib.sha1(value).hexdigest()
