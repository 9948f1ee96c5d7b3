"""Reading a string parameter as a template filled in: which values of unknown variables
fill the template's text in to exactly what a workflow now holds (for `unfill`)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import count

from pumpflix_cli.workflow.extract import PLACEHOLDER_PATTERN, expression_references
from pumpflix_cli.workflow.materialize import substitute_text


def variables_in(text: str) -> set[str]:
    """The variables ``materialize`` fills in this string parameter."""
    if "{{" not in text:
        return set()
    found = set(PLACEHOLDER_PATTERN.findall(text))
    if text.startswith("="):
        found |= expression_references(text)
    return found


def fill_values(
    template: str, current: str, known: Mapping[str, str], unknown: Collection[str]
) -> dict[str, str] | None:
    """Values of the ``unknown`` variables with which ``template`` fills in to exactly
    ``current`` (``known`` ones as given), or None when no values do.

    Each unknown value is read off ``current`` where filling put it: a JavaScript string
    literal inside an expression, the text up to what follows a placeholder. Values that
    fill in to ``current`` by another split are not looked for: such a place then reads
    as changed (for a secret variable, the template's text is put back all the same).
    """
    names = variables_in(template) & set(unknown)
    if not names:
        return {} if substitute_text(template, known) == current else None
    markers = _markers(sorted(names), template, known)
    filled = substitute_text(template, {**known, **markers})
    pieces = _pieces(filled, markers)
    captured = _read(pieces, current)
    if captured is None:
        return None
    values: dict[str, str] = {}
    for name, found in captured.items():
        if len(set(found)) != 1:
            return None  # two places in one string say two values
        values[name] = found[0]
    if substitute_text(template, {**known, **values}) != current:
        return None
    return values


@dataclass(frozen=True)
class _Hole:
    name: str
    literal: bool  # a JavaScript string literal (a reference), else raw text (a placeholder)


def _markers(names: list[str], template: str, known: Mapping[str, str]) -> dict[str, str]:
    """A stand-in value per name that neither the template nor a known value contains."""
    for attempt in count():
        markers = {name: f"\x00pf{attempt}.{index}\x00" for index, name in enumerate(names)}
        forms = [form for marker in markers.values() for form in (marker, json.dumps(marker))]
        texts = [template, *known.values()]
        if not any(form in text for form in forms for text in texts):
            return markers
    raise AssertionError("unreachable")


def _pieces(filled: str, markers: Mapping[str, str]) -> list[str | _Hole]:
    """``filled`` cut into literal text and holes where a marker stands."""
    forms = {json.dumps(m): _Hole(n, True) for n, m in markers.items()}
    forms |= {m: _Hole(n, False) for n, m in markers.items()}
    pieces: list[str | _Hole] = []
    position = 0
    while position < len(filled):
        found = [(filled.find(form, position), form) for form in forms]
        hits = [(index, form) for index, form in found if index >= 0]
        if not hits:
            pieces.append(filled[position:])
            break
        index, form = min(hits, key=lambda hit: (hit[0], -len(hit[1])))
        if index > position:
            pieces.append(filled[position:index])
        pieces.append(forms[form])
        position = index + len(form)
    return pieces


def _read(pieces: list[str | _Hole], current: str) -> dict[str, list[str]] | None:
    """What each hole holds in ``current``, reading left to right without backtracking."""
    captured: dict[str, list[str]] = {}
    position = 0
    for index, piece in enumerate(pieces):
        if isinstance(piece, str):
            if not current.startswith(piece, position):
                return None
            position += len(piece)
            continue
        if piece.literal:
            end = _string_literal_end(current, position)
            if end is None:
                return None
            try:
                value = json.loads(current[position:end])
            except ValueError:
                return None
            if not isinstance(value, str):
                return None
        else:
            after = pieces[index + 1] if index + 1 < len(pieces) else None
            if after is None:
                end = len(current)
            elif isinstance(after, str):
                end = current.find(after, position)
                if end < 0:
                    return None
            else:
                end = position  # two holes side by side: the split cannot be told
            value = current[position:end]
        captured.setdefault(piece.name, []).append(value)
        position = end
    return captured if position == len(current) else None


def _string_literal_end(text: str, start: int) -> int | None:
    """The index just past the JSON string literal starting at ``start``."""
    if not text.startswith('"', start):
        return None
    index = start + 1
    while index < len(text):
        character = text[index]
        if character == "\\":
            index += 2
            continue
        if character == '"':
            return index + 1
        index += 1
    return None
