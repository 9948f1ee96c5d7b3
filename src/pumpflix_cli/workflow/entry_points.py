"""How an instance's workflow is started from outside (SPEC §6), and how that is undone.

n8n has no endpoint that runs a workflow: a Webhook does. A template's own Webhook is
called at a path of the instance's own. A Manual or Schedule Trigger cannot be called, so
a Webhook is put in front of it (the *stand-in*, marked by its notes) and the trigger
becomes a Code node of the same name that gives exactly the items the trigger gives on a
manual run, or the run's input: the nodes after it, and every expression naming it, see
what they would see in n8n's own manual run, not the Webhook's headers and body. Logs
leave the stand-in out (`stand_in_names`); `without_entry_point` takes it away again.

Every Webhook and Form Trigger listens at a path of the instance's own and every node
with a webhook id gets a new one, so two instances of one template never collide.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pumpflix_cli.workflow.errors import WorkflowError
from pumpflix_cli.workflow.extract import iter_nodes

WEBHOOK_TYPE = "n8n-nodes-base.webhook"
FORM_TRIGGER_TYPE = "n8n-nodes-base.formTrigger"
CODE_TYPE = "n8n-nodes-base.code"
# Nodes listening at a path: two active workflows may not share one.
PATH_TYPES = {WEBHOOK_TYPE: "webhook", FORM_TRIGGER_TYPE: "form"}
SCHEDULE_TRIGGER = "n8n-nodes-base.scheduleTrigger"
# Triggers that cannot be called from outside but can be stood in for, to run the graph now.
SWAPPABLE_TRIGGERS = frozenset(
    {
        "n8n-nodes-base.manualTrigger",
        SCHEDULE_TRIGGER,
        "n8n-nodes-base.cron",
        "n8n-nodes-base.interval",
    }
)
# The stand-in Webhook's notes: how logs and promotion recognise it.
STAND_IN_NOTE = "Added by pumpflix to start this run; not part of the template."
_TRIGGER_CODE_MARK = "// pumpflix:"
# What a swapped-in Webhook answering at once replies: the id of the execution it started.
EXECUTION_ID_REPLY = "={{ $execution.id }}"

Respond = Literal["lastNode", "onReceived"]


@dataclass(frozen=True)
class EntryPoint:
    """How an instance's workflow is started from outside.

    ``webhook``: the template's own Webhook trigger, at ``path``; ``swapped``: a Manual or
    Schedule Trigger (``node``) run through the Webhook ``stand_in`` at ``path``; ``app``:
    only app triggers (Telegram, Gmail …), so n8n runs it when the app calls. ``listeners``
    are the other nodes listening at a path: (node, URL path).
    """

    kind: Literal["webhook", "swapped", "app"]
    node: str | None = None
    path: str | None = None
    method: str = "POST"
    stand_in: str | None = None
    listeners: tuple[tuple[str, str], ...] = ()


def with_entry_point(
    workflow: dict[str, Any], path: str, *, respond: Respond = "lastNode"
) -> tuple[dict[str, Any], EntryPoint]:
    """A copy of ``workflow`` that can be started at ``/webhook/<path>`` when possible.

    A stand-in Webhook answers with the last node's items (``respond="lastNode"``) or at
    once with the id of the execution it started (``"onReceived"``, for a caller that
    does not wait). The template's own Webhook keeps its way of answering."""
    result = copy.deepcopy(workflow)
    nodes = list(iter_nodes(result))
    enabled = [node for node in nodes if not node.get("disabled")]
    hook = next((node for node in enabled if node.get("type") == WEBHOOK_TYPE), None)
    trigger = next((node for node in enabled if node.get("type") in SWAPPABLE_TRIGGERS), None)
    listeners = _own_paths(nodes, path, entry=hook)
    if hook is not None:
        name = str(hook.get("name"))
        others = tuple(item for item in listeners if item[0] != name)
        return result, EntryPoint("webhook", name, path, _method(hook), listeners=others)
    if trigger is not None:
        name = str(trigger.get("name"))
        stand_in = _stand_in(result, trigger, path, respond)
        return result, EntryPoint("swapped", name, path, "POST", stand_in, listeners)
    if any(str(node.get("type", "")).lower().endswith("trigger") for node in enabled):
        return result, EntryPoint("app", listeners=listeners)
    raise WorkflowError("the workflow has no trigger node, so n8n cannot start it")


def entry_point_of(workflow: dict[str, Any]) -> EntryPoint:
    """The kind of entry point and its node that :func:`with_entry_point` chooses for
    ``workflow`` (without a path): the choice depends only on the nodes."""
    return with_entry_point(workflow, "")[1]


def _own_paths(
    nodes: list[dict[str, Any]], path: str, *, entry: dict[str, Any] | None
) -> tuple[tuple[str, str], ...]:
    """Give every node with a webhook id a new one, and every Webhook and Form Trigger a
    path of the instance's own: ``entry`` gets ``path``, the others ``path-2``, ``path-3``
    … in node order. Returns the others as (node, URL path)."""
    listeners: list[tuple[str, str]] = []
    number = 1
    for node in nodes:
        kind = PATH_TYPES.get(str(node.get("type")))
        if kind is None and "webhookId" not in node:
            continue
        node["webhookId"] = str(uuid.uuid4())
        if kind is None:
            continue
        parameters = node.get("parameters")
        if not isinstance(parameters, dict):
            parameters = node["parameters"] = {}
        if node is entry:
            parameters["path"] = path
            continue
        number += 1
        parameters["path"] = f"{path}-{number}"
        listeners.append((str(node.get("name")), f"/{kind}/{parameters['path']}"))
    return tuple(listeners)


def _method(hook: dict[str, Any]) -> str:
    """The HTTP method a Webhook is called with: its first, when it takes several."""
    method = (hook.get("parameters") or {}).get("httpMethod") or "GET"
    if isinstance(method, list):
        method = method[0] if method else "GET"
    return str(method).upper()


# --- the stand-in ------------------------------------------------------------------------


def _stand_in(
    workflow: dict[str, Any], trigger: dict[str, Any], path: str, respond: Respond
) -> str:
    """Put a Webhook in front of ``trigger`` and make the trigger a Code node of the same
    name that gives the trigger's own items (or the run's input). Returns the Webhook's
    name."""
    name = str(trigger.get("name"))
    taken = {str(node.get("name")) for node in iter_nodes(workflow)}
    stand_in = f"{name} (pumpflix)"
    number = 1
    while stand_in in taken:
        number += 1
        stand_in = f"{name} (pumpflix {number})"
    x, y = _point(trigger.get("position"))
    code = trigger_code(str(trigger.get("type")))
    node_id = trigger.get("id") if isinstance(trigger.get("id"), str) else str(uuid.uuid4())
    trigger.clear()
    trigger.update(
        {
            "id": node_id,
            "name": name,
            "type": CODE_TYPE,
            "typeVersion": 2,
            "position": [x, y],
            "parameters": {"jsCode": code},
        }
    )
    parameters: dict[str, Any] = {"httpMethod": "POST", "path": path, "responseMode": respond}
    if respond == "lastNode":
        parameters |= {"responseData": "allEntries", "options": {}}
    else:
        parameters["options"] = {"responseData": EXECUTION_ID_REPLY}
    nodes = workflow["nodes"]
    nodes.insert(
        nodes.index(trigger),
        {
            "id": str(uuid.uuid4()),
            "name": stand_in,
            "type": WEBHOOK_TYPE,
            "typeVersion": 2,
            "position": [x - 220, y],
            "webhookId": str(uuid.uuid4()),
            "notes": STAND_IN_NOTE,
            "parameters": parameters,
        },
    )
    connections = workflow.setdefault("connections", {})
    connections[stand_in] = {"main": [[{"node": name, "type": "main", "index": 0}]]}
    return stand_in


def _point(value: Any) -> tuple[float, float]:
    """A node's position, or the origin when it has none."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return value[0], value[1]
    return 0, 0


# The Code a trigger becomes. The stand-in is sent {"input": …} when the run has an input
# (an object: one item; an array of objects: one item each) and {} when it has none; then
# the items are the trigger's own on a manual run: one empty item, or for a Schedule
# Trigger the time of the run as n8n's ScheduleTrigger words it, in the workflow's zone.
_GIVEN_INPUT = """\
const body = $input.first().json.body;
if (body && typeof body === 'object' && 'input' in body) {
  const given = body.input;
  return (Array.isArray(given) ? given : [given]).map((json) => ({ json }));
}
"""
_EMPTY_ITEM = "return [{ json: {} }];\n"
_SCHEDULE_ITEM = """\
const now = $now.setLocale('en-US');
const day = now.day;
const teen = Math.floor((day % 100) / 10) === 1;
const suffix = teen ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[day % 10] ?? 'th');
const time = now.toFormat('h:mm:ss ') + now.toFormat('a').toLowerCase();
return [{ json: {
  timestamp: now.toFormat("yyyy-LL-dd'T'HH:mm:ss.SSSZZ"),
  'Readable date': `${now.toFormat('LLLL')} ${day}${suffix} ${now.toFormat('yyyy')}, ${time}`,
  'Readable time': time,
  'Day of week': now.toFormat('cccc'),
  Year: now.toFormat('yyyy'),
  Month: now.toFormat('LLLL'),
  'Day of month': now.toFormat('dd'),
  Hour: now.toFormat('HH'),
  Minute: now.toFormat('mm'),
  Second: now.toFormat('ss'),
  Timezone: `${now.zoneName} (UTC${now.toFormat('ZZ')})`,
} }];
"""


def trigger_code(trigger_type: str) -> str:
    """The JavaScript of the Code node a swapped trigger of ``trigger_type`` becomes."""
    own = _SCHEDULE_ITEM if trigger_type == SCHEDULE_TRIGGER else _EMPTY_ITEM
    short = trigger_type.rpartition(".")[2]
    return f"{_TRIGGER_CODE_MARK} the items a {short} gives, or the run's input\n" + (
        _GIVEN_INPUT + own
    )


def input_problem(entry: EntryPoint, payload: Any) -> str | None:
    """Why ``payload`` cannot be what a swapped trigger gives (None when it can): its
    items are JSON objects."""
    if entry.kind != "swapped" or payload is None or isinstance(payload, dict):
        return None
    if isinstance(payload, list) and all(isinstance(item, dict) for item in payload):
        return None
    return (
        f"the trigger '{entry.node}' gives items, so the input must be a JSON object "
        "(one item) or an array of objects (one item each)"
    )


def webhook_payload(entry: EntryPoint, payload: Any) -> Any:
    """What the entry point is sent for the run's input (see `trigger_code`)."""
    if entry.kind != "swapped":
        return payload
    return {} if payload is None else {"input": payload}


def stand_in_names(workflow: Any) -> set[str]:
    """The names of the stand-in Webhooks in a deployed workflow (or an execution's
    ``workflowData``)."""
    if not isinstance(workflow, dict):
        return set()
    return {str(node.get("name")) for node in iter_nodes(workflow) if _is_stand_in(node)}


def _is_stand_in(node: dict[str, Any]) -> bool:
    return node.get("type") == WEBHOOK_TYPE and node.get("notes") == STAND_IN_NOTE


def _is_trigger_code(node: dict[str, Any]) -> bool:
    code = (node.get("parameters") or {}).get("jsCode")
    return node.get("type") == CODE_TYPE and str(code or "").startswith(_TRIGGER_CODE_MARK)


# --- undoing it --------------------------------------------------------------------------


def without_entry_point(
    deployed: dict[str, Any], original: dict[str, Any], entry: EntryPoint
) -> dict[str, Any]:
    """Undo :func:`with_entry_point` on a copy of ``deployed`` (an instance's workflow as
    n8n now holds it, perhaps edited there), given the ``original`` it was made from.

    The stand-in Webhook goes; the Code node a trigger became is that trigger again (so is
    a Webhook of the trigger's name, as earlier pumpflix deployed it); every node of the
    original type gets its own path and webhook id back. Every other edit stays.
    """
    result = copy.deepcopy(deployed)
    nodes = result.get("nodes")
    if not isinstance(nodes, list):
        return result
    stand_ins = stand_in_names(result)
    result["nodes"] = nodes = [
        node for node in nodes if not (isinstance(node, dict) and node.get("name") in stand_ins)
    ]
    connections = result.get("connections")
    if isinstance(connections, dict):
        for name in stand_ins:
            connections.pop(name, None)
    originals = {str(node.get("name")): node for node in iter_nodes(original)}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        before = originals.get(str(node.get("name")))
        if before is None:
            continue
        if _was_swapped(node, before, entry):
            restored = copy.deepcopy(before)
            if "position" in node:
                restored["position"] = node["position"]
            nodes[index] = restored
        elif node.get("type") == before.get("type"):
            _restore_listening(node, before)
    return result


def _was_swapped(node: dict[str, Any], before: dict[str, Any], entry: EntryPoint) -> bool:
    if entry.kind != "swapped" or node.get("name") != entry.node:
        return False
    if before.get("type") not in SWAPPABLE_TRIGGERS:
        return False
    return _is_trigger_code(node) or node.get("type") == WEBHOOK_TYPE


def _restore_listening(node: dict[str, Any], before: dict[str, Any]) -> None:
    """The original's webhook id and (for a node listening at a path) its path."""
    places = [("webhookId", before, node)]
    if node.get("type") in PATH_TYPES:
        parameters = node.get("parameters")
        if not isinstance(parameters, dict):
            parameters = node["parameters"] = {}
        places.append(("path", before.get("parameters") or {}, parameters))
    for key, source, target in places:
        if key in source:
            target[key] = source[key]
        else:
            target.pop(key, None)
