"""One name, two contents, one batch (SPEC §3, the README's import rule) for every mix of
plain files and bundles: files that would write one template with different content are
all refused, each naming the others, and nothing of that template is written; identical
copies import once; the rest of the batch goes on. Generated batches are checked against
a plain model of the rule, on both backends."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.models import Base
from pumpflix_cli.db.templates import TemplateDraft, TemplateStore
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.services.templates.importing import (
    ImportOptions,
    collect_files,
    import_templates,
)
from pumpflix_cli.services.templates.library import TemplateLibrary
from pumpflix_cli.workflow import prepare
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json

pytestmark = pytest.mark.usefixtures("backend")

IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 5)]
NAMES = ["Alpha", "Beta"]
TYPES = ["user", "prebuilt"]


@dataclass(frozen=True)
class Item:
    """One file of the batch: a plain workflow (always ``user``), or a bundle with an id
    and a type."""

    name: str
    content: str
    bundle_id: str | None = None
    source_type: str = "user"

    @property
    def key(self) -> tuple[str, str]:
        return (self.source_type, self.name)

    def document(self) -> dict[str, Any]:
        document = workflow(self.name, text=self.content)
        if self.bundle_id is not None:
            document["pumpflix"] = {"id": self.bundle_id, "sourceType": self.source_type}
        return document


@dataclass(frozen=True)
class Row:
    """A template in the database, as the model compares it (a created plain template's
    id is new, so None)."""

    id: str | None
    source_type: str
    name: str
    content_hash: str
    version: int


def content_hash(name: str, content: str) -> str:
    return prepare(workflow(name, text=content), fallback_name="x").content_hash


items = st.builds(
    Item,
    name=st.sampled_from(NAMES),
    content=st.sampled_from(["one", "two"]),
    bundle_id=st.none() | st.sampled_from(IDS),
    source_type=st.sampled_from(TYPES),
).map(lambda i: i if i.bundle_id else Item(i.name, i.content))  # plain files are user
existing_rows = st.lists(
    st.tuples(
        st.sampled_from(IDS[:3]),
        st.sampled_from(TYPES),
        st.sampled_from(NAMES),
        st.sampled_from(["one", "two"]),
    ),
    max_size=3,
    unique_by=(lambda r: r[0], lambda r: (r[1], r[2])),
)


# --- the model ----------------------------------------------------------------------------


def groups(batch: list[Item], existing: dict[str, Row]) -> list[list[int]]:
    """Files that would write one template: what each reaches (its key, its id, and any
    existing template holding either), then files reaching a common thing merged until
    nothing changes."""
    reach = []
    for item in batch:
        things: set[Any] = {item.key, item.bundle_id} - {None}
        for row in existing.values():
            if (row.source_type, row.name) == item.key or row.id == item.bundle_id:
                things |= {row.id, (row.source_type, row.name)}
        reach.append(things)
    merged = [({i}, reach[i]) for i in range(len(batch))]
    changed = True
    while changed:
        changed = False
        for a in range(len(merged)):
            for b in range(a + 1, len(merged)):
                if merged[a][1] & merged[b][1]:
                    merged[a] = (merged[a][0] | merged[b][0], merged[a][1] | merged[b][1])
                    del merged[b]
                    changed = True
                    break
            if changed:
                break
    return [sorted(files) for files, _ in merged]


def expected(batch: list[Item], existing: dict[str, Row]) -> tuple[set[int], Counter[Row]]:
    """The files the model refuses or fails, and the database after the import."""
    rows = dict(existing)
    failed: set[int] = set()
    for group in groups(batch, existing):
        members = [batch[i] for i in group]
        ids = {m.bundle_id for m in members} - {None}
        if len({(m.key, m.content) for m in members}) > 1 or len(ids) > 1:
            failed.update(group)  # refused whole
            continue
        item = next((m for m in members if m.bundle_id), members[0])
        if not _write(item, rows):
            failed.update(group)
    return failed, Counter(rows.values())


def _write(item: Item, rows: dict[str, Row]) -> bool:
    """Apply one file as the README says; False when it is refused."""
    digest = content_hash(item.name, item.content)
    holders = [r for r in rows.values() if (r.source_type, r.name) == item.key]
    if item.bundle_id is None:
        target = holders[0] if holders else None
    elif any(r.id != item.bundle_id for r in holders):
        return False  # another template holds the bundle's name
    else:
        target = next((r for r in rows.values() if r.id == item.bundle_id), None)
    slot = item.bundle_id if target is None else target.id
    version = 1 if target is None else target.version + (target.content_hash != digest)
    slot = slot or f"new {item.key}"
    rows[slot] = Row(
        item.bundle_id if target is None else target.id,
        item.source_type,
        item.name,
        digest,
        version,
    )
    return True


# --- the system ---------------------------------------------------------------------------


@pytest.fixture
def database(cli: CliRun) -> Iterator[Database]:
    assert cli("templates", "list").exit_code == 0  # the embedded database is made
    db = Database(Settings())
    yield db
    db.dispose()


def reset(db: Database, existing: list[tuple[str, str, str, str]]) -> dict[str, Row]:
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        drafts = []
        for template_id, source_type, name, content in existing:
            prepared = prepare(workflow(name, text=content), fallback_name="x")
            drafts.append(
                TemplateDraft(
                    name=name,
                    source_type=source_type,
                    workflow=prepared.workflow,
                    content_hash=prepared.content_hash,
                    required_credentials=[],
                    input_variables=[],
                    template_id=template_id,
                )
            )
        results = TemplateStore(session).upsert(drafts, update_changed=True)
        assert {r.outcome for r in results} <= {"created"}
    return {i: Row(i, t, n, content_hash(n, c), 1) for i, t, n, c in existing}


def stored(db: Database) -> Counter[Row]:
    with db.session(rollback=True) as session:
        records = TemplateStore(session).summaries(TYPES)
    return Counter(
        Row(r.id if r.id in IDS else None, r.source_type, r.name, r.content_hash, r.version)
        for r in records
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(items, min_size=1, max_size=5), existing=existing_rows)
def test_generated_batches_follow_the_rule(
    database: Database,
    tmp_path: Path,
    batch: list[Item],
    existing: list[tuple[str, str, str, str]],
) -> None:
    rows = reset(database, existing)
    folder = tmp_path / "batch"
    shutil.rmtree(folder, ignore_errors=True)
    paths = [str(write(folder, f"{i}.json", item.document())) for i, item in enumerate(batch)]
    report = import_templates(
        collect_files(paths),
        ImportOptions(),
        database=lambda: database,
        library=TemplateLibrary(lambda: database, None, lambda _m: None),
    )
    should_fail, after = expected(batch, rows)
    assert {e["path"] for e in report.errors} == {paths[i] for i in should_fail}
    assert stored(database) == after
    assert report.landed == len(batch) - len(should_fail)
    for group in groups(batch, rows):
        errors = {e["path"]: e["error"] for e in report.errors}
        for i in group:  # a refused file names every other file of its group
            if paths[i] in errors and "this import" in errors[paths[i]]:
                assert all(paths[j] in errors[paths[i]] for j in group if j != i)
    if not should_fail:
        assert report.exit_code == ExitCode.OK
    else:
        landed = len(should_fail) < len(batch)
        assert report.exit_code == (ExitCode.PARTIAL if landed else ExitCode.DATA_ERR)


# --- the examples, through the command ------------------------------------------


def _bundle(name: str, text: str, template_id: str, source_type: str = "user") -> Any:
    return {**workflow(name, text=text), "pumpflix": {"id": template_id, "sourceType": source_type}}


def test_a_plain_file_and_a_bundle_of_the_existing_template_are_both_refused(
    cli: CliRun, tmp_path: Path
) -> None:
    import_json(cli, str(write(tmp_path, "alpha.json", workflow("Alpha", text="v1"))))
    (alpha,) = list_json(cli)
    folder = tmp_path / "batch"
    plain = write(folder, "plain.json", workflow("Alpha", text="v2"))
    bundle = write(folder, "bundle.json", _bundle("Alpha", "v3", alpha["id"]))
    write(folder, "other.json", workflow("Other"))
    code, report = import_json(cli, str(folder))
    assert (code, report["created"], report["updated"], report["failed"]) == (
        ExitCode.PARTIAL,
        1,
        0,
        2,
    )
    errors = {e["path"]: e["error"] for e in report["errors"]}
    assert str(bundle) in errors[str(plain)] and str(plain) in errors[str(bundle)]
    shown = json.loads(cli("templates", "show", alpha["id"], "--json").stdout)
    assert shown["version"] == 1  # neither v2 nor v3


def test_two_new_bundles_with_one_name_are_both_refused(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    first = write(folder, "first.json", _bundle("Alpha", "one", IDS[0]))
    second = write(folder, "second.json", _bundle("Alpha", "two", IDS[1]))
    code, report = import_json(cli, str(folder))
    assert (code, report["created"], report["failed"]) == (ExitCode.DATA_ERR, 0, 2)
    errors = {e["path"]: e["error"] for e in report["errors"]}
    assert str(second) in errors[str(first)] and str(first) in errors[str(second)]
    assert list_json(cli) == []


def test_identical_plain_file_and_bundle_import_once(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    write(folder, "plain.json", workflow("Alpha", text="same"))
    write(folder, "bundle.json", _bundle("Alpha", "same", IDS[0]))
    code, report = import_json(cli, str(folder))
    assert (code, report["created"], report["unchanged"], report["failed"]) == (0, 1, 1, 0)
    assert [(t["id"], t["name"]) for t in list_json(cli)] == [(IDS[0], "Alpha")]
    assert {t["id"] for t in report["templates"]} == {IDS[0]}


def test_one_name_in_two_types_is_two_templates(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    write(folder, "user.json", workflow("Alpha", text="one"))
    write(folder, "prebuilt.json", _bundle("Alpha", "two", IDS[0], "prebuilt"))
    code, report = import_json(cli, str(folder))
    assert (code, report["created"]) == (ExitCode.OK, 2)
    assert sorted(t["sourceType"] for t in list_json(cli)) == ["prebuilt", "user"]


def test_a_bundle_renaming_a_template_and_a_file_with_its_old_name_are_both_refused(
    cli: CliRun, tmp_path: Path
) -> None:
    """Two names, one template: the bundle renames it, the plain file names its old name."""
    import_json(cli, str(write(tmp_path, "b.json", _bundle("Beta", "v1", IDS[0]))))
    folder = tmp_path / "batch"
    write(folder, "renamed.json", _bundle("Alpha", "v2", IDS[0]))
    write(folder, "old-name.json", workflow("Beta", text="v3"))
    code, report = import_json(cli, str(folder))
    assert (code, report["failed"]) == (ExitCode.DATA_ERR, 2)
    assert [(t["name"], t["version"]) for t in list_json(cli)] == [("Beta", 1)]
