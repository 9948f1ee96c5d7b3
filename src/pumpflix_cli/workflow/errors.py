"""The one exception the workflow module raises, and helpers to word its messages."""

from __future__ import annotations

from typing import Any

_MAX_QUOTED = 60


class WorkflowError(ValueError):
    """A workflow document that cannot be imported.

    The message is a single line that is safe to print: it names keys, node names and
    positions, never parameter values (which may be secrets) or large content.
    ``remedy`` names what would make the document acceptable, for the caller to word
    (``"repair"``: rewriting id-keyed connections to names).
    """

    remedy: str | None = None


class IdKeyedConnectionsError(WorkflowError):
    """Connections keyed by node id instead of node name: repairable."""

    remedy = "repair"


def quote(text: str, limit: int = _MAX_QUOTED) -> str:
    """Quote a name for an error message: one line, bounded length, control marks escaped."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def describe(value: Any) -> str:
    """Name the JSON type of a value with its article: "an object", "a number", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def describe_plural(value: Any) -> str:
    """Plural of `describe` without the article: "objects", "numbers", "nulls"."""
    if value is None:
        return "nulls"
    word = describe(value).split(" ", 1)[1]
    return word + "s"


def key_path(parts: tuple[str | int, ...]) -> str:
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
