"""``pumpflix cache``: the Redis cache of templates."""

import typer

app = typer.Typer(help="Warm, inspect, verify and flush the Redis cache.", no_args_is_help=True)
