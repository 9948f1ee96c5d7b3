"""The root command: global options, the command groups, and the error edge.

Only Typer and our light modules are imported here; each command imports the services it
needs inside its body, so ``pumpflix --help`` stays fast (bench/startup.py measures it).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from pumpflix_cli import __version__
from pumpflix_cli.cli import cache, config, db, doctor, instances, n8n, templates
from pumpflix_cli.context import AppContext
from pumpflix_cli.errors import OutputError, PumpflixError, Terminated
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.log_events import LOG_FORMATS
from pumpflix_cli.output import Output
from pumpflix_cli.redact import error_text
from pumpflix_cli.streams import ReaderStopped
from pumpflix_cli.text import printable

if TYPE_CHECKING:  # Typer vendors Click; its Context is the base of typer.Context
    from typer._click.core import Context as ClickContext


def _flags_take_no_value() -> None:
    """Typer's rich help prints a type after every option, flags included (``--json
    <bool>``), which reads as if a flag took a value; ``--json true`` is then refused. A
    flag has no value, so its help shows none, as Click's plain help does."""
    from typer.core import TyperOption

    typed = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: ClickContext) -> str | None:
        return None if self.is_flag or self.count else typed(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

# Accepted anywhere on the line (`pumpflix cache warm --quiet`, as cron lines are written).
GLOBAL_FLAGS = frozenset({"--quiet", "-q", "--verbose", "-v"})


class LogFormatChoice(StrEnum):
    text = "text"
    json = "json"


class PumpflixGroup(TyperGroup):
    """Moves the global flags to the front and turns errors into the exit-code contract."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = _hoist_global_flags(args)
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:
            raise _shown(exc) from None

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
        except (typer.Exit, typer.Abort):  # Typer's own flow
            raise
        except Terminated:
            _output_of(ctx).error("terminated")
            ctx.exit(int(ExitCode.TERMINATED))
        except typer.TyperException as exc:  # a usage error: Typer prints it
            output = _output_of(ctx)
            if not output.logs_json:
                raise _shown(exc) from None
            failed_in = getattr(exc, "ctx", None)
            if output.command is None and failed_in is not None:
                output.command = failed_in.command_path.partition(" ")[2] or None
            output.error(exc.format_message())  # one JSON event, as every other error
            ctx.exit(int(ExitCode.USAGE))
        except KeyboardInterrupt:
            _output_of(ctx).error("interrupted")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Exception as exc:
            output = _output_of(ctx)
            if output.verbose or _debug():
                output.traceback()
            output.error(
                f"unexpected {type(exc).__name__}: {error_text(exc)}",
                "run again with --verbose for the traceback, and report it",
            )
            ctx.exit(int(ExitCode.FAILURE))
        finally:
            app = ctx.find_object(AppContext)
            if app is not None:
                app.close()
                app.output.finished(_exit_code_of(sys.exc_info()[1]))


def _exit_code_of(exc: BaseException | None) -> int:
    """How the command is ending: by returning (0), by ``ctx.exit`` / ``typer.Exit`` (its
    code), or by an exception still to be reported."""
    if exc is None:
        return 0
    code = getattr(exc, "exit_code", None)
    return code if isinstance(code, int) else int(ExitCode.FAILURE)


def _shown(exc: typer.TyperException) -> typer.TyperException:
    """A usage error as Typer will print it, quoting what was typed (``No such option:
    --x\\u202e``) with its control characters escaped, as everything we print."""
    exc.message = printable(exc.message)
    return exc


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
    log_format: Annotated[
        LogFormatChoice | None,
        typer.Option(
            "--log-format",
            help="Diagnostics on stderr as text, or as JSON lines (also PUMPFLIX_LOG_FORMAT).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    chosen = log_format.value if log_format else os.environ.get("PUMPFLIX_LOG_FORMAT", "")
    given = chosen.lower() in LOG_FORMATS  # a bad value is refused with the settings
    output = Output(
        quiet=quiet and not verbose,
        verbose=verbose,
        log_format="json" if chosen.lower() == "json" else "text",
    )
    ctx.obj = AppContext(output, env_file, log_format_given=given)


app.add_typer(templates.app, name="templates")
app.add_typer(instances.app, name="instances")
app.add_typer(cache.app, name="cache")
app.add_typer(n8n.app, name="n8n")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.command("doctor")(doctor.doctor)
