"""``pumpflix cache``: the Redis cache of templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import (
    JsonOption,
    TypeFilter,
    TypeOption,
    app_context,
    confirm_destructive,
    types_of,
)
from pumpflix_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from pumpflix_cli.context import AppContext
    from pumpflix_cli.output import Output
    from pumpflix_cli.services.cache.inspect import CacheService, CacheStats, VerifyReport

app = typer.Typer(help="Warm, inspect, verify and flush the Redis cache.", no_args_is_help=True)

SHOWN = 20  # findings listed in the human rendering of verify


def _service(ctx: typer.Context, json: bool) -> tuple[AppContext, CacheService]:
    from pumpflix_cli.errors import ServiceUnavailableError
    from pumpflix_cli.services.cache.inspect import CacheService

    app_ = app_context(ctx, json_output=json)
    cache = app_.template_cache()
    if cache is None:
        raise ServiceUnavailableError(
            "Redis",
            "the cache is not configured (REDIS_URL is not set)",
            hint="set REDIS_URL, e.g. redis://127.0.0.1:6379/0",
        )
    return app_, CacheService(app_.database, cache)


@app.command()
def warm(ctx: typer.Context, type_: TypeOption = TypeFilter.all, json: JsonOption = False) -> None:
    """Load every template (and the lists) into Redis; safe while others read and write."""

    app_, service = _service(ctx, json)
    out = app_.output
    with out.progress("warming", None) as advance:
        report = service.warm(types_of(type_), progress=advance)
    by_type = ", ".join(f"{t} {n}" for t, n in report.by_type.items())
    if json:
        out.json(report.to_json())
    elif not out.quiet:
        out.text(f"warmed {report.warmed} templates ({by_type}) in {report.seconds:.2f} s")
    if report.skipped:
        out.info(f"{report.skipped} changed while warming; the next read loads them")


@app.command()
def stats(ctx: typer.Context, json: JsonOption = False) -> None:
    """Hits, misses, invalidations, keys, memory and index TTLs per type; the last warm."""
    app_, service = _service(ctx, json)
    out = app_.output
    found = service.stats()
    out.emit(found.to_json(), lambda: _render_stats(out, found))


def _render_stats(out: Output, found: CacheStats) -> None:
    columns = ["type", "hits", "misses", "ratio", "invalidated", "cached", "bytes", "TTL"]
    out.table(
        columns,
        [
            (
                source_type,
                s.hits,
                s.misses,
                "-" if s.hit_ratio is None else f"{s.hit_ratio:.0%}",
                s.invalidations,
                s.entries,
                _size(s.bytes),
                "-" if s.index_ttl is None else _duration(s.index_ttl),
            )
            for source_type, s in found.by_type.items()
        ],
        no_wrap=columns,
    )
    warm = found.last_warm
    out.fields(
        {
            "keys": found.keys,
            "memory": _size(found.bytes),
            "tombstones": found.tombstones,
            "unreadable": found.unreadable,
            "last warm": "never"
            if warm is None
            else f"{warm.get('at')}: {warm.get('warmed')} templates in {warm.get('seconds')} s"
            f" ({warm.get('host')})",
        }
    )


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02}m" if hours else f"{rest // 60}m{rest % 60:02}s"


@app.command()
def flush(
    ctx: typer.Context,
    type_: TypeOption = TypeFilter.all,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    json: JsonOption = False,
) -> None:
    """Delete pumpflix's keys (all, or one type's); other keys in Redis are left alone."""
    from pumpflix_cli.redact import mask_url

    app_, service = _service(ctx, json)
    out = app_.output
    settings = app_.settings
    what = "every cached template" if type_ is TypeFilter.all else f"the {type_.value} templates"
    where = f"{mask_url(settings.redis_url or '')} (prefix {settings.cache_prefix})"
    confirm_destructive(out, f"Delete {what} from {where}?", yes=yes)
    deleted = service.flush(types_of(type_))
    out.emit(
        {"deleted": deleted, "type": type_.value},
        lambda: out.text(f"deleted {deleted} keys"),
    )


@app.command()
def verify(ctx: typer.Context, json: JsonOption = False) -> None:
    """Compare Redis with the database: stale, orphaned and missing entries.

    Exit 1 when a cached entry or list is stale or orphaned; missing entries are only
    reported (a cold key is not wrong).
    """
    app_, service = _service(ctx, json)
    out = app_.output
    report = service.verify()
    out.emit(report.to_json(), lambda: _render_verify(out, report))
    if not report.consistent:
        raise typer.Exit(int(ExitCode.FAILURE))


def _render_verify(out: Output, report: VerifyReport) -> None:
    for label, findings in (("stale", report.stale), ("orphaned", report.orphaned)):
        for finding in findings[:SHOWN]:
            out.text(f"{label}: {finding.key}: {finding.reason}")
        if len(findings) > SHOWN:
            out.text(f"… and {len(findings) - SHOWN} more {label}")
    indexes = ", ".join(f"{t} {state}" for t, state in report.indexes.items())
    out.text(
        f"{report.checked} templates, {report.cached} cached, {len(report.missing)} not cached, "
        f"{len(report.stale)} stale, {len(report.orphaned)} orphaned; lists: {indexes}"
    )
    if report.consistent:
        out.success("the cache agrees with the database")
    else:
        out.err_console.print("the cache is inconsistent", style="red", markup=False)
