"""Writing an import's planned files, never losing the batch to another session.

Files are upserted in batches of ``BATCH``, each its own transaction (one for them all
with ``atomic``), in one global key order so concurrent imports lock rows alike; only one
batch's JSON is in memory at a time. When another session holds what a batch needs (a
lock wait past ``PUMPFLIX_LOCK_TIMEOUT``, a deadlock, a row written at the same moment)
the batch is rolled back and tried again; after ``ATTEMPTS`` it is written file by file,
and a file whose template is still held is reported as locked (a conflict): the rest
lands. Outcomes are counted only once their transaction has committed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pumpflix_cli.errors import Terminated, WriteContentionError
from pumpflix_cli.services.templates.batch_plan import BatchPlan, key_of, plan_batch
from pumpflix_cli.services.templates.sources import Candidate, ImportOptions, JsonSpool

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database
    from pumpflix_cli.db.templates import TemplateDraft, WriteResult
    from pumpflix_cli.services.templates.importing import ImportReport
    from pumpflix_cli.services.templates.library import TemplateLibrary

BATCH = 500
ATTEMPTS = 3  # per batch of files, before they are tried one by one

# What one committed transaction wrote: each result with the path of its file.
Written = list[tuple["WriteResult", str]]


class BatchWriter:
    def __init__(
        self,
        options: ImportOptions,
        database: Callable[[], Database],
        library: TemplateLibrary,
        report: ImportReport,
        spool: JsonSpool,
    ) -> None:
        self.options = options
        self.database = database
        self.library = library
        self.report = report
        self.spool = spool
        self.copies: dict[str, list[str]] = {}

    # --- planning -----------------------------------------------------------------

    def plan(self, candidates: Sequence[Candidate]) -> BatchPlan:
        """The batch plan, from the existing templates the batch's names and bundle ids
        reach. If they cannot be read (another session holds the database), every file
        is reported locked and nothing is planned."""
        if not candidates:
            return BatchPlan()
        from pumpflix_cli.db.templates import TemplateStore

        keys = sorted({key_of(c) for c in candidates})
        ids = sorted({c.template_id for c in candidates if c.template_id is not None})
        try:
            with self.database().session(rollback=True) as session:
                holders = TemplateStore(session).holders(keys, ids)
        except WriteContentionError:
            for candidate in candidates:
                self._locked(candidate)
            return BatchPlan()
        return plan_batch(candidates, holders)

    # --- writing ------------------------------------------------------------------

    def write(self, plan: BatchPlan) -> None:
        if not plan.write:
            return
        self.copies = plan.copies
        ordered = sorted(
            plan.write, key=lambda c: (c.template_id is not None, c.source_type, c.prepared.name)
        )
        chunks = [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]
        Terminated.raise_if_requested()
        if self.options.atomic:  # all or nothing: no file-by-file fallback
            written = self._attempt(chunks, ATTEMPTS)
            if written is None:
                for candidate in ordered:
                    self._locked(candidate)
            else:
                self._record(written)
            return
        for chunk in chunks:
            Terminated.raise_if_requested()
            written = self._attempt([chunk], ATTEMPTS)
            if written is not None:
                self._record(written)
                continue
            for candidate in chunk:  # only what is still held is left out
                alone = self._attempt([[candidate]], 1)
                if alone is None:
                    self._locked(candidate)
                else:
                    self._record(alone)

    def _attempt(self, chunks: Sequence[Sequence[Candidate]], attempts: int) -> Written | None:
        """Write ``chunks`` in one transaction, trying ``attempts`` times while another
        session holds what it needs; None when it still does."""
        for attempt in range(attempts):
            if attempt:
                time.sleep(0.1 * attempt)  # let the other session finish
            try:
                return self._transaction(chunks)
            except WriteContentionError:
                continue
        return None

    def _transaction(self, chunks: Sequence[Sequence[Candidate]]) -> Written:
        from pumpflix_cli.db.templates import TemplateStore

        db = self.database()
        written: Written = []
        with db.session(rollback=self.options.dry_run) as session:
            store = TemplateStore(session)
            for chunk in chunks:
                drafts = [self._draft(c) for c in chunk]
                results = store.upsert(
                    drafts,
                    update_changed=self.options.on_conflict == "update",
                    lock_timeout=db.settings.lock_timeout,
                )
                path_of = {id(draft): c.path for draft, c in zip(drafts, chunk, strict=True)}
                written.extend((result, path_of[id(result.draft)]) for result in results)
        return written

    def _draft(self, candidate: Candidate) -> TemplateDraft:
        from pumpflix_cli.db.templates import TemplateDraft

        prepared = candidate.prepared
        return TemplateDraft(
            name=prepared.name,
            source_type=candidate.source_type,
            workflow={},
            workflow_json=self.spool.text(candidate),
            content_hash=prepared.content_hash,
            required_credentials=prepared.required_credentials,
            input_variables=prepared.input_variables,
            description=prepared.description,
            thumbnail=prepared.bundle.thumbnail if prepared.bundle else None,
            template_id=candidate.template_id,
        )

    # --- reporting ----------------------------------------------------------------

    def _locked(self, candidate: Candidate) -> None:
        source_type, name = key_of(candidate)
        error = (
            f"{source_type} template '{name}' is being written by another session (waited "
            f"{self._waited()}); nothing was written for it: import it again"
        )
        for path in (candidate.path, *self.copies.get(candidate.path, ())):
            self.report.fail(path, error, locked=True)

    def _waited(self) -> str:
        return f"{self.database().settings.lock_timeout:g} s a try"

    def _record(self, written: Written) -> None:
        """Count the committed outcomes (identical copies of a file share its fate), then
        invalidate the cache entries they changed. An existing template with other
        content (left by the store) is skipped or failed, as ``on_conflict`` says."""
        report = self.report
        changed: dict[str, list[str]] = defaultdict(list)
        for result, path in written:
            paths = (path, *self.copies.get(path, ()))
            outcome: str = result.outcome
            if outcome == "conflict" and result.existing is not None:
                if self.options.on_conflict == "fail":
                    existing = result.existing
                    error = (
                        f"template '{existing.name}' ({existing.source_type}) exists with "
                        "different content"
                    )
                    for each in paths:
                        report.fail(each, error, conflict=existing)
                    continue
                outcome = "skipped"
            if outcome == "failed":
                for each in paths:
                    report.fail(each, result.error or "refused")
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
            entry = {
                "id": result.id,
                "name": result.draft.name,
                "sourceType": result.draft.source_type,
                "version": result.version,
            }
            report.templates.append({"path": path, **entry, "outcome": outcome})
            for copy in paths[1:]:  # written once: the copies change nothing more
                report.unchanged += 1
                report.templates.append({"path": copy, **entry, "outcome": "unchanged"})
            if outcome == "created":  # nothing cached yet: only its type's index changed
                changed.setdefault(result.draft.source_type, [])
            elif outcome == "updated" and result.id is not None:
                changed[result.draft.source_type].append(result.id)
                if result.previous_type and result.previous_type != result.draft.source_type:
                    changed[result.previous_type].append(result.id)
        if not self.options.dry_run:
            self.library.invalidate_cache(changed)
