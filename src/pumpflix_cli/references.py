"""How a template or an instance is named on the command line (SPEC §1). One rule for the
database lookups and the in-memory ones, and one pair of errors when a reference names
nothing or more than one thing. Pure: no I/O.

- An **id reference** is 6 to 32 hex digits, in any case, either without dashes (the form
  export file names use) or with the dashes where a whole id has them (8-4-4-4-12, the
  form ``list`` prints): it matches every id whose hex digits begin with those digits. All
  32 digits name one id, dashed or not.
- A template's **name** matches when it compares equal to the reference in normalised
  form (`name_key`, PLATFORM.md "Names"): NFKC, without the characters that display as
  nothing. So ``Café`` typed composed finds ``Café`` stored decomposed, ``a．b`` finds
  ``a.b``, and ``Alpha`` finds a platform row named ``Alpha`` + U+200B; names pumpflix
  writes are NFC and free of such characters (``workflow.structure``).
- A reference matches a record by name *or* by id: one that does both for different
  records names all of them (ambiguous, exit 2), so a name that looks like an id prefix
  can never hijack the template that id belongs to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pumpflix_cli.errors import NotFoundError, UsageError

MIN_PREFIX = 6  # hex digits an id prefix needs before it is looked up
SHORT_ID = 8  # hex digits shown where a table has no room for the whole id
ID_DIGITS = 32  # hex digits of a whole id
_DASHES = (8, 13, 18, 23)  # where a whole id, as text, has its dashes
_HEX_DIGITS = frozenset("0123456789abcdef")
_LISTED = 10  # candidates named in an ambiguity error
# Candidates a database lookup returns at most: enough to list in an ambiguity error.
MAX_CANDIDATES = 50


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters a
# renderer shows as nothing (zero-width spaces and joiners, bidi controls, variation
# selectors, fillers, tags). Two names that differ only by them look the same.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
IGNORABLE = re.compile(
    "[" + "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in _IGNORABLE_RANGES) + "]"
)


def name_key(name: str) -> str:
    """A template name as names are compared: NFKC (compatibility forms folded: fullwidth
    ``．`` is ``.``, a no-break space a space), then without default-ignorable characters.
    An ASCII name is its own key; the database lookups compute the same key in SQL."""
    if name.isascii():
        return name
    return IGNORABLE.sub("", unicodedata.normalize("NFKC", name))


class Named(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=Named)


def id_digits(stored_id: str) -> str:
    """An id as a reference's digits are compared with it: dashes dropped, lower case.
    The database lookups compute the same thing in SQL (``replace(lower(id), '-', '')``)."""
    return stored_id.replace("-", "").lower()


def _digits(text: str) -> str | None:
    """The hex digits of ``text`` when it is written as (a prefix of) an id, else None."""
    lowered = text.lower()
    if "-" in lowered:
        if len(lowered) > ID_DIGITS + len(_DASHES):
            return None
        for index, char in enumerate(lowered):
            if (char == "-") != (index in _DASHES):
                return None
            if char != "-" and char not in _HEX_DIGITS:
                return None
        digits = lowered.replace("-", "")
    else:
        if len(lowered) > ID_DIGITS or not set(lowered) <= _HEX_DIGITS:
            return None
        digits = lowered
    return digits if len(digits) >= MIN_PREFIX else None


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference as typed, and what it can stand for."""

    text: str  # as typed
    digits: str | None  # lower-case hex digits when the text is written as an id or prefix

    @property
    def name(self) -> str:
        """What a template's `name_key` must equal for the reference to name it."""
        return name_key(self.text)

    @property
    def exact_id(self) -> str | None:
        """The canonical (dashed, lower-case) id when the text is a whole id."""
        if self.digits is None or len(self.digits) != ID_DIGITS:
            return None
        d = self.digits
        return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:]}"

    def matches_id(self, stored_id: str) -> bool:
        return self.digits is not None and id_digits(stored_id).startswith(self.digits)

    def like_pattern(self) -> str:
        """For ``replace(lower(id), '-', '') LIKE …``: hex digits need no escaping."""
        assert self.digits is not None
        return self.digits + "%"


def parse_reference(text: str) -> Reference:
    """Names are matched in normalised form, blanks included; ids and prefixes without
    surrounding blanks."""
    return Reference(text, _digits(text.strip()))


def short_id(full_id: str) -> str:
    """The first hex digits of an id: enough to name it again (``instances show 1a2b3c4d``)."""
    return full_id.replace("-", "")[:SHORT_ID]


def match_reference(
    ref: Reference, records: Iterable[T], *, name_of: Callable[[T], str] | None = None
) -> list[T]:
    """Every record ``ref`` names: by id (whole or prefix) or, when ``name_of`` is given, by
    name in normalised form — both at once, never one in preference to the other. The
    database lookups select the same records."""
    key = ref.name
    return [
        r
        for r in records
        if ref.matches_id(r.id) or (name_of is not None and name_key(name_of(r)) == key)
    ]


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
