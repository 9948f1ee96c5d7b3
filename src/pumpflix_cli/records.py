"""Plain records passed between the adapters, the services and the output: no I/O, and
cheap to import (the warm-cache read path must not load SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SOURCE_TYPES = ("prebuilt", "user")


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with its offset; SQLite hands back naive datetimes, stored as UTC."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


@dataclass(slots=True)
class TemplateVersionInfo:
    version: int
    content_hash: str
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "contentHash": self.content_hash,
            "createdAt": self.created_at,
        }


@dataclass(slots=True)
class TemplateRecord:
    """A template as the platform's model names it (SPEC §1), camelCase in JSON."""

    id: str
    name: str
    source_type: str
    version: int
    content_hash: str
    description: str | None = None
    required_credentials: list[str] = field(default_factory=list)
    input_variables: list[str] = field(default_factory=list)
    thumbnail: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    workflow: dict[str, Any] | None = None
    history: list[TemplateVersionInfo] | None = None

    def summary_json(self) -> dict[str, Any]:
        """Every field but the n8n JSON and the history: what ``templates list`` prints."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "sourceType": self.source_type,
            "requiredCredentials": self.required_credentials,
            "inputVariables": self.input_variables,
            "thumbnail": self.thumbnail,
            "version": self.version,
            "contentHash": self.content_hash,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }

    def to_json(self) -> dict[str, Any]:
        data = self.summary_json()
        if self.workflow is not None:
            data["n8nJson"] = self.workflow
        if self.history is not None:
            data["history"] = [entry.to_json() for entry in self.history]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TemplateRecord:
        history = data.get("history")
        return cls(
            id=data["id"],
            name=data["name"],
            description=data.get("description"),
            source_type=data["sourceType"],
            required_credentials=list(data.get("requiredCredentials") or []),
            input_variables=list(data.get("inputVariables") or []),
            thumbnail=data.get("thumbnail"),
            version=int(data["version"]),
            content_hash=data["contentHash"],
            created_at=data.get("createdAt"),
            updated_at=data.get("updatedAt"),
            workflow=data.get("n8nJson"),
            history=None
            if history is None
            else [
                TemplateVersionInfo(h["version"], h["contentHash"], h.get("createdAt"))
                for h in history
            ],
        )
