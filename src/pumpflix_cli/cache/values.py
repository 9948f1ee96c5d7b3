"""The platform's value for ``template:<id>`` (PLATFORM.md): ``JSON.stringify(template)``
of its row, byte for byte, and pumpflix's own ``{template:<id>}:meta`` beside it."""

from __future__ import annotations

import json
from typing import Any

from pumpflix_cli import json_text
from pumpflix_cli.records import TemplateRecord, TemplateVersionInfo, parse_utc

# The model's fields in the order JSON.stringify writes them.
FIELDS = (
    "id",
    "name",
    "description",
    "sourceType",
    "n8nJson",
    "requiredCredentials",
    "inputVariables",
    "thumbnail",
    "createdAt",
    "updatedAt",
)


def dumps(data: Any) -> bytes:
    """JSON as JavaScript's ``JSON.stringify`` writes it (compact, non-ASCII as is); a NaN
    or an infinity is an error (`NonJsonNumberError`), never the bare word."""
    return json_text.dumps(data, separators=(",", ":")).encode()


def js_iso(value: str | None) -> str | None:
    """An ISO timestamp as ``Date.toISOString`` writes it: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    moment = parse_utc(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def workflow_text(record: TemplateRecord) -> str:
    return dumps(record.workflow).decode()


def platform_value(record: TemplateRecord, n8n_json: str) -> bytes:
    """The platform's JSON for ``record``, around its workflow as stored (JSON text)."""
    return dumps(
        {
            "id": record.id,
            "name": record.name,
            "description": record.description or "",
            "sourceType": record.source_type,
            "n8nJson": n8n_json,
            "requiredCredentials": list(record.required_credentials or []),
            "inputVariables": list(record.input_variables or []),
            "thumbnail": record.thumbnail,
            "createdAt": js_iso(record.created_at),
            "updatedAt": js_iso(record.updated_at),
        }
    )


def meta_value(record: TemplateRecord, history: list[dict[str, Any]] | None = None) -> bytes:
    """What ``templates show`` needs beyond the platform's value."""
    if history is None:
        history = [h.to_json() for h in record.history or []]
    meta: dict[str, Any] = {
        "version": record.version,
        "contentHash": record.content_hash,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "history": history,
    }
    if record.description is None:  # the platform's value says '' (its column is NOT NULL)
        meta["description"] = None
    return dumps(meta)


def parse_value(plain: bytes, template_id: str) -> dict[str, Any] | None:
    """The platform's value when it is one, for this id (a value read from another key,
    replayed or planted, is not); None otherwise."""
    try:
        data = json.loads(plain)
    except ValueError:
        return None
    if (
        not isinstance(data, dict)
        or data.get("id") != template_id
        or not isinstance(data.get("n8nJson"), str)
        or not isinstance(data.get("name"), str)
        or data.get("sourceType") not in ("prebuilt", "user")
    ):
        return None
    return data


def parse_meta(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        return None
    return data


def summary_record(data: dict[str, Any], meta: dict[str, Any] | None) -> TemplateRecord:
    """The template a platform value (with pumpflix's meta, when there is one) describes;
    without meta its version is 0 and its hash empty (unknown to the cache)."""
    meta = meta or {}
    return TemplateRecord(
        id=data["id"],
        name=data["name"],
        description=meta.get("description", data.get("description")),
        source_type=data["sourceType"],
        required_credentials=list(data.get("requiredCredentials") or []),
        input_variables=list(data.get("inputVariables") or []),
        thumbnail=data.get("thumbnail"),
        version=int(meta.get("version", 0)),
        content_hash=str(meta.get("contentHash", "")),
        created_at=meta.get("createdAt", data.get("createdAt")),
        updated_at=meta.get("updatedAt", data.get("updatedAt")),
    )


def full_record(data: dict[str, Any], meta: dict[str, Any]) -> TemplateRecord:
    """The template with its workflow and history, as ``templates show`` gives it."""
    record = summary_record(data, meta)
    record.workflow = json.loads(data["n8nJson"])
    record.history = [
        TemplateVersionInfo(h["version"], h["contentHash"], h.get("createdAt"))
        for h in meta.get("history") or []
    ]
    return record
