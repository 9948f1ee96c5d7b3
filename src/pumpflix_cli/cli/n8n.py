"""``pumpflix n8n``: keeping templates and an n8n instance in step."""

import typer

app = typer.Typer(help="Check n8n, sync templates with it and diff them.", no_args_is_help=True)
