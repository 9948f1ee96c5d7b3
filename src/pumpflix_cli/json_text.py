"""JSON text in and out with JSON's numbers only: the parser for every JSON that becomes
stored data, and the serializer every output uses.

Python's ``json`` reads ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON) and reads
``1e999`` as infinity; it writes them back as those bare words, which no JSON parser
reads. PostgreSQL's jsonb refuses them and JavaScript (n8n, the platform) holds every
number as a double. So a number is accepted here only when it is a finite double: a
literal that is not, or that overflows one (``1e999``, a 400-digit integer), is an error
naming where it is (``nodes[0].parameters.x``). Pure: standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

# An integer literal with more digits than this is beyond a double's range (~1.8e308).
_DOUBLE_DIGITS = 309
_QUOTED_KEY = 60
_INFINITIES = (math.inf, -math.inf)


class NonJsonNumberError(ValueError):
    """A number JSON cannot carry, at ``path`` (keys and indices from the document's root).

    ``word`` is ``NaN``, ``Infinity`` or ``-Infinity``, or None for a number beyond a
    double's range; such a number is not quoted (a value may be a secret)."""

    def __init__(self, path: tuple[str | int, ...], word: str | None) -> None:
        self.path = path
        self.word = word
        where = json_path(path) or "the top level"
        if word is None:
            message = f"the number at {where} is beyond the range of a double (about ±1.8e308)"
        else:
            message = f"{word} at {where} is not a JSON number"
        super().__init__(message)


class _Refused:
    """Stands in the parsed document for a refused number until its path is known."""

    __slots__ = ("word",)

    def __init__(self, word: str | None) -> None:
        self.word = word


def _fits_a_double(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` that refuses what is not a JSON number (raises `NonJsonNumberError`);
    other errors are ``json.loads``'s own. ``kwargs`` go to ``json.loads``."""
    refused: list[_Refused] = []

    def constant(word: str) -> _Refused:
        refused.append(_Refused(word))
        return refused[-1]

    def floating(literal: str) -> float | _Refused:
        value = float(literal)
        if value in _INFINITIES:
            refused.append(_Refused(None))
            return refused[-1]
        return value

    def integer(literal: str) -> int | _Refused:
        if len(literal) < _DOUBLE_DIGITS:  # the common case: one call, one int()
            return int(literal)
        digits = len(literal) - (literal[0] == "-")
        # More digits than a double holds is out of range; int() is spared any length.
        if digits > _DOUBLE_DIGITS or not _fits_a_double(int(literal)):
            refused.append(_Refused(None))
            return refused[-1]
        return int(literal)

    document = json.loads(
        text, parse_constant=constant, parse_float=floating, parse_int=integer, **kwargs
    )
    if refused:  # rare: only then walk the document to say where
        for path, value in _leaves(document):
            if isinstance(value, _Refused):
                raise NonJsonNumberError(path, value.word)
    return document


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` (non-ASCII as it is) that raises `NonJsonNumberError` naming where a
    NaN or an infinity is, instead of writing the bare word."""
    kwargs.setdefault("ensure_ascii", False)
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        found = find_non_json_number(value)
        if found is None:
            raise
        raise found from None


def find_non_json_number(document: Any) -> NonJsonNumberError | None:
    """The error for the first number in ``document`` that JSON cannot carry (NaN, an
    infinity, an integer beyond a double's range), or None."""
    for path, value in _leaves(document):
        if isinstance(value, float) and not math.isfinite(value):
            word = "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
            return NonJsonNumberError(path, word)
        if isinstance(value, int) and not isinstance(value, bool) and not _fits_a_double(value):
            return NonJsonNumberError(path, None)
    return None


def _leaves(document: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value that is not an object or an array, with its path, depth first in
    document order; iterative, so any depth is safe."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
        else:
            yield path, value


def quote(text: str, limit: int = _QUOTED_KEY) -> str:
    """Quote a name for an error message: one line, bounded length, control marks escaped."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def json_path(parts: tuple[str | int, ...]) -> str:
    """Render a path like ``headerParameters.parameters[0].value``.

    Keys that are not plain identifiers are bracketed: ``options['Content-Type']``.
    """
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier() and part.isascii():
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{quote(part)}]")
    return "".join(out)
