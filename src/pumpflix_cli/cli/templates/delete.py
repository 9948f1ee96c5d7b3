"""``pumpflix templates delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    AllTemplatesOption,
    EveryOfTypeOption,
    JsonOption,
    SomeTemplateRefsArgument,
    YesOption,
    app_context,
    confirm_destructive,
)
from pumpflix_cli.text import plural

if TYPE_CHECKING:
    from pumpflix_cli.records import TemplateRecord

SHOWN = 5  # names listed in the confirmation before "and N more"


def delete(
    ctx: typer.Context,
    refs: SomeTemplateRefsArgument = None,
    type_: EveryOfTypeOption = None,
    all_: AllTemplatesOption = False,
    yes: YesOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even when instances use the template.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Delete templates and their history: the named ones, every one of a type, or all
    (exit 4 while instances use one, unless --force)."""
    from pumpflix_cli.errors import ConflictError, UsageError
    from pumpflix_cli.services.templates.library import TemplatesInUseError

    chosen = [bool(refs), type_ is not None, all_]
    if sum(chosen) != 1:
        what = "say what to delete" if not any(chosen) else "give one of REFs, --type or --all"
        raise UsageError(what, hint="give REFs, --type T or --all")
    app_ = app_context(ctx, json_output=json)
    out = app_.output
    library = app_.library()
    if refs:
        records = library.resolve_many(refs)
    else:
        types = [type_.value] if type_ is not None else ["prebuilt", "user"]
        records = library.list_templates(types, use_cache=False)
    if not records:
        out.emit({"deleted": 0, "ids": []}, lambda: out.info("no templates to delete"))
        return
    confirm_destructive(out, f"Delete {describe_doomed(records)}?", yes=yes)
    try:
        deleted = library.delete(records, force=force)
    except TemplatesInUseError as exc:
        hint = "--force deletes anyway; the instances keep their JSON"
        raise ConflictError(exc.message, hint=hint) from None
    out.emit(
        {"deleted": len(deleted), "ids": [r.id for r in deleted]},
        lambda: out.text(f"deleted {plural(len(deleted), 'template')}"),
    )


def describe_doomed(records: list[TemplateRecord]) -> str:
    names = ", ".join(f"'{r.name}' ({r.source_type})" for r in records[:SHOWN])
    more = f" and {len(records) - SHOWN} more" if len(records) > SHOWN else ""
    return f"{plural(len(records), 'template')}: {names}{more}"
