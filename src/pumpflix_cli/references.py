"""How a template or an instance is named on the command line (SPEC §1): its id, a unique
id prefix (6+ hex characters), or, for templates, its exact name. One set of rules for
the database lookups and the in-memory ones, and one pair of errors when a reference
names nothing or more than one thing. Pure: no I/O."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pumpflix_cli.errors import NotFoundError, UsageError

MIN_PREFIX = 6  # hex digits an id prefix needs before it is looked up
SHORT_ID = 8  # hex digits shown where a table has no room for the whole id
_HEX = re.compile(r"^[0-9a-fA-F-]+$")
_LISTED = 10  # candidates named in an ambiguity error


class Named(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=Named)


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference as typed, and what it can stand for."""

    text: str
    exact_id: str | None  # the canonical id when the text is a whole UUID
    prefix: str | None  # lower-case, as typed, when long enough to be an id prefix

    def sql_prefix(self, *, dashes: bool) -> str:
        """The prefix for a ``LIKE`` on an id column (SQLite keeps 32 hex digits, no dashes)."""
        assert self.prefix is not None
        return self.prefix if dashes else self.prefix.replace("-", "")


def parse_reference(text: str) -> Reference:
    """Names are matched exactly as typed; ids and prefixes without surrounding blanks."""
    bare = text.strip()
    try:
        exact: str | None = str(uuid.UUID(bare))
    except ValueError:
        exact = None
    long_enough = len(bare.replace("-", "")) >= MIN_PREFIX
    prefix = bare.lower() if exact is None and long_enough and _HEX.match(bare) else None
    return Reference(text, exact, prefix)


def short_id(full_id: str) -> str:
    """The first hex digits of an id: enough to name it again (``instances show 1a2b3c4d``)."""
    return full_id.replace("-", "")[:SHORT_ID]


def match_reference(
    ref: Reference, records: Iterable[T], *, name_of: Callable[[T], str] | None = None
) -> list[T]:
    """What ``ref`` names among ``records``: the whole id, else (when ``name_of`` is given)
    the exact name, else an id prefix. The database lookups follow the same order."""
    if ref.exact_id is not None:
        return [r for r in records if r.id == ref.exact_id]
    records = list(records)
    if name_of is not None:
        named = [r for r in records if name_of(r) == ref.text]
        if named:
            return named
    if ref.prefix is None:
        return []
    return [r for r in records if r.id.startswith(ref.prefix)]


@dataclass(frozen=True)
class _Kind:
    noun: str
    forms: str
    listing: str
    narrower: str


KINDS = {
    "template": _Kind(
        "template",
        "an id, a unique id prefix (6+ characters) or the exact name",
        "pumpflix templates list",
        "give the id instead",
    ),
    "instance": _Kind(
        "instance",
        "its id or a unique id prefix (6+ characters)",
        "pumpflix instances list",
        "give more of the id",
    ),
}


class ReferenceNotFoundError(NotFoundError):
    def __init__(self, kind: str, ref: str) -> None:
        about = KINDS[kind]
        super().__init__(
            f"no {about.noun} matches '{ref}'",
            hint=f"give {about.forms}; {about.listing} shows them",
        )
        self.kind = kind
        self.ref = ref


class AmbiguousReferenceError(UsageError):
    def __init__(self, kind: str, ref: str, candidates: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{id_} ({what})" for id_, what in candidates[:_LISTED])
        super().__init__(f"'{ref}' is ambiguous: {listed}", hint=KINDS[kind].narrower)
        self.kind = kind
        self.ref = ref
        self.candidates = list(candidates)


def single(kind: str, ref: str, candidates: Sequence[T], describe: Callable[[T], str]) -> T:
    """The one candidate, or the not-found / ambiguous error (exit 3 / 2)."""
    if not candidates:
        raise ReferenceNotFoundError(kind, ref)
    if len(candidates) > 1:
        raise AmbiguousReferenceError(kind, ref, [(c.id, describe(c)) for c in candidates])
    return candidates[0]
