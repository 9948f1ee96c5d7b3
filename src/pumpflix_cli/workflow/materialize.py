"""From a template to the workflow an instance deploys (SPEC §4, §6): variables filled in,
credentials mapped, and an entry point n8n can be called at from outside."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pumpflix_cli.workflow.errors import WorkflowError
from pumpflix_cli.workflow.extract import (
    EXPRESSION_BLOCK,
    PLACEHOLDER_PATTERN,
    REFERENCE_PATTERN,
    extract_input_variables,
    iter_nodes,
)

WEBHOOK_TYPE = "n8n-nodes-base.webhook"
# Triggers that cannot be called from outside but can be swapped for a Webhook that runs
# the same graph now: the node keeps its name, so connections and logs still fit.
SWAPPABLE_TRIGGERS = frozenset(
    {
        "n8n-nodes-base.manualTrigger",
        "n8n-nodes-base.scheduleTrigger",
        "n8n-nodes-base.cron",
        "n8n-nodes-base.interval",
    }
)
_STICKY_NOTE_SUFFIX = ".stickyNote"


class MissingVariablesError(WorkflowError):
    """Input variables the template needs and the caller did not give."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("missing input variables: " + ", ".join(names))
        self.names = names


def materialize(
    workflow: dict[str, Any],
    variables: Mapping[str, str],
    credentials: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of ``workflow`` with every ``{{NAME}}`` placeholder replaced by its value and
    every ``$vars.NAME`` / ``$env.NAME`` inside an expression replaced by the value as a
    JavaScript string literal (n8n 2.x blocks ``$env`` in expressions), and each
    credential reference of a mapped type pointed at the given n8n credential id.

    Raises :class:`MissingVariablesError` naming every variable without a value.
    """
    missing = [name for name in extract_input_variables(workflow) if name not in variables]
    if missing:
        raise MissingVariablesError(missing)
    result = copy.deepcopy(workflow)
    for node in iter_nodes(result):
        node_type = node.get("type")
        if isinstance(node_type, str) and node_type.endswith(_STICKY_NOTE_SUFFIX):
            continue
        if "parameters" in node:
            node["parameters"] = _substitute(node["parameters"], variables)
        _map_credentials(node, credentials or {})
    return result


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute_text(value, variables)
    if isinstance(value, dict):
        return {key: _substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def substitute_text(text: str, variables: Mapping[str, str]) -> str:
    """One string parameter with its variables filled in (see :func:`materialize`)."""
    if "{{" not in text:
        return text
    if text.startswith("="):

        def literal(match: Any) -> str:
            name = match.group(1) or match.group(3)
            return json.dumps(variables[name]) if name in variables else str(match.group(0))

        text = EXPRESSION_BLOCK.sub(
            lambda block: "{{" + REFERENCE_PATTERN.sub(literal, block.group(1)) + "}}", text
        )
    return PLACEHOLDER_PATTERN.sub(
        lambda match: variables.get(match.group(1), match.group(0)), text
    )


def _map_credentials(node: dict[str, Any], credentials: Mapping[str, str]) -> None:
    references = node.get("credentials")
    if not isinstance(references, dict):
        return
    for credential_type, reference in list(references.items()):
        if credential_type not in credentials:
            continue
        name = reference.get("name") if isinstance(reference, dict) else reference
        references[credential_type] = {
            "id": credentials[credential_type],
            "name": name if isinstance(name, str) else credential_type,
        }


@dataclass(frozen=True)
class EntryPoint:
    """How an instance's workflow is started from outside.

    ``webhook``: the template's own Webhook trigger, at ``path``; ``swapped``: a Manual or
    Schedule Trigger replaced by a Webhook of the same name; ``app``: only app triggers
    (Telegram, Gmail …), so n8n runs it when the app calls.
    """

    kind: Literal["webhook", "swapped", "app"]
    node: str | None = None
    path: str | None = None
    method: str = "POST"


Respond = Literal["lastNode", "onReceived"]
# What a swapped-in Webhook answering at once replies: the id of the execution it started.
EXECUTION_ID_REPLY = "={{ $execution.id }}"


def with_entry_point(
    workflow: dict[str, Any], path: str, *, respond: Respond = "lastNode"
) -> tuple[dict[str, Any], EntryPoint]:
    """A copy of ``workflow`` that can be started at ``/webhook/<path>`` when possible.

    A Webhook swapped in for a Manual or Schedule Trigger answers with the last node's
    items (``respond="lastNode"``) or at once with the id of the execution it started
    (``"onReceived"``, for a caller that does not wait). The template's own Webhook keeps
    its way of answering."""
    result = copy.deepcopy(workflow)
    nodes = [node for node in iter_nodes(result) if not node.get("disabled")]
    for node in nodes:
        if node.get("type") == WEBHOOK_TYPE:
            parameters = node.setdefault("parameters", {})
            parameters["path"] = path
            node["webhookId"] = str(uuid.uuid4())
            method = str(parameters.get("httpMethod") or "GET").upper()
            return result, EntryPoint("webhook", str(node.get("name")), path, method)
    for node in nodes:
        if node.get("type") in SWAPPABLE_TRIGGERS:
            name = str(node.get("name"))
            node.clear()
            node.update(_webhook_node(name, path, _position(workflow, name), respond))
            return result, EntryPoint("swapped", name, path, "POST")
    if any(str(node.get("type", "")).lower().endswith("trigger") for node in nodes):
        return result, EntryPoint("app")
    raise WorkflowError("the workflow has no trigger node, so n8n cannot start it")


def _position(workflow: dict[str, Any], name: str) -> list[Any]:
    for node in iter_nodes(workflow):
        if node.get("name") == name and isinstance(node.get("position"), list):
            return list(node["position"])
    return [0, 0]


def _webhook_node(name: str, path: str, position: list[Any], respond: Respond) -> dict[str, Any]:
    parameters: dict[str, Any] = {"httpMethod": "POST", "path": path, "responseMode": respond}
    if respond == "lastNode":
        parameters |= {"responseData": "allEntries", "options": {}}
    else:
        parameters["options"] = {"responseData": EXECUTION_ID_REPLY}
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": WEBHOOK_TYPE,
        "typeVersion": 2,
        "position": position,
        "webhookId": str(uuid.uuid4()),
        "parameters": parameters,
    }


def entry_point_of(workflow: dict[str, Any]) -> EntryPoint:
    """The kind of entry point and its node that :func:`with_entry_point` chooses for
    ``workflow`` (without a path): the choice depends only on the nodes."""
    return with_entry_point(workflow, "")[1]


def without_entry_point(
    deployed: dict[str, Any], original: dict[str, Any], entry: EntryPoint
) -> dict[str, Any]:
    """Undo :func:`with_entry_point` on a copy of ``deployed`` (an instance's workflow as
    n8n now holds it, perhaps edited there), given the ``original`` it was made from.

    The Webhook that stood in for a Manual or Schedule Trigger becomes that trigger again;
    the template's own Webhook gets its path and webhook id back. Every other edit stays.
    """
    result = copy.deepcopy(deployed)
    if entry.kind == "app" or entry.node is None:
        return result
    before = next((n for n in iter_nodes(original) if n.get("name") == entry.node), None)
    nodes = result.get("nodes")
    if before is None or not isinstance(nodes, list):
        return result
    for index, node in enumerate(nodes):
        if not (isinstance(node, dict) and node.get("name") == entry.node):
            continue
        if node.get("type") != WEBHOOK_TYPE:
            break  # changed into something else in n8n: that edit is kept
        if entry.kind == "swapped":
            restored = copy.deepcopy(before)
            if "position" in node:
                restored["position"] = node["position"]
            nodes[index] = restored
            break
        parameters = node.setdefault("parameters", {})
        for key, source, target in (
            ("path", before.get("parameters") or {}, parameters),
            ("webhookId", before, node),
        ):
            if key in source:
                target[key] = source[key]
            else:
                target.pop(key, None)
        break
    return result
