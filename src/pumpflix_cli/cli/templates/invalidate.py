"""``pumpflix templates invalidate``."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.common import (
    AllTemplatesOption,
    EveryOfTypeOption,
    JsonOption,
    SomeTemplateRefsArgument,
    app_context,
)


def invalidate(
    ctx: typer.Context,
    refs: SomeTemplateRefsArgument = None,
    type_: EveryOfTypeOption = None,
    all_: AllTemplatesOption = False,
    json: JsonOption = False,
) -> None:
    """Drop cached copies so the next read comes from the database."""
    from pumpflix_cli.errors import UsageError
    from pumpflix_cli.output import plural

    if not refs and type_ is None and not all_:
        raise UsageError("say what to invalidate", hint="give REFs, --type T or --all")
    app_ = app_context(ctx, json_output=json)
    library = app_.library()
    records = library.resolve_many(refs) if refs else []
    types = ["prebuilt", "user"] if all_ else ([type_.value] if type_ else [])
    count = library.invalidate(records, types)
    out = app_.output
    out.emit({"invalidated": count}, lambda: out.text(f"invalidated {plural(count, 'template')}"))
