"""Request bodies for n8n's public API, built from its allowlists (SPEC §6).

``POST`` and ``PUT /workflows`` reject unknown keys, ``null`` where a value is expected and
numbers or booleans given as strings, all of which real exports carry. This module keeps
what n8n accepts, converts what can be converted without changing the workflow's meaning
(``"3"`` → ``3``, ``"true"`` → ``True``, ``null`` → left out, the old credential string
form kept as n8n reads it) and refuses the rest with a `WorkflowError` naming the place.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pumpflix_cli.workflow.errors import WorkflowError, describe, quote
from pumpflix_cli.workflow.structure import validate

# n8n refuses a workflow name outside 1..128 characters (templates allow 200).
MAX_N8N_NAME_LENGTH = 128

# What a request body may hold. n8n also accepts staticData and pinData; both are run data,
# which `templates export` leaves out as well, so they are not sent.
BODY_KEYS = ("name", "nodes", "connections", "settings")

NODE_KEYS = frozenset(
    {
        "id",
        "name",
        "webhookId",
        "disabled",
        "notesInFlow",
        "notes",
        "type",
        "typeVersion",
        "executeOnce",
        "alwaysOutputData",
        "retryOnFail",
        "maxTries",
        "waitBetweenTries",
        "continueOnFail",
        "onError",
        "position",
        "parameters",
        "credentials",
    }
)
_NODE_BOOLEANS = frozenset(
    {"disabled", "notesInFlow", "executeOnce", "alwaysOutputData", "retryOnFail", "continueOnFail"}
)
_NODE_NUMBERS = frozenset({"typeVersion", "maxTries", "waitBetweenTries"})
_NODE_STRINGS = frozenset({"id", "name", "webhookId", "notes", "type", "onError"})

# Settings n8n 2.40 accepts, with the type of each value.
_SAVE_DATA = ("all", "none")
SETTINGS_TYPES: dict[str, str | tuple[str, ...]] = {
    "saveExecutionProgress": "boolean",
    "saveManualExecutions": "boolean",
    "saveDataErrorExecution": _SAVE_DATA,
    "saveDataSuccessExecution": _SAVE_DATA,
    "executionTimeout": "number",
    "errorWorkflow": "string",
    "timezone": "string",
    "executionOrder": "string",
    "binaryMode": ("separate", "combined"),
    "callerPolicy": ("any", "none", "workflowsFromAList", "workflowsFromSameOwner"),
    "callerIds": "string",
    "timeSavedMode": ("fixed", "dynamic"),
    "timeSavedPerExecution": "number",
    "redactionPolicy": ("none", "non-manual", "manual-only", "all"),
    "availableInMCP": "boolean",
}
SETTINGS_KEYS = frozenset(SETTINGS_TYPES)
# Older exports spell "use the instance default" as a value; leaving the key out means that.
_DEFAULT_WORDS = frozenset({"default", ""})


def n8n_request_body(workflow: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
    """The body to ``POST`` / ``PUT`` for ``workflow``, named ``name`` when given.

    Keeps node ids, positions and webhook ids (n8n needs a position; a missing one becomes
    ``[0, 0]``). Raises `WorkflowError` for what cannot be sent without guessing: no name,
    a name n8n refuses, duplicate node names, connections to nodes that do not exist, and
    values of the wrong type that do not convert.
    """
    if not isinstance(workflow, dict):
        raise WorkflowError(f"expected a workflow object, got {describe(workflow)}")
    body_name = _body_name(workflow.get("name") if name is None else name)
    nodes = workflow.get("nodes")
    if not isinstance(nodes, list):
        raise WorkflowError('not an n8n workflow: no "nodes" list')
    settings = workflow.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise WorkflowError(f"settings must be an object, got {describe(settings)}")
    connections = workflow.get("connections")
    body = {
        "name": body_name,
        "nodes": _unique_ids([_node(node, i) for i, node in enumerate(nodes)]),
        "connections": _connections(connections),
        "settings": normalize_settings(settings or {}),
    }
    validate(body)  # duplicate node names, dangling connections, wrong shapes
    return body


def _unique_ids(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """n8n refuses two nodes with one id; a copied node in an export often keeps its
    original's. Ids only identify nodes on a canvas (connections go by name), so a repeated
    one is left out and n8n makes a new one."""
    seen: set[str] = set()
    for node in nodes:
        node_id = node.get("id")
        if node_id is None:
            continue
        if node_id in seen:
            del node["id"]
        seen.add(node_id)
    return nodes


def _connections(connections: Any) -> Any:
    """Targets get the ``type`` and ``index`` n8n requires (older exports leave out an
    index of 0); anything malformed is left for `validate` to name."""
    if connections is None:
        return {}
    if not isinstance(connections, dict):
        return connections
    fixed: dict[str, Any] = {}
    for source, outputs in connections.items():
        if not isinstance(outputs, dict):
            fixed[source] = outputs
            continue
        fixed[source] = {
            kind: [
                [_target(t, kind) for t in group] if isinstance(group, list) else group
                for group in groups
            ]
            if isinstance(groups, list)
            else groups
            for kind, groups in outputs.items()
        }
    return fixed


def _target(target: Any, kind: str) -> Any:
    if not isinstance(target, dict) or not isinstance(target.get("node"), str):
        return target
    return {
        "node": target["node"],
        "type": target.get("type", kind),
        "index": target.get("index", 0),
    }


def _body_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise WorkflowError("the workflow has no name")
    stripped = raw.strip()
    if len(stripped) > MAX_N8N_NAME_LENGTH:
        raise WorkflowError(
            f"name is {len(stripped)} characters long; n8n allows at most {MAX_N8N_NAME_LENGTH}"
        )
    return stripped


def normalize_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings n8n accepts: unknown keys and ``null`` values left out, values converted
    to the type n8n expects (``"3600"`` → 3600, ``"true"`` → True, 12 → ``"12"``)."""
    normalized: dict[str, Any] = {}
    for key, value in settings.items():
        kind = SETTINGS_TYPES.get(key)
        if kind is None or value is None:
            continue
        where = f"settings.{key}"
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text.lower() in _DEFAULT_WORDS:
            continue
        if isinstance(kind, tuple):
            if text not in kind:
                allowed = ", ".join(kind)
                raise WorkflowError(f"{where} must be one of {allowed}, got {_shown(value)}")
            normalized[key] = text
        elif key == "callerIds" and isinstance(value, list):
            normalized[key] = ",".join(str(_string(item, where)) for item in value)
        else:
            normalized[key] = _CONVERTERS[kind](value, where)
    return normalized


def _node(node: Any, index: int) -> dict[str, Any]:
    where = f"nodes[{index}]"
    if not isinstance(node, dict):
        raise WorkflowError(f"{where} must be an object, got {describe(node)}")
    label = node.get("name")
    which = f" (node {quote(label)})" if isinstance(label, str) else ""
    body: dict[str, Any] = {}
    for key, value in node.items():
        if key not in NODE_KEYS or value is None:
            continue
        field = f"{where}.{key}{which}"
        if key in _NODE_BOOLEANS:
            body[key] = _boolean(value, field)
        elif key in _NODE_NUMBERS:
            body[key] = _number(value, field)
        elif key in _NODE_STRINGS:
            body[key] = _string(value, field)
        elif key == "position":
            body[key] = _position(value, field)
        elif key == "parameters":
            if not isinstance(value, dict):
                raise WorkflowError(f"{field} must be an object, got {describe(value)}")
            body[key] = value
        elif key == "credentials":
            if not isinstance(value, dict):
                raise WorkflowError(f"{field} must be an object, got {describe(value)}")
            body[key] = {k: v for k, v in value.items() if v is not None}
    body.setdefault("position", [0, 0])
    return body


def _position(value: Any, where: str) -> list[float | int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise WorkflowError(f"{where} must be a list of two numbers")
    return [_number(item, where) for item in value]


def _shown(value: Any) -> str:
    return quote(value) if isinstance(value, str) else describe(value)


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise WorkflowError(f"{where} must be a boolean, got {_shown(value)}")


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise WorkflowError(f"{where} must be a finite number")
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in text else number
    raise WorkflowError(f"{where} must be a number, got {_shown(value)}")


def _string(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise WorkflowError(f"{where} must be a string, got {describe(value)}")


_CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "boolean": _boolean,
    "number": _number,
    "string": _string,
}
