"""Undoing ``materialize``: an instance's workflow turned back into the template it was
filled in from (SPEC §4; issue 13.7), for promotion.

A run records where ``materialize`` put values (`filled_places`: each string parameter
holding a ``{{NAME}}`` placeholder or a ``$vars``/``$env`` reference of a variable given,
and each credential reference pointed at a given id), with what the template held there.
`unfill` puts the template's text back at each place whose text is still exactly what
filling it in gives; the values of secret variables are not known (they were recorded
masked), so any text fills them, and what it was is learned for the checks that follow.
A place changed since the run (edited in n8n) keeps its change, unless it held a secret
variable whose value may still be in it: then the template's text is put back. A learned
secret value found anywhere else is masked. Each of those cases is reported as an
`UnfillNote`, never with a value.

One algorithm with its helpers for credentials and paths, read top to bottom (a little
over 300 lines); reading a filled string is `fill_values`.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pumpflix_cli.workflow.errors import key_path
from pumpflix_cli.workflow.extract import iter_nodes
from pumpflix_cli.workflow.fill_values import fill_values, variables_in
from pumpflix_cli.workflow.materialize import substitute_text

MASK = "***"  # what a secret value is recorded and stored as
# Shorter learned values are not looked for elsewhere: they would mask ordinary text.
MIN_SECRET_LENGTH = 4
_STICKY_NOTE_SUFFIX = ".stickyNote"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FilledPlace:
    """One place ``materialize`` filled in: in node ``node`` (id ``node_id``), at ``path``
    (``("parameters", …)`` or ``("credentials", TYPE)``), where the template held
    ``template``."""

    node: str
    node_id: str | None
    path: Path
    template: Any

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "nodeId": self.node_id, "path": list(self.path)} | {
            "template": self.template
        }

    @classmethod
    def from_json(cls, data: Any) -> FilledPlace | None:
        """A place as `to_json` wrote it; None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("node"), str):
            return None
        path = data.get("path")
        if not isinstance(path, list) or not path or not all(_is_key(k) for k in path):
            return None
        node_id = data.get("nodeId")
        return cls(
            data["node"],
            node_id if isinstance(node_id, str) else None,
            tuple(path),
            data.get("template"),
        )

    @property
    def where(self) -> str:
        """The parameter's path, as the import's warnings name one."""
        return key_path(self.path[1:] if self.path[0] == "parameters" else self.path)


def _is_key(key: Any) -> bool:
    return isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool))


def filled_places(
    template: dict[str, Any],
    variables: Collection[str],
    credentials: Collection[str] = (),
) -> list[FilledPlace]:
    """Where ``materialize(template, values of variables, ids of credentials)`` puts a
    value or an id, with what the template holds there."""
    places: list[FilledPlace] = []
    names = set(variables)
    for node in iter_nodes(template):
        node_type = node.get("type")
        if isinstance(node_type, str) and node_type.endswith(_STICKY_NOTE_SUFFIX):
            continue
        name, node_id = str(node.get("name")), node.get("id")
        where = (name, node_id if isinstance(node_id, str) else None)
        if "parameters" in node:
            for path, text in _strings(node["parameters"], ("parameters",)):
                if variables_in(text) & names:
                    places.append(FilledPlace(*where, path, text))
        references = node.get("credentials")
        if isinstance(references, dict):
            for credential_type, reference in references.items():
                if credential_type in credentials:
                    places.append(FilledPlace(*where, ("credentials", credential_type), reference))
    return places


NoteKind = Literal["edited", "edited-secret", "stray-secret", "unrecorded"]


@dataclass(frozen=True)
class UnfillNote:
    """What `unfill` could not simply put back, and what it did instead.

    ``edited``: the place was changed since the run and still holds the value of
    ``variables``, kept as written; ``edited-secret``: changed since the run, it held
    secret ``variables``, so the template's text is back and the change is dropped;
    ``stray-secret``: a secret value found where no variable was, masked;
    ``unrecorded``: the run recorded no places, so nothing could be put back.
    """

    kind: NoteKind
    node: str | None = None
    path: str | None = None
    variables: tuple[str, ...] = ()


@dataclass
class Unfilled:
    workflow: dict[str, Any]
    notes: list[UnfillNote] = field(default_factory=list)


def unfill(
    workflow: dict[str, Any],
    places: list[FilledPlace],
    variables: Mapping[str, str],
    *,
    secret: Collection[str] = (),
    credentials: Mapping[str, str] | None = None,
    reference: dict[str, Any] | None = None,
) -> Unfilled:
    """A copy of ``workflow`` with every filled place put back as the template held it.

    ``variables`` are the values as recorded; those of ``secret`` names are not known
    (recorded masked), so any text fills them. ``credentials`` are the ids the run
    mapped. A credential reference not put back that differs from ``reference`` (the
    workflow as the run recorded it) was chosen in n8n: its id is dropped too.
    """
    result = copy.deepcopy(workflow)
    known = {name: value for name, value in variables.items() if name not in secret}
    unknown = set(secret)
    as_recorded = {**known, **dict.fromkeys(unknown, MASK)}
    nodes = _NodeIndex(result)
    notes: list[UnfillNote] = []
    learned: dict[str, set[str]] = {}  # the values secret variables were seen to have
    restored_credentials: set[tuple[int, str]] = set()
    changed_with_secrets: list[tuple[dict[str, Any], FilledPlace, set[str]]] = []
    for place in places:
        node = nodes.find(place.node, place.node_id)
        if node is None:
            continue  # removed since the run: nothing of it is stored
        if place.path[0] == "credentials":
            if _unfill_credential(node, place, credentials or {}):
                restored_credentials.add((id(node), str(place.path[1])))
            continue
        current = _get(node, place.path)
        if not isinstance(current, str) or not isinstance(place.template, str):
            continue
        if substitute_text(place.template, as_recorded) == current:  # the recorded final
            _set(node, place.path, place.template)
            continue
        values = fill_values(place.template, current, known, unknown)
        if values is not None:
            _set(node, place.path, place.template)
            for name, value in values.items():
                learned.setdefault(name, set()).add(value)
            continue
        names = variables_in(place.template)
        if names & unknown:
            changed_with_secrets.append((node, place, names & unknown))
        else:
            staying = tuple(sorted(n for n in names if known.get(n) and known[n] in current))
            if staying:
                notes.append(UnfillNote("edited", place.node, place.where, staying))
    for node, place, names in changed_with_secrets:
        current = str(_get(node, place.path))
        if any(not learned.get(name) or _holds(current, learned[name]) for name in names):
            _set(node, place.path, place.template)
            notes.append(UnfillNote("edited-secret", place.node, place.where, tuple(sorted(names))))
    if reference is not None:
        _strip_new_credential_ids(result, reference, restored_credentials)
    secrets = [
        (name, value)
        for name, values in sorted(learned.items())
        for value in values
        if value != MASK and len(value) >= MIN_SECRET_LENGTH
    ]
    notes.extend(mask_values(result, secrets))
    return Unfilled(result, notes)


def _holds(text: str, values: Collection[str]) -> bool:
    return any(value in text for value in values)


def mask_values(workflow: dict[str, Any], secrets: Collection[tuple[str, str]]) -> list[UnfillNote]:
    """Replace every occurrence of the secret values (``(name, value)`` pairs) in the
    nodes' parameters (in place) with ``***``; a note for each string where one was
    found, naming the variables."""
    if not secrets:
        return []
    notes: list[UnfillNote] = []
    ordered = sorted(secrets, key=lambda pair: len(pair[1]), reverse=True)
    for node in iter_nodes(workflow):
        if not isinstance(node.get("parameters"), dict):
            continue
        for path, text in list(_strings(node["parameters"], ())):
            found = [(name, value) for name, value in ordered if value in text]
            if not found:
                continue
            for _name, value in found:
                text = text.replace(value, MASK)
            names = tuple(sorted({name for name, _value in found}))
            _set(node["parameters"], path, text)
            where = key_path(path)
            notes.append(UnfillNote("stray-secret", str(node.get("name")), where, names))
    return notes


# --- credentials -----------------------------------------------------------------------------


def _unfill_credential(
    node: dict[str, Any], place: FilledPlace, credentials: Mapping[str, str]
) -> bool:
    """Put the template's reference back if it still points at the id the run mapped (n8n
    shows the credential's own name beside it); otherwise the reference, chosen in n8n,
    keeps its name and loses its id. True when put back."""
    references = node.get("credentials")
    credential_type = str(place.path[1])
    if not isinstance(references, dict) or credential_type not in references:
        return False
    current = references[credential_type]
    mapped = credentials.get(credential_type)
    if isinstance(current, dict) and mapped is not None and current.get("id") == mapped:
        references[credential_type] = copy.deepcopy(place.template)
        return True
    references[credential_type] = _without_id(current)
    return False


def _strip_new_credential_ids(
    workflow: dict[str, Any], reference: dict[str, Any], restored: set[tuple[int, str]]
) -> None:
    before = _NodeIndex(reference)
    for node in iter_nodes(workflow):
        references = node.get("credentials")
        if not isinstance(references, dict):
            continue
        node_id = node.get("id")
        original = before.find(str(node.get("name")), node_id if isinstance(node_id, str) else None)
        original_references = (original or {}).get("credentials") or {}
        for credential_type, current in list(references.items()):
            if (id(node), credential_type) in restored:
                continue
            if not isinstance(original_references, dict) or (
                original_references.get(credential_type) != current
            ):
                references[credential_type] = _without_id(current)


def strip_credential_ids(workflow: dict[str, Any], credentials: Mapping[str, str]) -> None:
    """Drop (in place) the id of every credential reference that points at the id a run
    mapped its type to."""
    for node in iter_nodes(workflow):
        references = node.get("credentials")
        if not isinstance(references, dict):
            continue
        for credential_type, reference in list(references.items()):
            mapped = credentials.get(credential_type)
            if isinstance(reference, dict) and mapped is not None and reference.get("id") == mapped:
                references[credential_type] = _without_id(reference)


def _without_id(reference: Any) -> Any:
    if isinstance(reference, dict):
        return {k: v for k, v in reference.items() if k != "id"}
    return reference


# --- paths ---------------------------------------------------------------------------------


class _NodeIndex:
    """A workflow's nodes by name, and by id for a node renamed since."""

    def __init__(self, workflow: dict[str, Any]) -> None:
        self.by_name: dict[str, dict[str, Any]] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        for node in iter_nodes(workflow):
            self.by_name.setdefault(str(node.get("name")), node)
            if isinstance(node.get("id"), str):
                self.by_id.setdefault(node["id"], node)

    def find(self, name: str, node_id: str | None) -> dict[str, Any] | None:
        found = self.by_name.get(name)
        if found is None and node_id is not None:
            found = self.by_id.get(node_id)
        return found


_MISSING = object()


def _get(value: Any, path: Path) -> Any:
    for key in path:
        if isinstance(value, dict):
            value = value.get(key, _MISSING) if isinstance(key, str) else _MISSING
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return _MISSING
    return value


def _set(value: Any, path: Path, new: Any) -> None:
    container = _get(value, path[:-1])
    container[path[-1]] = new


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string value (not key) under ``value`` with its path."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack.extend(((*where, k), v) for k, v in item.items() if isinstance(k, str))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in enumerate(item))
