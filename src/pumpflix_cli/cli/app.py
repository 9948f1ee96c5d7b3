"""The root command: global options, the command groups, and the error edge.

Only Typer and our light modules are imported here; each command imports the services it
needs inside its body, so ``pumpflix --help`` stays fast (bench/startup.py measures it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from pumpflix_cli import __version__
from pumpflix_cli.cli import cache, config, db, doctor, instances, n8n, templates
from pumpflix_cli.context import AppContext
from pumpflix_cli.errors import OutputError, PumpflixError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.output import Output, ReaderStopped
from pumpflix_cli.redact import scrub

if TYPE_CHECKING:  # Typer vendors Click; its Context is the base of typer.Context
    from typer._click.core import Context as ClickContext

# Accepted anywhere on the line (`pumpflix cache warm --quiet`, as cron lines are written).
GLOBAL_FLAGS = frozenset({"--quiet", "-q", "--verbose", "-v"})


class PumpflixGroup(TyperGroup):
    """Moves the global flags to the front and turns errors into the exit-code contract."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = _hoist_global_flags(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            result = super().invoke(ctx)
            app = ctx.find_object(AppContext)
            if app is not None and app.stale_cache is not None:
                raise app.stale_cache  # after the report: the write stands, the cache may not
            return result
        except PumpflixError as exc:
            if isinstance(exc, OutputError) and exc.target == "stdout":
                silence_stdout()  # reported once here, not again at the final flush
            output = _output_of(ctx)
            if output.verbose or _debug():
                output.traceback()
            output.error(exc.message, exc.hint)
            ctx.exit(int(exc.exit_code))
        except ReaderStopped:  # `| head -c1`: the reader chose to stop, so do we, quietly
            silence_stdout()
            ctx.exit(int(ExitCode.OK))
        except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own flow
            raise
        except KeyboardInterrupt:
            _output_of(ctx).error("interrupted")
            ctx.exit(130)
        except Exception as exc:
            output = _output_of(ctx)
            if output.verbose or _debug():
                output.traceback()
            output.error(
                f"unexpected {type(exc).__name__}: {scrub(str(exc))}",
                "run again with --verbose for the traceback, and report it",
            )
            ctx.exit(int(ExitCode.FAILURE))
        finally:
            app = ctx.find_object(AppContext)
            if app is not None:
                app.close()


def silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so what is still buffered for a reader that
    has gone is dropped instead of failing again at the final flush."""
    import sys

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _hoist_global_flags(args: list[str]) -> list[str]:
    if "--" in args:
        cut = args.index("--")
        head, tail = args[:cut], args[cut:]
    else:
        head, tail = args, []
    flags = [arg for arg in head if arg in GLOBAL_FLAGS]
    rest = [arg for arg in head if arg not in GLOBAL_FLAGS]
    return flags + rest + tail


def _output_of(ctx: ClickContext) -> Output:
    app = ctx.find_object(AppContext)
    return app.output if app is not None else Output()


def _debug() -> bool:
    return os.environ.get("PUMPFLIX_DEBUG", "").lower() in {"1", "true", "yes", "on"}


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pumpflix {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=PumpflixGroup,
    name="pumpflix",
    help="Manage PumpFlix workflow templates, their cache and their runs on n8n.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file", help="Read settings from this file (default: ./.env).", dir_okay=False
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="More detail, tracebacks on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = AppContext(Output(quiet=quiet and not verbose, verbose=verbose), env_file)


app.add_typer(templates.app, name="templates")
app.add_typer(instances.app, name="instances")
app.add_typer(cache.app, name="cache")
app.add_typer(n8n.app, name="n8n")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.command("doctor")(doctor.doctor)
