"""``cache verify``: what Redis holds (the platform's entries and lists, pumpflix's
indexes) compared with the database, findings rechecked against the keys' guards."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import SOURCE_TYPES, TemplateRecord, camel_json

if TYPE_CHECKING:
    from pumpflix_cli.cache.templates import EntryState, KeyState, TemplateCache
    from pumpflix_cli.db.engine import Database


@dataclass(frozen=True)
class Finding:
    key: str
    id: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return camel_json(self)


@dataclass
class VerifyReport:
    checked: int = 0  # templates in the database
    cached: int = 0  # entries holding a value
    stale: list[Finding] = field(default_factory=list)
    orphaned: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # not cached: a cold key, not an error
    unreadable: int = 0
    indexes: dict[str, str] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return not self.stale and not self.orphaned

    @property
    def exit_code(self) -> ExitCode:
        """1 when a cached entry or list is stale or orphaned; a cold key is not wrong."""
        return ExitCode.OK if self.consistent else ExitCode.FAILURE

    def to_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent} | camel_json(self)


# What a platform value without pumpflix's meta cannot tell (the platform wrote it).
META_FIELDS = ("version", "contentHash", "createdAt", "updatedAt")


def _differences(
    cached: TemplateRecord, current: TemplateRecord, *, with_meta: bool = True
) -> list[str]:
    a, b = cached.summary_json(), current.summary_json()
    if not with_meta:
        a["description"] = a.get("description") or None
        b["description"] = b.get("description") or None
    skip = () if with_meta else META_FIELDS
    return [name for name in b if name not in skip and a.get(name) != b[name]]


def _describe(cached: TemplateRecord, current: TemplateRecord, fields: list[str]) -> str:
    if "version" in fields:
        return f"version {cached.version} cached, {current.version} in the database"
    return "differs in " + ", ".join(fields)


class Verifier:
    """``cache verify``."""

    def __init__(self, database: Callable[[], Database], cache: TemplateCache) -> None:
        self._database = database
        self.cache = cache

    def verify(self) -> VerifyReport:
        """Compare what Redis holds with the database. Redis is read first, then the
        database; whatever disagrees is looked at once more, and dropped when its guard
        changed meanwhile (a write in flight bumps it; that is not an inconsistency)."""
        from pumpflix_cli.db.template_reader import BulkTemplateReader

        cache = self.cache
        types = list(SOURCE_TYPES)
        entries = cache.entries(cache.entry_ids())
        indexes = cache.index_states(types)
        lists = cache.lists(types)
        list_revs = dict(zip(types, cache.guards([cache.list_key(t) for t in types]), strict=True))
        with self._database().session() as session:
            current = BulkTemplateReader(session).summaries(types)

        report = VerifyReport(checked=len(current))
        seen: set[str] = set()
        for state in entries:
            template_id = cache.entry_id(state.key) or ""
            report.unreadable += state.unreadable
            cached = state.summary
            if cached is None:
                continue
            report.cached += 1
            seen.add(template_id)
            now = current.get(template_id)
            if now is None:
                report.orphaned.append(
                    Finding(state.key, template_id, "not in the database (deleted)")
                )
            elif fields := _differences(cached, now, with_meta=state.meta is not None):
                report.stale.append(Finding(state.key, template_id, _describe(cached, now, fields)))
        report.missing = sorted(i for i in current if i not in seen)
        for source_type, index in zip(types, indexes, strict=True):
            report.indexes[source_type] = self._check_index(source_type, index, current, report)
        for source_type, ids in lists.items():
            _check_list(cache.list_key(source_type), source_type, ids, current, report)
        self._recheck(entries, indexes, list_revs, report)
        return report

    def _check_index(
        self,
        source_type: str,
        state: KeyState,
        current: dict[str, TemplateRecord],
        report: VerifyReport,
    ) -> str:
        if state.kind != "value" or state.records is None:
            return "not cached" if state.kind != "unreadable" else "unreadable"
        key = state.key
        listed = {r.id: r for r in state.records}
        problems = len(report.stale) + len(report.orphaned)
        for template_id, cached in listed.items():
            now = current.get(template_id)
            if now is None:
                report.orphaned.append(Finding(key, template_id, "listed but not in the database"))
            elif fields := _differences(cached, now):
                report.stale.append(Finding(key, template_id, _describe(cached, now, fields)))
        for template_id, now in current.items():
            if now.source_type == source_type and template_id not in listed:
                report.stale.append(Finding(key, template_id, f"'{now.name}' is not listed"))
        return "ok" if problems == len(report.stale) + len(report.orphaned) else "inconsistent"

    def _recheck(
        self,
        entries: Sequence[EntryState],
        indexes: Sequence[KeyState],
        list_revs: dict[str, int],
        report: VerifyReport,
    ) -> None:
        """Drop the findings whose key's guard moved since it was read."""
        suspects = sorted({f.key for f in report.stale + report.orphaned})
        if not suspects:
            return
        cache = self.cache
        moved: set[str] = set()
        guarded = {s.key: s.rev for s in entries} | {
            cache.list_key(t): rev for t, rev in list_revs.items()
        }
        platform_keys = [k for k in suspects if k in guarded]
        for key, rev in zip(platform_keys, cache.guards(platform_keys), strict=True):
            if rev != guarded[key]:
                moved.add(key)
        own = {s.key: (s.kind, s.rev) for s in indexes}
        own_keys = [k for k in suspects if k in own]
        types = [t for t in SOURCE_TYPES if cache.index_key(t) in own_keys]
        for state in cache.index_states(types):
            if (state.kind, state.rev) != own[state.key]:
                moved.add(state.key)
        report.stale = [f for f in report.stale if f.key not in moved]
        report.orphaned = [f for f in report.orphaned if f.key not in moved]
        for source_type in report.indexes:
            if cache.index_key(source_type) in moved:
                report.indexes[source_type] = "changed while verifying"


def _check_list(
    key: str,
    source_type: str,
    ids: list[str] | None,
    current: dict[str, TemplateRecord],
    report: VerifyReport,
) -> None:
    """The platform's list of a type: every template of the type, and nothing else."""
    if ids is None:
        return
    listed = set(ids)
    for template_id in ids:
        now = current.get(template_id)
        if now is None:
            report.orphaned.append(Finding(key, template_id, "listed but not in the database"))
        elif now.source_type != source_type:
            report.stale.append(Finding(key, template_id, f"'{now.name}' is {now.source_type}"))
    for template_id, now in current.items():
        if now.source_type == source_type and template_id not in listed:
            report.stale.append(Finding(key, template_id, f"'{now.name}' is not listed"))
