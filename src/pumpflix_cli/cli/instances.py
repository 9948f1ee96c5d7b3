"""``pumpflix instances``: templates run on n8n."""

import typer

app = typer.Typer(help="Run templates on n8n and follow their instances.", no_args_is_help=True)
