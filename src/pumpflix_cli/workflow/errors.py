"""The one exception the workflow module raises, and helpers to word its messages."""

from __future__ import annotations

from typing import Any

from pumpflix_cli.json_text import json_path as key_path
from pumpflix_cli.json_text import quote

__all__ = [
    "IdKeyedConnectionsError",
    "WorkflowError",
    "describe",
    "describe_plural",
    "key_path",
    "quote",
]


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
