"""``templates import``: files, folders and stdin to templates, in bulk (SPEC §3, §9).

Files are read with a size limit and parsed with a depth limit; every workflow is checked
by the pure workflow module; the batch is de-duplicated (two different workflows with one
name both fail, each naming the other); then drafts are upserted in batched transactions
(or one, with ``atomic``), and the cache entries each batch changed are invalidated.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import repeat
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from pumpflix_cli.errors import UsageError
from pumpflix_cli.workflow import (
    PreparedWorkflow,
    WorkflowError,
    parse_json,
    prepare,
    split_documents,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.templates import TemplateDraft, WriteResult
    from pumpflix_cli.services.templates import TemplateLibrary

OnConflict = Literal["update", "skip", "fail"]
BATCH = 500
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


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # files whose connections were rewritten
    templates: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    atomic: bool = False

    @property
    def landed(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def fail(self, path: str, error: str) -> None:
        self.failed += 1
        self.errors.append({"path": path, "error": error})

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "errors": self.errors,
            "warnings": self.warnings,
            "repaired": self.repaired,
            "templates": self.templates,
            "dryRun": self.dry_run,
        }


@dataclass(frozen=True)
class Candidate:
    """One valid workflow of the batch and where it came from. The workflow travels as
    JSON text (``workflow_json``): cheap to pass between processes and stored as it is."""

    path: str
    prepared: PreparedWorkflow  # without its workflow dict
    source_type: str
    template_id: uuid.UUID | None
    workflow_json: str
    spooled: tuple[int, int] | None = None  # where workflow_json waits in the JsonSpool

    @property
    def identity(self) -> tuple[str, ...]:
        if self.template_id is not None:
            return ("id", str(self.template_id))
        return ("key", self.source_type, self.prepared.name)


# --- reading -------------------------------------------------------------------------


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


def load_candidates(
    label: str, data: bytes, options: ImportOptions
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Every workflow in one file, or ``(label, reason)`` for those that are not valid."""
    try:
        documents = split_documents(parse_json(data, max_depth=options.max_depth))
    except WorkflowError as exc:
        return [], [(label, str(exc))]
    candidates: list[Candidate] = []
    errors: list[tuple[str, str]] = []
    many = len(documents) > 1
    for index, document in enumerate(documents):
        item = f"{label}[{index}]" if many else label
        fallback = f"{_stem(label)}-{index + 1}" if many else _stem(label)
        try:
            prepared = prepare(document, fallback_name=fallback, repair=options.repair)
            candidates.append(_candidate(item, prepared, options))
        except WorkflowError as exc:
            errors.append((item, str(exc)))
    return candidates, errors


def _candidate(path: str, prepared: PreparedWorkflow, options: ImportOptions) -> Candidate:
    bundle = prepared.bundle
    source_type = options.source_type or (bundle.source_type if bundle else None) or "user"
    template_id = None
    if bundle is not None and bundle.id:
        try:
            template_id = uuid.UUID(bundle.id)
        except ValueError:
            raise WorkflowError(f"the bundle's pumpflix.id {bundle.id!r} is not a UUID") from None
    slim = replace(prepared, workflow={}, json_text="")
    return Candidate(path, slim, source_type, template_id, prepared.json_text)


def deduplicate(candidates: Sequence[Candidate], report: ImportReport) -> list[Candidate]:
    """One candidate per identity: identical duplicates import once; different workflows
    claiming one identity all fail, each naming the others."""
    groups: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[candidate.identity].append(candidate)
    kept: list[Candidate] = []
    for group in groups.values():
        if len({c.prepared.content_hash for c in group}) == 1:
            kept.append(group[0])
            report.unchanged += len(group) - 1
            continue
        for candidate in group:
            others = ", ".join(c.path for c in group if c is not candidate)
            report.fail(
                candidate.path,
                f"another file in this import, {others}, has a different workflow "
                f"named '{candidate.prepared.name}' ({candidate.source_type})",
            )
    return kept


# --- writing -------------------------------------------------------------------------


def _draft(candidate: Candidate, spool: JsonSpool) -> TemplateDraft:
    from pumpflix_cli.db.templates import TemplateDraft

    prepared = candidate.prepared
    return TemplateDraft(
        name=prepared.name,
        source_type=candidate.source_type,
        workflow={},
        workflow_json=spool.text(candidate),
        content_hash=prepared.content_hash,
        required_credentials=prepared.required_credentials,
        input_variables=prepared.input_variables,
        description=prepared.description,
        thumbnail=prepared.bundle.thumbnail if prepared.bundle else None,
        template_id=candidate.template_id,
    )


def _record(
    report: ImportReport, path_of: dict[int, str], results: Sequence[WriteResult]
) -> dict[str, list[str]]:
    """Count the outcomes; return what changed, by type, for cache invalidation."""
    changed: dict[str, list[str]] = defaultdict(list)
    for result in results:
        path = path_of[id(result.draft)]
        if result.outcome == "failed":
            report.fail(path, result.error or "refused")
            continue
        setattr(report, result.outcome, getattr(report, result.outcome) + 1)
        report.templates.append(
            {
                "path": path,
                "id": result.id,
                "name": result.draft.name,
                "sourceType": result.draft.source_type,
                "version": result.version,
                "outcome": result.outcome,
            }
        )
        if result.outcome == "created":  # nothing cached yet: only its type's index changed
            changed.setdefault(result.draft.source_type, [])
        elif result.outcome == "updated" and result.id is not None:
            changed[result.draft.source_type].append(result.id)
            if result.previous_type and result.previous_type != result.draft.source_type:
                changed[result.previous_type].append(result.id)
    return changed


FileEntry = tuple[str, Path | None, str | None]


def collect_files(paths: Sequence[str]) -> list[FileEntry]:
    """Every file the arguments name, checked for usage errors first."""
    if not paths:
        raise UsageError("nothing to import", hint="give files, folders, or - for stdin")
    if list(paths).count(STDIN) > 1:
        raise UsageError("- (stdin) may be given only once")
    return list(iter_files(paths))


def import_templates(
    files: Sequence[FileEntry],
    options: ImportOptions,
    *,
    database: Callable[[], Database],
    library: TemplateLibrary,
    stdin: IO[bytes] | None = None,
    warn: Callable[[str], None] = lambda _m: None,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    report = ImportReport(dry_run=options.dry_run, atomic=options.atomic)
    candidates: list[Candidate] = []
    with JsonSpool() as spool:
        for found, failures in _load_all(files, options, stdin, progress):
            candidates.extend(spool.hold(candidate) for candidate in found)
            for item, reason in failures:
                report.fail(item, reason)
        for candidate in candidates:
            _warn_about(candidate, report, warn)
        kept = deduplicate(candidates, report)
        if options.atomic and report.failed:
            return report  # all or nothing: something is invalid, so nothing is written
        _write(kept, options, database, library, report, spool)
    return report


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


Loaded = tuple[list[Candidate], list[tuple[str, str]]]
PARALLEL_FROM = 64  # files; below this, worker processes cost more than they save


def load_file(entry: FileEntry, options: ImportOptions, stdin: IO[bytes] | None = None) -> Loaded:
    """Read and check one file: its valid workflows and the failures, by path."""
    label, path, error = entry
    if error is not None:
        return [], [(label, error)]
    try:
        data = read_limited(path, stdin, options.max_file_bytes)
    except WorkflowError as exc:
        return [], [(label, str(exc))]
    except OSError as exc:
        return [], [(label, exc.strerror or str(exc))]
    return load_candidates(label, data, options)


def _load_all(
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


def _warn_about(candidate: Candidate, report: ImportReport, warn: Callable[[str], None]) -> None:
    if candidate.prepared.repaired:  # asked for with --repair: counted, not warned about
        report.repaired.append(candidate.path)
    for finding in candidate.prepared.secrets:
        note = f"node '{finding.node}' parameter '{finding.path}' looks like a hard-coded secret"
        report.warnings.append({"path": candidate.path, "warning": note})
        warn(f"{candidate.path}: {note}")


def _write(
    kept: Sequence[Candidate],
    options: ImportOptions,
    database: Callable[[], Database],
    library: TemplateLibrary,
    report: ImportReport,
    spool: JsonSpool,
) -> None:
    """Upsert in batches of ``BATCH``, each its own transaction (one for them all with
    ``atomic``), in one global key order so concurrent imports lock rows alike; only one
    batch's JSON is in memory at a time."""
    if not kept:
        return
    from pumpflix_cli.db.templates import TemplateStore

    ordered = sorted(
        kept, key=lambda c: (c.template_id is not None, c.source_type, c.prepared.name)
    )
    chunks = [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]
    db = database()

    def upsert(session: Session, chunk: Sequence[Candidate]) -> dict[str, list[str]]:
        drafts = [_draft(c, spool) for c in chunk]
        path_of = {id(draft): c.path for draft, c in zip(drafts, chunk, strict=True)}
        return _record(report, path_of, TemplateStore(session).upsert(drafts, options.on_conflict))

    if options.atomic:
        changed: dict[str, list[str]] = defaultdict(list)
        with db.session(rollback=options.dry_run) as session:
            for chunk in chunks:
                for source_type, ids in upsert(session, chunk).items():
                    changed[source_type].extend(ids)
        if not options.dry_run:
            library.invalidate_cache(changed)
        return
    for chunk in chunks:
        with db.session(rollback=options.dry_run) as session:
            batch_changed = upsert(session, chunk)
        if not options.dry_run:
            library.invalidate_cache(batch_changed)
