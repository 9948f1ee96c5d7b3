"""``pumpflix templates delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TemplateRefsArgument,
    YesOption,
    app_context,
    confirm_destructive,
)


def delete(
    ctx: typer.Context,
    refs: TemplateRefsArgument,
    yes: YesOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even when instances use the template.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Delete templates and their history (exit 4 while instances use one, unless --force)."""
    from pumpflix_cli.errors import ConflictError
    from pumpflix_cli.output import plural
    from pumpflix_cli.services.templates.library import TemplatesInUseError

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    library = app_.library()
    records = library.resolve_many(refs)
    names = ", ".join(f"'{r.name}' ({r.source_type})" for r in records)
    confirm_destructive(out, f"Delete {plural(len(records), 'template')}: {names}?", yes=yes)
    try:
        deleted = library.delete(records, force=force)
    except TemplatesInUseError as exc:
        hint = "--force deletes anyway; the instances keep their JSON"
        raise ConflictError(exc.message, hint=hint) from None
    out.emit(
        {"deleted": len(deleted), "ids": [r.id for r in deleted]},
        lambda: out.text(f"deleted {plural(len(deleted), 'template')}"),
    )
