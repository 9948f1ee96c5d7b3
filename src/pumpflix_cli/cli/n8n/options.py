"""Options shared by ``n8n sync`` and ``n8n diff``."""

from __future__ import annotations

from typing import Annotated

import typer

RefsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Templates by id, unique id prefix (6+ characters) or exact name; default: all.",
        metavar="[REF]...",
        show_default=False,
    ),
]
