"""Structural checks of an n8n workflow, and id-keyed connection repair."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pumpflix_cli.workflow.errors import IdKeyedConnectionsError, WorkflowError, describe, quote
from pumpflix_cli.workflow.names import validate_template_name

NOT_A_WORKFLOW = 'not an n8n workflow: no "nodes" list'


def validate(workflow: dict[str, Any]) -> None:
    """Check that a workflow has the shape n8n needs, or raise `WorkflowError` saying what is wrong.

    Tolerates what real exports carry: null or empty output groups in connections and
    connection kinds other than ``main`` (``ai_tool``, ``ai_languageModel``, ...).
    """
    if not isinstance(workflow, dict):
        raise WorkflowError(f"expected a workflow object, got {describe(workflow)}")
    name = workflow.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise WorkflowError(f"name must be a string, got {describe(name)}")
        validate_template_name(name)
    settings = workflow.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise WorkflowError(f"settings must be an object, got {describe(settings)}")
    names = _check_nodes(workflow)
    connections = workflow.get("connections")
    if connections is None:
        return
    if not isinstance(connections, dict):
        raise WorkflowError(f"connections must be an object, got {describe(connections)}")
    _check_connection_shapes(connections)
    _check_connection_references(connections, names, _ids_to_names(workflow["nodes"]))


def _check_nodes(workflow: dict[str, Any]) -> set[str]:
    if "nodes" not in workflow:
        raise WorkflowError(NOT_A_WORKFLOW)
    nodes = workflow["nodes"]
    if not isinstance(nodes, list):
        raise WorkflowError(f"nodes must be a list, got {describe(nodes)}")
    first_index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(node, dict):
            raise WorkflowError(f"{where} must be an object, got {describe(node)}")
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise WorkflowError(f"{where}.name must be a non-empty string")
        _check_node_fields(node, f"{where}", f" (node {quote(name)})")
        if name in first_index:
            raise WorkflowError(
                f"duplicate node name {quote(name)} (nodes[{first_index[name]}] and {where})"
            )
        first_index[name] = i
    return set(first_index)


def _check_node_fields(node: dict[str, Any], where: str, which: str) -> None:
    node_type = node.get("type")
    if not isinstance(node_type, str) or not node_type:
        raise WorkflowError(f"{where}.type must be a non-empty string{which}")
    version = node.get("typeVersion")
    if version is not None and (not isinstance(version, int | float) or isinstance(version, bool)):
        raise WorkflowError(f"{where}.typeVersion must be a number{which}")
    parameters = node.get("parameters")
    if "parameters" in node and not isinstance(parameters, dict):
        raise WorkflowError(f"{where}.parameters must be an object{which}")
    position = node.get("position")
    if position is not None and not (
        isinstance(position, list)
        and len(position) == 2
        and all(isinstance(p, int | float) and not isinstance(p, bool) for p in position)
    ):
        raise WorkflowError(f"{where}.position must be a list of two numbers{which}")
    credentials = node.get("credentials")
    if credentials is None:
        return
    if not isinstance(credentials, dict):
        raise WorkflowError(f"{where}.credentials must be an object{which}")
    for cred_type, ref in credentials.items():
        if not isinstance(ref, str | dict):
            raise WorkflowError(
                f"{where}.credentials[{quote(cred_type)}] must be an object or a string{which}"
            )


def _check_connection_shapes(connections: dict[str, Any]) -> None:
    for source, outputs in connections.items():
        base = f"connections[{quote(source)}]"
        if not isinstance(outputs, dict):
            raise WorkflowError(f"{base} must be an object, got {describe(outputs)}")
        for kind, groups in outputs.items():
            where = f"{base}.{kind}" if kind.isidentifier() else f"{base}[{quote(kind)}]"
            if not isinstance(groups, list):
                raise WorkflowError(f"{where} must be a list, got {describe(groups)}")
            for j, group in enumerate(groups):
                if group is None:
                    continue
                if not isinstance(group, list):
                    raise WorkflowError(f"{where}[{j}] must be a list, got {describe(group)}")
                for k, target in enumerate(group):
                    _check_target(target, f"{where}[{j}][{k}]")


def _check_target(target: Any, where: str) -> None:
    if not isinstance(target, dict):
        raise WorkflowError(f"{where} must be an object, got {describe(target)}")
    if not isinstance(target.get("node"), str):
        raise WorkflowError(f"{where}.node must be a string")
    if "type" in target and not isinstance(target["type"], str):
        raise WorkflowError(f"{where}.type must be a string")
    index = target.get("index")
    if "index" in target and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise WorkflowError(f"{where}.index must be a non-negative integer")


def _references(connections: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(source, target) pairs; target None stands for the source key itself."""
    for source, outputs in connections.items():
        yield source, None
        for groups in outputs.values():
            for group in groups:
                for target in group or ():
                    yield source, target["node"]


def _check_connection_references(
    connections: dict[str, Any], names: set[str], ids: dict[str, list[str]]
) -> None:
    unknown = [
        (source, target)
        for source, target in _references(connections)
        if (source if target is None else target) not in names
    ]
    # Dangling references cannot be repaired, so they are reported before id-keyed ones.
    for source, target in unknown:
        ref = source if target is None else target
        if ref in ids:
            continue
        if target is None:
            raise WorkflowError(f"connection from unknown node {quote(source)}")
        raise WorkflowError(f"connection from {quote(source)} to unknown node {quote(target)}")
    for source, target in unknown:
        ref = source if target is None else target
        owners = ids[ref]
        if len(owners) > 1:
            raise WorkflowError(
                f"connections refer to {quote(ref)}, which is not a node name but the id of "
                f"{len(owners)} nodes; cannot tell which node is meant"
            )
    if unknown:
        source, target = unknown[0]
        ref = source if target is None else target
        raise IdKeyedConnectionsError(
            f"connections are keyed by node id, not node name ({quote(ref)} is the id of "
            f"node {quote(ids[ref][0])})"
        )


def _ids_to_names(nodes: list[Any]) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for node in nodes:
        if isinstance(node, dict):
            node_id, name = node.get("id"), node.get("name")
            if isinstance(node_id, str) and isinstance(name, str):
                owners.setdefault(node_id, []).append(name)
    return owners


def repair_connections(workflow: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Rewrite connections keyed by node id (sources and/or targets) to node names.

    A reference is rewritten only when it is unambiguous: it is not any node's name and is
    exactly one node's id. Anything else (dangling references, ids shared by several nodes)
    is left for `validate` to report. When a node ends up keyed twice (once by name, once
    by id) its outputs are merged index by index. Returns ``(workflow, False)`` unchanged
    when there is nothing to rewrite, else a new top-level dict and ``True``; nested values
    that did not change are shared with the input.
    """
    nodes = workflow.get("nodes") if isinstance(workflow, dict) else None
    connections = workflow.get("connections") if isinstance(workflow, dict) else None
    if not isinstance(nodes, list) or not isinstance(connections, dict):
        return workflow, False
    names = {n["name"] for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)}
    renames = {
        node_id: owners[0]
        for node_id, owners in _ids_to_names(nodes).items()
        if len(owners) == 1 and node_id not in names
    }
    if not renames or not any(ref in renames for ref in _raw_references(connections)):
        return workflow, False
    keyed: dict[str, Any] = connections
    repaired: dict[str, Any] = {}
    for source, outputs in keyed.items():
        new_source = renames.get(source, source)
        new_outputs = _rename_targets(outputs, renames)
        if new_source in repaired:
            repaired[new_source] = _merge_outputs(repaired[new_source], new_outputs)
        else:
            repaired[new_source] = new_outputs
    return {**workflow, "connections": repaired}, True


def _raw_references(connections: dict[str, Any]) -> Iterator[Any]:
    """Every source key and target node name, tolerating malformed shapes."""
    for source, outputs in connections.items():
        yield source
        if not isinstance(outputs, dict):
            continue
        for groups in outputs.values():
            if not isinstance(groups, list):
                continue
            for group in groups:
                if isinstance(group, list):
                    for target in group:
                        if isinstance(target, dict):
                            yield target.get("node")


def _rename_targets(outputs: Any, renames: dict[str, str]) -> Any:
    if not isinstance(outputs, dict):
        return outputs
    renamed: dict[str, Any] = {}
    for kind, groups in outputs.items():
        if not isinstance(groups, list):
            renamed[kind] = groups
            continue
        renamed[kind] = [
            [_rename_target(t, renames) for t in group] if isinstance(group, list) else group
            for group in groups
        ]
    return renamed


def _rename_target(target: Any, renames: dict[str, str]) -> Any:
    if isinstance(target, dict) and isinstance(target.get("node"), str):
        node = target["node"]
        if node in renames:
            return {**target, "node": renames[node]}
    return target


def _merge_outputs(first: Any, second: Any) -> Any:
    if not isinstance(first, dict) or not isinstance(second, dict):
        return first  # malformed either way; validate reports the shape
    merged = dict(first)
    for kind, groups in second.items():
        existing = merged.get(kind)
        if not isinstance(existing, list) or not isinstance(groups, list):
            merged.setdefault(kind, groups)
            continue
        combined = list(existing)
        for i, group in enumerate(groups):
            if i >= len(combined):
                combined.append(group)
            elif isinstance(combined[i], list) and isinstance(group, list):
                combined[i] = combined[i] + [t for t in group if t not in combined[i]]
            elif combined[i] is None:
                combined[i] = group
        merged[kind] = combined
    return merged
