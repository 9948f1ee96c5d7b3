"""``pumpflix n8n``: keeping templates and an n8n instance in step."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.n8n.diff import diff
from pumpflix_cli.cli.n8n.status import status
from pumpflix_cli.cli.n8n.sync import sync

app = typer.Typer(help="Check n8n, sync templates with it and diff them.", no_args_is_help=True)
app.command("status")(status)
app.command("sync")(sync)
app.command("diff")(diff)
