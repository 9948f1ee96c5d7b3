"""Keep secrets out of everything we print or store.

Two nets. The first is structural: every URL is read by :mod:`pumpflix_cli.urls` and
printed masked (its password, secret query values, for http(s) its whole user info), and
of a driver's or a server's error only the primary line is kept: PostgreSQL's ``DETAIL``,
``CONTEXT`` and ``QUERY`` lines quote row data and statements, SQLAlchemy's
``[parameters: …]`` the values written. The second is :func:`scrub`: every secret the
settings hold (passwords and secret query values read out of the URLs, the API key, the
cache key) is registered when the settings are read and replaced wherever it shows up.
"""

from __future__ import annotations

import re
import traceback

from pumpflix_cli.urls import MASK, mask_url, mask_urls_in

__all__ = [
    "MASK",
    "error_text",
    "format_exception",
    "mask_secret",
    "mask_url",
    "primary_line",
    "register_secret",
    "scrub",
]

# key=value forms in libpq connection strings and driver messages
_KV_SECRET = re.compile(
    r"(?i)(?P<head>\b\w*(?:password|passwd|pwd|secret|token|api_?key)\w*[ \t]*[=:][ \t]*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;)'\"]+)"
)
MIN_SECRET = 4  # shorter values would mask ordinary words

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (a password, an API key, a cache key) so :func:`scrub`
    removes it anywhere, also as Python's ``repr`` would quote it."""
    if not value or len(value) < MIN_SECRET:
        return
    _known_secrets.add(value)
    escaped = repr(value)[1:-1]
    if escaped != value:
        _known_secrets.add(escaped)


def scrub(text: str) -> str:
    """``text`` with every registered secret, every URL's secrets and every
    ``password=``-like value masked."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = mask_urls_in(text)
    return _KV_SECRET.sub(lambda m: f"{m.group('head')}{MASK}", text)


def primary_line(text: str) -> str:
    """The first non-empty line of a driver's or server's message: PostgreSQL puts its
    ``DETAIL``/``CONTEXT``/``QUERY`` lines (row data, the statement) after it, SQLAlchemy
    its ``[SQL: …]`` and ``[parameters: …]``."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def error_text(exc: BaseException) -> str:
    """What may be said of an exception: its primary line, scrubbed (its type's name if it
    has no message)."""
    original = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's
    return scrub(primary_line(str(original))) or type(original).__name__


def format_exception(exc: BaseException) -> str:
    """A traceback as Python prints it (the chain of causes included), but each
    exception's message cut to its primary line and the whole scrubbed."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for error, joined_by in reversed(chain):
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        message = primary_line(str(error))
        name = _qualified_name(type(error))
        parts.append(f"{name}: {message}\n" if message else f"{name}\n")
        if joined_by is not None:
            parts.append(joined_by)
    return scrub("".join(parts))


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _qualified_name(kind: type[BaseException]) -> str:
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def mask_secret(value: str | None) -> str | None:
    """How a secret setting is shown: set or not, never its value."""
    return None if not value else MASK
