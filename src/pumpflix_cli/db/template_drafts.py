"""What the upsert takes and gives back: a draft of a template, and the outcome of
writing it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.references import name_key

Outcome = Literal["created", "updated", "unchanged", "conflict", "failed"]


@dataclass(frozen=True)
class TemplateDraft:
    """What an import wants stored under (source_type, name), or under ``template_id``
    when the file was a pumpflix bundle."""

    name: str
    source_type: str
    workflow: dict[str, Any]
    content_hash: str
    required_credentials: list[str]
    input_variables: list[str]
    description: str | None = None
    thumbnail: str | None = None
    template_id: str | None = None
    # The workflow already serialized (import does it in worker processes); when set it
    # is stored as it is and ``workflow`` is not read.
    workflow_json: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(source type, name in normalised form): what identifies the template."""
        return (self.source_type, name_key(self.name))

    def json_text(self) -> str:
        if self.workflow_json is not None:
            return self.workflow_json
        return json.dumps(self.workflow, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class WriteResult:
    draft: TemplateDraft
    outcome: Outcome
    id: str | None = None
    version: int | None = None
    error: str | None = None
    # The source type the template had before, when a bundle moved it to another type.
    previous_type: str | None = None
    # A ``conflict``: the existing template, whose content differs from the draft's.
    existing: TemplateRecord | None = None
