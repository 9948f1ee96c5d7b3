"""What every command shares: the context accessor and the common options."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from pumpflix_cli.context import AppContext
from pumpflix_cli.exit_codes import ExitCode
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


def app_context(ctx: typer.Context, *, json_output: bool = False) -> AppContext:
    """The application context set up by the root command; ``--json`` switches output."""
    app = ctx.find_object(AppContext)
    if app is None:  # a command invoked on its own, as in a library test
        from pumpflix_cli.output import Output

        app = AppContext(Output())
        ctx.obj = app
    if json_output:
        app.output.json_mode = True
    return app


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
