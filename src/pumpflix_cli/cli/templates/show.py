"""``pumpflix templates show``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from pumpflix_cli.cli.common import JsonOption, TemplateRefArgument, app_context
from pumpflix_cli.cli.templates.options import NoCacheOption

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import TemplateRecord


def show(
    ctx: typer.Context,
    ref: TemplateRefArgument,
    no_cache: NoCacheOption = False,
    json: JsonOption = False,
) -> None:
    """Show one template, its n8n JSON (with --json) and its version history."""
    app_ = app_context(ctx, json_output=json)
    out = app_.output
    record = app_.library().show(ref, use_cache=not no_cache)
    out.emit(record.to_json(), lambda: _render(out, record))


def _render(out: Output, record: TemplateRecord) -> None:
    out.fields(template_fields(record))
    from pumpflix_cli.output import Column, format_time

    if record.history:
        out.table(
            [Column("version"), Column("content hash", 1), Column("created")],
            [(h.version, h.content_hash[:16], format_time(h.created_at)) for h in record.history],
            title="history",
        )


def template_fields(record: TemplateRecord, *, detail: bool = True) -> dict[str, Any]:
    """A template as people read it; without ``detail``, what a newly made one needs
    (no hash, node count or timestamps)."""
    fields: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "type": record.source_type,
        "description": record.description or "",
        "version": record.version,
    }
    if detail:
        nodes = (record.workflow or {}).get("nodes") or []
        fields["content hash"] = record.content_hash
        fields["nodes"] = len(nodes) if isinstance(nodes, list) else "?"
    fields["credentials"] = ", ".join(record.required_credentials) or "-"
    fields["input variables"] = ", ".join(record.input_variables) or "-"
    fields["thumbnail"] = record.thumbnail or "-"
    if detail:
        from pumpflix_cli.output import format_time

        fields["created"] = format_time(record.created_at)
        fields["updated"] = format_time(record.updated_at)
    return fields
