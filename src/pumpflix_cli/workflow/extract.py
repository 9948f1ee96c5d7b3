"""What a workflow asks of whoever instantiates it: credential types and input variables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# {{NAME}} with NAME upper-case, spaces allowed inside the braces: "{{ API_URL }}".
# n8n's own "{{ $json.x }}" never matches: it is not upper-case only.
PLACEHOLDER_PATTERN = re.compile(r"\{\{ *([A-Z][A-Z0-9_]*) *\}\}")
# $env.NAME, $vars.NAME, $env["NAME"], $vars['NAME'] inside an expression's {{ }} block.
# n8n variable names are not necessarily upper-case ($vars.repo_owner in the corpus).
REFERENCE_PATTERN = re.compile(
    r"\$(?:env|vars)\s*(?:\??\.\s*([A-Za-z_][A-Za-z0-9_]*)"
    r"|\[\s*(['\"`])([A-Za-z_][A-Za-z0-9_]*)\2\s*\])"
)
EXPRESSION_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

_STICKY_NOTE_SUFFIX = ".stickyNote"  # n8n-nodes-base.stickyNote


def iter_nodes(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The workflow's node objects, skipping anything malformed."""
    nodes = workflow.get("nodes")
    if isinstance(nodes, list):
        yield from (node for node in nodes if isinstance(node, dict))


def iter_strings(value: Any) -> Iterator[str]:
    """Every string value (not key) in a JSON value, iteratively, in no particular order."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def extract_credentials(workflow: dict[str, Any]) -> list[str]:
    """Sorted credential types referenced by ``nodes[].credentials``.

    Both forms seen in exports count: ``{"slackApi": {"id": "3", "name": "Slack"}}`` and the
    older ``{"slackApi": "Slack"}``.
    """
    types: set[str] = set()
    for node in iter_nodes(workflow):
        credentials = node.get("credentials")
        if isinstance(credentials, dict):
            types.update(credentials)
    return sorted(types)


def extract_input_variables(workflow: dict[str, Any], *, text: str | None = None) -> list[str]:
    """Sorted names a user must supply to instantiate the workflow.

    - ``{{NAME}}`` placeholders in any string parameter;
    - ``$env.NAME`` / ``$vars.NAME`` (and the ``["NAME"]`` forms) inside the ``{{ }}``
      blocks of expressions (strings starting with ``=``).

    Sticky notes are documentation and are skipped; so is code in Code nodes, which is
    not an expression. ``text``, the workflow already serialized, spares a serialization
    for the pre-filter.
    """
    nodes = [node for node in iter_nodes(workflow) if not _is_sticky_note(node)]
    if not _mentions_variables(text if text is not None else parameters_text(nodes)):
        return []
    names: set[str] = set()
    for node in nodes:
        for text in iter_strings(node.get("parameters")):
            if "{{" not in text:
                continue
            names.update(PLACEHOLDER_PATTERN.findall(text))
            if text.startswith("="):
                names.update(expression_references(text))
    return sorted(names)


def _is_sticky_note(node: dict[str, Any]) -> bool:
    node_type = node.get("type")
    return isinstance(node_type, str) and node_type.endswith(_STICKY_NOTE_SUFFIX)


def _mentions_variables(text: str) -> bool:
    return "$env" in text or "$vars" in text or PLACEHOLDER_PATTERN.search(text) is not None


def parameters_text(nodes: list[dict[str, Any]]) -> str:
    """All the nodes' parameters as one JSON string: a C-speed pre-filter before walking them."""
    return json.dumps([node.get("parameters") for node in nodes], ensure_ascii=False, default=str)


def expression_references(expression: str) -> set[str]:
    """Names of ``$env`` / ``$vars`` references inside the ``{{ }}`` blocks of an expression."""
    found: set[str] = set()
    for block in EXPRESSION_BLOCK.findall(expression):
        for dotted, _quote, bracketed in REFERENCE_PATTERN.findall(block):
            found.add(dotted or bracketed)
    return found
