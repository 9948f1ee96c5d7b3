"""Folders pumpflix writes into (the embedded database's, an export's): made on demand,
and one that cannot be made is an `OutputError` naming it (exit 74)."""

from __future__ import annotations

from pathlib import Path

from pumpflix_cli.errors import OutputError


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents; a file in its place or a parent that refuses new
    folders is an error naming it."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(str(folder), "it exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError.of(str(folder), exc) from exc
