"""``templates import``: checked workflows to templates, in bulk (SPEC §3, §9).

The batch is de-duplicated (two different workflows with one name both fail, each naming
the other); then drafts are upserted in batched transactions (or one, with ``atomic``),
and the cache entries each batch changed are invalidated. Reading the sources lives in
``sources``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import TemplateRecord, camel_json
from pumpflix_cli.services.templates.sources import (
    Candidate,
    FileEntry,
    ImportOptions,
    JsonSpool,
    OnConflict,
    collect_files,
    load_all,
)

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.templates import TemplateDraft, TemplateStore, WriteResult
    from pumpflix_cli.services.templates.library import TemplateLibrary

__all__ = ["ImportFailure", "ImportOptions", "ImportReport", "collect_files", "import_templates"]

BATCH = 500

REPORT_FIELDS = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "errors",
    "warnings",
    "repaired",
    "templates",
    "dry_run",
)


@dataclass
class ImportFailure:
    """One item that did not land, and why. ``conflict`` is the existing template when the
    item was refused because its content differs (``on_conflict`` "fail"); ``remedy`` what
    would make the file acceptable (``"repair"``)."""

    path: str
    error: str
    conflict: TemplateRecord | None = None
    remedy: str | None = None
    more: int = 0  # > 0: stands for this many more failures of one file, not shown


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[ImportFailure] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # files whose connections were rewritten
    templates: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    atomic: bool = False

    @property
    def landed(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [
            {"path": f.path, "error": f.error, **({"more": f.more} if f.more else {})}
            for f in self.failures
        ]

    @property
    def exit_code(self) -> ExitCode:
        """0 when everything landed; 5 when some items failed and the rest landed; when
        nothing landed (or ``atomic`` made one failure stop them all): 4 if every failure
        is a conflict with an existing template, else 65 (invalid input)."""
        if not self.failed:
            return ExitCode.OK
        if self.atomic or not self.landed:
            if all(f.conflict is not None for f in self.failures):
                return ExitCode.CONFLICT
            return ExitCode.DATA_ERR
        return ExitCode.PARTIAL

    def fail(
        self,
        path: str,
        error: str,
        conflict: TemplateRecord | None = None,
        *,
        remedy: str | None = None,
        more: int = 0,
    ) -> None:
        self.failed += more or 1
        self.failures.append(ImportFailure(path, error, conflict, remedy, more))

    def skip(self, path: str, reason: str, warn: Callable[[str], None]) -> None:
        """An entry of a folder that is not a file: named in a warning, counted as skipped."""
        self.skipped += 1
        self.warnings.append({"path": path, "warning": reason})
        warn(f"{path}: {reason}")

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=REPORT_FIELDS)


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
    report: ImportReport,
    path_of: dict[int, str],
    results: Sequence[WriteResult],
    on_conflict: OnConflict,
) -> dict[str, list[str]]:
    """Count the outcomes; return what changed, by type, for cache invalidation. An
    existing template with other content (left by the store) is skipped or failed, as
    ``on_conflict`` says."""
    changed: dict[str, list[str]] = defaultdict(list)
    for result in results:
        path = path_of[id(result.draft)]
        outcome: str = result.outcome
        if outcome == "conflict" and result.existing is not None:
            if on_conflict == "fail":
                existing = result.existing
                report.fail(
                    path,
                    f"template '{existing.name}' ({existing.source_type}) exists with "
                    "different content",
                    conflict=existing,
                )
                continue
            outcome = "skipped"
        if outcome == "failed":
            report.fail(path, result.error or "refused")
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.templates.append(
            {
                "path": path,
                "id": result.id,
                "name": result.draft.name,
                "sourceType": result.draft.source_type,
                "version": result.version,
                "outcome": outcome,
            }
        )
        if outcome == "created":  # nothing cached yet: only its type's index changed
            changed.setdefault(result.draft.source_type, [])
        elif outcome == "updated" and result.id is not None:
            changed[result.draft.source_type].append(result.id)
            if result.previous_type and result.previous_type != result.draft.source_type:
                changed[result.previous_type].append(result.id)
    return changed


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
        for found, failures in load_all(files, options, stdin, progress):
            candidates.extend(spool.hold(candidate) for candidate in found)
            for failure in failures:
                if failure.skipped:
                    report.skip(failure.path, failure.reason, warn)
                    continue
                report.fail(failure.path, failure.reason, remedy=failure.remedy, more=failure.more)
        for candidate in candidates:
            _warn_about(candidate, report, warn)
        kept = deduplicate(candidates, report)
        if options.atomic and report.failed:
            return report  # all or nothing: something is invalid, so nothing is written
        _write(kept, options, database, library, report, spool)
    return report


def _warn_about(candidate: Candidate, report: ImportReport, warn: Callable[[str], None]) -> None:
    if candidate.prepared.repaired:  # the caller asked for it: counted, not warned about
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

    def upsert(store: TemplateStore, chunk: Sequence[Candidate]) -> dict[str, list[str]]:
        drafts = [_draft(c, spool) for c in chunk]
        path_of = {id(draft): c.path for draft, c in zip(drafts, chunk, strict=True)}
        results = store.upsert(drafts, update_changed=options.on_conflict == "update")
        return _record(report, path_of, results, options.on_conflict)

    if options.atomic:
        changed: dict[str, list[str]] = defaultdict(list)
        with db.session(rollback=options.dry_run) as session:
            for chunk in chunks:
                for source_type, ids in upsert(TemplateStore(session), chunk).items():
                    changed[source_type].extend(ids)
        if not options.dry_run:
            library.invalidate_cache(changed)
        return
    for chunk in chunks:
        with db.session(rollback=options.dry_run) as session:
            batch_changed = upsert(TemplateStore(session), chunk)
        if not options.dry_run:
            library.invalidate_cache(batch_changed)
