"""How a value becomes text a person reads.

Names, descriptions, node names, file paths and n8n's error texts are data from outside:
printed raw, ``\\x1b[2J`` clears the screen and U+202E turns the rest of a line around.
:func:`printable` shows each character that would act on a terminal as an escape instead,
and :func:`json_text` does the same inside JSON strings (still valid JSON that parses back
to the exact value). :func:`plural` counts in words, and the ``format_*`` functions are
the one way each kind of value is shown. Standard library (and ``records``) only, so every
layer may word its messages with it; commands reach these through ``output``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

# Bidi controls, zero-width and other invisible format characters, line and paragraph
# separators, the byte-order mark and the interlinear annotation marks.
_INVISIBLE = (
    (0x061C, 0x061D),
    (0x180E, 0x180F),
    (0x200B, 0x2010),
    (0x2028, 0x202F),
    (0x2060, 0x2065),
    (0x2066, 0x2070),
    (0xFEFF, 0xFF00),
    (0xFFF9, 0xFFFC),
)


def _unsafe() -> Iterator[int]:
    yield from range(0x00, 0x20)  # C0, with \n and \t: a value never spans lines
    yield 0x7F  # DEL
    yield from range(0x80, 0xA0)  # C1 (0x9b is a one-byte CSI)
    for start, stop in _INVISIBLE:
        yield from range(start, stop)


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


UNSAFE: frozenset[str] = frozenset(chr(code) for code in _unsafe())
_PRINTABLE = {ord(char): _escape(ord(char)) for char in UNSAFE}
# json.dumps already writes C0 characters as \u00XX; the rest of UNSAFE it leaves raw.
_JSON = {ord(char): f"\\u{ord(char):04x}" for char in UNSAFE if ord(char) >= 0x20}


def printable(text: str) -> str:
    """``text`` with every character in :data:`UNSAFE` written as ``\\x1b`` / ``\\u202e``."""
    return text.translate(_PRINTABLE)


def printable_lines(text: str) -> str:
    """Each line of ``text`` made :func:`printable`, the line breaks kept (a traceback)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def json_text(
    data: Any, *, indent: int | None = 2, default: Callable[[Any], Any] | None = None
) -> str:
    """``data`` as JSON, non-ASCII text kept as it is, but every character that would act on
    a terminal written as a ``\\u`` escape (inside strings only: JSON's own syntax is ASCII)."""
    from pumpflix_cli.json_text import dumps  # refuses NaN and infinities, naming where

    return dumps(data, indent=indent, ensure_ascii=False, default=default).translate(_JSON)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 template``, ``2 templates``, ``0 templates`` (``plural_form`` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


# --- the formats people read (one of each, for every command) --------------------------

TIME_FORMATS = {
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "ms": "%Y-%m-%d %H:%M:%S.%f",
    "clock": "%H:%M:%S.%f",
}


def format_time(value: datetime | str | None, precision: str = "second") -> str:
    """A timestamp in UTC as people read it (``2026-12-02 06:36:11``), or ``""``.

    ``precision`` is one of ``minute``, ``second``, ``ms`` (with milliseconds) and
    ``clock`` (the time of day with milliseconds, for a run's nodes)."""
    if value is None or value == "":
        return ""
    from pumpflix_cli.records import as_utc, parse_utc

    if isinstance(value, str):
        moment = parse_utc(value)
    else:
        aware = as_utc(value)
        assert aware is not None
        moment = aware.astimezone(UTC)
    text = moment.strftime(TIME_FORMATS[precision])
    return text[:-3] if precision in {"ms", "clock"} else text


def format_size(count: int) -> str:
    """Bytes as ``512 B``, ``1.5 KB``, ``2.0 MB``, ``1.1 GB``."""
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_duration(seconds: float, precision: str = "auto") -> str:
    """A span as ``850 ms``, ``12.3 s``, ``4m05s`` or ``2h03m``.

    ``precision="second"`` keeps whole minutes and seconds under a minute too (``0m05s``),
    for spans counted in whole seconds such as a TTL."""
    if precision == "auto" and seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if precision == "auto" and seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02}m" if hours else f"{rest // 60}m{rest % 60:02}s"
