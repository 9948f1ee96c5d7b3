"""``pumpflix instances``: templates run on n8n, and what became of each run."""

import typer

from pumpflix_cli.cli.instances.delete import delete
from pumpflix_cli.cli.instances.list import list_
from pumpflix_cli.cli.instances.logs import logs
from pumpflix_cli.cli.instances.promote import promote
from pumpflix_cli.cli.instances.prune import prune
from pumpflix_cli.cli.instances.run import run
from pumpflix_cli.cli.instances.show import show

app = typer.Typer(help="Run templates on n8n and follow their instances.", no_args_is_help=True)
app.command()(run)
app.command("list")(list_)
app.command()(show)
app.command()(logs)
app.command()(promote)
app.command()(delete)
app.command()(prune)
