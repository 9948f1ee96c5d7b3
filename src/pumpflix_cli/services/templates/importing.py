"""``templates import``: checked workflows to templates, in bulk (SPEC §3, §9).

The batch is planned first (``batch_plan``: files that would write one template with
different content all fail, each naming the others; identical copies import once), then
written (``writing``: batched transactions that another session's locks never make lose
the batch). Reading the sources lives in ``sources``.
"""

from __future__ import annotations

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
    collect_files,
    load_all,
)
from pumpflix_cli.services.templates.writing import BatchWriter

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.services.templates.library import TemplateLibrary

__all__ = ["ImportFailure", "ImportOptions", "ImportReport", "collect_files", "import_templates"]

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
    locked: bool = False  # another session held the template for longer than we waited
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
        is a conflict with an existing template or another session's write, else 65
        (invalid input)."""
        if not self.failed:
            return ExitCode.OK
        if self.atomic or not self.landed:
            if all(f.conflict is not None or f.locked for f in self.failures):
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
        locked: bool = False,
        more: int = 0,
    ) -> None:
        self.failed += more or 1
        self.failures.append(ImportFailure(path, error, conflict, remedy, locked, more))

    def skip(self, path: str, reason: str, warn: Callable[[str], None]) -> None:
        """An entry of a folder that is not a file: named in a warning, counted as skipped."""
        self.skipped += 1
        self.warnings.append({"path": path, "warning": reason})
        warn(f"{path}: {reason}")

    def to_json(self) -> dict[str, Any]:
        return camel_json(self, only=REPORT_FIELDS)


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
        writer = BatchWriter(options, database, library, report, spool)
        plan = writer.plan(candidates)
        for candidate, reason in plan.refused:
            report.fail(candidate.path, reason)
        if options.atomic and report.failed:
            return report  # all or nothing: something is invalid, so nothing is written
        writer.write(plan)
    return report


def _warn_about(candidate: Candidate, report: ImportReport, warn: Callable[[str], None]) -> None:
    if candidate.prepared.repaired:  # the caller asked for it: counted, not warned about
        report.repaired.append(candidate.path)
    for finding in candidate.prepared.secrets:
        note = f"node '{finding.node}' parameter '{finding.path}' looks like a hard-coded secret"
        report.warnings.append({"path": candidate.path, "warning": note})
        warn(f"{candidate.path}: {note}")
