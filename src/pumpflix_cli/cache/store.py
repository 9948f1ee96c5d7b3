"""The plumbing every cache key shares: revisions from the server's clock, Lua scripts
called by their SHA1 and loaded again when a server lost them, pipelines with redis-py's
errors translated, and the warnings a read gives once.

Every key pumpflix caches, the platform's and its own index alike, is guarded from a side
key in its slot (``cache/guarded.py``): a writer bumps the revision there after its
database commit; a reader or a warm observes it before reading the database and fills
only by compare-and-set on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
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


class Script:
    """A Lua script called by its SHA1, loaded on the servers on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def queue(self, pipe: Any, keys: Sequence[str], *args: Any) -> None:
        # EVALSHA by name: redis-py blocks its pipelined helper on a Cluster, but routes
        # the command by its keys (all of one slot) like any other.
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


Build = Callable[[Any], None]


class RevisionedStore:
    """Pipelines over one Redis (or Cluster), errors translated, scripts kept loaded.

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
        self._warned: set[str] = set()
        # Every script a batch may call: loaded again when a server lost them.
        self.scripts: dict[str, Script] = {}

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

    def raise_first_error(self, replies: list[Any]) -> None:
        """A reply that is an error (from a batch run without raising), translated."""
        for reply in replies:
            if isinstance(reply, Exception):
                with translate_errors(self.url):
                    raise reply

    # --- warnings, once per kind and run --------------------------------------------

    def warn(self, message: str) -> None:
        self._warn(message)

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self._warn(message)

    def warn_undecryptable(self, exc: UndecryptableError) -> None:
        self._warn_once("decrypt", f"cache: {exc}; reading from the database instead")

    def warn_misplaced(self, key: str) -> None:
        """A value that decrypts but belongs under another key or to an older revision
        (copied or replayed there): a miss, refilled from the database."""
        self._warn_once(
            "misplaced",
            f"cache: {key} holds a value bound to another key or an older revision "
            "(copied or replayed); reading from the database instead",
        )
