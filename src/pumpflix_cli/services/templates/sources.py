"""Reading an import's sources: files, folders and stdin to checked workflows.

Files are read with a size limit and parsed with a depth limit; every workflow is checked
by the pure workflow module; with many files this runs in one worker process per core.
The JSON then waits in a temporary file (``JsonSpool``) until it is written.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import repeat
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import IO, Literal, NamedTuple

from pumpflix_cli.errors import UsageError
from pumpflix_cli.references import name_key
from pumpflix_cli.workflow import (
    PreparedWorkflow,
    WorkflowError,
    parse_json,
    prepare,
    split_documents,
)

OnConflict = Literal["update", "skip", "fail"]

STDIN = "-"


@dataclass(frozen=True)
class ImportOptions:
    source_type: str | None = None  # None: the bundle's type, else "user"
    dry_run: bool = False
    repair: bool = False
    atomic: bool = False
    on_conflict: OnConflict = "update"
    max_file_bytes: int = 16 * 1024 * 1024
    max_depth: int = 100


@dataclass(frozen=True)
class Candidate:
    """One valid workflow of the batch and where it came from. The workflow travels as
    JSON text (``workflow_json``): cheap to pass between processes and stored as it is."""

    path: str
    prepared: PreparedWorkflow  # without its workflow dict
    source_type: str
    template_id: str | None
    workflow_json: str
    spooled: tuple[int, int] | None = None  # where workflow_json waits in the JsonSpool

    @property
    def identity(self) -> tuple[str, ...]:
        if self.template_id is not None:
            return ("id", str(self.template_id))
        return ("key", self.source_type, name_key(self.prepared.name))


def iter_files(paths: Sequence[str]) -> Iterator[tuple[str, Path | None, str | None]]:
    """``(label, file, error)`` for every file the arguments name: folders recursively
    (``*.json``, sorted), ``-`` for stdin (file None), missing paths as errors."""
    for raw in paths:
        if raw == STDIN:
            yield STDIN, None, None
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                yield raw, None, "no .json files in this folder"
            for file in found:
                yield str(file), file, None
        elif path.is_file():
            yield raw, path, None
        elif path.exists():
            yield raw, None, "not a regular file"
        else:
            yield raw, None, "no such file or directory"


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


def _stem(label: str) -> str:
    return "stdin" if label == STDIN else Path(label).stem


class LoadFailure(NamedTuple):
    """A file or document that is not a valid workflow; ``remedy`` as on `WorkflowError`."""

    path: str
    reason: str
    remedy: str | None = None


def load_candidates(
    label: str, data: bytes, options: ImportOptions
) -> tuple[list[Candidate], list[LoadFailure]]:
    """Every workflow in one file, or ``(label, reason)`` for those that are not valid."""
    try:
        documents = split_documents(parse_json(data, max_depth=options.max_depth))
    except WorkflowError as exc:
        return [], [LoadFailure(label, str(exc), exc.remedy)]
    candidates: list[Candidate] = []
    errors: list[LoadFailure] = []
    many = len(documents) > 1
    for index, document in enumerate(documents):
        item = f"{label}[{index}]" if many else label
        fallback = f"{_stem(label)}-{index + 1}" if many else _stem(label)
        try:
            prepared = prepare(document, fallback_name=fallback, repair=options.repair)
            candidates.append(_candidate(item, prepared, options))
        except WorkflowError as exc:
            errors.append(LoadFailure(item, str(exc), exc.remedy))
    return candidates, errors


def _candidate(path: str, prepared: PreparedWorkflow, options: ImportOptions) -> Candidate:
    bundle = prepared.bundle
    source_type = options.source_type or (bundle.source_type if bundle else None) or "user"
    template_id = None
    if bundle is not None and bundle.id:
        try:
            template_id = str(uuid.UUID(bundle.id))
        except ValueError:
            raise WorkflowError(f"the bundle's pumpflix.id {bundle.id!r} is not a UUID") from None
    slim = replace(prepared, workflow={}, json_text="")
    return Candidate(path, slim, source_type, template_id, prepared.json_text)


FileEntry = tuple[str, Path | None, str | None]


def collect_files(paths: Sequence[str]) -> list[FileEntry]:
    """Every file the arguments name, checked for usage errors first."""
    if not paths:
        raise UsageError("nothing to import", hint="give files, folders, or - for stdin")
    if list(paths).count(STDIN) > 1:
        raise UsageError("- (stdin) may be given only once")
    return list(iter_files(paths))


class JsonSpool:
    """Workflow JSON parked in a temporary file between reading and writing, so that an
    import of any size keeps only the small facts about each workflow in memory."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by __exit__

    def __enter__(self) -> JsonSpool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def hold(self, candidate: Candidate) -> Candidate:
        data = candidate.workflow_json.encode()
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        return replace(candidate, workflow_json="", spooled=(offset, len(data)))

    def text(self, candidate: Candidate) -> str:
        if candidate.spooled is None:
            return candidate.workflow_json
        offset, length = candidate.spooled
        self._file.seek(offset)
        return self._file.read(length).decode()


Loaded = tuple[list[Candidate], list[LoadFailure]]
PARALLEL_FROM = 64  # files; below this, worker processes cost more than they save


def load_file(entry: FileEntry, options: ImportOptions, stdin: IO[bytes] | None = None) -> Loaded:
    """Read and check one file: its valid workflows and the failures, by path."""
    label, path, error = entry
    if error is not None:
        return [], [LoadFailure(label, error)]
    try:
        data = read_limited(path, stdin, options.max_file_bytes)
    except WorkflowError as exc:
        return [], [LoadFailure(label, str(exc), exc.remedy)]
    except OSError as exc:
        return [], [LoadFailure(label, exc.strerror or str(exc))]
    return load_candidates(label, data, options)


def load_all(
    files: Sequence[FileEntry],
    options: ImportOptions,
    stdin: IO[bytes] | None,
    progress: Callable[[int], None],
) -> Iterator[Loaded]:
    """Every file loaded, in order; parsing and checking (the CPU-bound part) run in one
    worker process per core when there are many files."""
    workers = min(os.cpu_count() or 1, 8)
    on_disk = [entry for entry in files if entry[0] != STDIN]
    if workers < 2 or len(on_disk) < PARALLEL_FROM or "fork" not in get_all_start_methods():
        for entry in files:
            yield load_file(entry, options, stdin)
            progress(1)
        return
    for entry in files:
        if entry[0] == STDIN:
            yield load_file(entry, options, stdin)
            progress(1)
    context = get_context("fork")  # the children inherit the loaded modules: no re-import
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for loaded in pool.map(load_file, on_disk, repeat(options), chunksize=32):
            yield loaded
            progress(1)
