"""``pumpflix templates``: the template library."""

import typer

app = typer.Typer(
    help="Import, list, show, export, invalidate and delete templates.", no_args_is_help=True
)
