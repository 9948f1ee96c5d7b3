"""``pumpflix db``: schema migrations."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.db.status import status
from pumpflix_cli.cli.db.upgrade import upgrade

app = typer.Typer(help="Upgrade the database schema and show its revision.", no_args_is_help=True)
app.command("upgrade")(upgrade)
app.command("status")(status)
