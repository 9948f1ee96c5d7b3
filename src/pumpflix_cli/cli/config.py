"""``pumpflix config``: the resolved settings."""

from __future__ import annotations

import typer

from pumpflix_cli.cli.common import JsonOption, app_context

app = typer.Typer(help="Show the resolved settings.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every setting, its value (secrets masked) and where it came from."""
    app_ = app_context(ctx, json_output=json)
    loaded = app_.loaded_settings
    rows = loaded.resolved()
    data = {
        "envFile": str(loaded.env_file) if loaded.env_file else None,
        "settings": {
            row.variable: {"value": row.value, "source": row.source, "secret": row.secret}
            for row in rows
        },
    }
    out = app_.output
    out.emit(
        data,
        lambda: out.table(
            ["setting", "value", "source", "meaning"],
            [
                (row.variable, "-" if row.value is None else row.value, row.source, row.description)
                for row in rows
            ],
        ),
    )
