"""``pumpflix cache flush``."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    YesOption,
    app_context,
    confirm_destructive,
    types_of,
)


def flush(
    ctx: typer.Context,
    type_: TypeOption = TypeFilter.all,
    yes: YesOption = False,
    json: JsonOption = False,
) -> None:
    """Delete pumpflix's keys (all, or one type's); other keys in Redis are left alone."""
    from pumpflix_cli.output import plural
    from pumpflix_cli.redact import mask_url
    from pumpflix_cli.services.cache.inspect import CacheService

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    service = CacheService.of(app_.database, app_.template_cache())
    settings = app_.settings
    what = "every cached template" if type_ is TypeFilter.all else f"the {type_.value} templates"
    prefix = f"prefix {settings.cache_prefix}" if settings.cache_prefix else "no prefix"
    where = f"{mask_url(settings.redis_url or '')} ({prefix}: the platform's keys and ours)"
    confirm_destructive(out, f"Delete {what} from {where}?", yes=yes)
    deleted = service.flush(types_of(type_))
    out.emit(
        {"deleted": deleted, "type": type_.value},
        lambda: out.text(f"deleted {plural(deleted, 'key')}"),
    )
