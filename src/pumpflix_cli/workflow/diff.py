"""What differs between two copies of a workflow, as n8n would run them.

Both sides are first reduced to what n8n's API accepts (`n8n_request_body`), then to what
matters: node ids, positions and webhook ids, credential ids (one n8n's ids mean nothing
to another), node order, and empty or ``null`` connection groups are left out. Nodes are
matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pumpflix_cli.workflow.n8n_body import n8n_request_body

# Fields of a node that differ between copies of one workflow in two places.
VOLATILE_NODE_KEYS = frozenset({"id", "position", "webhookId"})


@dataclass(frozen=True)
class NodeChange:
    name: str
    fields: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"node": self.name, "fields": self.fields}


@dataclass(frozen=True)
class WorkflowDiff:
    """Nodes ``added`` are in ``theirs`` only, ``removed`` in ``ours`` only."""

    name: tuple[str, str] | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[NodeChange] = field(default_factory=list)
    connections: bool = False
    settings: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (
            self.name
            or self.added
            or self.removed
            or self.changed
            or self.connections
            or self.settings
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": None if self.name is None else {"ours": self.name[0], "theirs": self.name[1]},
            "nodesAdded": self.added,
            "nodesRemoved": self.removed,
            "nodesChanged": [change.to_json() for change in self.changed],
            "connectionsChanged": self.connections,
            "settingsChanged": self.settings,
        }

    def summary(self) -> str:
        """One line for people: ``2 nodes changed (Set, HTTP), connections changed``."""
        parts: list[str] = []
        if self.name is not None:
            parts.append(f"renamed {self.name[0]!r} → {self.name[1]!r}")
        for label, names in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", [c.name for c in self.changed]),
        ):
            if names:
                noun = "node" if len(names) == 1 else "nodes"
                parts.append(f"{len(names)} {noun} {label} ({', '.join(names)})")
        if self.connections:
            parts.append("connections changed")
        if self.settings:
            parts.append(f"settings changed ({', '.join(self.settings)})")
        return "; ".join(parts) or "in sync"


def comparable_node(node: dict[str, Any]) -> dict[str, Any]:
    """A request-body node without the fields that differ between copies."""
    form = {k: v for k, v in node.items() if k not in VOLATILE_NODE_KEYS}
    form.setdefault("parameters", {})
    credentials = form.get("credentials")
    if isinstance(credentials, dict):
        form["credentials"] = {
            cred_type: {"name": ref} if isinstance(ref, str) else _without_id(ref)
            for cred_type, ref in credentials.items()
        }
    return form


def _without_id(ref: Any) -> Any:
    return {k: v for k, v in ref.items() if k != "id"} if isinstance(ref, dict) else ref


def comparable_connections(connections: dict[str, Any]) -> dict[str, Any]:
    """Connections with ``null`` groups as empty ones, trailing empty groups and sources
    with no target left out, so equal wiring compares equal."""
    form: dict[str, Any] = {}
    for source, outputs in connections.items():
        kinds: dict[str, Any] = {}
        for kind, groups in outputs.items():
            cleaned = [
                [_target(t) for t in group] if isinstance(group, list) else []
                for group in groups or []
            ]
            while cleaned and not cleaned[-1]:
                cleaned.pop()
            if cleaned:
                kinds[kind] = cleaned
        if kinds:
            form[source] = kinds
    return form


def _target(target: Any) -> Any:
    if not isinstance(target, dict):
        return target
    return {
        "node": target.get("node"),
        "type": target.get("type", "main"),
        "index": target.get("index", 0),
    }


def diff_workflows(ours: dict[str, Any], theirs: dict[str, Any]) -> WorkflowDiff:
    """Compare two workflows (a template's JSON, an n8n API response, an export...).

    Raises `WorkflowError` when either side cannot be read as an n8n request body.
    """
    mine, other = n8n_request_body(ours), n8n_request_body(theirs)
    my_nodes = {n["name"]: comparable_node(n) for n in mine["nodes"]}
    other_nodes = {n["name"]: comparable_node(n) for n in other["nodes"]}
    changed = [
        NodeChange(name, _changed_keys(my_nodes[name], other_nodes[name]))
        for name in my_nodes
        if name in other_nodes and my_nodes[name] != other_nodes[name]
    ]
    return WorkflowDiff(
        name=None if mine["name"] == other["name"] else (mine["name"], other["name"]),
        added=[name for name in other_nodes if name not in my_nodes],
        removed=[name for name in my_nodes if name not in other_nodes],
        changed=changed,
        connections=comparable_connections(mine["connections"])
        != comparable_connections(other["connections"]),
        settings=_changed_keys(mine["settings"], other["settings"]),
    )


def _changed_keys(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    return sorted(key for key in first.keys() | second.keys() if first.get(key) != second.get(key))


def same_workflow(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether the two would run the same in n8n (see `diff_workflows`)."""
    return diff_workflows(ours, theirs).same
