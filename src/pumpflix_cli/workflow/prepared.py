"""From one parsed workflow object to everything an import needs to know about it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.json_text import NonJsonNumberError, dumps, find_non_json_number
from pumpflix_cli.workflow.canonical import content_hash
from pumpflix_cli.workflow.errors import WorkflowError, describe, key_path
from pumpflix_cli.workflow.extract import extract_credentials, extract_input_variables
from pumpflix_cli.workflow.names import template_name
from pumpflix_cli.workflow.structure import NOT_A_WORKFLOW, repair_connections, validate
from pumpflix_cli.workflow.tokens import SecretFinding, scan_secrets

BUNDLE_KEY = "pumpflix"
SOURCE_TYPES = ("prebuilt", "user")

# PostgreSQL's jsonb cannot store U+0000 or a lone surrogate, both legal in JSON text.
_SURROGATE = re.compile("[\ud800-\udfff]")
# In json.dumps output a NUL is the escape \u0000 after an even run of backslashes.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# An integer beyond a double's range has at least 309 digits in a row: seen, at C speed,
# in the text with every digit as "0" and everything else blank.
_DIGITS_AS_ZERO = bytes(ord("0") if chr(b).isdigit() else ord(" ") for b in range(256))
_LONG_DIGITS = b"0" * 309


@dataclass(frozen=True)
class BundleMeta:
    """The ``"pumpflix"`` header of a bundle written by ``templates export --bundle``."""

    id: str | None
    source_type: str | None
    version: int | None
    description: str | None
    thumbnail: str | None


@dataclass(frozen=True)
class PreparedWorkflow:
    """A workflow checked and ready to store, with what the templates table keeps beside it."""

    name: str
    workflow: dict[str, Any]
    bundle: BundleMeta | None
    description: str | None
    required_credentials: list[str]
    input_variables: list[str]
    content_hash: str
    secrets: list[SecretFinding]
    repaired: bool
    # ``workflow`` as compact JSON text: what the database stores.
    json_text: str = ""


def prepare(obj: Any, *, fallback_name: str, repair: bool = False) -> PreparedWorkflow:
    """Validate one workflow object (repairing id-keyed connections if asked) and derive
    its name, bundle header, credentials, input variables, content hash and token warnings.

    ``fallback_name`` (the file name's stem) names a workflow that has no top-level name.
    The stored workflow is the input with the name set, connections repaired and the
    bundle header removed; nothing else is stripped. Raises `WorkflowError`.
    """
    if not isinstance(obj, dict):
        raise WorkflowError(f"expected a workflow object, got {describe(obj)}")
    try:
        return _prepare(obj, fallback_name, repair)
    except RecursionError:  # an object built in memory, deeper than parse_json allows
        raise WorkflowError("nesting too deep") from None


def _prepare(obj: dict[str, Any], fallback_name: str, repair: bool) -> PreparedWorkflow:
    if "nodes" not in obj:  # first: an array of non-workflows fails fast, item by item
        raise WorkflowError(NOT_A_WORKFLOW)
    bundle = parse_bundle_meta(obj[BUNDLE_KEY]) if BUNDLE_KEY in obj else None
    name = _derive_name(obj.get("name"), fallback_name)
    workflow = {k: v for k, v in obj.items() if k != BUNDLE_KEY}
    workflow["name"] = name
    repaired = False
    if repair:
        workflow, repaired = repair_connections(workflow)
    validate(workflow)
    text = _storable_text(workflow)
    description = bundle.description if bundle and bundle.description is not None else None
    if description is None:
        description = _text(workflow.get("description"))
    return PreparedWorkflow(
        name=name,
        workflow=workflow,
        bundle=bundle,
        description=description,
        required_credentials=extract_credentials(workflow),
        input_variables=extract_input_variables(workflow, text=text),
        content_hash=content_hash(workflow),
        secrets=scan_secrets(workflow, text=text),
        repaired=repaired,
        json_text=text,
    )


def _derive_name(raw: Any, fallback_name: str) -> str:
    if isinstance(raw, str) and raw.strip():
        return template_name(raw)
    if raw is not None and not isinstance(raw, str):
        raise WorkflowError(f"name must be a string, got {describe(raw)}")
    try:
        return template_name(fallback_name)
    except WorkflowError as exc:
        raise WorkflowError(f"{exc} (the workflow has no name; taken from the file name)") from None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_bundle_meta(header: Any) -> BundleMeta:
    """Read and check a bundle's ``"pumpflix"`` header; every field is optional."""
    if not isinstance(header, dict):
        raise WorkflowError(f"{BUNDLE_KEY} must be an object, got {describe(header)}")
    template_id = header.get("id")
    if template_id is not None:
        try:
            template_id = str(uuid.UUID(template_id))
        except (TypeError, ValueError, AttributeError):
            raise WorkflowError(f"{BUNDLE_KEY}.id must be a UUID") from None
    source_type = header.get("sourceType")
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise WorkflowError(f'{BUNDLE_KEY}.sourceType must be "prebuilt" or "user"')
    version = header.get("version")
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 1
    ):
        raise WorkflowError(f"{BUNDLE_KEY}.version must be a positive integer")
    for key in ("description", "thumbnail"):
        if header.get(key) is not None and not isinstance(header[key], str):
            raise WorkflowError(f"{BUNDLE_KEY}.{key} must be a string")
    return BundleMeta(
        id=template_id,
        source_type=source_type,
        version=version,
        description=header.get("description"),
        thumbnail=header.get("thumbnail"),
    )


def _storable_text(workflow: dict[str, Any]) -> str:
    """The workflow as the compact JSON text the database stores, or `WorkflowError` for
    what no store can hold: a number that is not JSON's (a workflow built in memory, from
    the database or n8n, has not been through `parse_json`), NUL, a lone surrogate."""
    try:
        text = dumps(workflow, separators=(",", ":"), default=str)
    except NonJsonNumberError as exc:
        raise WorkflowError(str(exc)) from None
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO)
    if _LONG_DIGITS in digits:  # rare: only then walk for the integer JSON cannot carry
        found = find_non_json_number(workflow)
        if found is not None:
            raise WorkflowError(str(found))
    _check_storable(workflow, text)
    return text


def _check_storable(workflow: dict[str, Any], text: str) -> None:
    # The serialization (C speed) finds the rare bad document; only then walk to say where.
    has_nul = "\\u0000" in text and _ESCAPED_NUL.search(text) is not None
    if not (has_nul or (not text.isascii() and _SURROGATE.search(text))):
        return
    for path, item in _iter_text_with_paths(workflow):
        bad = "\x00" if "\x00" in item else next(iter(_SURROGATE.findall(item)), None)
        if bad is not None:
            what = "a NUL character" if bad == "\x00" else "an unpaired surrogate"
            where = key_path(path) if path else "the document"
            raise WorkflowError(
                f"{where} contains {what} (U+{ord(bad):04X}), which cannot be stored"
            )


def _iter_text_with_paths(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every key and string value with the path that leads to it, iteratively."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield (*where, key), key
                stack.append(((*where, key), child))
        elif isinstance(item, list):
            stack.extend(((*where, i), child) for i, child in enumerate(item))
