"""What every command shares: the one accessor of the application object, the option
bundles used by more than one command, and the one way a command ends."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol, runtime_checkable

import typer

from pumpflix_cli.cli.completion import complete_template_ref
from pumpflix_cli.context import AppContext
from pumpflix_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from pumpflix_cli.errors import PumpflixError
    from pumpflix_cli.output import Output


class SourceType(StrEnum):
    prebuilt = "prebuilt"
    user = "user"


class TypeFilter(StrEnum):
    prebuilt = "prebuilt"
    user = "user"
    all = "all"


TypeOption = Annotated[
    TypeFilter, typer.Option("--type", help="Which templates: prebuilt, user or all.")
]


def types_of(value: TypeFilter) -> list[str]:
    """The source types a ``--type`` value stands for."""
    return ["prebuilt", "user"] if value is TypeFilter.all else [value.value]


JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout; diagnostics go to stderr."),
]

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")]

TEMPLATE_REF_HELP = "Id, unique id prefix (6+) or exact name."

TemplateRefArgument = Annotated[
    str, typer.Argument(help=TEMPLATE_REF_HELP, autocompletion=complete_template_ref)
]

TemplateRefsArgument = Annotated[
    list[str], typer.Argument(metavar="REF...", autocompletion=complete_template_ref)
]

# Which templates a bulk command acts on: the named ones, every one of a type, or all.
SomeTemplateRefsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[REF]...", autocompletion=complete_template_ref),
]
EveryOfTypeOption = Annotated[
    SourceType | None, typer.Option("--type", help="Every template of this type.")
]
AllTemplatesOption = Annotated[bool, typer.Option("--all", help="Every template.")]


def app_context(ctx: typer.Context, *, json_output: bool = False) -> AppContext:
    """The application object set up by the root command; ``--json`` switches output."""
    app = ctx.find_object(AppContext)
    if app is None:  # a command invoked on its own, as in a library test
        from pumpflix_cli.output import Output

        app = AppContext(Output())
        ctx.obj = app
    if json_output:
        app.output.json_mode = True
    app.output.command = ctx.command_path.partition(" ")[2] or None  # for the JSON log
    return app


class Report(Protocol):
    """What a command's service hands back: its JSON, and how the command ends."""

    @property
    def exit_code(self) -> ExitCode: ...

    def to_json(self) -> Any: ...


@runtime_checkable
class Failing(Protocol):
    """A report that carries the error its command ends with (printed as ``error: …``)."""

    @property
    def problem(self) -> PumpflixError | None: ...


def finish(out: Output, report: Report, render: Callable[[], None]) -> None:
    """Every reporting command ends here: the report as JSON (``--json``) or rendered for
    people, then the report's own exit code (its problem, when it has one, as the error)."""
    out.emit(report.to_json(), render)
    if isinstance(report, Failing) and report.problem is not None:
        raise report.problem
    if report.exit_code is not ExitCode.OK:
        raise typer.Exit(int(report.exit_code))


def confirm_destructive(output: Output, question: str, *, yes: bool) -> None:
    """Ask on a terminal; without one, ``--yes`` is required (SPEC §1)."""
    from pumpflix_cli.errors import UsageError

    if yes:
        return
    if not output.interactive:
        raise UsageError(
            "refusing to do this without --yes: stdin is not a terminal", hint="add --yes"
        )
    if not output.confirm(question):
        raise typer.Exit(int(ExitCode.FAILURE))
