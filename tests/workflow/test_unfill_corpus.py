"""Filling real corpus workflows in and putting them back (issue 13.7), at
$PUMPFLIX_CORPUS (skipped when unset): every workflow with input variables comes back as
it was, from the final JSON a run stores and from the workflow n8n is sent, and the value
given for a secret variable is left nowhere."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.workflow import extract_credentials, extract_input_variables, prepare
from pumpflix_cli.workflow.materialize import materialize
from pumpflix_cli.workflow.unfill import MASK, filled_places, unfill

pytestmark = pytest.mark.corpus


def with_variables(root: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((root / "clean").rglob("*.json")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "$vars" not in text and "$env" not in text and "{{" not in text:
            continue
        try:
            workflow = prepare(json.loads(text), fallback_name=path.stem).workflow
        except (ValueError, TypeError):
            continue
        if extract_input_variables(workflow):
            found.append((str(path.relative_to(root)), workflow))
    return found


def test_corpus_workflows_with_variables_fill_in_and_put_back() -> None:
    location = os.environ.get("PUMPFLIX_CORPUS")
    if not location:
        pytest.skip("PUMPFLIX_CORPUS is not set")
    samples = with_variables(Path(location))
    assert len(samples) >= 20  # $vars, $env and placeholders are all in there
    for where, template in samples:
        names = extract_input_variables(template)
        secret = {names[0]}
        values = {name: f"value of {name}" for name in names}
        values[names[0]] = f"ghp_{abs(hash(where)):x}Zq81Lm"
        credentials = {kind: f"cred-{kind}" for kind in extract_credentials(template)}
        stored = {name: MASK if name in secret else values[name] for name in names}
        places = filled_places(template, values, credentials)
        recorded = materialize(template, stored, credentials)
        deployed = materialize(template, values, credentials)

        for source in (recorded, deployed):
            result = unfill(
                source,
                places,
                stored,
                secret=secret,
                credentials=credentials,
                reference=recorded,
            )
            assert result.workflow == template, where
            assert result.notes == [], where
            assert values[names[0]] not in json.dumps(result.workflow), where
