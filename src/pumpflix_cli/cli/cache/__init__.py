"""``pumpflix cache``: the Redis cache of templates. One module per command; this one only
registers them, in the order ``--help`` lists them."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.cache.flush import flush
from pumpflix_cli.cli.cache.stats import stats
from pumpflix_cli.cli.cache.verify import verify
from pumpflix_cli.cli.cache.warm import warm

app = typer.Typer(help="Warm, inspect, verify and flush the Redis cache.", no_args_is_help=True)

app.command()(warm)
app.command()(stats)
app.command()(flush)
app.command()(verify)
