"""From a template to the workflow an instance deploys (SPEC §4): variables filled in and
credentials mapped. How n8n is then called is `entry_points`."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from pumpflix_cli.workflow.errors import WorkflowError
from pumpflix_cli.workflow.extract import (
    EXPRESSION_BLOCK,
    PLACEHOLDER_PATTERN,
    REFERENCE_PATTERN,
    extract_input_variables,
    iter_nodes,
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
