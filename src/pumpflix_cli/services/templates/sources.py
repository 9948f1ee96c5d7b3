"""Reading an import's sources: files, folders and stdin (``listing``) to checked workflows.

Files are read with a size limit and parsed with a depth limit; every workflow is checked
by the pure workflow module; with many files this runs in one worker process per core.
The JSON then waits in a temporary file (``JsonSpool``) until it is written.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import repeat
from multiprocessing import get_all_start_methods
from pathlib import Path
from typing import IO, Literal, NamedTuple

from pumpflix_cli.errors import Terminated
from pumpflix_cli.references import name_key
from pumpflix_cli.services.templates.listing import STDIN, FileEntry, collect_files, read_limited
from pumpflix_cli.services.templates.workers import worker_pool
from pumpflix_cli.workflow import (
    PreparedWorkflow,
    WorkflowError,
    parse_json,
    prepare,
    split_documents,
)

# What an import takes from here; the arguments' listing is ``listing``'s.
__all__ = [
    "Candidate",
    "FileEntry",
    "ImportOptions",
    "JsonSpool",
    "LoadFailure",
    "OnConflict",
    "collect_files",
    "load_all",
    "load_candidates",
]

OnConflict = Literal["update", "skip", "fail"]


@dataclass(frozen=True)
class ImportOptions:
    source_type: str | None = None  # None: the bundle's type, else "user"
    dry_run: bool = False
    repair: bool = False
    atomic: bool = False
    on_conflict: OnConflict = "update"
    max_file_bytes: int = 16 * 1024 * 1024
    max_depth: int = 100
    # Each workflow costs ~2 KB until it is written, however small its JSON: a 16 MB file
    # of 1.4 M '{"nodes":[]}' would need 3 GB. n8n exports of whole instances fit.
    max_file_workflows: int = 100_000


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


def _stem(label: str) -> str:
    return "stdin" if label == STDIN else Path(label).stem


# Problems reported one by one for a file; beyond them, one line counts the rest. A file
# of millions of bad items (``[{},{},…]``) costs a count, not millions of lines.
SHOWN_PER_FILE = 20


class LoadFailure(NamedTuple):
    """A file or document that is not a valid workflow; ``remedy`` as on `WorkflowError`.
    ``more`` > 0: not one failure but the count of a file's failures beyond those shown."""

    path: str
    reason: str
    remedy: str | None = None
    more: int = 0
    skipped: bool = False  # not a failure: a folder's entry that is not a file


def load_candidates(
    label: str, data: bytes, options: ImportOptions
) -> tuple[list[Candidate], list[LoadFailure]]:
    """Every workflow in one file, or ``(label, reason)`` for those that are not valid."""
    try:
        documents = split_documents(parse_json(data, max_depth=options.max_depth))
    except WorkflowError as exc:
        return [], [LoadFailure(label, str(exc), exc.remedy)]
    if len(documents) > options.max_file_workflows:
        reason = (
            f"the file holds {len(documents):,} items; the limit is "
            f"{options.max_file_workflows:,} workflows in one file (split it)"
        )
        return [], [LoadFailure(label, reason)]
    candidates: list[Candidate] = []
    errors: list[LoadFailure] = []
    more = 0
    many = len(documents) > 1
    stem = _stem(label)
    for index, document in enumerate(documents):
        fallback = f"{stem}-{index + 1}" if many else stem
        try:
            prepared = prepare(document, fallback_name=fallback, repair=options.repair)
            item = f"{label}[{index}]" if many else label
            candidates.append(_candidate(item, prepared, options))
        except WorkflowError as exc:
            if len(errors) < SHOWN_PER_FILE:
                item = f"{label}[{index}]" if many else label
                errors.append(LoadFailure(item, str(exc), exc.remedy))
            else:
                more += 1
    if more:
        errors.append(LoadFailure(label, f"… and {more:,} more problems", more=more))
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
    label, path, error, skipped = entry
    if skipped:
        return [], [LoadFailure(label, f"{error}: skipped", skipped=True)]
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
    with worker_pool(workers) as pool:
        for loaded in pool.map(load_file, on_disk, repeat(options), chunksize=32):
            Terminated.raise_if_requested()
            yield loaded
            progress(1)
    Terminated.raise_if_requested()
