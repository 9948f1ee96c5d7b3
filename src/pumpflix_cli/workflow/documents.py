"""Bytes to JSON, and a JSON document to the workflow objects it holds."""

from __future__ import annotations

import json
import sys
from typing import Any

from pumpflix_cli.json_text import NonJsonNumberError, loads
from pumpflix_cli.workflow.errors import WorkflowError, describe, describe_plural

_BOM = b"\xef\xbb\xbf"
_CONTAINERS = (dict, list)  # what json.loads makes of objects and arrays
_EXPECTED = "expected a workflow object or an array of them"


def parse_json(raw: bytes, *, max_depth: int = 200) -> Any:
    """Decode a workflow file's bytes into a JSON value.

    Accepts a UTF-8 byte order mark. Rejects what PostgreSQL's JSONB or n8n would choke on
    later with a message saying where: bytes that are not UTF-8, syntax errors, numbers
    that are not JSON's (``NaN``, ``Infinity``, ``1e999``; see ``pumpflix_cli.json_text``),
    and nesting deeper than ``max_depth``.
    """
    start = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        text = raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise WorkflowError(
            f"not valid UTF-8 (byte 0x{raw[offset]:02x} at offset {offset})"
        ) from None
    if not text.strip():
        raise WorkflowError("invalid JSON: the file is empty")
    try:
        doc = loads(text)
    except RecursionError:
        # The C decoder recurses once per level; a hostile file nested 200,000 deep ends
        # here within milliseconds instead of crashing.
        raise WorkflowError(_too_deep(max_depth)) from None
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except NonJsonNumberError as exc:
        raise WorkflowError(f"invalid JSON: {exc}") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        reason = str(exc).split(":", 1)[0]
        raise WorkflowError(f"invalid JSON: {reason}") from None
    if _deeper_than(doc, max_depth):
        raise WorkflowError(_too_deep(max_depth))
    return doc


def _too_deep(max_depth: int) -> str:
    if max_depth < sys.getrecursionlimit() // 2:
        return f"nesting deeper than {max_depth} levels"
    return "nesting too deep to parse"


def _deeper_than(doc: Any, max_depth: int) -> bool:
    """Whether containers nest more than ``max_depth`` levels; iterative, so any depth is safe."""
    level = [doc] if type(doc) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value
            below += [child for child in children if type(child) in _CONTAINERS]
        level = below
    return False


def split_documents(doc: Any) -> list[Any]:
    """The candidate workflow objects in a parsed file.

    A file holds one workflow object (possibly a pumpflix bundle, which is a workflow with
    a top-level ``"pumpflix"`` header), or an array of them as n8n's ``export:workflow``
    writes. Whether each object really is a workflow is for `prepare` to say.
    """
    if isinstance(doc, dict):
        return [doc]
    if not isinstance(doc, list):
        raise WorkflowError(f"{_EXPECTED}, got {describe(doc)}")
    if not doc:
        raise WorkflowError(f"{_EXPECTED}, got an empty array")
    # Without building a list of the strays: an array of 8 million zeros is 16 MB.
    index = next((i for i, item in enumerate(doc) if not isinstance(item, dict)), None)
    if index is None:
        return doc
    item = doc[index]
    if index == 0 and all(describe(other) == describe(item) for other in doc):
        raise WorkflowError(f"{_EXPECTED}, got an array of {describe_plural(item)}")
    raise WorkflowError(f"{_EXPECTED}, got an array with {describe(item)} at index {index}")
