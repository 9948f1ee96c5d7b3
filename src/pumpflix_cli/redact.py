"""Keep secrets out of everything we print.

Driver errors (SQLAlchemy, psycopg, redis) quote connection URLs with their passwords, so
every message that leaves the process goes through :func:`scrub`.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host -> scheme://user:***@host (user may be empty, as in redis://:pw@h)
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@ \t\r\n]*):(?P<pw>[^@/ \t\r\n]+)@"
)
# key=value forms in libpq connection strings and driver messages
_KV_PASSWORD = re.compile(r"(?i)(?P<head>\bpassword\s*[=:]\s*)(?P<pw>'[^']*'|\"[^\"]*\"|\S+)")

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (an API key, a cache key) so :func:`scrub` removes it anywhere."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", url)


def scrub(text: str) -> str:
    """Remove URL passwords, ``password=`` values and every registered secret from ``text``."""
    text = mask_url(text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}", text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_secret(value: str | None) -> str | None:
    """How a secret setting is shown: set or not, never its value."""
    return None if not value else MASK
