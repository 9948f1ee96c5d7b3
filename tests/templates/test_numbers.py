"""Numbers through the commands, on both backends (issue 12): a number JSON has not is
refused per file, naming the file and where; every store's spelling of a number leaves
an export → re-import unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.workflow import WorkflowError, content_hash, parse_json
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, show_json

pytestmark = pytest.mark.usefixtures("backend")

# The numbers, as written in the file; jsonb and JavaScript spell them otherwise.
SPELLINGS = '{"a": 1.5e20, "b": -0.0, "c": 1E2, "d": 0.10, "e": 12345678901234567890, "f": 1e-7}'


def numbers_file(folder: Path, name: str, numbers: str = SPELLINGS) -> Path:
    """A valid workflow whose Set node's parameters hold ``numbers`` exactly as written."""
    document = workflow(name)
    document["nodes"][1]["parameters"]["numbers"] = "@numbers@"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document).replace('"@numbers@"', numbers))
    return path


@pytest.mark.parametrize("literal", ["1e999", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_a_file_with_a_number_json_has_not_is_refused_naming_it_and_where(
    cli: CliRun, tmp_path: Path, literal: str
) -> None:
    bad = numbers_file(tmp_path, "Bad", f'{{"x": {literal}}}')
    code, report = import_json(cli, str(bad))
    assert code == ExitCode.DATA_ERR
    (error,) = report["errors"]
    assert error["path"] == str(bad)
    assert "nodes[1].parameters.numbers.x" in error["error"]
    assert list_json(cli) == []


def test_in_a_batch_the_rest_lands_and_the_exit_is_5(cli: CliRun, tmp_path: Path) -> None:
    numbers_file(tmp_path / "in", "Bad", '{"x": 1e999}')
    write(tmp_path / "in", "good.json", workflow("Good"))
    numbers_file(tmp_path / "in", "AlsoGood")
    result = cli("templates", "import", str(tmp_path / "in"))
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'in' / 'Bad.json'}: invalid JSON: the number at" in result.stderr
    assert sorted(t["name"] for t in list_json(cli)) == ["AlsoGood", "Good"]


def test_show_and_export_write_only_json_numbers(cli: CliRun, tmp_path: Path) -> None:
    import_json(cli, str(numbers_file(tmp_path, "Nums")))
    shown = cli("templates", "show", "Nums", "--json")
    exported = cli("templates", "export", "--out", "-")
    for text in (shown.stdout, exported.stdout):
        assert "Infinity" not in text and "NaN" not in text
        json.loads(text, parse_constant=lambda word: pytest.fail(f"{word} written"))


@pytest.mark.parametrize("bundle", [False, True], ids=["plain", "bundle"])
def test_export_then_reimport_is_unchanged_whatever_the_spelling(
    cli: CliRun, tmp_path: Path, bundle: bool
) -> None:
    code, first = import_json(cli, str(numbers_file(tmp_path / "in", "Nums")))
    assert code == 0 and first["created"] == 1
    args = ["--bundle"] if bundle else []
    exported = cli("templates", "export", *args, "--out", str(tmp_path / "out"))
    assert exported.exit_code == 0, exported.stderr
    for _ in range(2):
        code, again = import_json(cli, str(tmp_path / "out"))
        assert (code, again["unchanged"], again["updated"]) == (0, 1, 0), again
    assert show_json(cli, "Nums")["version"] == 1


def test_every_stored_form_of_the_workflow_hashes_as_the_file(
    cli: CliRun, tmp_path: Path, backend: Backend
) -> None:
    """What the file says, what the database holds as text and (PostgreSQL) as jsonb in
    the history, and what show and export write: one hash."""
    path = numbers_file(tmp_path, "Nums")
    import_json(cli, str(path))
    shown = show_json(cli, "Nums")
    exported = json.loads(cli("templates", "export", "--out", "-").stdout)[0]
    forms = [json.loads(path.read_text()), shown["n8nJson"], exported]
    if backend.name == "postgres":
        with psycopg.connect(backend.env["DATABASE_URL"]) as conn:
            (history,) = conn.execute(
                "SELECT workflow::text FROM pumpflix_template_versions"
            ).fetchone() or (None,)
        assert "150000000000000000000" in history  # jsonb did rewrite 1.5e20
        forms.append(json.loads(history))
    assert {content_hash(form) for form in forms} == {shown["contentHash"]}


def store_json(backend: Backend, text: str) -> str:
    """``text`` as the backend's own JSON type gives it back: PostgreSQL's jsonb, SQLite's
    json()."""
    if backend.name == "postgres":
        with psycopg.connect(backend.env["DATABASE_URL"]) as conn:
            row = conn.execute("SELECT CAST(%s AS jsonb)::text", (text,)).fetchone()
    else:
        with sqlite3.connect(":memory:") as conn:
            row = conn.execute("SELECT json(?)", (text,)).fetchone()
    assert row is not None
    return str(row[0])


numbers = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(10**40), 10**40)
    | st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: f"{d:E}")
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(numbers, min_size=1, max_size=8))
def test_the_store_s_spelling_of_any_number_hashes_as_the_file_s(
    backend: Backend, values: list[Any]
) -> None:
    literal = "[" + ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values) + "]"
    document = workflow("Generated")
    document["nodes"][1]["parameters"]["numbers"] = "@numbers@"
    text = json.dumps(document).replace('"@numbers@"', literal)
    try:
        original = parse_json(text.encode())
    except WorkflowError:  # a decimal beyond a double's range: refused, nothing to store
        return
    stored = store_json(backend, text)
    assert content_hash(json.loads(stored)) == content_hash(original), (literal, stored)
