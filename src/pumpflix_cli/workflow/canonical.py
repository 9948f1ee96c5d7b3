"""The canonical (exported) form of a workflow and the content hash derived from it.

The hash reads every number as the double it denotes (what n8n, in JavaScript, reads),
written one way: an integral value as an integer, any other as the shortest decimal
that reads back as it. So ``1E2``, ``100.0`` and ``100``; ``-0.0`` and ``0``; ``1.5e20``
and ``150000000000000000000`` (jsonb's spelling); ``1e-7`` and ``0.0000001`` hash alike,
and a workflow hashes the same whether it was read from the file, from PostgreSQL's jsonb
or SQLite, from an export or from n8n.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pumpflix_cli.references import name_key

# What `templates export` leaves out by default: n8n's bookkeeping for one instance
# (ids, versions, activation, sharing, timestamps, tags), run data (pinned and static
# data), and our own bundle header.
NON_CONTENT_KEYS = frozenset(
    {
        "id",
        "versionId",
        "active",
        "tags",
        "createdAt",
        "updatedAt",
        "meta",
        "pinData",
        "staticData",
        "triggerCount",
        "isArchived",
        "shared",
        "pumpflix",
        # Read-only fields newer n8n versions add to GET /workflows/{id}.
        "activeVersionId",
        "activeVersion",
        "versionCounter",
        "homeProject",
        "sharedWithProjects",
        "scopes",
        "usedCredentials",
        "parentFolder",
    }
)
# Node keys that differ between two copies of the same workflow in n8n; left out of the hash.
_NODE_IDENTITY_KEYS = ("id", "position", "webhookId")


def canonical_workflow(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow as ``templates export`` writes it by default.

    Drops `NON_CONTENT_KEYS` and credential ids; a credential reference keeps its type and
    ``{"name": ...}`` (the older string form ``{"slackApi": "Slack"}`` becomes
    ``{"slackApi": {"name": "Slack"}}``). Node ids and positions stay. Returns a new dict;
    unchanged nested values are shared with the input, so treat both as read-only.
    """
    canonical = {k: v for k, v in workflow.items() if k not in NON_CONTENT_KEYS}
    nodes = canonical.get("nodes")
    if isinstance(nodes, list):
        canonical["nodes"] = [_canonical_node(node) for node in nodes]
    return canonical


def _canonical_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    credentials = node.get("credentials")
    if not isinstance(credentials, dict):
        return dict(node)
    return {**node, "credentials": {k: _credential_ref(v) for k, v in credentials.items()}}


def _credential_ref(ref: Any) -> Any:
    if isinstance(ref, str):
        return {"name": ref}
    if isinstance(ref, dict):
        return {k: v for k, v in ref.items() if k != "id"}
    return ref


def content_hash(workflow: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical form with node ids, positions and webhook ids left out,
    numbers canonical and the name in normalised form (``references.name_key``).

    Keys are sorted, so key order never matters; node order and connection order do.
    A workflow's export imports back with the same hash.
    """
    form = canonical_workflow(workflow)
    if isinstance(form.get("name"), str):  # one name in any form is one name: one hash
        form["name"] = name_key(form["name"])
    nodes = form.get("nodes")
    if isinstance(nodes, list):
        form["nodes"] = [
            {k: v for k, v in node.items() if k not in _NODE_IDENTITY_KEYS}
            if isinstance(node, dict)
            else node
            for node in nodes
        ]
    data = _hash_text(form)
    if _numbers_to_canonicalize(data):  # rare: only then rebuild with canonical numbers
        data = _hash_text(canonical_numbers(form))
    return hashlib.sha256(data).hexdigest()


def _hash_text(form: Any) -> bytes:
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate (legal in JSON text) must not crash hashing.
    return text.encode("utf-8", "surrogatepass")


# Above this an integer may not be a double: it is read as the double nearest to it.
_EXACT_INTEGERS = 2**53
# Whether a number may need rewriting, from the hash text at C speed (substring
# searches): json.dumps writes an integral double as "100.0" (then a separator) or as
# "1e+16", and an integer beyond 2**53 has 16+ digits (seen with every digit as "0").
_INTEGRAL_ENDS = (b".0,", b".0}", b".0]")
_DIGITS_AS_ZERO = bytes(ord("0") if chr(b).isdigit() else ord(" ") for b in range(256))
_SIXTEEN_DIGITS = b"0" * 16


def _numbers_to_canonicalize(data: bytes) -> bool:
    if b"e+" in data or any(end in data for end in _INTEGRAL_ENDS):
        return True
    return _SIXTEEN_DIGITS in data.translate(_DIGITS_AS_ZERO)


def canonical_number(value: float) -> float:
    """A number as the content hash writes it: the double it denotes, integral ones as
    integers (``-0.0`` is ``0``). NaN, infinities and integers beyond a double's range
    (refused on input, possible in old rows) stay as they are."""
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if type(value) is int and not -_EXACT_INTEGERS <= value <= _EXACT_INTEGERS:
        try:
            return int(float(value))
        except OverflowError:
            return value
    return value


def canonical_numbers(value: Any) -> Any:
    """``value`` with every number canonical (`canonical_number`); containers without a
    number to rewrite are returned as they are, not copied."""
    if isinstance(value, dict):
        changed: dict[str, Any] | None = None
        for key, item in value.items():
            new = canonical_numbers(item)
            if new is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list):
        rebuilt: list[Any] | None = None
        for index, item in enumerate(value):
            new = canonical_numbers(item)
            if new is not item:
                if rebuilt is None:
                    rebuilt = list(value)
                rebuilt[index] = new
        return value if rebuilt is None else rebuilt
    if type(value) is float or type(value) is int:
        return canonical_number(value)
    return value
