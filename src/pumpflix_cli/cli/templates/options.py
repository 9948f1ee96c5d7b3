"""Options that more than one ``templates`` command takes."""

from __future__ import annotations

from typing import Annotated

import typer

NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Read from the database, bypassing Redis.")
]
