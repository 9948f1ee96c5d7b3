"""What a run records of the values it was given (issue 13.7), and how promotion reads it
back: the value of every secret variable is stored masked, in the inputs and in the final
JSON alike, and where each value went is kept so that the template can be put back.

A variable is secret when the run marks it so, when its name says so (`names_a_secret`:
``GITHUB_TOKEN``, ``DB_PASSWORD``, ``apiKey`` …) or when its value looks like a token
(the import's scanner). The inputs hold ``variables`` (secret ones ``***``),
``maskedVariables`` (their names), ``input`` (what the webhook was sent) and ``filledIn``
(the places, see `workflow.unfill`); instances recorded before this have no
``filledIn``, and their values as given.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpflix_cli.records import InstanceRecord
from pumpflix_cli.workflow.materialize import materialize
from pumpflix_cli.workflow.secret_names import names_a_secret
from pumpflix_cli.workflow.tokens import looks_like_token
from pumpflix_cli.workflow.unfill import (
    MASK,
    MIN_SECRET_LENGTH,
    FilledPlace,
    Unfilled,
    UnfillNote,
    filled_places,
    mask_values,
    strip_credential_ids,
    unfill,
)

if TYPE_CHECKING:
    from pumpflix_cli.services.instances.prepare import PreparedRun

FILLED_IN = "filledIn"
MASKED = "maskedVariables"


def secret_variables(variables: Mapping[str, str], marked: Collection[str] = ()) -> set[str]:
    """The names whose value is a secret: marked so, named like one, or shaped like a
    token."""
    return {
        name
        for name, value in variables.items()
        if name in marked or names_a_secret(name) or looks_like_token(value)
    }


@dataclass(frozen=True)
class RecordedRun:
    """The inputs and the final JSON an instance is stored with."""

    inputs: dict[str, Any]
    final: dict[str, Any]


def record_run(prepared: PreparedRun) -> RecordedRun:
    """What to store of a prepared run: the secret values masked wherever they were
    filled in, and the places they went."""
    request = prepared.request
    template = prepared.template.workflow or {}
    secret = secret_variables(request.variables, request.secret_variables)
    stored = {name: MASK if name in secret else value for name, value in request.variables.items()}
    final = materialize(template, stored, request.credentials) if secret else prepared.final
    places = filled_places(template, request.variables, request.credentials)
    inputs = {
        "variables": stored,
        MASKED: sorted(secret),
        "input": request.payload,
        FILLED_IN: [place.to_json() for place in places],
    }
    return RecordedRun(inputs, final)


def shown_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as ``instances show`` prints them: without the places, which are the
    template's own text."""
    return {key: value for key, value in inputs.items() if key != FILLED_IN}


def unfill_instance(instance: InstanceRecord, workflow: dict[str, Any]) -> Unfilled:
    """``workflow`` (the instance's final JSON, or its n8n workflow) with the values the
    run filled in put back as the template held them."""
    inputs = instance.inputs
    variables = {
        str(name): value
        for name, value in (inputs.get("variables") or {}).items()
        if isinstance(value, str)
    }
    raw_places = inputs.get(FILLED_IN)
    if not isinstance(raw_places, list):
        return _unfill_unrecorded(instance, workflow, variables)
    places = [p for p in map(FilledPlace.from_json, raw_places) if p is not None]
    masked = set(inputs.get(MASKED) or ())
    return unfill(
        workflow,
        places,
        variables,
        secret=masked,
        credentials=instance.credentials,
        reference=instance.final_workflow,
    )


def _unfill_unrecorded(
    instance: InstanceRecord, workflow: dict[str, Any], variables: Mapping[str, str]
) -> Unfilled:
    """An instance recorded before runs kept their places: nothing can be put back, but
    its secret values (stored as given) are masked and its mapped credential ids dropped."""
    result = copy.deepcopy(workflow)
    strip_credential_ids(result, instance.credentials)
    secrets = [
        (name, variables[name])
        for name in sorted(secret_variables(variables))
        if len(variables[name]) >= MIN_SECRET_LENGTH
    ]
    notes = [UnfillNote("unrecorded")] if variables else []
    return Unfilled(result, notes + mask_values(result, secrets))
