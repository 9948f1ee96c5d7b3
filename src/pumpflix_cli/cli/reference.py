"""The command reference in docs/commands.md, rendered from every command's ``--help``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WIDTH = 100


def _commands(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name in sorted(getattr(command, "commands", {}) or {}):
        yield from _commands(command.commands[name], [*path, name])


def render() -> str:
    """Markdown with one section per command, in tree order."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from pumpflix_cli.cli.app import app

    runner = CliRunner()
    env = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    parts = [
        "# Command reference",
        "",
        "Generated from `--help` by `scripts/gen-docs`; a test fails when it is out of date.",
        "",
    ]
    for path in _commands(get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], env=env, terminal_width=WIDTH)
        title = " ".join(["pumpflix", *path])
        text = "\n".join(line.rstrip() for line in result.stdout.strip("\n").splitlines())
        parts += [f"## `{title}`", "", "```", text, "```", ""]
    return "\n".join(parts)
