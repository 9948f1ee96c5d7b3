"""``pumpflix config``: the resolved settings."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.config.show import show

app = typer.Typer(help="Show the resolved settings.", no_args_is_help=True)
app.command("show")(show)
