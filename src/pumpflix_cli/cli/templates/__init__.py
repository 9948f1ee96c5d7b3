"""``pumpflix templates``: the template library. One module per command; this one only
registers them, in the order ``--help`` lists them."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.templates.delete import delete
from pumpflix_cli.cli.templates.export import export
from pumpflix_cli.cli.templates.import_ import import_
from pumpflix_cli.cli.templates.invalidate import invalidate
from pumpflix_cli.cli.templates.list import list_
from pumpflix_cli.cli.templates.show import show

app = typer.Typer(
    help="Import, list, show, export, invalidate and delete templates.", no_args_is_help=True
)

app.command("import")(import_)
app.command("list")(list_)
app.command()(show)
app.command()(export)
app.command()(invalidate)
app.command()(delete)
