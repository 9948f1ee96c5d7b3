"""What several ``instances`` commands share: the instance argument, and how they show a
JSON value (inputs, output, the final JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pumpflix_cli.output import Output

InstanceArgument = Annotated[
    str, typer.Argument(help="The instance's id or a unique id prefix (6+ characters).")
]


def render_json(out: Output, title: str, value: Any) -> None:
    """A titled JSON value, unfolded so that it can be copied."""
    from pumpflix_cli.output import to_json

    out.text(f"{title}:")
    out.block(to_json(value))
