"""The generated command reference (docs/commands.md) matches every command's --help."""

from __future__ import annotations

from pathlib import Path

from pumpflix_cli.cli.reference import render

ROOT = Path(__file__).parents[1]


def test_the_command_reference_is_current() -> None:
    committed = (ROOT / "docs" / "commands.md").read_text()
    assert committed == render(), "run scripts/gen-docs"
