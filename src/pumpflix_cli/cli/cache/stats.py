"""``pumpflix cache stats``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheStats


def stats(ctx: typer.Context, json: JsonOption = False) -> None:
    """Hits, misses, invalidations, keys, memory and index TTLs per type; the last warm."""
    from pumpflix_cli.services.cache.inspect import CacheService

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    found = CacheService.of(app_.database, app_.template_cache()).stats()
    finish(out, found, lambda: _render(out, found))


def _render(out: Output, found: CacheStats) -> None:
    from pumpflix_cli.output import Column, format_duration, format_size

    out.table(
        [
            Column("type"),
            Column("hits", 1),
            Column("misses", 1),
            Column("ratio", 1),
            Column("invalidated", 4),
            Column("cached", 2),
            Column("bytes", 3),
            Column("TTL", 5),
        ],
        [
            (
                source_type,
                s.hits,
                s.misses,
                "-" if s.hit_ratio is None else f"{s.hit_ratio:.0%}",
                s.invalidations,
                s.entries,
                format_size(s.bytes),
                "-" if s.index_ttl is None else format_duration(s.index_ttl, "second"),
            )
            for source_type, s in found.by_type.items()
        ],
    )
    warm = found.last_warm
    out.fields(
        {
            "keys": found.keys,
            "memory": format_size(found.bytes),
            "tombstones": found.tombstones,
            "unreadable": found.unreadable,
            "last warm": "never"
            if warm is None
            else f"{warm.get('at')}: {_templates(warm.get('warmed'))} in {warm.get('seconds')} s"
            f" ({warm.get('host')})",
        }
    )


def _templates(count: object) -> str:
    from pumpflix_cli.output import plural

    return plural(count, "template") if isinstance(count, int) else f"{count} templates"
