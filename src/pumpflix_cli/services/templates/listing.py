"""What an import's arguments name: files, folders searched for ``*.json``, and ``-`` for
stdin; and reading one with a size limit. An entry of a folder that is not a regular file
(a FIFO, a socket, a device, a broken link) is told from its metadata alone, never opened.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from pumpflix_cli.errors import UsageError
from pumpflix_cli.workflow import WorkflowError

STDIN = "-"


class FileEntry(NamedTuple):
    """One thing an import's arguments name: a file to read (``path``; None for stdin), or
    an ``error`` (a missing path), or a ``skipped`` entry of a folder that is not a file
    (a FIFO, a socket, a device: never opened, since opening a FIFO blocks)."""

    label: str
    path: Path | None
    error: str | None = None
    skipped: bool = False


def iter_files(paths: Sequence[str]) -> Iterator[FileEntry]:
    """Every file the arguments name: folders recursively (``*.json``, sorted, entries that
    are not regular files named as skipped), ``-`` for stdin, missing paths as errors."""
    for raw in paths:
        if raw == STDIN:
            yield FileEntry(STDIN, None)
            continue
        path = Path(raw)
        if path.is_dir():
            yield from _folder(raw, path)
        elif path.is_file():
            yield FileEntry(raw, path)
        else:
            yield FileEntry(raw, None, _not_a_file(path) or "no such file or directory")


def _folder(raw: str, folder: Path) -> Iterator[FileEntry]:
    found: list[Path] = []
    others: list[FileEntry] = []
    for path in folder.rglob("*.json"):
        kind = _not_a_file(path)
        if kind is None:
            found.append(path)
        elif kind != _DIRECTORY:
            others.append(FileEntry(str(path), None, kind, skipped=True))
    if not found:
        named = "".join(f"; {entry.label} is {entry.error}" for entry in sorted(others))
        yield FileEntry(raw, None, "no .json files in this folder" + named)
        return
    yield from sorted(others)
    for file in sorted(found):
        yield FileEntry(str(file), file)


_DIRECTORY = "a directory"
_KINDS = (
    (stat.S_ISDIR, _DIRECTORY),
    (stat.S_ISFIFO, "a FIFO (named pipe), not a regular file"),
    (stat.S_ISSOCK, "a socket, not a regular file"),
    (stat.S_ISCHR, "a character device, not a regular file"),
    (stat.S_ISBLK, "a block device, not a regular file"),
)


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (following symbolic links), from its
    metadata alone; None for a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else None
    except OSError as exc:
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def collect_files(paths: Sequence[str]) -> list[FileEntry]:
    """Every file the arguments name, checked for usage errors first."""
    if not paths:
        raise UsageError("nothing to import", hint="give files, folders, or - for stdin")
    if list(paths).count(STDIN) > 1:
        raise UsageError("- (stdin) may be given only once")
    return list(iter_files(paths))


def read_limited(path: Path | None, stdin: IO[bytes] | None, limit: int) -> bytes:
    """The file's bytes, refusing one larger than ``limit`` before reading it whole."""
    if path is None:
        if stdin is None:
            raise WorkflowError("no standard input to read")
        data = stdin.read(limit + 1)
    else:
        size = path.stat().st_size
        if size > limit:
            raise WorkflowError(
                f"file is {size:,} bytes, over the {limit:,}-byte limit (PUMPFLIX_MAX_FILE_BYTES)"
            )
        data = path.read_bytes()
    if len(data) > limit:
        raise WorkflowError(f"input is over the {limit:,}-byte limit (PUMPFLIX_MAX_FILE_BYTES)")
    return data
