"""How a reference names a template or an instance (``references``): one rule for every
path. A name that looks like an id prefix never hijacks the template that id belongs to
(both are named: ambiguous, exit 2); an id prefix resolves in every form a person copies
it from (``list``'s dashed ids, export file names' dashless digits, any case) on SQLite
and PostgreSQL, with no cache, a cold cache or a warm one; and, generated, the in-memory
matcher the warm cache uses selects exactly what the database lookups select."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.db.models import Instance, Template, TemplateMeta, TemplateVersion
from pumpflix_cli.db.templates import TemplateStore
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.references import (
    IGNORABLE,
    AmbiguousReferenceError,
    ReferenceNotFoundError,
    match_reference,
    parse_reference,
    single,
)
from pumpflix_cli.services.templates.library import match_ref
from tests.conftest import REDIS_BASE_URL, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The example: a prebuilt template whose id `list` prints as 6133983d, and a user
# template named "6133983d".
ALPHA = "6133983d-4f2a-4c1e-9b7a-0d5e8f3a2b11"
BETA = "6133983e-5b6c-4d7e-8f90-a1b2c3d4e5f6"  # shares 7 digits with ALPHA
HIJACKER = "0f1e2d3c-4b5a-4968-8776-655443322110"
HEXY = "c0ffee00-1111-4222-8333-444455556666"  # a user template named "abcdef12"


# --- the reference forms, pure ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("6133983d", "6133983d"),
        ("6133983D", "6133983d"),
        ("6133983d4f2a", "6133983d4f2a"),  # an export file name's suffix
        ("6133983d-4f2a", "6133983d4f2a"),
        ("6133983d-", "6133983d"),  # cut right after a dash
        ("6133983D-4F2A-4C", "6133983d4f2a4c"),
        (ALPHA, ALPHA.replace("-", "")),
        (ALPHA.upper(), ALPHA.replace("-", "")),
        (ALPHA.replace("-", ""), ALPHA.replace("-", "")),
        (f"  {ALPHA[:13]} ", "6133983d4f2a"),  # blanks around an id are dropped
        ("613398", "613398"),
        ("61339", None),  # under 6 hex digits
        ("6133983-d", None),  # a dash where no id has one
        ("6133-983d", None),
        ("6133983d--4f2a", None),
        ("6133983g", None),
        (ALPHA + "0", None),  # longer than an id
        (ALPHA.replace("-", "") + "0", None),
        ("{" + ALPHA + "}", None),
        ("urn:uuid:" + ALPHA, None),
        ("Alpha", None),
    ],
)
def test_what_text_is_written_as_an_id(text: str, digits: str | None) -> None:
    parsed = parse_reference(text)
    assert parsed.digits == digits
    assert parsed.text == text  # a name is matched as typed
    assert (parsed.exact_id == ALPHA) == (digits == ALPHA.replace("-", ""))


class _Record:
    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name


def test_a_name_and_an_id_prefix_are_both_matched() -> None:
    alpha, hijacker = _Record(ALPHA, "Alpha"), _Record(HIJACKER, "6133983d")
    found = match_reference(parse_reference("6133983d"), [alpha, hijacker], name_of=_name)
    assert found == [alpha, hijacker]
    with pytest.raises(AmbiguousReferenceError) as raised:
        single("template", "6133983d", found, _name)
    assert [id_ for id_, _ in raised.value.candidates] == [ALPHA, HIJACKER]
    assert raised.value.exit_code == ExitCode.USAGE
    with pytest.raises(ReferenceNotFoundError):
        single("template", "x", [], _name)


def _name(record: _Record) -> str:
    return record.name


# --- the CLI, every backend and cache state -------------------------------------------


def bundle(cli: CliRun, folder: Path, name: str, template_id: str, source_type: str) -> None:
    """A template with a chosen id, as an export bundle carries it."""
    document = {**workflow(name, text=name), "pumpflix": {"id": template_id}}
    write(folder, f"{template_id}.json", document)
    code, report = import_json(cli, str(folder), "--type", source_type)
    assert code == 0, report


@pytest.fixture(params=["no cache", "cold cache", "warm cache"])
def cache_state(request: pytest.FixtureRequest) -> str:
    if request.param != "no cache":
        request.getfixturevalue("redis_env")
    return str(request.param)


@pytest.fixture
def seeded(cli: CliRun, tmp_path: Path, backend: Any, cache_state: str) -> CliRun:
    """Alpha and Beta (prebuilt, ids sharing 7 digits), a user template named "6133983d"
    (Alpha's id as `list` prints it) and one named "abcdef12" (hex, but no id's prefix);
    then the cache put in the state asked for."""
    bundle(cli, tmp_path / "a", "Alpha", ALPHA, "prebuilt")
    bundle(cli, tmp_path / "b", "Beta", BETA, "prebuilt")
    bundle(cli, tmp_path / "h", "6133983d", HIJACKER, "user")
    bundle(cli, tmp_path / "x", "abcdef12", HEXY, "user")
    if cache_state != "no cache":
        assert cli("cache", "flush", "--yes").exit_code == 0
    if cache_state == "warm cache":
        assert len(list_json(cli)) == 4  # fills the lists a lookup reads
    return cli


def indexes_cached(redis_env: dict[str, str]) -> bool:
    client = redis.Redis.from_url(REDIS_BASE_URL)
    try:
        prefix = redis_env["PUMPFLIX_CACHE_PREFIX"]
        values = [client.get(f"{prefix}pumpflix:index:{t}") for t in ("prebuilt", "user")]
        return all(isinstance(v, bytes) for v in values)  # filled, not only guarded
    finally:
        client.close()


def lookup(cli: CliRun, ref: str) -> tuple[int, set[str]]:
    """The exit code and the ids named: the one shown, or the candidates listed."""
    result = cli("templates", "show", ref, "--json")
    if result.exit_code == 0:
        return 0, {json.loads(result.stdout)["id"]}
    return result.exit_code, set(UUID_TEXT.findall(result.stderr))


OK, AMBIGUOUS, NOT_FOUND = ExitCode.OK, ExitCode.USAGE, ExitCode.NOT_FOUND

CASES = [
    ("6133983d", AMBIGUOUS, {ALPHA, HIJACKER}),  # the hijack: both named
    ("6133983", AMBIGUOUS, {ALPHA, BETA}),
    ("6133983d4f2a", OK, {ALPHA}),  # the export-file-name form
    ("6133983D4F2A", OK, {ALPHA}),
    ("6133983d-4f2a", OK, {ALPHA}),
    ("6133983D-4F", OK, {ALPHA}),
    ("6133983e", OK, {BETA}),
    (ALPHA, OK, {ALPHA}),
    (ALPHA.upper(), OK, {ALPHA}),
    (ALPHA.replace("-", ""), OK, {ALPHA}),
    (f" {ALPHA[:13]} ", OK, {ALPHA}),
    ("Alpha", OK, {ALPHA}),
    ("0f1e2d3c", OK, {HIJACKER}),
    ("abcdef12", OK, {HEXY}),  # a hex-looking name no id begins with: the name
    ("C0FFEE", OK, {HEXY}),
    ("6133-983d", NOT_FOUND, set()),  # dashes where no id has them
    ("61339", NOT_FOUND, set()),
    ("alpha", NOT_FOUND, set()),
]


@pytest.mark.parametrize(("ref", "code", "ids"), CASES, ids=[c[0].strip() for c in CASES])
def test_a_reference_names_the_same_templates_everywhere(
    seeded: CliRun,
    cache_state: str,
    request: pytest.FixtureRequest,
    ref: str,
    code: int,
    ids: set[str],
) -> None:
    assert lookup(seeded, ref) == (code, ids)
    if cache_state != "no cache":  # the lookup ran in the state the test is about
        warm = indexes_cached(request.getfixturevalue("redis_env"))
        assert warm == (cache_state == "warm cache")


def test_the_id_in_an_export_file_name_is_a_reference(seeded: CliRun, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert seeded("templates", "export", "Alpha", "--out", str(out)).exit_code == 0
    (exported,) = out.glob("*.json")
    suffix = exported.stem.rpartition("-")[2]
    assert len(suffix) >= 6
    assert lookup(seeded, suffix) == (OK, {ALPHA})


def test_a_name_spelling_another_templates_id_is_ambiguous(
    seeded: CliRun, cache_state: str, tmp_path: Path
) -> None:
    spelled_whole, spelled_prefix = str(uuid.UUID(int=7)), str(uuid.UUID(int=8))
    bundle(seeded, tmp_path / "w", ALPHA, spelled_whole, "user")
    bundle(seeded, tmp_path / "d", BETA.replace("-", "")[:12], spelled_prefix, "user")
    if cache_state == "warm cache":
        list_json(seeded)
    assert lookup(seeded, ALPHA) == (AMBIGUOUS, {ALPHA, spelled_whole})
    assert lookup(seeded, BETA.replace("-", "")[:12]) == (AMBIGUOUS, {BETA, spelled_prefix})
    assert lookup(seeded, BETA) == (OK, {BETA})  # another spelling of an id is one template
    assert lookup(seeded, ALPHA.replace("-", "")) == (OK, {ALPHA})
    assert lookup(seeded, spelled_whole) == (OK, {spelled_whole})


# --- generated: the in-memory matcher, the database lookups and the rule agree ---------

HEX = "0123456789abcdef"


@pytest.fixture
def database(cli: CliRun, backend: Any) -> Iterator[Database]:
    assert cli("db", "upgrade").exit_code == 0  # the embedded database on first use
    db = Database(Settings())
    yield db
    db.dispose()


def dashed(digits: str) -> str:
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# Ids from few leading digits, so that generated ids share prefixes of every length.
ids_strategy = st.builds(
    lambda head, tail: dashed(head + tail),
    st.text("6d", min_size=10, max_size=10),
    st.text(HEX, min_size=22, max_size=22),
)
plain_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)


def spellings(stored_id: str) -> st.SearchStrategy[str]:
    """The ways a person writes (a piece of) an id, right or wrong."""
    canonical = stored_id.lower()
    digits = canonical.replace("-", "")
    cut = st.integers(1, 36)
    forms = st.one_of(
        cut.map(lambda k: canonical[:k]),  # as list prints it, cut anywhere
        st.integers(1, 32).map(lambda k: digits[:k]),  # as export file names carry it
        st.integers(2, 32).flatmap(  # a dash where no id has one
            lambda k: st.integers(1, k - 1).map(lambda i: digits[:i] + "-" + digits[i:k])
        ),
    )
    return st.builds(
        lambda text, case, pad: pad + case(text) + pad,
        forms,
        st.sampled_from([str.lower, str.upper]),
        st.sampled_from(["", " "]),
    )


def same_name(a: str, b: str) -> bool:
    """PLATFORM.md "Names": equal once both are NFKC and free of the characters that
    show as nothing (Unicode's default-ignorable code points)."""

    def key(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKC", text) if not IGNORABLE.fullmatch(c))

    return key(a) == key(b)


def look_alikes(name: str) -> st.SearchStrategy[str]:
    """``name`` as another keyboard, client or attacker may write it: decomposed, with
    compatibility forms, with an invisible character inside."""
    invisible = st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"])
    return st.one_of(
        st.just(unicodedata.normalize("NFD", name)),
        st.just(unicodedata.normalize("NFKD", name)),
        st.just(name.replace(".", "\uff0e").replace(" ", "\u00a0")),
        st.builds(lambda i, c: name[:i] + c + name[i:], st.integers(0, len(name)), invisible),
    )


def rule(ref: str, records: list[tuple[str, str | None]]) -> set[str]:
    """SPEC §1 as a person reads it, independently of ``references``: the name (compared
    as PLATFORM.md says), or at least 6 hex digits that begin the id as ``list`` prints it
    or without its dashes."""
    bare = ref.strip().lower()
    id_form = sum(c in HEX for c in bare) >= 6
    return {
        id_
        for id_, name in records
        if (name is not None and same_name(name, ref))
        or (
            id_form
            and (id_.lower().startswith(bare) or id_.lower().replace("-", "").startswith(bare))
        )
    }


@st.composite
def libraries(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str]]:
    """Templates (id as stored, name) and references to look up among them."""
    ids = draw(st.lists(ids_strategy, min_size=1, max_size=6, unique_by=str.lower))
    stored = [draw(st.sampled_from([id_, id_.upper()])) for id_ in ids]  # any client's case
    id_like = st.one_of(*(spellings(id_) for id_ in ids))
    names = [draw(st.one_of(plain_names, id_like)) for _ in ids]
    similar = st.sampled_from(names).flatmap(look_alikes)
    refs = draw(
        st.lists(st.one_of(id_like, st.sampled_from(names), similar, plain_names), max_size=12)
    )
    return list(zip(stored, names, strict=True)), refs


def replace_templates(database: Database, records: list[tuple[str, str]]) -> None:
    now = datetime(2026, 12, 1, 12, 0)
    with database.session() as session:
        for table in (TemplateVersion, TemplateMeta, Template):
            session.execute(delete(table))
        session.execute(
            insert(Template),
            [
                {
                    "id": id_,
                    "name": name,
                    "description": "",
                    "source_type": ("prebuilt", "user")[index % 2],
                    "n8n_json": json.dumps(workflow(name)),
                    "required_credentials": [],
                    "input_variables": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for index, (id_, name) in enumerate(records)
            ],
        )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(library=libraries())
def test_every_path_resolves_a_template_reference_by_one_rule(
    database: Database, library: tuple[list[tuple[str, str]], list[str]]
) -> None:
    records, refs = library
    named: list[tuple[str, str | None]] = list(records)
    replace_templates(database, records)
    with database.session() as session:
        store = TemplateStore(session)
        summaries = store.summaries(["prebuilt", "user"])
        for ref in refs + [name for _, name in records] + [id_ for id_, _ in records]:
            expected = rule(ref, named)
            assert {r.id for r in store.resolve(ref)} == expected, ref
            assert {r.id for r in match_ref(ref, summaries)} == expected, ref


@st.composite
def instance_sets(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    ids = draw(st.lists(ids_strategy, min_size=1, max_size=6, unique=True))
    refs = draw(st.lists(st.one_of(*(spellings(id_) for id_ in ids), plain_names), max_size=12))
    return ids, refs


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instances=instance_sets())
def test_every_path_resolves_an_instance_reference_by_one_rule(
    database: Database, instances: tuple[list[str], list[str]]
) -> None:
    ids, refs = instances
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with database.session() as session:
        session.execute(delete(Instance))
        session.execute(
            insert(Instance),
            [
                {"id": uuid.UUID(id_), "created_at": start + timedelta(seconds=i)}
                for i, id_ in enumerate(ids)
            ],
        )
    with database.session() as session:
        store = InstanceStore(session)
        listed = store.newest()
        for ref in refs + ids:
            expected = rule(ref, [(id_, None) for id_ in ids])
            assert {r.id for r in store.resolve(ref)} == expected, ref
            in_memory = match_reference(parse_reference(ref), listed)
            assert {r.id for r in in_memory} == expected, ref


@pytest.mark.parametrize(
    "spelling",
    [
        lambda i: i[:8],
        lambda i: i.replace("-", "")[:12],
        lambda i: i[:13].upper(),
        lambda i: i.replace("-", ""),
        lambda i: i.upper(),
    ],
    ids=["list", "dashless", "upper", "whole dashless", "whole upper"],
)
def test_instances_show_takes_every_spelling_of_an_id(
    cli: CliRun, database: Database, spelling: Any
) -> None:
    instance_id = "6133983d-4f2a-4c1e-9b7a-0d5e8f3a2b11"
    with database.session() as session:
        session.execute(insert(Instance), [{"id": uuid.UUID(instance_id)}])
    result = cli("instances", "show", spelling(instance_id), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == instance_id
    assert cli("instances", "show", "6133-983d").exit_code == ExitCode.NOT_FOUND
