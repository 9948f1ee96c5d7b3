"""Plain records passed between the adapters, the services and the output: no I/O, and
cheap to import (the warm-cache read path must not load SQLAlchemy).

Their JSON is the platform's camelCase (SPEC §1), made by one helper, `camel_json`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pumpflix_cli.references import short_id

SOURCE_TYPES = ("prebuilt", "user")


# --- time --------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp with its zone: SQLite hands them back naive, and they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def parse_utc(text: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or an offset; none means UTC) as an aware UTC datetime;
    ValueError when it is not one."""
    return as_utc(datetime.fromisoformat(text)).astimezone(UTC)  # type: ignore[union-attr]


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with its offset."""
    if value is None or isinstance(value, str):
        return value
    return as_utc(value).isoformat()  # type: ignore[union-attr]


# --- JSON --------------------------------------------------------------------------------


def camel_case(name: str) -> str:
    """``n8n_workflow_id`` → ``n8nWorkflowId``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


_KEYS: dict[tuple[type, tuple[str, ...] | None, frozenset[str]], tuple[tuple[str, str], ...]] = {}


def _json_keys(
    cls: type, only: tuple[str, ...] | None, skip: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON key) pairs, worked out once per record type and selection."""
    key = (cls, only, skip)
    if key not in _KEYS:
        names = only if only is not None else tuple(f.name for f in dataclasses.fields(cls))
        _KEYS[key] = tuple((name, camel_case(name)) for name in names if name not in skip)
    return _KEYS[key]


def json_value(value: Any) -> Any:
    """Timestamps as ISO 8601 strings, records as their camelCase objects, the rest as is."""
    if isinstance(value, datetime):
        return iso(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return camel_json(value)
    if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
        return [json_value(item) for item in value]
    return value


def camel_json(
    record: Any, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()
) -> dict[str, Any]:
    """A record's fields (all, or ``only`` these in this order, less ``skip``) as camelCase
    JSON: the one way records become the JSON every ``--json`` prints."""
    keys = _json_keys(type(record), None if only is None else tuple(only), frozenset(skip))
    return {key: json_value(getattr(record, name)) for name, key in keys}


# --- templates ---------------------------------------------------------------------------


@dataclass(slots=True)
class TemplateVersionInfo:
    version: int
    content_hash: str
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return camel_json(self)


SUMMARY_FIELDS = (
    "id",
    "name",
    "description",
    "source_type",
    "required_credentials",
    "input_variables",
    "thumbnail",
    "version",
    "content_hash",
    "created_at",
    "updated_at",
)


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
    # The workflow exactly as the row stores it (``n8nJson``), when read from the database:
    # the platform's cached value carries these bytes, not a re-encoding.
    workflow_json: str | None = None

    def summary_json(self) -> dict[str, Any]:
        """Every field but the n8n JSON and the history: what ``templates list`` prints."""
        return camel_json(self, only=SUMMARY_FIELDS)

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


# --- instances ---------------------------------------------------------------------------


INSTANCE_SUMMARY = (
    "id",
    "status",
    "template_id",
    "template_name",
    "template_version",
    "n8n_workflow_id",
    "n8n_execution_id",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
)


@dataclass
class InstanceRecord:
    """A template run on n8n (SPEC §3): what ``instances run`` records."""

    id: str
    status: str
    template_id: str | None
    template_name: str | None
    template_version: int | None
    inputs: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)
    n8n_workflow_id: str | None = None
    n8n_execution_id: str | None = None
    error: str | None = None
    output: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    final_workflow: dict[str, Any] | None = None

    @property
    def short_id(self) -> str:
        return short_id(self.id)


@dataclass
class EventRecord:
    """One log line of an instance: a node run in n8n, or a step of pumpflix's own."""

    source: str  # "pumpflix" | "n8n"
    message: str
    time: datetime = field(default_factory=utcnow)
    level: str = "info"
    node: str | None = None
    data: dict[str, Any] | None = None

    @property
    def execution_id(self) -> str | None:
        value = (self.data or {}).get("executionId")
        return None if value is None else str(value)

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=("time", "level", "source", "node", "message", "data"))
