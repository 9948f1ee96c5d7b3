"""The platform's ``"WorkflowInstance"`` table, read only and only where it exists: what
``instances promote`` needs of a platform instance (its ``finalJson``, else its template's
``n8nJson``). pumpflix never creates, alters or writes this table."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

TABLE = "WorkflowInstance"


def platform_instance_workflow(session: Session, instance_id: str) -> dict[str, Any] | None:
    """The workflow of the platform's instance ``instance_id``: its final JSON, else its
    template's; None when there is no such table, instance or workflow."""
    try:
        canonical = str(uuid.UUID(instance_id))
    except ValueError:
        return None
    if not inspect(session.connection()).has_table(TABLE):
        return None
    row = session.execute(
        text(
            f'SELECT i."finalJson" AS final_json, t."n8nJson" AS n8n_json FROM "{TABLE}" i '
            'LEFT JOIN "WorkflowTemplate" t ON t."id" = i."templateId" WHERE i."id" = :id'
        ),
        {"id": canonical},
    ).first()
    if row is None:
        return None
    found = row.final_json if row.final_json is not None else row.n8n_json
    if found is None:
        return None
    document = json.loads(found) if isinstance(found, str) else found
    return document if isinstance(document, dict) else None
