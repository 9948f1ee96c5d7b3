"""pumpflix's summary index of a type, ``<p>pumpflix:index:<type>``: every template of the
type as ``templates list`` prints it, in the listing order, so a warm list is one round
trip (PLATFORM.md lets pumpflix keep it beside the platform's keys, guarded the same way).

Its plaintext (encrypted like every value when ``PUMPFLIX_CACHE_KEY`` is set) is a header
line binding it to its key and saying how many summaries follow, then the summaries as
one JSON array: ``{"key":"<index key>","count":N}\\n[{…},{…}]``. A value whose header
names another key was copied there; one whose header does not parse is not ours (an older
layout) and is refilled. The count answers the comparison with the platform's list
without parsing the array, and the array is parsed lazily when only its first summaries
are wanted (``templates list --limit``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pumpflix_cli.cache.values import dumps
from pumpflix_cli.records import TemplateRecord


def index_payload(key: str, records: Sequence[TemplateRecord]) -> bytes:
    """The plaintext of ``key``'s index of ``records`` (already in listing order)."""
    header = dumps({"key": key, "count": len(records)})
    return header + b"\n[" + b",".join(dumps(r.summary_json()) for r in records) + b"]"


def parse_index(key: str, plain: bytes) -> tuple[str, int] | None:
    """``(summaries as JSON text, their count)`` of a payload bound to ``key``; None for
    one bound to another key or not in this layout."""
    head, sep, body = plain.partition(b"\n")
    if not sep or not body.startswith(b"["):
        return None
    try:
        header = json.loads(head)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("key") != key:
        return None
    count = header.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return None
    try:
        return body.decode(), count
    except UnicodeDecodeError:
        return None


def bound_elsewhere(key: str, plain: bytes) -> bool:
    """A payload in this layout whose header names another key (copied here)."""
    head, sep, _ = plain.partition(b"\n")
    try:
        header = json.loads(head) if sep else None
    except ValueError:
        return False
    return isinstance(header, dict) and "key" in header and header["key"] != key


@dataclass(frozen=True)
class Index:
    """A type's index as read: the revision guarding it, and on a hit its summaries'
    JSON text (decoded on demand) and their count."""

    key: str
    rev: int
    body: str | None = None
    count: int = 0
    unreadable: bool = False  # a value was there but is not this key's (or not ours)

    @property
    def hit(self) -> bool:
        return self.body is not None

    def records(self) -> list[TemplateRecord]:
        """Every summary (one C-speed parse); raises ValueError, KeyError or TypeError
        for a body that is not an array of summaries."""
        if self.body is None:
            return []
        # Summaries hold no nested objects: each object is a record, built as it is parsed.
        records = json.loads(self.body, object_hook=TemplateRecord.from_json)
        if not isinstance(records, list):
            raise TypeError("an index is a JSON array")
        return records

    def iter_records(self) -> Iterator[TemplateRecord]:
        """The summaries one at a time, in order: the first N cost N parses."""
        text = self.body or "[]"
        decoder = json.JSONDecoder(object_hook=TemplateRecord.from_json)
        pos = _skip(text, 1)
        if text[pos : pos + 1] == "]":
            return
        while True:
            record, pos = decoder.raw_decode(text, pos)
            if not isinstance(record, TemplateRecord):
                raise TypeError("an index holds summaries")
            yield record
            pos = _skip(text, pos)
            if text[pos : pos + 1] == "]":
                return
            if text[pos : pos + 1] != ",":
                raise ValueError(f"expected ',' or ']' at {pos}")
            pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
