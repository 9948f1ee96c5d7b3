"""Diagnostics as machine logs (``--log-format json``): one JSON object per event on
stderr, what cron, systemd's journal and log shippers read.

Every event has ``time`` (UTC, ISO 8601 with milliseconds), ``level`` (``debug``,
``info``, ``warning``, ``error``), ``command`` (``templates import``; null before one is
known), ``event`` (what happened: ``info``, ``done``, ``warning``, ``failed``, ``error``,
``traceback``, ``exit``) and ``message``, plus the event's own fields in camelCase
(``hint``, ``exitCode``, ``durationMs``). The message went through the same scrubbing as
the text form, and the line is written with terminal control characters escaped.
Standard library only: ``--help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pumpflix_cli.text import json_text

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
Level = Literal["debug", "info", "warning", "error"]


def event_line(
    level: Level, event: str, message: str, *, command: str | None, **fields: Any
) -> str:
    """One log event as a single JSON line (no newline at the end)."""
    now = datetime.now(UTC)
    record: dict[str, Any] = {
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "level": level,
        "command": command,
        "event": event,
        "message": message,
    }
    record.update({k: v for k, v in fields.items() if v is not None})
    return json_text(record, indent=None)
